"""The ``airflow`` workflow engine: each JIP run becomes one run of the ``jip_pipeline``
DAG (``dags/jip_pipeline.py``), triggered through Airflow 3's REST API.

The DAG's tasks call ``jip pipeline step {prepare,run,store} --job J1 --job J2 ...`` in
the JIP venv, one process per batch of ``airflow_batch_size`` jobs, so they run the same
operator functions as the local engine and write all job state to JIP's database
themselves. This engine only triggers, cancels and watches:

- ``submit``: one DAG run per submission (per 1000 jobs), id ``jip-<run>-<time>-<n>``, conf
  ``{"run_id", "jobs", "batch_size", "step_workers", "step_server", "jip_env", "jip_bin"}``;
  each batch of the run's queued jobs is one mapped task group.
- ``cancel``: the run is already cancelled in the database (running steps notice and stop
  their algorithm); the engine also marks its DAG runs failed so Airflow stops scheduling.
- a poller (``start``/``stop``) fails jobs whose DAG run ended while they were unfinished
  (a killed task, a worker lost, a missing ``jip`` binary), so no job hangs forever.

Only non-secret settings travel in the conf (it is visible in Airflow's UI): a database
URL that carries a password, and S3 keys, must be in the Airflow workers' environment.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from jip.config import Settings
from jip.pipelines import state
from jip.pipelines.airflow_client import AirflowClient, AirflowError, DagRun
from jip.pipelines.engine import WorkflowEngine
from jip.pipelines.models import ACTIVE_JOB_STATES, JobStatus, PipelineRun, RunStatus

if TYPE_CHECKING:
    from jip.runtime import Runtime

log = logging.getLogger(__name__)

# settings a step process needs that are safe to show in Airflow's UI
STEP_SETTINGS = (
    "data_dir",
    "runner",
    "algorithms_dirs",
    "store_backend",
    "s3_endpoint",
    "s3_bucket",
    "s3_secure",
    "docker_host",
    "docker_binary",
    "kubernetes_namespace",
    "kubernetes_runs_claim",
    "algorithm_user",
)


# Airflow's default [core] max_map_length is 1024 mapped task instances per task
MAX_JOBS_PER_DAG_RUN = 1000
CANCEL_NOTE = "cancelled in JIP"


def step_env(settings: Settings) -> dict[str, str]:
    """``JIP_*`` variables that make a ``jip pipeline step`` process see this site."""
    env: dict[str, str] = {}
    for name in STEP_SETTINGS:
        value: Any = getattr(settings, name)
        if name == "data_dir":
            value = Path(value).resolve()
        if isinstance(value, list):
            text = json.dumps([str(v) for v in value])
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        env[f"JIP_{name.upper()}"] = text
    url = settings.resolved_database_url
    if make_url(url).password is None:
        env["JIP_DATABASE_URL"] = url
    return env


def default_jip_bin(settings: Settings) -> str:
    return settings.airflow_jip_bin or str(Path(sys.executable).parent / "jip")


def dag_run_prefix(run_id: str) -> str:
    return f"jip-{run_id}-"


class AirflowEngine(WorkflowEngine):
    name = "airflow"

    def __init__(self, runtime: Runtime, client: AirflowClient | None = None) -> None:
        s = runtime.settings
        self.runtime = runtime
        self.dag_id = s.airflow_dag_id
        self.poll = s.airflow_poll_seconds
        self.client = client or AirflowClient(
            s.airflow_url, s.airflow_username, s.airflow_password, s.airflow_timeout
        )
        self._unpaused = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # (job id, dag run id) seen unfinished under a finished DAG run on the last poll
        self._suspects: set[tuple[str, str]] = set()
        self._pending_cancels: set[str] = set()

    # -- WorkflowEngine ----------------------------------------------------------------

    def submit(self, run_id: str) -> None:
        """Trigger DAG runs for the run's queued jobs (one per ``MAX_JOBS_PER_DAG_RUN``,
        Airflow's limit on mapped tasks). If Airflow refuses or is down, the jobs not yet
        handed over fail with the reason (the run can be retried) and ``AirflowError``
        is raised."""
        with self.runtime.sessions() as s:
            jobs = [j.id for j in state.jobs_of(s, run_id) if j.status == JobStatus.QUEUED]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        batches = [jobs[i : i + MAX_JOBS_PER_DAG_RUN]
                   for i in range(0, len(jobs), MAX_JOBS_PER_DAG_RUN)]
        for n, batch in enumerate(batches):
            dag_run_id = f"{dag_run_prefix(run_id)}{stamp}-{n}"
            conf = {
                "run_id": run_id,
                "jobs": batch,
                "batch_size": self.runtime.settings.airflow_batch_size,
                "step_workers": self.runtime.settings.pipeline_workers,
                "step_server": self.runtime.settings.airflow_step_server,
                "jip_env": step_env(self.runtime.settings),
                "jip_bin": default_jip_bin(self.runtime.settings),
            }
            try:
                if not self._unpaused:
                    self.client.set_paused(self.dag_id, False)
                    self._unpaused = True
                self.client.trigger(self.dag_id, dag_run_id, conf)
            except AirflowError as exc:
                for job_id in [j for b in batches[n:] for j in b]:
                    state.set_job(
                        self.runtime.sessions, job_id, status=JobStatus.FAILED,
                        error=f"airflow: {exc.message}",
                    )
                raise
            log.info("run %s: triggered DAG run %s with %d job(s)", run_id, dag_run_id,
                     len(batch), extra={"run_id": run_id})

    def cancel(self, run_id: str) -> None:
        """Fail the DAG runs of the run's latest submission, noted ``CANCEL_NOTE``. The
        jobs are already cancelled in the DB and running steps stop on their own, so an
        unreachable Airflow only delays this: the poller tries again."""
        try:
            self._fail_dag_runs(run_id)
        except AirflowError as exc:
            log.warning("run %s: could not stop its DAG runs yet: %s", run_id, exc.message,
                        extra={"run_id": run_id})
            self._pending_cancels.add(run_id)

    def _fail_dag_runs(self, run_id: str) -> None:
        dag_runs = self.client.list_runs(self.dag_id, dag_run_prefix(run_id))
        if not dag_runs:
            return
        latest_submission = dag_runs[-1].dag_run_id.rsplit("-", 1)[0] + "-"
        for d in dag_runs:
            if d.state != "success" and (
                not d.finished or d.dag_run_id.startswith(latest_submission)
            ):
                self.client.fail_run(self.dag_id, d.dag_run_id, note=CANCEL_NOTE)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="jip-airflow-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.client.close()

    # -- watching --------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.reconcile()
            except AirflowError as exc:
                log.warning("airflow poll failed: %s", exc.message)
            except Exception:
                log.exception("airflow poll crashed")

    def reconcile(self) -> list[str]:
        """One poll: retry cancels Airflow missed, then fail lost jobs (their ids)."""
        for run_id in list(self._pending_cancels):
            self._fail_dag_runs(run_id)
            self._pending_cancels.discard(run_id)
        return self._fail_lost_jobs()

    def _fail_lost_jobs(self) -> list[str]:
        """Fail jobs that their (latest) DAG run left unfinished; returns their ids.

        A job counts only after two polls in a row saw it unfinished under the same
        finished DAG run, so a retry that re-queues jobs just before triggering a new
        DAG run is never mistaken for a lost job.
        """
        with self.runtime.sessions() as s:
            run_ids = list(
                s.scalars(
                    select(PipelineRun.id).where(
                        PipelineRun.engine == self.name,
                        PipelineRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                    )
                )
            )
        suspects: set[tuple[str, str]] = set()
        failed: list[str] = []
        for run_id in run_ids:
            dag_runs = self.client.list_runs(self.dag_id, dag_run_prefix(run_id))
            if not dag_runs or not all(d.finished for d in dag_runs):
                continue
            latest = dag_runs[-1]
            for job_id in self._unfinished_jobs(run_id, dag_runs):
                key = (job_id, latest.dag_run_id)
                if key in self._suspects:
                    state.set_job(
                        self.runtime.sessions, job_id, status=JobStatus.FAILED,
                        error=f"airflow: DAG run {latest.dag_run_id} ended {latest.state} "
                        "before this job finished (see the Airflow task log)",
                    )
                    failed.append(job_id)
                else:
                    suspects.add(key)
        self._suspects = suspects
        return failed

    def _unfinished_jobs(self, run_id: str, dag_runs: list[DagRun]) -> list[str]:
        mapped = {str(j) for d in dag_runs for j in d.conf.get("jobs", [])}
        unfinished = (JobStatus.QUEUED, *ACTIVE_JOB_STATES)
        with self.runtime.sessions() as s:
            return [
                j.id for j in state.jobs_of(s, run_id) if j.id in mapped and j.status in unfinished
            ]
