"""The CLI against a real ``jip up`` (process runner): run, show, logs, cancel, retry;
``jip pipeline step`` in fresh processes; a run survives ``kill -9`` of the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from jip.config import Settings
from jip.pipelines import state
from jip.pipelines.registry import REPO_ALGORITHMS
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.conftest import BIN, JipProcess, start_jip
from tests.pipelines.conftest import TEST_ALGORITHMS, ingest

PIPE_ENV = {
    "JIP_RUNNER": "process",
    "JIP_ALGORITHMS_DIRS": json.dumps([str(REPO_ALGORITHMS), str(TEST_ALGORITHMS)]),
    "JIP_PIPELINE_POLL_SECONDS": "0.2",
}


def jip_cli(p: JipProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(BIN / "jip"), *args], env=p.env, capture_output=True, text=True,
                         timeout=120)
    if check and res.returncode != 0:
        raise AssertionError(f"jip {' '.join(args)} failed: {res.stdout}{res.stderr}")
    return res


def _seed(data_dir: Path, n: int) -> list[str]:
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        return [ingest(rt, SeriesSpec(slices=3, size=16)) for _ in range(n)]
    finally:
        rt.close()


def _wait(url: str, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = httpx.get(f"{url}/api/v1/runs/{run_id}").json()
        if d["status"] in ("succeeded", "failed", "cancelled"):
            return d
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running")


@pytest.mark.slow
def test_cli_run_show_logs_cancel_retry(tmp_path: Path) -> None:
    data = tmp_path / "jip"
    uids = _seed(data, 2)
    p = start_jip(data, PIPE_ENV)
    try:
        listed = jip_cli(p, "algorithms", "list").stdout
        assert "dicom-qa" in listed and "ct-body-seg" in listed
        args = ["run", "dicom-qa", "--series", uids[0], "--series", uids[1],
                "--param", "min_slices=2", "--wait", "--url", p.url]
        run_id = jip_cli(p, *args).stdout.strip()
        shown = jip_cli(p, "runs", "show", run_id, "--url", p.url).stdout
        assert "succeeded" in shown and uids[0] in shown
        assert "passed" in jip_cli(p, "runs", "logs", run_id, "--url", p.url).stdout
        bad = jip_cli(p, "run", "dicom-qa", "--series", uids[0], "--param", "min_slices=0",
                      "--url", p.url, check=False)
        assert bad.returncode == 1 and "422" in bad.stderr and "min_slices" in bad.stderr
        slow = jip_cli(p, "run", "test-trivial", "--series", uids[0], "-p", "seconds=30",
                       "--url", p.url).stdout.strip()
        assert "cancelled" in jip_cli(p, "runs", "cancel", slow, "--url", p.url).stdout
        assert "1 job(s) queued again" in jip_cli(p, "runs", "retry", slow,
                                                  "--url", p.url).stdout
        jip_cli(p, "runs", "cancel", slow, "--url", p.url)
    finally:
        p.stop()


@pytest.mark.slow
def test_run_survives_server_kill(tmp_path: Path) -> None:
    data = tmp_path / "jip"
    uids = _seed(data, 1)
    p = start_jip(data, PIPE_ENV)
    try:
        run = httpx.post(f"{p.url}/api/v1/runs", json={
            "algorithm": "test-trivial", "series_uids": uids, "params": {"seconds": 3}}).json()
        deadline = time.monotonic() + 30
        while httpx.get(f"{p.url}/api/v1/runs/{run['id']}").json()["jobs"][0]["status"] \
                != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(p.proc.pid, signal.SIGKILL)
        p.proc.wait(10)
    finally:
        p.stop()
    p2 = start_jip(data, PIPE_ENV)
    try:
        d = _wait(p2.url, run["id"])
        assert d["status"] == "succeeded" and d["jobs"][0]["attempts"] == 2
        assert len(d["results"]) == 1
    finally:
        p2.stop()


@pytest.mark.slow
def test_step_commands_in_fresh_processes(tmp_path: Path) -> None:
    """What an Airflow task does: one operator per process, state in the database."""
    data = tmp_path / "jip"
    env = dict(os.environ, JIP_DATA_DIR=str(data), **PIPE_ENV)
    rt = Runtime(Settings(data_dir=data, runner="process",
                          algorithms_dirs=[REPO_ALGORITHMS, TEST_ALGORITHMS]))
    try:
        uid = ingest(rt, SeriesSpec(slices=3, size=16))
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid],
                                      submit=False)
        bad = rt.pipelines.create_run(algorithm="test-crash", series_uids=[uid], submit=False)
        job = state.jobs_of(rt.sessions(), run.id)[0].id
        bad_job = state.jobs_of(rt.sessions(), bad.id)[0].id
    finally:
        rt.close()

    def step(name: str, job_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "jip"), "pipeline", "step", name, "--job", job_id],
                              env=env, capture_output=True, text=True, timeout=120)

    for name in ("prepare", "run", "store"):
        res = step(name, job)
        assert res.returncode == 0, res.stderr
    assert step("prepare", bad_job).returncode == 0
    res = step("run", bad_job)
    assert res.returncode == 1 and "exited with code 3" in res.stderr
    assert step("run", "no-such-job").returncode == 1

    rt = Runtime(Settings(data_dir=data))
    try:
        with rt.sessions() as s:
            assert state.get_run(s, run.id).status == "succeeded"
            assert state.get_run(s, bad.id).status == "failed"
    finally:
        rt.close()
