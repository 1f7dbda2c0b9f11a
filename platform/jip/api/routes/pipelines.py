"""REST resources of pipelines: algorithms, runs (with per-series jobs, logs and
results) and auto-triggers. Routes only translate; ``PipelineService`` decides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from jip.api.deps import RowId, RuntimeDep, SessionDep
from jip.api.errors import error_responses
from jip.errors import NotFoundError
from jip.index.db import DB_INT_MAX
from jip.pipelines import state
from jip.pipelines.logs import job_log, run_log
from jip.pipelines.manifest import Inputs, Output, Resources
from jip.pipelines.models import PipelineJob, PipelineResult, PipelineRun, PipelineTrigger
from jip.pipelines.registry import Algorithm

router = APIRouter(tags=["pipelines"])


# -- schemas ---------------------------------------------------------------------------


class AlgorithmPublic(BaseModel):
    name: str
    version: str
    description: str
    image: str
    image_digest: str | None
    inputs: Inputs
    parameters: dict[str, Any] = Field(description="JSON Schema: build the run form from it")
    outputs: list[Output]
    resources: Resources
    timeout_seconds: float

    @classmethod
    def of(cls, a: Algorithm) -> AlgorithmPublic:
        m = a.manifest
        return cls(
            name=m.name,
            version=m.version,
            description=m.description,
            image=m.image,
            image_digest=m.image_digest,
            inputs=m.inputs,
            parameters=m.parameters,
            outputs=m.outputs,
            resources=m.resources,
            timeout_seconds=m.timeout_seconds,
        )


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: str
    series_uids: list[str] = Field(default_factory=list, max_length=10000)
    cohort_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class JobPublic(BaseModel):
    id: str
    series_uid: str
    status: str
    attempts: int
    exit_code: int | None
    error: str
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, j: PipelineJob) -> JobPublic:
        return cls(
            id=j.id,
            series_uid=j.series_uid,
            status=j.status,
            attempts=j.attempts,
            exit_code=j.exit_code,
            error=j.error,
            started_at=j.started_at,
            finished_at=j.finished_at,
        )


class ResultPublic(BaseModel):
    id: int
    job_id: str
    output: str
    kind: str
    filename: str
    size: int
    series_uid: str | None
    download: str

    @classmethod
    def of(cls, r: PipelineResult) -> ResultPublic:
        return cls(
            id=r.id,
            job_id=r.job_id,
            output=r.output,
            kind=r.kind,
            filename=r.filename,
            size=r.size,
            series_uid=r.series_uid,
            download=f"/api/v1/runs/{r.run_id}/results/{r.id}",
        )


class RunPublic(BaseModel):
    id: str
    algorithm: str
    algorithm_version: str
    image: str
    params: dict[str, Any]
    status: str
    engine: str
    runner: str
    trigger: str
    cohort_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: dict[str, int] = Field(description="job count per status, and 'total'")

    @classmethod
    def of(cls, r: PipelineRun, progress: dict[str, int]) -> RunPublic:
        return cls(
            id=r.id,
            algorithm=r.algorithm,
            algorithm_version=r.algorithm_version,
            image=r.image,
            params=r.params,
            status=r.status,
            engine=r.engine,
            runner=r.runner,
            trigger=r.trigger,
            cohort_id=r.cohort_id,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            progress=progress,
        )


class RunDetail(RunPublic):
    jobs: list[JobPublic]
    results: list[ResultPublic]


class RetryPublic(BaseModel):
    run_id: str
    requeued: int


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: str
    series_filter: dict[str, Any] = Field(
        description="modality/body_part/description/manufacturer/institution: glob or list"
    )
    params: dict[str, Any] = Field(default_factory=dict)


class TriggerPublic(BaseModel):
    id: int
    algorithm: str
    series_filter: dict[str, Any]
    params: dict[str, Any]
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, t: PipelineTrigger) -> TriggerPublic:
        return cls(
            id=t.id,
            algorithm=t.algorithm,
            series_filter=t.series_filter,
            params=t.params,
            enabled=t.enabled,
            created_at=t.created_at,
        )


# -- algorithms ------------------------------------------------------------------------


@router.get("/algorithms", response_model=list[AlgorithmPublic])
def list_algorithms(runtime: RuntimeDep) -> list[AlgorithmPublic]:
    return [AlgorithmPublic.of(a) for a in runtime.pipelines.registry.list()]


@router.get("/algorithms/{name}", response_model=AlgorithmPublic, responses=error_responses(404))
def get_algorithm(name: str, runtime: RuntimeDep) -> AlgorithmPublic:
    return AlgorithmPublic.of(runtime.pipelines.registry.get(name))


# -- runs ------------------------------------------------------------------------------


@router.post(
    "/runs", response_model=RunPublic, status_code=201, responses=error_responses(400, 404, 503)
)
def create_run(body: RunCreate, runtime: RuntimeDep, session: SessionDep) -> RunPublic:
    run = runtime.pipelines.create_run(
        algorithm=body.algorithm,
        params=body.params,
        series_uids=body.series_uids,
        cohort_id=body.cohort_id,
    )
    return RunPublic.of(run, _progress(session, [run.id])[run.id])


@router.get("/runs", response_model=list[RunPublic])
def list_runs(
    session: SessionDep,
    status: str | None = None,
    algorithm: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=DB_INT_MAX),
) -> list[RunPublic]:
    q = select(PipelineRun).order_by(PipelineRun.created_at.desc(), PipelineRun.id)
    if status:
        q = q.where(PipelineRun.status == status)
    if algorithm:
        q = q.where(PipelineRun.algorithm == algorithm)
    runs = list(session.scalars(q.limit(limit).offset(offset)))
    progress = _progress(session, [r.id for r in runs])
    return [RunPublic.of(r, progress[r.id]) for r in runs]


@router.get("/runs/{run_id}", response_model=RunDetail, responses=error_responses(404))
def get_run(run_id: str, session: SessionDep) -> RunDetail:
    run = state.get_run(session, run_id)
    jobs = state.jobs_of(session, run_id)
    results = _results(session, run_id)
    base = RunPublic.of(run, _progress(session, [run_id])[run_id])
    return RunDetail(
        **base.model_dump(),
        jobs=[JobPublic.of(j) for j in jobs],
        results=[ResultPublic.of(r) for r in results],
    )


@router.post(
    "/runs/{run_id}/cancel", response_model=RunPublic, responses=error_responses(404, 409, 503)
)
def cancel_run(run_id: str, runtime: RuntimeDep, session: SessionDep) -> RunPublic:
    runtime.pipelines.cancel(run_id)
    session.expire_all()
    run = state.get_run(session, run_id)
    return RunPublic.of(run, _progress(session, [run_id])[run_id])


@router.post(
    "/runs/{run_id}/retry", response_model=RetryPublic, responses=error_responses(404, 409, 503)
)
def retry_run(run_id: str, runtime: RuntimeDep) -> RetryPublic:
    return RetryPublic(run_id=run_id, requeued=runtime.pipelines.retry(run_id))


@router.get("/runs/{run_id}/logs", response_class=PlainTextResponse, responses=error_responses(404))
def get_run_logs(run_id: str, runtime: RuntimeDep, session: SessionDep) -> str:
    state.get_run(session, run_id)
    return run_log(runtime, session, run_id)


@router.get(
    "/runs/{run_id}/jobs/{job_id}/logs",
    response_class=PlainTextResponse,
    responses=error_responses(404),
)
def get_job_logs(run_id: str, job_id: str, runtime: RuntimeDep, session: SessionDep) -> str:
    job = state.get_job(session, job_id)
    if job.run_id != run_id:
        raise NotFoundError(f"no job {job_id!r} in run {run_id!r}")
    return job_log(runtime, run_id, job_id)


@router.get(
    "/runs/{run_id}/results", response_model=list[ResultPublic], responses=error_responses(404)
)
def list_results(run_id: str, session: SessionDep) -> list[ResultPublic]:
    state.get_run(session, run_id)
    return [ResultPublic.of(r) for r in _results(session, run_id)]


_MEDIA = {"json": "application/json", "csv": "text/csv", "seg": "application/dicom"}


@router.get("/runs/{run_id}/results/{result_id}", responses=error_responses(404, 503))
def download_result(
    run_id: str, result_id: RowId, runtime: RuntimeDep, session: SessionDep
) -> Response:
    r = session.get(PipelineResult, result_id)
    if r is None or r.run_id != run_id:
        raise NotFoundError(f"no result {result_id} in run {run_id!r}")
    name = r.filename.rsplit("/", 1)[-1]
    return Response(
        content=runtime.store.get(r.object_key),
        media_type=_MEDIA.get(r.kind, "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- auto-triggers ---------------------------------------------------------------------


@router.get("/pipeline-triggers", response_model=list[TriggerPublic])
def list_triggers(session: SessionDep) -> list[TriggerPublic]:
    return [TriggerPublic.of(t) for t in session.scalars(select(PipelineTrigger))]


@router.post(
    "/pipeline-triggers",
    response_model=TriggerPublic,
    status_code=201,
    responses=error_responses(400, 404),
)
def create_trigger(body: TriggerCreate, runtime: RuntimeDep) -> TriggerPublic:
    t = runtime.pipelines.add_trigger(
        algorithm=body.algorithm, series_filter=body.series_filter, params=body.params
    )
    return TriggerPublic.of(t)


@router.delete("/pipeline-triggers/{trigger_id}", status_code=204, responses=error_responses(404))
def delete_trigger(trigger_id: RowId, session: SessionDep) -> Response:
    t = session.get(PipelineTrigger, trigger_id)
    if t is None:
        raise NotFoundError(f"no trigger {trigger_id}")
    session.delete(t)
    session.commit()
    return Response(status_code=204)


# -- helpers ---------------------------------------------------------------------------


def _progress(session: SessionDep, run_ids: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {rid: {"total": 0} for rid in run_ids}
    if not run_ids:
        return out
    rows = session.execute(
        select(PipelineJob.run_id, PipelineJob.status, func.count())
        .where(PipelineJob.run_id.in_(run_ids))
        .group_by(PipelineJob.run_id, PipelineJob.status)
    ).all()
    for run_id, status, n in rows:
        out[run_id][status] = n
        out[run_id]["total"] += n
    return out


def _results(session: SessionDep, run_id: str) -> list[PipelineResult]:
    return list(
        session.scalars(
            select(PipelineResult)
            .where(PipelineResult.run_id == run_id)
            .order_by(PipelineResult.id)
        )
    )
