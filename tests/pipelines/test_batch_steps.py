"""One step for a batch of jobs in one process (what a fat Airflow task runs): failures
stay per job, later steps skip failed jobs, and a stop request ends running algorithms."""

from __future__ import annotations

import threading
from pathlib import Path

from jip.pipelines import batch, state
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.pipelines.conftest import ingest, pipeline_settings


def queued_jobs(rt: Runtime, algorithm: str, uids: list[str], **params: object) -> list[str]:
    run = rt.pipelines.create_run(algorithm=algorithm, series_uids=uids, params=params,
                                  submit=False)
    with rt.sessions() as s:
        return [j.id for j in state.jobs_of(s, run.id)]


def test_a_failing_job_stops_only_itself(tmp_path: Path) -> None:
    rt = Runtime(pipeline_settings(tmp_path))
    try:
        uids = [ingest(rt, SeriesSpec(slices=2, size=16)) for _ in range(3)]
        good = queued_jobs(rt, "test-trivial", uids[:2])
        (bad,) = queued_jobs(rt, "test-crash", uids[2:])
        jobs = [good[0], bad, "no-such-job", good[1]]
        lines: list[str] = []

        prepared = batch.run_step(rt, "prepare", jobs, workers=2, report=lines.append)
        assert sorted(prepared.done) == sorted([*good, bad])
        assert prepared.failed == {"no-such-job": "no job 'no-such-job'"}
        assert prepared.exit_code() == 0  # three jobs go on

        ran = batch.run_step(rt, "run", jobs, workers=2, report=lines.append)
        assert sorted(ran.done) == sorted(good) and "exited with code 3" in ran.failed[bad]

        stored = batch.run_step(rt, "store", jobs, workers=2, report=lines.append)
        assert sorted(stored.done) == sorted(good) and stored.skipped == {bad: "failed"}
        final = batch.statuses(rt, jobs)
        assert final == {good[0]: "succeeded", good[1]: "succeeded", bad: "failed"}
        assert stored.exit_code(final) == 1  # one job of the batch did not succeed
        assert batch.run_step(rt, "store", good).exit_code(batch.statuses(rt, good)) == 0
        assert any("no such job" in ln for ln in lines)
    finally:
        rt.close()


def test_nothing_left_fails_the_step(tmp_path: Path) -> None:
    rt = Runtime(pipeline_settings(tmp_path))
    try:
        uid = ingest(rt, SeriesSpec(slices=2, size=16))
        (bad,) = queued_jobs(rt, "test-crash", [uid])
        assert batch.run_step(rt, "prepare", [bad]).exit_code() == 0
        assert batch.run_step(rt, "run", [bad]).exit_code() == 1
    finally:
        rt.close()


def test_stop_ends_running_algorithms_and_fails_their_jobs(tmp_path: Path) -> None:
    rt = Runtime(pipeline_settings(tmp_path))
    try:
        uids = [ingest(rt, SeriesSpec(slices=2, size=16)) for _ in range(2)]
        jobs = queued_jobs(rt, "test-trivial", uids, seconds=60)
        batch.run_step(rt, "prepare", jobs, workers=2)
        stop = threading.Event()
        timer = threading.Timer(1.5, stop.set)
        timer.start()
        outcome = batch.run_step(rt, "run", jobs, workers=2, stop=stop)
        timer.cancel()
        assert outcome.failed == {j: batch.STOPPED for j in jobs}
        with rt.sessions() as s:
            errors = {state.get_job(s, j).error for j in jobs}
        assert errors == {f"run: {batch.STOPPED}"}
    finally:
        rt.close()
