"""Run and job state transitions in the database: the single source of truth for
every engine. Functions take a sessionmaker and commit what they change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from jip.errors import ConflictError, NotFoundError
from jip.pipelines.models import (
    ACTIVE_JOB_STATES,
    FINAL_JOB_STATES,
    JobStatus,
    PipelineJob,
    PipelineRun,
    RunStatus,
)

Sessions = sessionmaker[Session]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return uuid.uuid4().hex


def create_run(
    sessions: Sessions,
    *,
    algorithm: str,
    version: str,
    image: str,
    params: dict[str, Any],
    series_uids: Iterable[str],
    engine: str,
    runner: str,
    trigger: str = "manual",
    cohort_id: str | None = None,
) -> PipelineRun:
    """Persist a queued run with one queued job per series (duplicates dropped)."""
    now = utcnow()
    run = PipelineRun(
        id=new_id(),
        algorithm=algorithm,
        algorithm_version=version,
        image=image,
        params=params,
        status=RunStatus.QUEUED,
        engine=engine,
        runner=runner,
        trigger=trigger,
        cohort_id=cohort_id,
        created_at=now,
    )
    with sessions() as s:
        s.add(run)
        s.flush()
        for uid in dict.fromkeys(series_uids):
            s.add(
                PipelineJob(
                    id=new_id(),
                    run_id=run.id,
                    series_uid=uid,
                    status=JobStatus.QUEUED,
                    attempts=0,
                    worker="",
                    error="",
                    image_id="",
                    created_at=now,
                )
            )
        s.commit()
    return run


def get_run(session: Session, run_id: str) -> PipelineRun:
    run = session.get(PipelineRun, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r}")
    return run


def get_job(session: Session, job_id: str) -> PipelineJob:
    job = session.get(PipelineJob, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id!r}")
    return job


def jobs_of(session: Session, run_id: str) -> list[PipelineJob]:
    return list(
        session.scalars(
            select(PipelineJob)
            .where(PipelineJob.run_id == run_id)
            .order_by(PipelineJob.created_at, PipelineJob.series_uid)
        )
    )


def claim_job(sessions: Sessions, job_id: str, worker: str) -> bool:
    """Move a queued job to ``preparing`` for ``worker``; False if someone else has it
    or it was cancelled. Safe across processes: the WHERE on status is the lock."""
    with sessions() as s:
        res = s.execute(
            update(PipelineJob)
            .where(PipelineJob.id == job_id, PipelineJob.status == JobStatus.QUEUED)
            .execution_options(synchronize_session=False)
            .values(
                status=JobStatus.PREPARING,
                worker=worker,
                attempts=PipelineJob.attempts + 1,
                started_at=utcnow(),
                finished_at=None,
                error="",
                exit_code=None,
            )
        )
        claimed = bool(getattr(res, "rowcount", 0) == 1)
        if claimed:
            _refresh(s, get_job(s, job_id).run_id)
        s.commit()
    return claimed


def next_queued_jobs(sessions: Sessions, engine: str, limit: int) -> list[str]:
    """Oldest queued jobs of runs scheduled on ``engine``."""
    with sessions() as s:
        return list(
            s.scalars(
                select(PipelineJob.id)
                .join(PipelineRun, PipelineRun.id == PipelineJob.run_id)
                .where(PipelineJob.status == JobStatus.QUEUED, PipelineRun.engine == engine)
                .order_by(PipelineJob.created_at, PipelineJob.id)
                .limit(limit)
            )
        )


def set_job(sessions: Sessions, job_id: str, **values: Any) -> None:
    """Update a job and refresh its run's status, in one commit. A status change never
    overwrites ``cancelled`` (except back to ``queued``): the check is in the UPDATE
    itself, so a cancel from another process cannot be lost to a stale read.
    ``_results=(delete_stmt, rows)`` replaces the job's results if the status applied."""
    results = values.pop("_results", None)
    status = values.pop("status", None)
    with sessions() as s:
        run_id = s.scalar(select(PipelineJob.run_id).where(PipelineJob.id == job_id))
        if run_id is None:
            raise NotFoundError(f"no job {job_id!r}")
        if values:
            s.execute(update(PipelineJob).where(PipelineJob.id == job_id).values(**values))
        if status is not None:
            extra = {"finished_at": utcnow()} if status in FINAL_JOB_STATES else {}
            q = update(PipelineJob).where(PipelineJob.id == job_id)
            if status != JobStatus.QUEUED:
                q = q.where(PipelineJob.status != JobStatus.CANCELLED)
            res = s.execute(q.values(status=status, **extra))
            if getattr(res, "rowcount", 0) == 1 and results is not None:
                s.execute(results[0])
                s.add_all(results[1])
            _refresh(s, run_id)
        s.commit()


