"""Airflow settings that suit the JIP engine, as ``AIRFLOW__SECTION__KEY`` variables.

JIP's DAG runs few, long tasks (one per batch and step), triggered through the REST API,
from one DAG file that never changes at run time. Airflow's defaults assume many DAG
files and a large machine, so on a small site they waste CPU and add latency:

- the DAG processor re-parses every file every 30 s with 2 processes: once every 5 min
  with 1 process is plenty (a new DAG file is still found by the directory refresh);
- the scheduler heartbeats every 5 s: 1 s shortens the gap between a task's end and
  the start of the next one, which is most of the engine's own latency per step;
- a busy 2-core machine answers the execution API slower than its 5 s default timeout.

``jip pipeline airflow-config`` prints them for an Airflow deployment; the tests and
benchmarks start their Airflow with them. Measured effects: docs/airflow.md.
"""

from __future__ import annotations


def tuned_airflow_env(parallelism: int = 4) -> dict[str, str]:
    """Settings for an Airflow that runs JIP pipelines with the LocalExecutor;
    ``parallelism``: task slots (a slot runs one step of one batch)."""
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER": "False",  # fork: no re-import
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "300",
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    }
