"""Reading job logs back: the runner's captured output plus JIP's own step lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from jip.pipelines import state
from jip.pipelines.operators import job_dir

if TYPE_CHECKING:
    from jip.runtime import Runtime

MAX_LOG_BYTES = 1_000_000


def job_log(runtime: Runtime, run_id: str, job_id: str) -> str:
    """The job's log (its last ``MAX_LOG_BYTES`` if longer); empty before it started."""
    path = job_dir(runtime, run_id, job_id) / "log.txt"
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - MAX_LOG_BYTES))
            data = f.read()
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")


def run_log(runtime: Runtime, session: Session, run_id: str) -> str:
    parts = []
    for job in state.jobs_of(session, run_id):
        parts.append(f"=== job {job.id} series {job.series_uid} [{job.status}] ===\n")
        parts.append(job_log(runtime, run_id, job.id))
    return "".join(parts)
