"""The algorithm contract: ``jip-algorithm.yaml`` as a typed, checked model.

A manifest says what an algorithm is (name, version, image and its digest), what it
accepts (input modalities, parameters as a JSON Schema), what it may write (declared
outputs, each a kind and a path glob) and what it may use (cpu, memory, gpu, time).
Everything is checked when the manifest is loaded, so a bad manifest never reaches a run.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jip.errors import InvalidInputError

MANIFEST_NAME = "jip-algorithm.yaml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MEMORY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")
_UNITS = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


class InvalidParametersError(InvalidInputError):
    """Parameters do not satisfy the algorithm's JSON Schema."""

    http_status = 422


class UndeclaredOutputError(InvalidInputError):
    """An algorithm wrote a file its manifest does not declare."""


class ManifestError(InvalidInputError):
    """A ``jip-algorithm.yaml`` is malformed."""


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    modalities: list[str] = Field(default_factory=list, description="empty: any modality")
    min_instances: int = Field(1, ge=1)
    include_referenced: bool = Field(
        False, description="also stage the series a SEG/SR references (e.g. the CT)"
    )


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    kind: Literal["seg", "json", "csv"]
    path: str = Field(description="glob relative to the output folder, e.g. 'seg/*.dcm'")

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or ".." in v.split("/") or not v:
            raise ValueError("output path must be a relative glob inside the output folder")
        return v

    def matches(self, relpath: str) -> bool:
        """Glob per path segment: ``*`` never crosses a ``/``."""
        want, have = self.path.split("/"), relpath.split("/")
        return len(want) == len(have) and all(
            fnmatch.fnmatchcase(h, w) for h, w in zip(have, want, strict=True)
        )


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(1.0, gt=0, le=64)
    memory: str = "512Mi"
    gpu: int = Field(0, ge=0, le=8)

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not _MEMORY.match(v):
            raise ValueError("memory must look like 512Mi, 2Gi or a byte count")
        return v

    @property
    def memory_bytes(self) -> int:
        m = _MEMORY.match(self.memory)
        assert m is not None
        return int(m.group(1)) * _UNITS[m.group(2)]


class AlgorithmManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = Field(pattern=r"^[0-9A-Za-z.+-]{1,32}$")
    description: str = ""
    image: str = Field(min_length=1, max_length=256)
    image_digest: str | None = Field(
        None, pattern=r"^sha256:[0-9a-f]{64}$", description="pins the image; checked at run"
    )
    command: list[str] = Field(min_length=1, description="argv in the image (workdir /app)")
    inputs: Inputs = Field(default_factory=Inputs)
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the parameters object",
    )
    outputs: list[Output] = Field(min_length=1)
    resources: Resources = Field(default_factory=Resources)
    timeout_seconds: float = Field(600, gt=0, le=86400)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("name must be lowercase letters, digits and dashes")
        return v

    @field_validator("parameters")
    @classmethod
    def _schema(cls, v: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.Draft202012Validator.check_schema(v)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"parameters is not a valid JSON Schema: {exc.message}") from exc
        if v.get("type") != "object":
            raise ValueError("parameters schema must describe an object")
        return v

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return ``params`` with schema defaults filled in; raises
        ``InvalidParametersError`` naming the first offending field."""
        if not isinstance(params, dict):
            raise InvalidParametersError("parameters must be a JSON object")
        filled = dict(params)
        for key, prop in (self.parameters.get("properties") or {}).items():
            if key not in filled and isinstance(prop, dict) and "default" in prop:
                filled[key] = prop["default"]
        validator = jsonschema.Draft202012Validator(self.parameters)
        errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.path))
        if errors:
            err = errors[0]
            where = "/".join(str(p) for p in err.path) or "(root)"
            raise InvalidParametersError(
                f"invalid parameter {where}: {err.message}",
                path=[str(p) for p in err.path],
                schema_path=[str(p) for p in err.schema_path],
            )
        return filled

    def output_for(self, relpath: str) -> Output:
        """The declared output a written file belongs to; raises ``UndeclaredOutputError``."""
        for out in self.outputs:
            if out.matches(relpath):
                return out
        raise UndeclaredOutputError(
            f"output {relpath!r} is not declared in the manifest of {self.name}",
            declared=[o.path for o in self.outputs],
        )

    def accepts_modality(self, modality: str) -> bool:
        return not self.inputs.modalities or modality in self.inputs.modalities


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_DIGEST_LINE = re.compile(r"^image_digest:.*\n?", re.M)
_IMAGE_LINE = re.compile(r"^image:.*\n", re.M)


def without_digest_pin(text: str) -> str:
    """The manifest text minus its ``image_digest`` line: what an image is built from
    (recording the digest must not make the image look changed)."""
    return _DIGEST_LINE.sub("", text)


def record_image_digest(path: Path, digest: str) -> str | None:
    """Pin ``digest`` in the manifest file at ``path`` (replacing an existing
    ``image_digest`` line, else right after ``image:``), keeping every other line and
    comment as it was; returns the previous pin. Raises ``ManifestError`` if the file
    cannot be written or would no longer load."""
    if not _DIGEST.match(digest):
        raise ManifestError(f"not an image digest: {digest!r}")
    previous = load_manifest(path).image_digest
    text = path.read_text()
    line = f"image_digest: {digest}\n"
    if _DIGEST_LINE.search(text):
        new = _DIGEST_LINE.sub(line, text, count=1)
    elif m := _IMAGE_LINE.search(text):
        new = text[: m.end()] + line + text[m.end() :]
    else:
        raise ManifestError(f"{path} has no top-level image: line to pin a digest to")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(new)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ManifestError(f"cannot record the image digest in {path}: {exc}") from exc
    if load_manifest(path).image_digest != digest:
        path.write_text(text)
        raise ManifestError(f"{path}: the recorded image_digest did not read back")
    return previous


def load_manifest(path: Path) -> AlgorithmManifest:
    """Read and check one manifest file; raises ``ManifestError`` with the reason."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} must hold a mapping")
    try:
        return AlgorithmManifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"{path}: {exc}") from exc
