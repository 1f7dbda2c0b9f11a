"""A real Docker engine for the tests: ``dockerd`` started by the test session on its
own socket, with its image store in a cache folder that outlives the session (base
image builds take minutes; unchanged images are never rebuilt). A second test session
on the same machine does not wait: it gets a private image store, built from the cached
root fs and wheels, and removed at its end."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("JIP_TEST_IMAGE_CACHE", "/var/cache/jip-test-images"))


@contextmanager
def running_dockerd() -> Iterator[str]:
    """Yield a ``unix://`` DOCKER_HOST of a dockerd this process started (and stops)."""
    if shutil.which("dockerd") is None:
        raise RuntimeError("dockerd is missing: run scripts/install-system-deps.sh")
    CACHE.mkdir(parents=True, exist_ok=True)
    lock = (CACHE / "dockerd.lock").open("w")
    run = Path(tempfile.mkdtemp(prefix="jipd-", dir="/tmp"))
    try:  # one dockerd per data root: the shared one, or a private one if it is in use
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        data_root = CACHE / "docker"
    except BlockingIOError:
        data_root = Path(tempfile.mkdtemp(prefix="private-docker-", dir=CACHE))
    sock = run / "docker.sock"
    log = (run / "dockerd.log").open("wb")
    proc = subprocess.Popen(
        [
            "dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
            "--data-root", str(data_root), "--exec-root", str(run / "exec"),
            "--pidfile", str(run / "dockerd.pid"), "--host", f"unix://{sock}",
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    host = f"unix://{sock}"
    env = dict(os.environ, DOCKER_HOST=host)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(run / 'dockerd.log').read_text()[-2000:]}")
            ok = subprocess.run(["docker", "version"], env=env, capture_output=True).returncode
            if ok == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("dockerd did not come up in 90 s")
            time.sleep(0.3)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(run, ignore_errors=True)
        if data_root != CACHE / "docker":
            shutil.rmtree(data_root, ignore_errors=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
