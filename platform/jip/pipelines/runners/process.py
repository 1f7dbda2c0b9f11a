"""Development runner: the algorithm as a plain subprocess of this machine's Python.

Off by default (``JIP_RUNNER=process``): it has no network isolation and runs as the
JIP user. It still enforces the timeout and an address-space limit, and it gives the
algorithm the same paths through the contract's environment variables.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from jip.config import Settings
from jip.pipelines.runners.base import CancelCheck, Runner, RunOutcome, RunRequest


class ProcessRunner(Runner):
    name = "process"

    def __init__(self, settings: Settings, poll: float = 0.05) -> None:
        self.settings = settings
        self.poll = poll

    def run(self, req: RunRequest, cancelled: CancelCheck) -> RunOutcome:
        argv = list(req.manifest.command)
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(req.job_dir),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "JIP_INPUT_DIR": str(req.input_dir),
            "JIP_OUTPUT_DIR": str(req.output_dir),
            "JIP_PARAMS": str(req.params_file),
        }
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if k in os.environ:
                env[k] = os.environ[k]
        limit = req.manifest.resources.memory_bytes
        # numpy/scipy map far more address space than they touch: allow headroom
        as_limit = max(limit * 2, limit + 1024**3)

        def _limits() -> None:
            os.setsid()
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))

        outcome = RunOutcome(exit_code=None, started_at=_now())
        deadline = time.monotonic() + req.manifest.timeout_seconds
        with req.log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=req.algorithm_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_limits,  # noqa: PLW1509 - setsid + rlimit before exec
            )
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    outcome.timed_out = True
                    break
                if cancelled():
                    outcome.cancelled = True
                    break
                time.sleep(self.poll)
            if proc.poll() is None:
                _kill_group(proc)
        outcome.exited_at = _now()
        outcome.exit_code = proc.returncode
        if proc.returncode is not None and proc.returncode < 0:
            outcome.notes.append(f"killed by signal {-proc.returncode}")
        if proc.returncode != 0 and _looks_oom(req):
            outcome.oom_killed = True
        return outcome


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _looks_oom(req: RunRequest) -> bool:
    try:
        tail = req.log_file.read_bytes()[-4000:]
    except OSError:
        return False
    return b"MemoryError" in tail or b"Unable to allocate" in tail


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
