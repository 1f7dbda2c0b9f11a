"""Airflow-side operators for JIP pipelines.

These run inside Airflow's own virtualenv, which never imports ``jip``: each operator is a
thin wrapper that calls the JIP venv's ``jip pipeline step ... --job J`` in a subprocess, so
Airflow and JIP keep their (conflicting) dependency pins apart and the embedded engine runs
exactly the same step code.
"""

from operators.jip_step import JipStepOperator, resolve_jip_bin

__all__ = ["JipStepOperator", "resolve_jip_bin"]
