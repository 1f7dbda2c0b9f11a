"""A warm ``jip`` for Airflow tasks: run ``jip pipeline step`` requests in forked children.

A fresh ``jip`` process spends seconds importing pydicom, SQLAlchemy, numpy and friends
before a step does any work, and the Airflow engine runs three steps per batch. This
server imports all of that once; each request forks a child that already has it loaded,
builds its settings from the request's ``JIP_*`` variables, runs the step exactly as the
command would (``jip.cli.pipeline_cmds.step_main``) and streams its output back.

Protocol (one request per connection, over a unix socket in a folder only this user can
enter): the client sends one JSON line ``{"step", "jobs", "workers", "env"}`` (or
``{"stop": true}``); the server answers ``JIP-STEP pid=<child pid>``, then the step's
output, then ``JIP-STEP exit=<code>``. A client that sees no exit line treats the step
as failed; it can SIGTERM the child by its pid (same host, same user) to stop it.

The server holds no database connection and no threads when it forks. It exits after
``idle_seconds`` without requests, on a stop request, and as soon as any of its loaded
``jip`` source files changed (an upgraded JIP never runs old code: the client then starts
a new server). The operator in ``operators/step_client.py`` is its client; both derive
the socket path from the ``jip`` executable with ``socket_path``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jip.processes import pid_alive

HEADER = "JIP-STEP pid="
TRAILER = "JIP-STEP exit="
STALE = "JIP-STEP stale"
REQUEST_TIMEOUT = 10.0


def socket_path(jip_bin: str) -> Path:
    """Where the server for this ``jip`` executable listens (the client computes the same)."""
    key = hashlib.sha256(os.path.realpath(jip_bin).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"jip-step-{os.getuid()}" / f"{key}.sock"


def preload() -> None:
    """Import what a step needs, once (the children inherit it)."""
    import jip.cli.pipeline_cmds  # noqa: F401
    import jip.ingest  # noqa: F401
    import jip.pipelines.batch  # noqa: F401
    import jip.pipelines.runners.docker  # noqa: F401
    import jip.pipelines.runners.process  # noqa: F401
    import jip.pipelines.service  # noqa: F401
    import jip.runtime  # noqa: F401


def _source_mtimes() -> dict[str, float]:
    root = str(Path(__file__).resolve().parents[1])
    found: dict[str, float] = {}
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if path and path.startswith(root):
            with contextlib.suppress(OSError):
                found[path] = os.stat(path).st_mtime
    return found


def _changed(mtimes: dict[str, float]) -> bool:
    for path, mtime in mtimes.items():
        try:
            if os.stat(path).st_mtime != mtime:
                return True
        except OSError:
            return True
    return False


def serve(path: Path, idle_seconds: float = 300) -> None:
    """Serve until idle, stopped or stale. A second server for the same socket exits at
    once (a lock file next to the socket), so racing clients may all try to start one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.parent.lstat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise SystemExit(f"{path.parent} is not a private folder of this user: not serving")
    lock = (path.parent / f"{path.name}.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another server owns this socket
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS threads to lose in a fork
    preload()
    mtimes = _source_mtimes()
    path.unlink(missing_ok=True)  # left by a server that died: we hold the lock now
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    children: list[int] = []
    last = time.monotonic()
    try:
        while True:
            sock.settimeout(5.0)
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                children = [pid for pid in children if pid_alive(pid)]
                if not children and time.monotonic() - last > idle_seconds:
                    return
                continue
            last = time.monotonic()
            with conn:
                request = _read_request(conn)
                if request is None:
                    continue
                if request.get("stop"):
                    conn.sendall(b"JIP-STEP stopping\n")
                    return
                if _changed(mtimes):
                    conn.sendall(f"{STALE}\n".encode())
                    return
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the child, ends with os._exit
                    sock.close()
                    lock.close()  # a successor server must not wait for this child
                    _child(conn, request)
                children.append(pid)
    finally:
        sock.close()
        path.unlink(missing_ok=True)
        lock.close()


def request_stop(path: Path, timeout: float = 10.0) -> bool:
    """Ask the server on ``path`` to exit; False if none answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(b'{"stop": true}\n')
            return s.recv(64).startswith(b"JIP-STEP stopping")
    except OSError:
        return False


def _read_request(conn: socket.socket) -> dict[str, Any] | None:
    conn.settimeout(REQUEST_TIMEOUT)
    data = b""
    try:
        while not data.endswith(b"\n") and len(data) < 4 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        request = json.loads(data)
    except (OSError, ValueError):
        return None
    return request if isinstance(request, dict) else None


def _child(conn: socket.socket, request: dict[str, Any]) -> None:
    """Run one step with the connection as stdout/stderr; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runners wait for their children
        conn.settimeout(None)
        os.dup2(conn.fileno(), 1)
        os.dup2(conn.fileno(), 2)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        print(f"{HEADER}{os.getpid()}", flush=True)
        for key in [k for k in os.environ if k.startswith("JIP_")]:
            del os.environ[key]
        env = request.get("env") or {}
        for key, value in env.items():
            if not str(key).startswith("JIP_"):
                raise ValueError(f"env may only set JIP_* variables, not {key!r}")
            os.environ[str(key)] = str(value)
        jobs = [str(j) for j in request.get("jobs") or []]
        step = str(request.get("step", ""))
        if step not in ("prepare", "run", "store") or not jobs:
            raise ValueError(f"bad step request: step {step!r}, {len(jobs)} job(s)")
        from jip.cli.pipeline_cmds import step_main

        code = step_main(step, jobs, int(request.get("workers") or 0))
    except BaseException as exc:  # everything ends in the exit line, never in the server
        print(f"step failed in the step server: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = code or 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
            os.write(1, f"\n{TRAILER}{code}\n".encode())
        os._exit(code)
