"""Pieces of the runners and triggers that need no daemon: the container policy as sent
to the Engine API, its log demultiplexer, the socket address, trigger filters."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jip.errors import InvalidInputError
from jip.index.models import Series
from jip.pipelines.registry import REPO_ALGORITHMS, AlgorithmRegistry
from jip.pipelines.runners.base import RunRequest
from jip.pipelines.runners.docker import DockerRunner, _parse_time
from jip.pipelines.runners.docker_api import DockerAPIError, demux, socket_path
from jip.pipelines.triggers import matches_filter, validate_filter
from tests.pipelines.conftest import pipeline_settings


def test_container_spec_is_locked_down(tmp_path: Path) -> None:
    algo = AlgorithmRegistry([REPO_ALGORITHMS]).get("ct-body-seg")
    req = RunRequest(job_id="j1", manifest=algo.manifest, algorithm_dir=algo.folder,
                     job_dir=tmp_path / "job", image_id="sha256:" + "a" * 64)
    spec = DockerRunner(pipeline_settings(tmp_path, runner="docker")).container_spec(req)
    host = spec["HostConfig"]
    assert host["NetworkMode"] == "none" and spec["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert host["Memory"] == host["MemorySwap"] == 1024**3
    assert host["NanoCpus"] == 1_000_000_000
    assert f"{tmp_path / 'job' / 'input'}:/input:ro" in host["Binds"]
    assert f"{tmp_path / 'job' / 'params.json'}:/params.json:ro" in host["Binds"]
    assert spec["User"] == "65534:65534" and spec["Image"] == "sha256:" + "a" * 64
    assert spec["Entrypoint"] == ["python3"] and spec["Cmd"] == ["main.py"]
    assert "DeviceRequests" not in host


def test_log_demux_and_socket() -> None:
    frame = b"".join(bytes([k, 0, 0, 0]) + struct.pack(">I", len(p)) + p
                     for k, p in ((1, b"out\n"), (2, b"err\n")))
    assert demux(frame) == b"out\nerr\n"
    assert demux(b"plain text") == b"plain text"
    assert socket_path("") == "/var/run/docker.sock"
    assert socket_path("unix:///tmp/d.sock") == "/tmp/d.sock"
    with pytest.raises(DockerAPIError):
        socket_path("tcp://10.0.0.1:2375")
    assert _parse_time("2026-11-28T04:01:02.123456789Z") == datetime(2026, 11, 28, 4, 1, 2,
                                                                      123456)
    assert _parse_time("0001-01-01T00:00:00Z") is None


def _series(**kw: object) -> Series:
    now = datetime.now(UTC).replace(tzinfo=None)
    base: dict[str, object] = dict(series_uid="1", study_uid="2", modality="CT",
                                   body_part="CHEST", description="Thorax 1mm",
                                   manufacturer="ACME", institution="X", num_instances=10,
                                   first_received=now, last_received=now)
    base.update(kw)
    return Series(**base)


def test_trigger_filters() -> None:
    s = _series()
    assert matches_filter(s, {"modality": "CT"})
    assert matches_filter(s, {"modality": ["MR", "CT"], "body_part": "ch*"})
    assert matches_filter(s, {"description": "*1mm"})
    assert not matches_filter(s, {"modality": "MR"})
    assert not matches_filter(s, {"modality": "CT", "body_part": "HEAD"})
    assert not matches_filter(s, {"min_instances": 11})
    validate_filter({"modality": ["CT"], "include_derived": True})
    for bad in ({"colour": "red"}, {"modality": 3}, {"modality": []}):
        with pytest.raises(InvalidInputError):
            validate_filter(bad)
