"""Image digests against a real dockerd: ``jip algorithms build`` pins the digest it built
in the manifest, and the docker runner refuses an image that is not the pinned one
before any container starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jip.pipelines import state
from jip.pipelines.manifest import MANIFEST_NAME, load_manifest, record_image_digest
from jip.pipelines.models import PipelineJob
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.pipelines.conftest import TEST_ALGORITHMS, ingest, pipeline_settings, wait_run
from tests.pipelines.dockerd import CACHE

pytestmark = pytest.mark.slow
JIP = Path(sys.executable).parent / "jip"


def trivial_copy(root: Path, pin: str | None) -> Path:
    """A private copy of the test-trivial algorithm, pinned to ``pin``."""
    folder = root / "trivial"
    shutil.copytree(TEST_ALGORITHMS / "trivial", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    if pin:
        record_image_digest(folder / MANIFEST_NAME, pin)
    return root


def run_one(tmp_path: Path, docker_host: str, algorithms: Path, **over: object) -> PipelineJob:
    rt = Runtime(pipeline_settings(tmp_path / "site", runner="docker", docker_host=docker_host,
                                   algorithms_dirs=[algorithms, TEST_ALGORITHMS], **over))
    rt.pipelines.start()
    try:
        uid = ingest(rt, SeriesSpec(slices=2, size=16))
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid])
        wait_run(rt, run.id, timeout=120)
        with rt.sessions() as s:
            (job,) = state.jobs_of(s, run.id)
            s.expunge(job)
        return job
    finally:
        rt.close()


def test_build_records_the_digest_it_built(
    tmp_path: Path, docker_host: str, algorithm_images: dict[str, str]
) -> None:
    algorithms = trivial_copy(tmp_path / "algorithms", pin=None)
    manifest = algorithms / "trivial" / MANIFEST_NAME
    env = dict(os.environ, JIP_DATA_DIR=str(tmp_path / "data"), JIP_DOCKER_HOST=docker_host,
               JIP_ALGORITHMS_DIRS=f'["{algorithms}"]', JIP_IMAGE_CACHE_DIR=str(CACHE))

    def build() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(JIP), "algorithms", "build", "test-trivial"], env=env,
                              capture_output=True, text=True, timeout=900)

    first = build()
    assert first.returncode == 0, first.stderr[-3000:]
    built = algorithm_images["test-trivial"]  # same sources: the cached image, not rebuilt
    assert load_manifest(manifest).image_digest == built
    assert f"pinned image_digest {built}" in first.stderr
    text = manifest.read_text()
    second = build()  # the pin does not count as a change: no rebuild, nothing re-pinned
    assert second.returncode == 0 and "pinned" not in second.stderr
    assert manifest.read_text() == text


def test_image_not_matching_the_pin_is_refused(
    tmp_path: Path, docker_host: str, algorithm_images: dict[str, str]
) -> None:
    other = algorithm_images["test-crash"]  # a real image, just not this algorithm's
    job = run_one(tmp_path, docker_host, trivial_copy(tmp_path / "algorithms", pin=other))
    assert job.status == "failed"
    assert "refusing to run test-trivial" in job.error and f"pins {other}" in job.error
    assert algorithm_images["test-trivial"] in job.error  # what the host has instead
    assert job.container_started_at is None and job.image_id == ""


def test_image_matching_the_pin_runs(
    tmp_path: Path, docker_host: str, algorithm_images: dict[str, str]
) -> None:
    pin = algorithm_images["test-trivial"]
    job = run_one(tmp_path, docker_host, trivial_copy(tmp_path / "algorithms", pin=pin),
                  require_image_digest=True)
    assert job.status == "succeeded", job.error
    assert job.image_id == pin and job.container_started_at is not None


def test_unpinned_image_is_refused_where_pins_are_required(
    tmp_path: Path, docker_host: str, algorithm_images: dict[str, str]
) -> None:
    job = run_one(tmp_path, docker_host, trivial_copy(tmp_path / "algorithms", pin=None),
                  require_image_digest=True)
    assert job.status == "failed" and "pins no image_digest" in job.error
    assert job.container_started_at is None
