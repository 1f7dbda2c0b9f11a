"""One step for many jobs in one process: what a (fat) Airflow task runs.

Starting a ``jip`` process costs seconds of CPU (imports, database, registry) and an
Airflow task about as much again, so the Airflow engine hands each task a batch of jobs
instead of one. This module runs one operator step for every job of a batch with a
small thread pool, exactly as the local engine would, and reports per job.

Per-job isolation is kept: a job that fails is marked failed in the database by the
step itself and is skipped by the later steps (a step only takes jobs in the states it
follows), while the other jobs of the batch go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from jip.errors import JIPError
from jip.pipelines import operators, state
from jip.pipelines.models import JobStatus, PipelineJob

if TYPE_CHECKING:
    from jip.runtime import Runtime

log = logging.getLogger(__name__)

STEPS = ("prepare", "run", "store")
# the job states in which a step is due (a re-run task may find a job mid-step)
DUE: dict[str, tuple[str, ...]] = {
    "prepare": (JobStatus.QUEUED, JobStatus.PREPARING),
    "run": (JobStatus.PREPARING, JobStatus.RUNNING),
    "store": (JobStatus.STORING,),
}
STOPPED = "stopped: the step process was terminated (task killed)"


@dataclass
class BatchOutcome:
    """How each job of a batch came out of one step."""

    step: str
    done: list[str] = field(default_factory=list)  # the step succeeded: the job goes on
    failed: dict[str, str] = field(default_factory=dict)  # job -> why (unknown jobs too)
    skipped: dict[str, str] = field(default_factory=dict)  # job -> its status, not due

    def exit_code(self, final_status: dict[str, str] | None = None) -> int:
        """0 while the batch has work left for the next step, else 1 if anything failed.
        After ``store`` (the last step) pass every job's final status: 1 unless all
        succeeded, so Airflow shows the DAG run failed when one of its jobs did."""
        if self.step == "store" and final_status is not None:
            ok = all(s == JobStatus.SUCCEEDED for s in final_status.values())
            return 0 if ok and not self.failed else 1
        return 1 if self.failed and not self.done else 0


def statuses(runtime: Runtime, job_ids: Iterable[str]) -> dict[str, str]:
    """Status of each job; unknown ids are left out."""
    ids = list(dict.fromkeys(job_ids))
    with runtime.sessions() as s:
        rows = s.execute(select(PipelineJob.id, PipelineJob.status).where(PipelineJob.id.in_(ids)))
        return {job_id: str(status) for job_id, status in rows}


def run_step(
    runtime: Runtime,
    step: str,
    job_ids: list[str],
    *,
    workers: int = 1,
    stop: threading.Event | None = None,
    report: Callable[[str], None] = print,
) -> BatchOutcome:
    """Run ``step`` for every due job of ``job_ids`` with ``workers`` threads. ``stop``
    (set on SIGTERM) makes running algorithms stop and leaves unstarted jobs alone."""
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, not {step!r}")
    stop = stop or threading.Event()
    outcome = BatchOutcome(step)
    known = statuses(runtime, job_ids)
    due: list[str] = []
    for job_id in dict.fromkeys(job_ids):
        status = known.get(job_id)
        if status is None:
            outcome.failed[job_id] = f"no job {job_id!r}"
            report(f"job {job_id}: {step} failed: no such job")
        elif status in DUE[step]:
            due.append(job_id)
        else:
            outcome.skipped[job_id] = status
            report(f"job {job_id}: {step} skipped, the job is {status}")
    lock = threading.Lock()

    def one(job_id: str) -> None:
        if stop.is_set():
            return
        t0 = time.monotonic()
        try:
            _call(runtime, step, job_id, stop)
        except operators.JobCancelledError as exc:
            reason = exc.message
            if stop.is_set() and state.job_status(runtime.sessions, job_id) != JobStatus.CANCELLED:
                reason = STOPPED
                state.set_job(runtime.sessions, job_id, status=JobStatus.FAILED,
                              error=f"{step}: {STOPPED}")
            with lock:
                outcome.failed[job_id] = reason
            report(f"job {job_id}: {step} ended: {reason}")
        except JIPError as exc:
            with lock:
                outcome.failed[job_id] = exc.message
            report(f"job {job_id}: {step} failed: {exc.message}")
        else:
            with lock:
                outcome.done.append(job_id)
            report(f"job {job_id}: {step} ok in {time.monotonic() - t0:.2f} s")

    if workers <= 1 or len(due) <= 1:
        for job_id in due:
            one(job_id)
    else:
        with ThreadPoolExecutor(min(workers, len(due)), thread_name_prefix=f"jip-{step}") as pool:
            list(pool.map(one, due))
    return outcome


def _call(runtime: Runtime, step: str, job_id: str, stop: threading.Event) -> None:
    if step == "prepare":
        operators.prepare_inputs(runtime, job_id)
    elif step == "run":
        operators.run_algorithm(runtime, job_id, stop=stop)
    else:
        operators.store_results(runtime, job_id)
