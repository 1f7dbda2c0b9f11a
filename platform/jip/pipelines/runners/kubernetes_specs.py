"""The algorithm contract as Kubernetes objects (pure functions, no cluster needed).

One job becomes one Pod: the image by digest only (``repo@sha256:...``), the run
folder from a PersistentVolumeClaim shared with JIP (``input`` read-only, ``output``
writable, ``params.json`` read-only, all by ``subPath``), limits from the manifest
(``nvidia.com/gpu`` for GPUs), a non-root restricted security context, no
service-account token, ``activeDeadlineSeconds`` as the timeout. A NetworkPolicy
selecting every algorithm pod denies all egress and ingress, so algorithms have no
network in the cluster either.
"""

from __future__ import annotations

from kubernetes import client as k8s

from jip.pipelines.runners.base import (
    CONTAINER_INPUT,
    CONTAINER_OUTPUT,
    CONTAINER_PARAMS,
    CONTRACT_ENV,
    RunRequest,
)

ALGORITHM_LABEL = "jip.io/algorithm-pod"
NETWORK_POLICY_NAME = "jip-algorithms-no-network"


def pod_name(job_id: str) -> str:
    return f"jip-job-{job_id}"[:63]


def _uid_gid(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


def algorithm_pod(
    req: RunRequest, *, runs_claim: str, job_subpath: str, namespace: str, user: str
) -> k8s.V1Pod:
    """The Pod of one job. ``job_subpath`` is the job folder relative to the claim root."""
    m = req.manifest
    uid, gid = _uid_gid(user)
    if uid == 0:
        raise ValueError("algorithms never run as root")
    limits = {"cpu": f"{m.resources.cpu:g}", "memory": m.resources.memory}
    if m.resources.gpu:
        limits["nvidia.com/gpu"] = str(m.resources.gpu)
    mounts = [
        k8s.V1VolumeMount(name="runs", mount_path=CONTAINER_INPUT,
                          sub_path=f"{job_subpath}/input", read_only=True),
        k8s.V1VolumeMount(name="runs", mount_path=CONTAINER_OUTPUT,
                          sub_path=f"{job_subpath}/output", read_only=False),
        k8s.V1VolumeMount(name="runs", mount_path=CONTAINER_PARAMS,
                          sub_path=f"{job_subpath}/params.json", read_only=True),
        k8s.V1VolumeMount(name="tmp", mount_path="/tmp"),
    ]
    digest = req.image_id if req.image_id.startswith("sha256:") else m.image_digest
    if not digest:
        raise ValueError(f"{m.name}: pods run images by digest only; the manifest pins none")
    image = image_by_digest(m.image, digest)
    container = k8s.V1Container(
        name="algorithm",
        image=image,
        image_pull_policy="IfNotPresent",
        command=list(m.command),
        working_dir="/app",
        env=[k8s.V1EnvVar(name=k, value=v) for k, v in
             {**CONTRACT_ENV, "HOME": "/tmp", "PYTHONUNBUFFERED": "1"}.items()],
        resources=k8s.V1ResourceRequirements(limits=limits, requests=dict(limits)),
        volume_mounts=mounts,
        security_context=k8s.V1SecurityContext(
            run_as_non_root=True,
            run_as_user=uid,
            run_as_group=gid,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            privileged=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
    )
    return k8s.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=k8s.V1ObjectMeta(
            name=pod_name(req.job_id),
            namespace=namespace,
            labels={
                ALGORITHM_LABEL: "true",
                "jip.io/job": req.job_id,
                "jip.io/algorithm": m.name,
                "app.kubernetes.io/managed-by": "jip",
            },
        ),
        spec=k8s.V1PodSpec(
            restart_policy="Never",
            active_deadline_seconds=max(1, int(m.timeout_seconds)),
            automount_service_account_token=False,
            enable_service_links=False,
            host_network=False,
            containers=[container],
            security_context=k8s.V1PodSecurityContext(
                run_as_non_root=True, run_as_user=uid, run_as_group=gid, fs_group=gid,
                seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
            ),
            volumes=[
                k8s.V1Volume(name="runs", persistent_volume_claim=k8s.
                             V1PersistentVolumeClaimVolumeSource(claim_name=runs_claim)),
                k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(
                    medium="Memory", size_limit="64Mi")),
            ],
        ),
    )


def image_by_digest(image: str, digest: str) -> str:
    """``repo[:tag][@old]`` + ``sha256:...`` -> ``repo@sha256:...`` (a tag is dropped:
    with a digest the runtime ignores it, and it only misleads a reader)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:  # a tag, not a registry port
        name = name.rsplit(":", 1)[0]
    return f"{name}@{digest}"


def no_network_policy(namespace: str) -> k8s.V1NetworkPolicy:
    """Deny all egress and ingress of algorithm pods (no rules = nothing allowed)."""
    return k8s.V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=k8s.V1ObjectMeta(name=NETWORK_POLICY_NAME, namespace=namespace,
                                  labels={"app.kubernetes.io/managed-by": "jip"}),
        spec=k8s.V1NetworkPolicySpec(
            pod_selector=k8s.V1LabelSelector(match_labels={ALGORITHM_LABEL: "true"}),
            policy_types=["Ingress", "Egress"],
            ingress=[],
            egress=[],
        ),
    )


def to_dict(obj: object) -> dict[str, object]:
    """The object as the API server receives it (camelCase, no nulls)."""
    out: dict[str, object] = k8s.ApiClient().sanitize_for_serialization(obj)
    return out
