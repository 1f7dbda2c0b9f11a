"""The Kubernetes form of the contract: generated Pod and NetworkPolicy are valid
against the Kubernetes schemas (kubernetes-validate, strict) and carry the policy."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from jip.pipelines.registry import REPO_ALGORITHMS, AlgorithmRegistry
from jip.pipelines.runners.base import ImageDigestError, RunRequest
from jip.pipelines.runners.kubernetes import KubernetesRunner
from jip.pipelines.runners.kubernetes_specs import (
    algorithm_pod,
    image_by_digest,
    no_network_policy,
    to_dict,
)
from tests.pipelines.conftest import pipeline_settings

K8S_VERSION = "1.37.0"


DIGEST = "sha256:" + "0123456789abcdef" * 4


def _req(name: str, tmp_path: Path, gpu: int = 0, digest: str | None = DIGEST) -> RunRequest:
    algo = AlgorithmRegistry([REPO_ALGORITHMS]).get(name)
    manifest = algo.manifest.model_copy(update={"image_digest": digest})
    if gpu:
        manifest = manifest.model_copy(
            update={"resources": manifest.resources.model_copy(update={"gpu": gpu})})
    return RunRequest(job_id="0123abcd", manifest=manifest, algorithm_dir=algo.folder,
                      job_dir=tmp_path / "data" / "runs" / "run1" / "0123abcd")


@pytest.mark.parametrize("name", ["dicom-qa", "ct-body-seg", "volumetry"])
def test_pod_spec_is_valid_and_locked_down(name: str, tmp_path: Path) -> None:
    runner = KubernetesRunner(pipeline_settings(tmp_path, runner="kubernetes"))
    pod = to_dict(runner.pod_for(_req(name, tmp_path)))
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    spec = pod["spec"]
    c = spec["containers"][0]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["activeDeadlineSeconds"] > 0
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65534
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/input"]["readOnly"] is True
    assert mounts["/input"]["subPath"] == "run1/0123abcd/input"
    assert mounts["/output"]["subPath"] == "run1/0123abcd/output"
    assert mounts["/params.json"]["readOnly"] is True
    assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == "jip-runs"
    assert c["resources"]["limits"]["memory"] == runner_manifest_memory(name)
    assert "nvidia.com/gpu" not in c["resources"]["limits"]
    assert pod["metadata"]["labels"]["jip.io/algorithm-pod"] == "true"
    assert c["image"] == f"jip/{name}@{DIGEST}"  # by digest only: a tag cannot move


def test_image_by_digest_only(tmp_path: Path) -> None:
    runner = KubernetesRunner(pipeline_settings(tmp_path, runner="kubernetes"))
    unpinned = _req("dicom-qa", tmp_path, digest=None)
    with pytest.raises(ImageDigestError, match="by digest only"):
        runner.resolve_image(unpinned)
    with pytest.raises(ValueError, match="digest"):
        runner.pod_for(unpinned)
    assert runner.resolve_image(_req("dicom-qa", tmp_path)) == DIGEST
    assert image_by_digest("registry.local:5000/jip/qa:1.0", DIGEST) == (
        f"registry.local:5000/jip/qa@{DIGEST}")
    assert image_by_digest(f"jip/qa@sha256:{'f' * 64}", DIGEST) == f"jip/qa@{DIGEST}"


def runner_manifest_memory(name: str) -> str:
    return AlgorithmRegistry([REPO_ALGORITHMS]).get(name).manifest.resources.memory


def test_gpu_request(tmp_path: Path) -> None:
    pod = to_dict(algorithm_pod(_req("ct-body-seg", tmp_path, gpu=1), runs_claim="c",
                                job_subpath="r/j", namespace="jip", user="1000:1000"))
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    res = pod["spec"]["containers"][0]["resources"]
    assert res["limits"]["nvidia.com/gpu"] == "1" == res["requests"]["nvidia.com/gpu"]


def test_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="root"):
        algorithm_pod(_req("dicom-qa", tmp_path), runs_claim="c", job_subpath="r/j",
                      namespace="jip", user="0:0")


def test_network_policy_denies_all_traffic() -> None:
    pol = to_dict(no_network_policy("jip"))
    kubernetes_validate.validate(pol, K8S_VERSION, strict=True)
    assert pol["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert pol["spec"]["egress"] == [] and pol["spec"]["ingress"] == []
    assert pol["spec"]["podSelector"]["matchLabels"] == {"jip.io/algorithm-pod": "true"}


def test_invalid_spec_is_caught_by_the_schema(tmp_path: Path) -> None:
    pod = to_dict(algorithm_pod(_req("dicom-qa", tmp_path), runs_claim="c",
                                job_subpath="r/j", namespace="jip", user="1000"))
    pod["spec"]["containers"][0]["resources"]["limits"]["memory"] = {"lots": True}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
