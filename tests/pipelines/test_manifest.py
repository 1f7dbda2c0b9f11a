"""The algorithm contract: manifests load, parameters are checked against their schema,
outputs must be declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from jip.pipelines.manifest import (
    AlgorithmManifest,
    InvalidParametersError,
    ManifestError,
    UndeclaredOutputError,
    load_manifest,
)
from jip.pipelines.registry import REPO_ALGORITHMS, AlgorithmRegistry


def test_repo_algorithms_load() -> None:
    names = [a.name for a in AlgorithmRegistry([REPO_ALGORITHMS]).list()]
    assert names == ["ct-body-seg", "dicom-qa", "volumetry"]
    for a in AlgorithmRegistry([REPO_ALGORITHMS]).list():
        assert (a.folder / "Dockerfile").is_file()
        assert (a.folder / "main.py").is_file()


def test_params_defaults_and_schema_errors() -> None:
    m = AlgorithmRegistry([REPO_ALGORITHMS]).get("ct-body-seg").manifest
    assert m.validate_params({})["body_threshold_hu"] == -500
    assert m.validate_params({"body_threshold_hu": -300})["body_threshold_hu"] == -300
    with pytest.raises(InvalidParametersError) as exc:
        m.validate_params({"body_threshold_hu": "high"})
    assert "body_threshold_hu" in exc.value.message and exc.value.http_status == 422
    with pytest.raises(InvalidParametersError, match="minimum|less than"):
        m.validate_params({"body_threshold_hu": -5000})
    with pytest.raises(InvalidParametersError, match="Additional properties"):
        m.validate_params({"unknown": 1})


def test_outputs_must_be_declared() -> None:
    m = AlgorithmRegistry([REPO_ALGORITHMS]).get("ct-body-seg").manifest
    assert m.output_for("seg/x.dcm").kind == "seg"
    for bad in ("x.dcm", "seg/sub/x.dcm", "seg/x.txt", "report.json"):
        with pytest.raises(UndeclaredOutputError):
            m.output_for(bad)
    qa = AlgorithmRegistry([REPO_ALGORITHMS]).get("dicom-qa").manifest
    assert qa.output_for("a.json").name == "report"
    with pytest.raises(UndeclaredOutputError):
        qa.output_for("sub/a.json")


BASE = {
    "name": "x",
    "version": "1.0",
    "image": "jip/x:1",
    "command": ["python3", "main.py"],
    "outputs": [{"name": "r", "kind": "json", "path": "*.json"}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Bad Name"},
        {"parameters": {"type": "object", "properties": {"a": {"type": "nonsense"}}}},
        {"parameters": {"type": "array"}},
        {"outputs": [{"name": "r", "kind": "json", "path": "../escape.json"}]},
        {"outputs": [{"name": "r", "kind": "exe", "path": "*"}]},
        {"outputs": []},
        {"resources": {"memory": "lots"}},
        {"image_digest": "latest"},
        {"surprise": True},
    ],
)
def test_bad_manifests_are_refused(change: dict[str, object], tmp_path: Path) -> None:
    import yaml

    with pytest.raises(ValueError):
        AlgorithmManifest.model_validate({**BASE, **change})
    p = tmp_path / "jip-algorithm.yaml"
    p.write_text(yaml.safe_dump({**BASE, **change}))
    with pytest.raises(ManifestError):
        load_manifest(p)


def test_memory_units() -> None:
    m = AlgorithmManifest.model_validate({**BASE, "resources": {"memory": "2Gi"}})
    assert m.resources.memory_bytes == 2 * 1024**3


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_record_image_digest_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    from jip.pipelines.manifest import MANIFEST_NAME, record_image_digest, without_digest_pin

    src = AlgorithmRegistry([REPO_ALGORITHMS]).get("dicom-qa").folder / MANIFEST_NAME
    path = tmp_path / MANIFEST_NAME
    original = src.read_text()
    path.write_text(original)
    assert record_image_digest(path, DIGEST_A) is None  # inserted after image:
    assert load_manifest(path).image_digest == DIGEST_A
    assert record_image_digest(path, DIGEST_B) == DIGEST_A  # replaced, not added twice
    text = path.read_text()
    assert text.count("image_digest:") == 1 and load_manifest(path).image_digest == DIGEST_B
    assert without_digest_pin(text) == original  # nothing else changed
    with pytest.raises(ManifestError, match="not an image digest"):
        record_image_digest(path, "latest")
