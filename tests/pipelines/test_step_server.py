"""The warm step server (``jip pipeline step-server``) with the Airflow operator's real
client (``operators/step_client.py``, loaded alone: it imports neither Airflow nor jip):
steps run in forked children with the request's settings, a stop signal reaches the
algorithm, and a server whose code changed is replaced."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from jip.pipelines import batch, step_server
from jip.pipelines.airflow_engine import step_env
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.conftest import ROOT
from tests.pipelines.conftest import ingest, pipeline_settings

JIP = str(Path(sys.executable).parent / "jip")


def load_client() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jip_step_client",
                                                  ROOT / "operators" / "step_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client_module = load_client()


@pytest.fixture
def server_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private socket folder (TMPDIR), and the server stopped after the test."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    path = step_server.socket_path(JIP)
    assert path == client_module.socket_path(JIP)  # both sides agree on where
    yield path
    step_server.request_stop(path)


def test_steps_run_in_the_warm_server(tmp_path: Path, server_socket: Path) -> None:
    settings = pipeline_settings(tmp_path / "site")
    rt = Runtime(settings)
    try:
        uids = [ingest(rt, SeriesSpec(slices=2, size=16)) for _ in range(3)]
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=uids, submit=False)
        jobs = list(batch.statuses(rt, _job_ids(rt, run.id)))
        lines: list[str] = []
        client = client_module.StepServerClient(JIP, lines.append, idle_seconds=60)
        env = dict(step_env(settings), PATH=os.environ["PATH"])  # PATH is not sent
        for step in ("prepare", "run", "store"):
            assert client.run(step, [*jobs, "no-such-job"], 2, env) == (
                1 if step == "store" else 0), "\n".join(lines)
        assert batch.statuses(rt, jobs) == dict.fromkeys(jobs, "succeeded")
        assert any("started the jip step server" in ln for ln in lines)  # once, then warm
        assert sum("started the jip step server" in ln for ln in lines) == 1
        assert any(f"job {jobs[0]}: store ok" in ln for ln in lines)
        assert any("no-such-job: prepare failed: no such job" in ln for ln in lines)
        assert client.pid is not None and client.pid != os.getpid()

        # settings come from each request only: another site, same server
        other = pipeline_settings(tmp_path / "other")
        rt2 = Runtime(other)
        try:
            uid = ingest(rt2, SeriesSpec(slices=2, size=16))
            run2 = rt2.pipelines.create_run(algorithm="test-trivial", series_uids=[uid],
                                            submit=False)
            (job2,) = _job_ids(rt2, run2.id)
            assert client.run("prepare", [job2], 1, step_env(other)) == 0
            assert client.run("prepare", [job2], 1, step_env(settings)) == 1  # not there
        finally:
            rt2.close()
    finally:
        rt.close()


def test_kill_stops_the_algorithm_and_a_stale_server_is_replaced(
    tmp_path: Path, server_socket: Path
) -> None:
    settings = pipeline_settings(tmp_path / "site")
    rt = Runtime(settings)
    try:
        uid = ingest(rt, SeriesSpec(slices=2, size=16))
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid],
                                      params={"seconds": 60}, submit=False)
        (job,) = _job_ids(rt, run.id)
        lines: list[str] = []
        client = client_module.StepServerClient(JIP, lines.append, idle_seconds=60)
        env = step_env(settings)
        assert client.run("prepare", [job], 1, env) == 0

        import threading

        def kill_when_running() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if batch.statuses(rt, [job]).get(job) == "running" and client.alive():
                    client.kill()
                    return
                time.sleep(0.2)

        killer = threading.Thread(target=kill_when_running)
        killer.start()
        t0 = time.monotonic()
        assert client.run("run", [job], 1, env) == 1
        killer.join()
        assert time.monotonic() - t0 < 30  # not the algorithm's 60 s
        assert batch.statuses(rt, [job]) == {job: "failed"}

        # a changed jip source file: the server refuses to run old code, a new one starts
        source = Path(batch.__file__)
        os.utime(source)
        lines.clear()
        assert client.run("store", [job], 1, env) == 1  # skipped (failed), so exit 1
        assert any("old code" in ln for ln in lines)
        assert any("started the jip step server" in ln for ln in lines)
        assert any(f"job {job}: store skipped" in ln for ln in lines)
    finally:
        rt.close()


def test_stop_request_ends_the_server(server_socket: Path) -> None:
    server_socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    proc = subprocess.Popen([JIP, "pipeline", "step-server", "--socket", str(server_socket),
                             "--idle-seconds", "60"])
    try:
        deadline = time.monotonic() + 60
        while not server_socket.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert step_server.request_stop(server_socket)
        assert proc.wait(20) == 0
        assert not server_socket.exists()
        assert not step_server.request_stop(server_socket)  # nobody left to answer
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _job_ids(rt: Runtime, run_id: str) -> list[str]:
    from jip.pipelines import state

    with rt.sessions() as s:
        return [j.id for j in state.jobs_of(s, run_id)]


def test_a_socket_folder_open_to_others_is_not_used(server_socket: Path) -> None:
    server_socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    server_socket.parent.chmod(0o777)  # as if someone else prepared it in a shared /tmp
    lines: list[str] = []
    client = client_module.StepServerClient(JIP, lines.append)
    assert client.run("prepare", ["job"], 1, {}) is None  # the operator runs a fresh jip
    assert any("not a private folder" in ln for ln in lines)
    assert not server_socket.exists()
