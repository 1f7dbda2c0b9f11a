"""The local engine with the process runner: jobs run, fail alone, cancel, retry, and
survive a restart. The same operator functions run under every engine and runner."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from jip.errors import ConflictError, InvalidInputError, NotFoundError
from jip.pipelines import state
from jip.pipelines.engine import LocalEngine
from jip.pipelines.manifest import InvalidParametersError
from jip.pipelines.models import PipelineJob, PipelineResult
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.pipelines.conftest import ingest, job_states, pipeline_settings, wait_run


def test_run_on_series_attaches_results(prt: Runtime) -> None:
    uids = [ingest(prt, SeriesSpec(slices=n, size=16)) for n in (2, 3, 4)]
    run = prt.pipelines.create_run(algorithm="test-trivial", series_uids=uids)
    assert wait_run(prt, run.id) == "succeeded"
    with prt.sessions() as s:
        results = list(s.scalars(select(PipelineResult).where(PipelineResult.run_id == run.id)))
        jobs = state.jobs_of(s, run.id)
    assert {j.status for j in jobs} == {"succeeded"} and all(j.attempts == 1 for j in jobs)
    counts = {}
    for r in results:
        assert r.kind == "json" and r.filename == "count.json"
        counts.update(json.loads(prt.store.get(r.object_key))["series"])
    assert counts == {uids[0]: 2, uids[1]: 3, uids[2]: 4}


def test_failures_stay_in_their_job(prt: Runtime) -> None:
    uid = ingest(prt, SeriesSpec(slices=2, size=16))
    runs = {
        name: prt.pipelines.create_run(algorithm=f"test-{name}", series_uids=[uid]).id
        for name in ("crash", "hang", "memhog", "undeclared", "trivial")
    }
    final = {name: wait_run(prt, rid, timeout=90) for name, rid in runs.items()}
    assert final == {
        "crash": "failed", "hang": "failed", "memhog": "failed", "undeclared": "failed",
        "trivial": "succeeded",
    }
    with prt.sessions() as s:
        err = {n: state.jobs_of(s, r)[0].error for n, r in runs.items()}
        undeclared_results = s.scalars(
            select(PipelineResult).where(PipelineResult.run_id == runs["undeclared"])
        ).all()
    assert "exited with code 3" in err["crash"]
    assert "timed out" in err["hang"]
    assert "memory" in err["memhog"]
    assert "exfiltrate.txt" in err["undeclared"] and "not declared" in err["undeclared"]
    assert undeclared_results == []  # nothing stored from a job that broke the rules
    from jip.pipelines.logs import run_log

    with prt.sessions() as s:
        assert "about to crash on purpose" in run_log(prt, s, runs["crash"])
        assert "MemoryError" in run_log(prt, s, runs["memhog"])
        assert "hanging" in run_log(prt, s, runs["hang"])


def test_invalid_requests_are_refused(prt: Runtime) -> None:
    uid = ingest(prt, SeriesSpec(slices=2, size=16))
    with pytest.raises(InvalidParametersError, match="seconds"):
        prt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid],
                                 params={"seconds": "soon"})
    with pytest.raises(NotFoundError):
        prt.pipelines.create_run(algorithm="no-such-algorithm", series_uids=[uid])
    with pytest.raises(NotFoundError):
        prt.pipelines.create_run(algorithm="test-trivial", series_uids=["1.2.3.999"])
    with pytest.raises(InvalidInputError):
        prt.pipelines.create_run(algorithm="test-trivial", series_uids=[])
    mr = ingest(prt, SeriesSpec(modality="MR", slices=2, size=16))
    with pytest.raises(InvalidInputError, match="accepts"):
        prt.pipelines.create_run(algorithm="ct-body-seg", series_uids=[mr])


def test_cancel_stops_running_and_queued_jobs(prt: Runtime) -> None:
    uids = [ingest(prt, SeriesSpec(slices=1, size=16)) for _ in range(4)]
    run = prt.pipelines.create_run(algorithm="test-trivial", series_uids=uids,
                                   params={"seconds": 30})
    deadline = time.monotonic() + 20
    while "running" not in job_states(prt, run.id).values():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    t0 = time.monotonic()
    prt.pipelines.cancel(run.id)
    assert wait_run(prt, run.id) == "cancelled"
    while any(s in ("preparing", "running", "storing") for s in job_states(prt, run.id).values()):
        time.sleep(0.1)
    assert set(job_states(prt, run.id).values()) == {"cancelled"}
    # the worker is free again well before the 30 s sleep would have ended
    other = prt.pipelines.create_run(algorithm="test-trivial", series_uids=uids[:1])
    assert wait_run(prt, other.id, timeout=25) == "succeeded"
    assert time.monotonic() - t0 < 28
    with pytest.raises(ConflictError):
        prt.pipelines.cancel(run.id)


def test_retry_requeues_only_failed_jobs(prt: Runtime, tmp_path: Path) -> None:
    good = ingest(prt, SeriesSpec(slices=2, size=16))
    mr = ingest(prt, SeriesSpec(modality="MR", slices=1, size=16))
    run = prt.pipelines.create_run(algorithm="test-trivial", series_uids=[good, mr],
                                   params={})
    assert wait_run(prt, run.id) == "succeeded"
    with pytest.raises(ConflictError):
        prt.pipelines.retry(run.id)
    crash = prt.pipelines.create_run(algorithm="test-crash", series_uids=[good, mr])
    assert wait_run(prt, crash.id) == "failed"
    assert prt.pipelines.retry(crash.id) == 2
    assert wait_run(prt, crash.id) == "failed"
    with prt.sessions() as s:
        assert {j.attempts for j in state.jobs_of(s, crash.id)} == {2}


def test_restart_requeues_interrupted_jobs(tmp_path: Path) -> None:
    settings = pipeline_settings(tmp_path)
    rt = Runtime(settings)
    uid = ingest(rt, SeriesSpec(slices=2, size=16))
    run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid], submit=False)
    job_id = state.jobs_of(rt.sessions(), run.id)[0].id
    # a previous process claimed the job and died mid-run
    assert state.claim_job(rt.sessions, job_id, "dead-worker")
    state.set_job(rt.sessions, job_id, status="running")
    rt.close()

    rt2 = Runtime(settings)
    try:
        rt2.pipelines.start()
        assert wait_run(rt2, run.id) == "succeeded"
        with rt2.sessions() as s:
            job = s.get(PipelineJob, job_id)
            assert job is not None and job.attempts == 2 and job.worker != "dead-worker"
    finally:
        rt2.close()


def test_run_pending_in_calling_thread(tmp_path: Path) -> None:
    rt = Runtime(pipeline_settings(tmp_path))
    try:
        uid = ingest(rt, SeriesSpec(slices=2, size=16))
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid], submit=False)
        assert LocalEngine(rt, workers=1).run_pending() == 1
        assert wait_run(rt, run.id, timeout=1) == "succeeded"
    finally:
        rt.close()
