"""The Kubernetes runner: submits the job's Pod (see ``kubernetes_specs``) with the
official client, waits for it to end, the deadline or a cancel, copies its logs and
deletes it. Kept thin: the policy lives in the spec builders, which are tested
against the Kubernetes schemas."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from jip.config import Settings
from jip.pipelines.runners.base import (
    CancelCheck,
    ImageDigestError,
    Runner,
    RunOutcome,
    RunRequest,
)
from jip.pipelines.runners.kubernetes_specs import (
    algorithm_pod,
    no_network_policy,
    pod_name,
)


class KubernetesRunner(Runner):
    name = "kubernetes"

    def __init__(self, settings: Settings, poll: float = 1.0) -> None:
        self.settings = settings
        self.poll = poll
        self._api: object | None = None

    def _core(self):  # type: ignore[no-untyped-def]
        from kubernetes import client, config

        if self._api is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            self._api = client.ApiClient()
            self._ensure_policy()
        return client.CoreV1Api(self._api)

    def _ensure_policy(self) -> None:
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        net = client.NetworkingV1Api(self._api)
        ns = self.settings.kubernetes_namespace
        try:
            net.create_namespaced_network_policy(ns, no_network_policy(ns))
        except ApiException as exc:
            if exc.status != 409:  # already there
                raise

    def resolve_image(self, req: RunRequest) -> str:
        """Pods name their image by digest only, so the manifest must pin one."""
        if not req.manifest.image_digest:
            raise ImageDigestError(
                f"{req.manifest.name}: the kubernetes runner runs images by digest only; "
                "pin image_digest in its jip-algorithm.yaml (`jip algorithms build` "
                "records it)",
                algorithm=req.manifest.name,
            )
        return req.manifest.image_digest

    def pod_for(self, req: RunRequest) -> object:
        runs_root = self.settings.data_dir.resolve() / "runs"
        return algorithm_pod(
            req,
            runs_claim=self.settings.kubernetes_runs_claim,
            job_subpath=req.job_dir.resolve().relative_to(runs_root).as_posix(),
            namespace=self.settings.kubernetes_namespace,
            user=self.settings.algorithm_user,
        )

    def run(self, req: RunRequest, cancelled: CancelCheck) -> RunOutcome:
        from kubernetes.client.rest import ApiException

        core = self._core()
        ns, name = self.settings.kubernetes_namespace, pod_name(req.job_id)
        with contextlib.suppress(ApiException):
            core.delete_namespaced_pod(name, ns, grace_period_seconds=0)
        core.create_namespaced_pod(ns, self.pod_for(req))
        outcome = RunOutcome(exit_code=None, started_at=_now())
        try:
            while True:
                pod = core.read_namespaced_pod(name, ns)
                phase = pod.status.phase
                if phase in ("Succeeded", "Failed"):
                    break
                if cancelled():
                    outcome.cancelled = True
                    break
                time.sleep(self.poll)
            outcome.exited_at = _now()
            for cs in pod.status.container_statuses or []:
                term = cs.state.terminated if cs.state else None
                if term is not None:
                    outcome.exit_code = term.exit_code
                    outcome.oom_killed = term.reason == "OOMKilled"
            if pod.status.reason == "DeadlineExceeded":
                outcome.timed_out = True
            with req.log_file.open("a") as f:
                try:
                    f.write(core.read_namespaced_pod_log(name, ns))
                except ApiException as exc:
                    f.write(f"[jip] no pod logs: {exc.reason}\n")
        finally:
            with contextlib.suppress(ApiException):
                core.delete_namespaced_pod(name, ns, grace_period_seconds=0)
        return outcome


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
