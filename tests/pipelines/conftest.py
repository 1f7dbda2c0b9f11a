"""Fixtures of the pipeline tests: a runtime with the process runner and the test
algorithms, series ingested from the synthetic phantom, waiting for runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jip.config import Settings
from jip.pipelines import state
from jip.pipelines.registry import REPO_ALGORITHMS
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.conftest import free_port

TEST_ALGORITHMS = Path(__file__).resolve().parent / "algorithms"
FINAL = ("succeeded", "failed", "cancelled")


def pipeline_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=tmp_path / "data",
        http_port=free_port(),
        dicom_port=free_port(),
        series_quiet_seconds=0.3,
        runner="process",
        algorithms_dirs=[REPO_ALGORITHMS, TEST_ALGORITHMS],
        pipeline_workers=2,
        pipeline_poll_seconds=0.2,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def prt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose local engine runs (process runner); closed after the test."""
    rt = Runtime(pipeline_settings(tmp_path))
    rt.pipelines.start()
    yield rt
    rt.close()


def ingest(runtime: Runtime, spec: SeriesSpec | None = None) -> str:
    spec = spec or SeriesSpec(slices=6, size=32)
    uid = ""
    for ds in make_series(spec):
        uid = runtime.ingestor.ingest(dataset_bytes(ds)).series_uid
    return uid


def wait_run(runtime: Runtime, run_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as s:
            status = state.get_run(s, run_id).status
        if status in FINAL:
            return status
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {status} after {timeout} s")


def job_states(runtime: Runtime, run_id: str) -> dict[str, str]:
    with runtime.sessions() as s:
        return {j.series_uid: j.status for j in state.jobs_of(s, run_id)}


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    from tests.pipelines.dockerd import running_dockerd

    with running_dockerd() as host:
        yield host


@pytest.fixture(scope="session")
def algorithm_images(docker_host: str) -> dict[str, str]:
    """Every repo and test algorithm built into the session's dockerd (cached)."""
    from jip.pipelines.images import ImageBuilder
    from jip.pipelines.registry import AlgorithmRegistry
    from jip.pipelines.runners.docker import DockerRunner
    from tests.pipelines.dockerd import CACHE

    settings = Settings(docker_host=docker_host)
    builder = ImageBuilder(DockerRunner(settings), CACHE)
    registry = AlgorithmRegistry([REPO_ALGORITHMS, TEST_ALGORITHMS])
    return {a.name: builder.build(a) for a in registry.list()}


@pytest.fixture
def drt(tmp_path: Path, docker_host: str, algorithm_images: dict[str, str]) -> Iterator[Runtime]:
    """A runtime whose local engine runs algorithms as containers in the test dockerd."""
    rt = Runtime(pipeline_settings(tmp_path, runner="docker", docker_host=docker_host))
    rt.pipelines.start()
    yield rt
    rt.close()
