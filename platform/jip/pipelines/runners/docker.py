"""The Docker runner: one container per job through the docker CLI.

The container gets no network (``--network none``), a read-only root file system and
input mount, a writable output mount, an unprivileged user, no capabilities, cpu,
memory (no swap) and pid limits, and is killed at the manifest's timeout. Its logs are
copied into the job's log before the container is removed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from datetime import datetime

from jip.config import Settings
from jip.errors import JIPError
from jip.pipelines.runners.base import (
    CONTAINER_INPUT,
    CONTAINER_OUTPUT,
    CONTAINER_PARAMS,
    CONTRACT_ENV,
    CancelCheck,
    Runner,
    RunOutcome,
    RunRequest,
)

log = logging.getLogger(__name__)


class RunnerError(JIPError):
    """The container engine failed (not the algorithm)."""

    http_status = 503


class DockerRunner(Runner):
    name = "docker"

    def __init__(self, settings: Settings, poll: float = 0.05) -> None:
        self.settings = settings
        self.poll = poll
        self.env = dict(os.environ)
        if settings.docker_host:
            self.env["DOCKER_HOST"] = settings.docker_host

    def docker(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one docker CLI command; raises ``RunnerError`` if it fails and ``check``."""
        try:
            res = subprocess.run(
                [self.settings.docker_binary, *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RunnerError(f"docker {args[0]} failed: {exc}") from exc
        if check and res.returncode != 0:
            raise RunnerError(f"docker {args[0]} failed: {res.stderr.strip()[-2000:]}")
        return res

    def resolve_image(self, req: RunRequest) -> str:
        res = self.docker("image", "inspect", "--format", "{{.Id}}", req.manifest.image,
                          check=False)
        if res.returncode != 0:
            raise RunnerError(
                f"image {req.manifest.image} is not on this host; "
                f"build it with `jip algorithms build {req.manifest.name}`"
            )
        return res.stdout.strip()

    def container_name(self, job_id: str) -> str:
        return f"jip-job-{job_id}"

    def run_args(self, req: RunRequest) -> list[str]:
        """The ``docker run`` arguments of a job (public so tests can read the policy)."""
        m = req.manifest
        mem = str(m.resources.memory_bytes)
        args = [
            "run", "--detach",
            "--name", self.container_name(req.job_id),
            "--label", f"jip.job={req.job_id}",
            "--network", "none",
            "--user", self.settings.algorithm_user,
            "--read-only",
            "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--pids-limit", "256",
            "--cpus", f"{m.resources.cpu:g}",
            "--memory", mem,
            "--memory-swap", mem,
            "--volume", f"{req.input_dir}:{CONTAINER_INPUT}:ro",
            "--volume", f"{req.output_dir}:{CONTAINER_OUTPUT}:rw",
            "--volume", f"{req.params_file}:{CONTAINER_PARAMS}:ro",
            "--workdir", "/app",
            "--env", "HOME=/tmp",
            "--env", "PYTHONUNBUFFERED=1",
        ]
        for k, v in CONTRACT_ENV.items():
            args += ["--env", f"{k}={v}"]
        if m.resources.gpu:
            args += ["--gpus", str(m.resources.gpu)]
        args += ["--entrypoint", m.command[0], req.image_id or m.image, *m.command[1:]]
        return args

    def run(self, req: RunRequest, cancelled: CancelCheck) -> RunOutcome:
        name = self.container_name(req.job_id)
        self.docker("rm", "--force", name, check=False)  # a leftover of a crashed JIP
        outcome = RunOutcome(exit_code=None)
        self.docker(*self.run_args(req))
        deadline = time.monotonic() + req.manifest.timeout_seconds
        try:
            waiter = subprocess.Popen(
                [self.settings.docker_binary, "wait", name],
                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            while waiter.poll() is None:
                if time.monotonic() > deadline:
                    outcome.timed_out = True
                    break
                if cancelled():
                    outcome.cancelled = True
                    break
                time.sleep(self.poll)
            if waiter.poll() is None:
                self.docker("kill", name, check=False)
                waiter.wait(30)
            state = json.loads(
                self.docker("inspect", "--format", "{{json .State}}", name).stdout
            )
            outcome.exit_code = int(state.get("ExitCode", -1))
            outcome.oom_killed = bool(state.get("OOMKilled"))
            outcome.started_at = _parse_time(state.get("StartedAt", ""))
            outcome.exited_at = _parse_time(state.get("FinishedAt", ""))
            with req.log_file.open("ab") as f:
                subprocess.run(
                    [self.settings.docker_binary, "logs", name],
                    env=self.env, stdout=f, stderr=subprocess.STDOUT, timeout=60,
                )
        finally:
            self.docker("rm", "--force", name, check=False)
        return outcome


def _parse_time(value: str) -> datetime | None:
    """Docker's RFC 3339 with nanoseconds -> naive UTC datetime."""
    if not value or value.startswith("0001-"):
        return None
    value = value.rstrip("Z")
    if "." in value:
        head, frac = value.split(".", 1)
        value = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
