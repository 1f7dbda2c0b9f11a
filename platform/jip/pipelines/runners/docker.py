"""The Docker runner: one container per job through the Docker Engine API.

The container gets no network (``--network none``), a read-only root file system and
input mount, a writable output mount, an unprivileged user, no capabilities, cpu,
memory (no swap) and pid limits, and is killed at the manifest's timeout. Its logs are
copied into the job's log before the container is removed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

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
    check_image_digest,
)
from jip.pipelines.runners.docker_api import DockerAPI

log = logging.getLogger(__name__)


class RunnerError(JIPError):
    """The container engine failed (not the algorithm)."""

    http_status = 503


class DockerRunner(Runner):
    name = "docker"

    def __init__(self, settings: Settings, poll: float = 0.2) -> None:
        self.settings = settings
        self.poll = poll
        self._api: DockerAPI | None = None
        self.env = dict(os.environ)
        if settings.docker_host:
            self.env["DOCKER_HOST"] = settings.docker_host

    @property
    def api(self) -> DockerAPI:
        if self._api is None:
            self._api = DockerAPI(self.settings.docker_host)
        return self._api

    def resolve_image(self, req: RunRequest) -> str:
        """The local image's ID, after checking it against the manifest's pin; the
        container is then created from that ID, so a tag moved meanwhile cannot swap
        the image between the check and the run."""
        found = self.api.inspect_image(req.manifest.image)
        if found is None:
            raise RunnerError(
                f"image {req.manifest.image} is not on this host; "
                f"build it with `jip algorithms build {req.manifest.name}`"
            )
        image_id = str(found["Id"])
        check_image_digest(req.manifest, image_id, list(found.get("RepoDigests") or []),
                           required=self.settings.require_image_digest)
        return image_id

    def container_name(self, job_id: str) -> str:
        return f"jip-job-{job_id}"

    def container_spec(self, req: RunRequest) -> dict[str, Any]:
        """The Engine API ``containers/create`` body of a job: the isolation policy."""
        m = req.manifest
        mem = m.resources.memory_bytes
        host: dict[str, Any] = {
            "NetworkMode": "none",
            "ReadonlyRootfs": True,
            "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=64m"},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "PidsLimit": 256,
            "NanoCpus": int(m.resources.cpu * 1e9),
            "Memory": mem,
            "MemorySwap": mem,  # no swap: the limit is the limit
            "Binds": [
                f"{req.input_dir}:{CONTAINER_INPUT}:ro",
                f"{req.output_dir}:{CONTAINER_OUTPUT}:rw",
                f"{req.params_file}:{CONTAINER_PARAMS}:ro",
            ],
        }
        if m.resources.gpu:
            host["DeviceRequests"] = [
                {"Driver": "nvidia", "Count": m.resources.gpu, "Capabilities": [["gpu"]]}
            ]
        env = {**CONTRACT_ENV, "HOME": "/tmp", "PYTHONUNBUFFERED": "1"}
        return {
            "Image": req.image_id or m.image,
            "Entrypoint": [m.command[0]],
            "Cmd": list(m.command[1:]),
            "User": self.settings.algorithm_user,
            "WorkingDir": "/app",
            "Env": [f"{k}={v}" for k, v in env.items()],
            "Labels": {"jip.job": req.job_id, "jip.algorithm": m.name},
            "NetworkDisabled": True,
            "HostConfig": host,
        }

    def run(self, req: RunRequest, cancelled: CancelCheck) -> RunOutcome:
        api = self.api
        cid = api.create(self.container_name(req.job_id), self.container_spec(req))
        outcome = RunOutcome(exit_code=None)
        timeout = req.manifest.timeout_seconds
        try:
            api.start(cid)
            # the daemon tells us when it exits; this thread only watches deadline/cancel
            done = threading.Event()
            waiter = threading.Thread(target=_wait_quietly, args=(api, cid, timeout + 30, done),
                                      daemon=True)
            waiter.start()
            deadline = time.monotonic() + timeout
            while not done.wait(self.poll):
                if time.monotonic() > deadline:
                    outcome.timed_out = True
                elif cancelled():
                    outcome.cancelled = True
                if outcome.timed_out or outcome.cancelled:
                    api.kill(cid)
                    done.wait(30)
                    break
            st = api.inspect(cid)["State"]
            outcome.exit_code = int(st.get("ExitCode", -1))
            outcome.oom_killed = bool(st.get("OOMKilled"))
            outcome.started_at = _parse_time(st.get("StartedAt", ""))
            outcome.exited_at = _parse_time(st.get("FinishedAt", ""))
            with req.log_file.open("ab") as f:
                f.write(api.logs(cid))
        finally:
            # removal takes the daemon a while and nothing waits for it: do it aside
            threading.Thread(target=_remove_quietly, args=(api, cid), daemon=True).start()
        return outcome


def _remove_quietly(api: DockerAPI, cid: str) -> None:
    try:
        api.remove(cid)
    except JIPError as exc:
        log.warning("removing container %s failed: %s", cid, exc.message)


def _wait_quietly(api: DockerAPI, cid: str, timeout: float, done: threading.Event) -> None:
    try:
        api.wait(cid, timeout)
    except JIPError as exc:
        log.warning("waiting for container %s failed: %s", cid, exc.message)
    finally:
        done.set()


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
