"""The JIP pipeline DAG: for each job of a run, get input -> run algorithm -> store results.

Triggered by ``jip.pipelines.airflow_engine`` with conf
``{"run_id": ..., "jobs": [job ids], "jip_env": {"JIP_DATA_DIR": ..., ...}, "jip_bin": ...}``.
Jobs are a mapped task group, so each job's three steps run as their own chain: one failing
job does not hold up or fail the others' steps. Run and job state live in JIP's database,
written by the steps themselves; Airflow only schedules them.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task, task_group

from operators import JipStepOperator

DAG_ID = "jip_pipeline"


@dag(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    max_active_runs=16,
    tags=["jip"],
    params={
        "run_id": Param("", type="string"),
        "jobs": Param([], type="array"),
        "jip_env": Param({}, type="object"),
    },
    doc_md=__doc__,
)
def jip_pipeline() -> None:
    @task
    def list_jobs() -> list[str]:
        """The run's job ids from the DAG run conf (an empty run maps to no jobs)."""
        conf: dict[str, Any] = get_current_context()["dag_run"].conf or {}
        jobs = conf.get("jobs") or []
        if not isinstance(jobs, list):
            raise ValueError("conf 'jobs' must be a list of job ids")
        return [str(j) for j in jobs]

    @task_group
    def job(job_id: str) -> None:
        prepare = JipStepOperator(task_id="prepare_inputs", step="prepare", job_id=job_id)
        run = JipStepOperator(task_id="run_algorithm", step="run", job_id=job_id)
        store = JipStepOperator(task_id="store_results", step="store", job_id=job_id)
        prepare >> run >> store

    job.expand(job_id=list_jobs())


jip_pipeline()
