"""The JIP pipeline DAG: for each batch of a run's jobs, get input -> run algorithm ->
store results.

Triggered by ``jip.pipelines.airflow_engine`` with conf ``{"run_id": ..., "jobs": [job
ids], "batch_size": n, "step_workers": n, "jip_env": {"JIP_DATA_DIR": ..., ...},
"jip_bin": ...}``. The jobs are cut into batches, and each batch is one mapped task group
whose three tasks each run one ``jip pipeline step`` process for the whole batch (a task
and a process per job cost seconds each). Failures stay per job: a job failed by a step
is marked so in JIP's database and skipped by the later steps, the rest of its batch
goes on, and other batches never wait for it. Run and job state live in JIP's database,
written by the steps themselves; Airflow only schedules them.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task, task_group

from operators import JipStepOperator

DAG_ID = "jip_pipeline"
DEFAULT_BATCH_SIZE = 100


def split(jobs: list[str], size: int) -> list[list[str]]:
    """Consecutive batches of at most ``size`` jobs."""
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


@dag(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    max_active_runs=16,
    tags=["jip"],
    params={
        "run_id": Param("", type="string"),
        "jobs": Param([], type="array"),
        "batch_size": Param(DEFAULT_BATCH_SIZE, type="integer", minimum=1),
        "jip_env": Param({}, type="object"),
    },
    doc_md=__doc__,
)
def jip_pipeline() -> None:
    @task
    def list_batches() -> list[list[str]]:
        """The run's job ids from the DAG run conf, in batches (no jobs: no batches)."""
        conf: dict[str, Any] = get_current_context()["dag_run"].conf or {}
        jobs = conf.get("jobs") or []
        if not isinstance(jobs, list):
            raise ValueError("conf 'jobs' must be a list of job ids")
        size = int(conf.get("batch_size") or DEFAULT_BATCH_SIZE)
        if size < 1:
            raise ValueError("conf 'batch_size' must be at least 1")
        return split([str(j) for j in jobs], size)

    @task_group
    def batch(job_ids: list[str]) -> None:
        prepare = JipStepOperator(task_id="prepare_inputs", step="prepare", job_ids=job_ids)
        run = JipStepOperator(task_id="run_algorithm", step="run", job_ids=job_ids)
        store = JipStepOperator(task_id="store_results", step="store", job_ids=job_ids)
        prepare >> run >> store

    batch.expand(job_ids=list_batches())


jip_pipeline()
