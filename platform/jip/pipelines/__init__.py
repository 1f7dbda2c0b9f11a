"""Pipelines: algorithms as containers run on series, results back into the platform.

Layers, each its own module: ``manifest`` (the algorithm contract), ``registry``
(which algorithms a site has), ``models``/``state`` (runs and jobs in the database),
``operators`` (the three steps of one job: prepare, run, store), ``runners`` (how a
container is started), ``engine`` (who schedules jobs: local pool or Airflow),
``service`` (what the API and CLI call).
"""