def job_status(sessions: Sessions, job_id: str) -> str:
    with sessions() as s:
        status = s.scalar(select(PipelineJob.status).where(PipelineJob.id == job_id))
    if status is None:
        raise NotFoundError(f"no job {job_id!r}")
    return status


def refresh_run_status(sessions: Sessions, run_id: str) -> str:
    """Derive the run's status from its jobs (cancelled runs stay cancelled)."""
    with sessions() as s:
        status = _refresh(s, run_id)
        s.commit()
        return status


def _refresh(s: Session, run_id: str) -> str:
    s.flush()
    run = get_run(s, run_id)
    counts = dict(
        s.execute(  # type: ignore[arg-type]
            select(PipelineJob.status, func.count())
            .where(PipelineJob.run_id == run_id)
            .group_by(PipelineJob.status)
        ).all()
    )
    total = sum(counts.values())
    active = sum(counts.get(st, 0) for st in ACTIVE_JOB_STATES)
    done = sum(counts.get(st, 0) for st in FINAL_JOB_STATES)
    if total and done == total:
        ok = counts.get(JobStatus.SUCCEEDED, 0) == total
        status = RunStatus.SUCCEEDED if ok else RunStatus.FAILED
    elif active or done:
        status = RunStatus.RUNNING
    else:
        status = RunStatus.QUEUED
    values: dict[str, Any] = {"status": status}
    if status == RunStatus.RUNNING and run.started_at is None:
        values["started_at"] = utcnow()
    if status in (RunStatus.SUCCEEDED, RunStatus.FAILED) and run.finished_at is None:
        values["finished_at"] = utcnow()
    if status in (RunStatus.QUEUED, RunStatus.RUNNING):
        values["finished_at"] = None
    res = s.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run_id, PipelineRun.status != RunStatus.CANCELLED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return status if getattr(res, "rowcount", 0) == 1 else RunStatus.CANCELLED


def cancel_run(sessions: Sessions, run_id: str) -> list[str]:
    """Mark the run and its unfinished jobs cancelled; returns the jobs that were active
    (their operator notices and stops the container)."""
    with sessions() as s:
        run = get_run(s, run_id)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
            raise ConflictError(f"run {run_id} already {run.status}")
        active = list(
            s.scalars(
                select(PipelineJob.id).where(
                    PipelineJob.run_id == run_id, PipelineJob.status.in_(ACTIVE_JOB_STATES)
                )
            )
        )
        now = utcnow()
        s.execute(
            update(PipelineJob)
            .where(PipelineJob.run_id == run_id, PipelineJob.status.not_in(FINAL_JOB_STATES))
            .values(status=JobStatus.CANCELLED, finished_at=now, error="cancelled")
        )
        run.status = RunStatus.CANCELLED
        run.finished_at = now
        s.commit()
    return active


def retry_run(sessions: Sessions, run_id: str) -> int:
    """Queue the failed (and cancelled) jobs of a finished run again; returns how many."""
    with sessions() as s:
        run = get_run(s, run_id)
        if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            raise ConflictError(f"run {run_id} is still {run.status}")
        res = s.execute(
            update(PipelineJob)
            .where(
                PipelineJob.run_id == run_id,
                PipelineJob.status.in_((JobStatus.FAILED, JobStatus.CANCELLED)),
            )
            .values(status=JobStatus.QUEUED, finished_at=None, error="", exit_code=None)
        )
        n = int(getattr(res, "rowcount", 0))
        if n == 0:
            raise ConflictError(f"run {run_id} has no failed jobs to retry")
        run.status = RunStatus.QUEUED
        run.finished_at = None
        s.commit()
    refresh_run_status(sessions, run_id)
    return n


def requeue_interrupted(sessions: Sessions, engine: str) -> list[str]:
    """After a crash: jobs of ``engine`` left in an active state go back to the queue."""
    with sessions() as s:
        rows = list(
            s.execute(
                select(PipelineJob.id, PipelineJob.run_id)
                .join(PipelineRun, PipelineRun.id == PipelineJob.run_id)
                .where(PipelineJob.status.in_(ACTIVE_JOB_STATES), PipelineRun.engine == engine)
            ).all()
        )
        if rows:
            s.execute(
                update(PipelineJob)
                .where(PipelineJob.id.in_([r[0] for r in rows]))
                .values(status=JobStatus.QUEUED, worker="", started_at=None)
            )
            s.commit()
    for run_id in {r[1] for r in rows}:
        refresh_run_status(sessions, run_id)
    return [r[0] for r in rows]
