"""Client of JIP's step server (``jip pipeline step-server``, ``jip.pipelines.step_server``).

The server is a warm ``jip`` that forks a child per step, so a step does not pay the
seconds of imports a fresh ``jip`` process costs. The first task on a worker starts it
(detached, in its own session; it exits by itself when unused); every task then sends its
step over the server's unix socket and streams the output back. If no server can be
reached or started, ``run`` returns None and the operator runs a plain ``jip`` process.

No Airflow and no ``jip`` imports here: Airflow's venv never imports ``jip``, and the
tests load this file alone. Keep the protocol constants equal to the server's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HEADER = "JIP-STEP pid="
TRAILER = "JIP-STEP exit="
STALE = "JIP-STEP stale"
NO_EXIT_CODE = 1  # the child died without reporting (SIGKILL, crash)


def socket_path(jip_bin: str) -> Path:
    """Where the server for this ``jip`` executable listens (same as the server's)."""
    key = hashlib.sha256(os.path.realpath(jip_bin).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"jip-step-{os.getuid()}" / f"{key}.sock"


class StepServerClient:
    """One step through the server; ``kill`` stops the step's child (from any thread)."""

    def __init__(
        self,
        jip_bin: str,
        log: Callable[[str], None],
        *,
        idle_seconds: float = 300,
        start_timeout: float = 120,
    ) -> None:
        self.jip_bin = jip_bin
        self.path = socket_path(jip_bin)
        self.log = log
        self.idle_seconds = idle_seconds
        self.start_timeout = start_timeout
        self.pid: int | None = None

    def run(
        self, step: str, jobs: list[str], workers: int, env: Mapping[str, str]
    ) -> int | None:
        """The step's exit code; None if no server could be used."""
        request = {"step": step, "jobs": jobs, "workers": workers,
                   "env": {k: v for k, v in env.items() if k.startswith("JIP_")}}
        for attempt in range(5):  # a stale server exits: let it go, then use a fresh one
            if attempt:
                time.sleep(0.2 * attempt)  # its socket may still take a connection meanwhile
            conn = self._connect() or self._start()
            if conn is None:
                return None
            with conn:
                code = self._talk(conn, request)
            if code is not None:
                return code
        return None

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    # -- plumbing --------------------------------------------------------------------

    def _private_folder(self) -> bool:
        """The socket folder must be ours and closed to others: a folder someone else
        made in a shared /tmp could hold a socket that is not JIP's."""
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = folder.lstat()
        except OSError:
            return False
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or not folder.is_dir():
            self.log(f"not using the step server: {folder} is not a private folder of ours")
            return False
        return True

    def _connect(self) -> socket.socket | None:
        if not self._private_folder():
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(self.path))
        except OSError:
            s.close()
            return None
        return s

    def _start(self) -> socket.socket | None:
        """Start a server (detached) and wait until it accepts; racing starters are fine:
        all but one exit at once and everyone connects to the winner."""
        if not self._private_folder():
            return None
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIP_")}
        cmd = [self.jip_bin, "pipeline", "step-server", "--socket", str(self.path),
               "--idle-seconds", str(self.idle_seconds)]
        try:
            with (self.path.parent / f"{self.path.name}.log").open("ab") as out:
                proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            self.log(f"cannot start the jip step server: {exc}")
            return None
        self.log(f"started the jip step server (pid {proc.pid}) on {self.path}")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            conn = self._connect()
            if conn is not None:
                return conn
            if proc.poll() not in (None, 0):
                self.log(f"the jip step server exited with {proc.returncode}")
                return None
            time.sleep(0.1)
        self.log(f"the jip step server did not answer within {self.start_timeout} s")
        return None

    def _talk(self, conn: socket.socket, request: dict[str, Any]) -> int | None:
        """Send the request, stream the output; the exit code, or None if stale."""
        code: int | None = None
        with conn.makefile("rb") as stream:
            try:
                conn.sendall(json.dumps(request).encode() + b"\n")
                first = stream.readline().decode(errors="replace").rstrip("\n")
            except (ConnectionResetError, BrokenPipeError):
                # the server went away before taking the request (it was exiting, stale
                # or idle): nothing ran, so a fresh server may run it
                first = STALE
            if first == STALE:
                self.log("the jip step server runs old code; starting a new one")
                return None
            if not first.startswith(HEADER):
                self.log(f"unexpected answer from the jip step server: {first[:200]!r}")
                return NO_EXIT_CODE
            self.pid = int(first[len(HEADER):])
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                if line.startswith(TRAILER):
                    code = int(line[len(TRAILER):])
                elif line:
                    self.log(line)
        if code is None:
            self.log("the step process ended without an exit code (killed?)")
            return NO_EXIT_CODE
        return code
