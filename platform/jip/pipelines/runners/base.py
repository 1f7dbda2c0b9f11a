"""The runner seam. Whatever starts the algorithm, it sees the same contract:

- ``/input``  read-only, one sub-folder per series of DICOM files,
- ``/output`` the only place it may write,
- ``/params.json`` its parameters, also named by ``JIP_PARAMS``,
- no network, a non-root user, cpu/memory limits and a wall-clock timeout.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jip.errors import JIPError
from jip.pipelines.manifest import AlgorithmManifest

CONTAINER_INPUT = "/input"
CONTAINER_OUTPUT = "/output"
CONTAINER_PARAMS = "/params.json"
CONTRACT_ENV = {
    "JIP_INPUT_DIR": CONTAINER_INPUT,
    "JIP_OUTPUT_DIR": CONTAINER_OUTPUT,
    "JIP_PARAMS": CONTAINER_PARAMS,
}

CancelCheck = Callable[[], bool]


class ImageDigestError(JIPError):
    """The image on this host is not the one the manifest pins (or nothing is pinned
    where a pin is required): the algorithm is refused before anything runs."""

    http_status = 409


def check_image_digest(
    manifest: AlgorithmManifest, image_id: str, repo_digests: list[str], *, required: bool
) -> None:
    """Refuse an image that is not the pinned one. The pin may be the local image ID
    (``docker image inspect``'s ``Id``, what ``jip algorithms build`` records) or a
    registry digest (one of its ``RepoDigests``, ``name@sha256:...``)."""
    pin = manifest.image_digest
    if pin is None:
        if required:
            raise ImageDigestError(
                f"{manifest.name}: jip-algorithm.yaml pins no image_digest and this site "
                "requires one (JIP_REQUIRE_IMAGE_DIGEST); run `jip algorithms build "
                f"{manifest.name}` to record it",
                algorithm=manifest.name,
            )
        return
    if image_id == pin or any(d.rpartition("@")[2] == pin for d in repo_digests):
        return
    raise ImageDigestError(
        f"refusing to run {manifest.name}: image {manifest.image} on this host is {image_id}, "
        f"but its jip-algorithm.yaml pins {pin} (rebuild it with `jip algorithms build "
        f"{manifest.name}` or fix the pin)",
        algorithm=manifest.name, image=manifest.image, image_id=image_id, pinned=pin,
    )


@dataclass(frozen=True)
class RunRequest:
    job_id: str
    manifest: AlgorithmManifest
    algorithm_dir: Path  # folder with the manifest and code (used by the process runner)
    job_dir: Path  # holds input/, output/, params.json, log.txt
    image_id: str = ""  # resolved image to run; empty: manifest.image

    @property
    def input_dir(self) -> Path:
        return self.job_dir / "input"

    @property
    def output_dir(self) -> Path:
        return self.job_dir / "output"

    @property
    def params_file(self) -> Path:
        return self.job_dir / "params.json"

    @property
    def log_file(self) -> Path:
        return self.job_dir / "log.txt"


@dataclass
class RunOutcome:
    exit_code: int | None
    timed_out: bool = False
    oom_killed: bool = False
    cancelled: bool = False
    started_at: datetime | None = None
    exited_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.oom_killed or self.cancelled)

    def reason(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.timed_out:
            return "timed out (killed)"
        if self.oom_killed:
            return "killed: memory limit exceeded"
        if self.exit_code not in (0, None):
            return f"exited with code {self.exit_code}"
        if self.exit_code is None:
            return "did not report an exit code"
        return "ok"


class Runner(ABC):
    name: str = "abstract"

    @abstractmethod
    def run(self, req: RunRequest, cancelled: CancelCheck) -> RunOutcome:
        """Run the algorithm to the end, the timeout, or until ``cancelled()`` is true;
        write its combined stdout/stderr to ``req.log_file``. Never raises for a failing
        algorithm: that is an outcome, not an error."""

    def resolve_image(self, req: RunRequest) -> str:
        """The concrete image id a run will use (recorded on the job); empty if none."""
        return ""
