"""Shared fixtures: free ports, a runtime on a temp folder, a real ``jip up`` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jip.config import Settings
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, write_series

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now and that this test run has not handed out before:
    the kernel may offer a just-closed port again, and two servers started from the
    same pick (say S3 and a JIP listener) would take each other's traffic."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        http_port=free_port(),
        dicom_port=free_port(),
        series_quiet_seconds=0.5,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.close()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within 20 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class JipProcess:
    proc: subprocess.Popen[bytes]
    url: str
    http_port: int
    dicom_port: int
    data_dir: Path
    env: dict[str, str]
    log: Path

    def stop(self) -> None:
        stop_process(self.proc)


def start_jip(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    http_port: int | None = None,
    dicom_port: int | None = None,
) -> JipProcess:
    http_port = http_port or free_port()
    dicom_port = dicom_port or free_port()
    env = dict(os.environ)
    env.update(
        JIP_DATA_DIR=str(data_dir),
        JIP_HTTP_PORT=str(http_port),
        JIP_DICOM_PORT=str(dicom_port),
        JIP_SERIES_QUIET_SECONDS="1",
    )
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"jip-{http_port}.log"
    proc = subprocess.Popen(
        [str(BIN / "jip"), "up"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 150  # generous: a loaded 2-core CI box imports slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jip up exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return JipProcess(proc, url, http_port, dicom_port, data_dir, env, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"jip up did not become healthy: {log.read_text()[-3000:]}")


@pytest.fixture
def jip(tmp_path: Path) -> Iterator[JipProcess]:
    p = start_jip(tmp_path / "jipdata")
    yield p
    p.stop()


@pytest.fixture
def ct_series(tmp_path: Path) -> list[Path]:
    return write_series(SeriesSpec(slices=5, size=32), tmp_path / "ct")


def tool_env() -> dict[str, str]:
    """Environment for dcmtk/Orthanc: Nagle off, or each small PDU stalls 40 ms."""
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def object_files(data_dir: Path) -> list[Path]:
    """The object files of a site's folder store, whichever folder layout it has
    (``.tmp`` and the ``.layout`` record left out)."""
    objects = data_dir / "objects"
    return sorted(
        p
        for p in objects.rglob("*")
        if p.is_file() and not p.relative_to(objects).parts[0].startswith(".")
    )


@contextmanager
def small_filesystem(mount: Path, megabytes: int) -> Iterator[Path]:
    """A real filesystem of fixed size (tmpfs) at ``mount``, for a disk that fills up;
    needs root (CI runs as root), else the test is skipped and says why."""
    if os.geteuid() != 0:
        pytest.skip("mounting a filesystem of fixed size needs root (CI runs as root)")
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
