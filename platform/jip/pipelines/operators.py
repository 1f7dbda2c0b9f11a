"""The three steps of one job (one run x one series), as plain functions.

Every engine calls these and nothing else: the local pool in threads, Airflow tasks
through ``jip pipeline step``. They read and write all state in the database, so a step
may run in any process that shares ``JIP_DATA_DIR``/``JIP_DATABASE_URL``. A step that
fails marks its job failed (with the reason) before it raises ``JobFailedError``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pydicom
from sqlalchemy import delete, select

from jip.errors import JIPError
from jip.index.models import Instance, Series
from jip.pipelines import state
from jip.pipelines.manifest import UndeclaredOutputError
from jip.pipelines.models import JobStatus, PipelineResult
from jip.pipelines.runners.base import RunRequest

if TYPE_CHECKING:
    from jip.runtime import Runtime

log = logging.getLogger(__name__)

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
MAX_OUTPUT_BYTES = 2 * 1024**3  # per job, all declared outputs together
T = TypeVar("T")


class JobFailedError(JIPError):
    """The job failed; its row already says why."""


class JobCancelledError(JIPError):
    """The job was cancelled while this step ran."""

    http_status = 409


def job_dir(runtime: Runtime, run_id: str, job_id: str) -> Path:
    return runtime.settings.data_dir.resolve() / "runs" / run_id / job_id


def prepare_inputs(runtime: Runtime, job_id: str) -> Path:
    """Stage the job's series (and, if the manifest asks, the series it references)
    as ``input/<SeriesInstanceUID>/*.dcm`` plus ``params.json``; returns the job folder."""
    return _step(runtime, job_id, "prepare", lambda: _prepare(runtime, job_id))


def run_algorithm(runtime: Runtime, job_id: str, stop: threading.Event | None = None) -> None:
    """Run the algorithm on the staged folder with the configured runner; a non-zero
    exit, a timeout, the memory limit or a cancel fails the job with its logs kept.
    ``stop`` (this process is asked to end) stops the algorithm like a cancel."""
    _step(runtime, job_id, "run", lambda: _run(runtime, job_id, stop))


def store_results(runtime: Runtime, job_id: str) -> None:
    """Check every output file against the manifest (undeclared files fail the job and
    nothing is stored), then ingest SEG objects as new series and attach JSON/CSV files
    to the run through the object store."""
    _step(runtime, job_id, "store", lambda: _store(runtime, job_id))


def run_job(runtime: Runtime, job_id: str) -> None:
    """All three steps in this process (what the local engine does per job)."""
    prepare_inputs(runtime, job_id)
    run_algorithm(runtime, job_id)
    store_results(runtime, job_id)


# -- steps ---------------------------------------------------------------------------


def _prepare(runtime: Runtime, job_id: str) -> Path:
    sessions = runtime.sessions
    with sessions() as s:
        job = state.get_job(s, job_id)
        run = state.get_run(s, job.run_id)
        status, run_id, series_uid, params = job.status, run.id, job.series_uid, run.params
        algo_name = run.algorithm
    if status == JobStatus.CANCELLED:
        raise JobCancelledError(f"job {job_id} was cancelled")
    if status not in (JobStatus.QUEUED, JobStatus.PREPARING):
        raise JobCancelledError(f"job {job_id} is {status}; retry the run to run it again")
    if status == JobStatus.QUEUED and not state.claim_job(sessions, job_id, _worker_name()):
        raise JobCancelledError(f"job {job_id} is no longer queued")
    algorithm = runtime.pipelines.registry.get(algo_name)
    folder = job_dir(runtime, run_id, job_id)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "input").mkdir(parents=True)
    out = folder / "output"
    out.mkdir()
    _give_to_algorithm(out, runtime.settings.algorithm_user)
    folder.chmod(0o755)
    _append_log(folder, f"staging series {series_uid} for {algo_name}")

    with sessions() as s:
        series = s.get(Series, series_uid)
        if series is None:
            raise JobFailedError(f"series {series_uid} is not in the index")
        if not algorithm.manifest.accepts_modality(series.modality):
            raise JobFailedError(
                f"{algo_name} accepts modalities {algorithm.manifest.inputs.modalities}, "
                f"series {series_uid} is {series.modality or 'unknown'}"
            )
    staged = _stage_series(runtime, folder, series_uid)
    if staged < algorithm.manifest.inputs.min_instances:
        raise JobFailedError(
            f"series {series_uid} has {staged} instances, "
            f"{algo_name} needs at least {algorithm.manifest.inputs.min_instances}"
        )
    if algorithm.manifest.inputs.include_referenced:
        for ref in _referenced_series(folder / "input" / series_uid):
            if ref != series_uid and _stage_series(runtime, folder, ref) == 0:
                _append_log(folder, f"referenced series {ref} is not in the index")
    (folder / "params.json").write_text(json.dumps(params, indent=2))
    (folder / "params.json").chmod(0o644)
    _append_log(folder, f"staged {staged} instances")
    return folder


def _run(runtime: Runtime, job_id: str, stop: threading.Event | None = None) -> None:
    sessions = runtime.sessions
    with sessions() as s:
        job = state.get_job(s, job_id)
        run = state.get_run(s, job.run_id)
        status, run_id, algo_name = job.status, run.id, run.algorithm
    if status == JobStatus.CANCELLED:
        raise JobCancelledError(f"job {job_id} was cancelled")
    algorithm = runtime.pipelines.registry.get(algo_name)
    folder = job_dir(runtime, run_id, job_id)
    if not (folder / "input").is_dir():
        raise JobFailedError(f"job {job_id} has no staged input (prepare did not run)")
    runner = runtime.pipelines.runner
    req = RunRequest(
        job_id=job_id, manifest=algorithm.manifest, algorithm_dir=algorithm.folder, job_dir=folder
    )
    image_id = runner.resolve_image(req)  # refuses an image that is not the pinned one
    if image_id:
        req = RunRequest(
            job_id=job_id,
            manifest=algorithm.manifest,
            algorithm_dir=algorithm.folder,
            job_dir=folder,
            image_id=image_id,
        )
    state.set_job(sessions, job_id, status=JobStatus.RUNNING, image_id=image_id)
    _append_log(folder, f"starting {algorithm.manifest.image} with the {runner.name} runner")
    outcome = runner.run(req, _cancel_check(runtime, job_id, stop))
    after = {"status": JobStatus.STORING} if outcome.ok else {}
    state.set_job(
        sessions,
        job_id,
        exit_code=outcome.exit_code,
        container_started_at=outcome.started_at,
        container_exited_at=outcome.exited_at,
        **after,
    )
    for note in outcome.notes:
        _append_log(folder, note)
    _append_log(folder, f"algorithm finished: {outcome.reason()}")
    shutil.rmtree(folder / "input", ignore_errors=True)
    if outcome.cancelled:
        raise JobCancelledError(f"job {job_id} was cancelled")
    if not outcome.ok:
        raise JobFailedError(f"algorithm {outcome.reason()}")


def _store(runtime: Runtime, job_id: str) -> None:
    sessions = runtime.sessions
    with sessions() as s:
        job = state.get_job(s, job_id)
        run = state.get_run(s, job.run_id)
        status, run_id, algo_name = job.status, run.id, run.algorithm
    if status == JobStatus.CANCELLED:
        raise JobCancelledError(f"job {job_id} was cancelled")
    manifest = runtime.pipelines.registry.get(algo_name).manifest
    folder = job_dir(runtime, run_id, job_id)
    out = folder / "output"
    if status != JobStatus.STORING:
        state.set_job(sessions, job_id, status=JobStatus.STORING)
    files = sorted(p for p in out.rglob("*") if p.is_file() or p.is_symlink())
    declared = []
    total = 0
    for path in files:  # check all first: nothing is stored from a job that broke the rules
        rel = path.relative_to(out).as_posix()
        if path.is_symlink():
            raise JobFailedError(f"output {rel!r} is a symbolic link")
        total += path.stat().st_size
        if total > MAX_OUTPUT_BYTES:
            raise JobFailedError(f"outputs exceed {MAX_OUTPUT_BYTES >> 20} MiB")
        try:
            declared.append((path, rel, manifest.output_for(rel)))
        except UndeclaredOutputError as exc:
            raise JobFailedError(exc.message) from exc
    now = datetime.now(UTC).replace(tzinfo=None)
    rows: list[PipelineResult] = []
    for path, rel, output in declared:
        data = path.read_bytes()
        series_uid: str | None = None
        if output.kind == "seg":
            key, series_uid = _ingest_seg(runtime, rel, data)
        else:
            _check_table(rel, output.kind, data)
            key = runtime.store.put(data)
        rows.append(
            PipelineResult(
                run_id=run_id,
                job_id=job_id,
                output=output.name,
                kind=output.kind,
                filename=rel,
                object_key=key,
                size=len(data),
                series_uid=series_uid,
                created_at=now,
            )
        )
    _append_log(folder, f"storing {len(rows)} result file(s)")
    state.set_job(sessions, job_id, status=JobStatus.SUCCEEDED, error="",
                  _results=(delete(PipelineResult).where(PipelineResult.job_id == job_id), rows))


# -- helpers -------------------------------------------------------------------------


def _step(runtime: Runtime, job_id: str, name: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except JobCancelledError:
        raise
    except Exception as exc:
        msg = exc.message if isinstance(exc, JIPError) else f"{type(exc).__name__}: {exc}"
        log.warning("job %s failed in %s: %s", job_id, name, msg, extra={"job_id": job_id})
        try:
            with runtime.sessions() as s:
                job = state.get_job(s, job_id)
                folder = job_dir(runtime, job.run_id, job_id)
            if folder.is_dir():
                _append_log(folder, f"{name} failed: {msg}")
            state.set_job(runtime.sessions, job_id, status=JobStatus.FAILED, error=f"{name}: {msg}")
        except JIPError:
            pass
        if isinstance(exc, JobFailedError):
            raise
        raise JobFailedError(f"{name}: {msg}") from exc


def _stage_series(runtime: Runtime, folder: Path, series_uid: str) -> int:
    with runtime.sessions() as s:
        rows = list(
            s.execute(
                select(Instance.sop_instance_uid, Instance.object_key).where(
                    Instance.series_uid == series_uid
                )
            ).all()
        )
    if not rows:
        return 0
    target = folder / "input" / series_uid
    target.mkdir(parents=True, exist_ok=True)
    for sop_uid, key in rows:
        p = target / f"{sop_uid}.dcm"
        p.write_bytes(runtime.store.get(key))
        p.chmod(0o644)
    return len(rows)


def _referenced_series(series_folder: Path) -> list[str]:
    out: list[str] = []
    for p in sorted(series_folder.glob("*.dcm"))[:1]:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        for item in ds.get("ReferencedSeriesSequence", []):
            uid = str(item.get("SeriesInstanceUID", ""))
            if uid and uid not in out:
                out.append(uid)
    return out


def _ingest_seg(runtime: Runtime, rel: str, data: bytes) -> tuple[str, str]:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception as exc:
        raise JobFailedError(f"output {rel!r} is not DICOM: {exc}") from exc
    if str(ds.get("SOPClassUID", "")) != SEG_SOP_CLASS:
        raise JobFailedError(f"output {rel!r} is declared seg but is not a Segmentation object")
    result = runtime.ingestor.ingest(data)
    return result.key, result.series_uid


def _check_table(rel: str, kind: str, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
        if kind == "json":
            json.loads(text)
        else:
            rows = list(csv.reader(io.StringIO(text)))
            if not rows:
                raise ValueError("empty table")
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise JobFailedError(f"output {rel!r} is not valid {kind}: {exc}") from exc


def _cancel_check(
    runtime: Runtime, job_id: str, stop: threading.Event | None = None, every: float = 0.5
) -> Callable[[], bool]:
    last = [0.0]

    def cancelled() -> bool:
        if stop is not None and stop.is_set():
            return True
        now = time.monotonic()
        if now - last[0] < every:
            return False
        last[0] = now
        return state.job_status(runtime.sessions, job_id) == JobStatus.CANCELLED

    return cancelled


def _append_log(folder: Path, line: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
    with (folder / "log.txt").open("a") as f:
        f.write(f"[jip {stamp}] {line}\n")


def _give_to_algorithm(out: Path, user: str) -> None:
    """The output folder belongs to the algorithm's user when we can chown (root), else it
    must be world-writable for a container user that is not us."""
    if os.geteuid() == 0:
        uid, _, gid = user.partition(":")
        os.chown(out, int(uid), int(gid or uid))
        out.chmod(0o755)
    else:
        out.chmod(0o777)


def _worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"
