"""Runners start one algorithm container (or process) under the I/O contract."""

from __future__ import annotations

from jip.config import Settings
from jip.pipelines.runners.base import Runner, RunOutcome, RunRequest

__all__ = ["RunOutcome", "RunRequest", "Runner", "make_runner"]


def make_runner(settings: Settings) -> Runner:
    """The runner named by ``settings.runner``; imports only what that one needs."""
    if settings.runner == "docker":
        from jip.pipelines.runners.docker import DockerRunner

        return DockerRunner(settings)
    if settings.runner == "kubernetes":
        from jip.pipelines.runners.kubernetes import KubernetesRunner

        return KubernetesRunner(settings)
    from jip.pipelines.runners.process import ProcessRunner

    return ProcessRunner(settings)
