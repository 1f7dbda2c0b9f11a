"""The Docker runner against a real dockerd: the isolation policy holds inside the
container, limits kill what breaks them, and the shipped algorithms run as images."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from jip.index.models import Series
from jip.pipelines import state
from jip.pipelines.logs import run_log
from jip.pipelines.models import PipelineResult
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.pipelines.conftest import ingest, wait_run

pytestmark = pytest.mark.slow


def _results(rt: Runtime, run_id: str) -> list[PipelineResult]:
    with rt.sessions() as s:
        return list(s.scalars(select(PipelineResult).where(PipelineResult.run_id == run_id)))


def test_container_policy(drt: Runtime) -> None:
    uid = ingest(drt, SeriesSpec(slices=2, size=16))
    run = drt.pipelines.create_run(algorithm="test-probe", series_uids=[uid])
    assert wait_run(drt, run.id, timeout=120) == "succeeded", run_log(drt, drt.sessions(), run.id)
    [res] = _results(drt, run.id)
    probe = json.loads(drt.store.get(res.object_key))
    assert probe["uid"] == 65534 and probe["gid"] == 65534
    assert probe["interfaces"] == ["lo"]  # --network none
    assert probe["write_input"].startswith("refused")
    assert probe["write_root"].startswith("refused")
    assert probe["input_series"] == {uid: 2}
    assert probe["params"] == {"seconds": 0}
    assert probe["memory_limit"] == 128 * 1024 * 1024
    with drt.sessions() as s:
        job = state.jobs_of(s, run.id)[0]
    assert job.image_id.startswith("sha256:")
    assert job.container_started_at is not None and job.container_exited_at is not None


def test_failures_fail_their_job_with_logs(drt: Runtime) -> None:
    uid = ingest(drt, SeriesSpec(slices=2, size=16))
    runs = {
        name: drt.pipelines.create_run(algorithm=f"test-{name}", series_uids=[uid]).id
        for name in ("crash", "hang", "memhog", "undeclared", "trivial")
    }
    final = {n: wait_run(drt, r, timeout=180) for n, r in runs.items()}
    assert final == {"crash": "failed", "hang": "failed", "memhog": "failed",
                     "undeclared": "failed", "trivial": "succeeded"}
    with drt.sessions() as s:
        err = {n: state.jobs_of(s, r)[0].error for n, r in runs.items()}
        codes = {n: state.jobs_of(s, r)[0].exit_code for n, r in runs.items()}
    assert "exited with code 3" in err["crash"] and codes["crash"] == 3
    assert "timed out" in err["hang"]
    assert "memory limit" in err["memhog"] and codes["memhog"] == 137
    assert "exfiltrate.txt" in err["undeclared"]
    assert _results(drt, runs["undeclared"]) == []
    assert "about to crash on purpose" in run_log(drt, drt.sessions(), runs["crash"])
    assert "hanging" in run_log(drt, drt.sessions(), runs["hang"])
    assert "allocated everything" not in run_log(drt, drt.sessions(), runs["memhog"])


def test_shipped_algorithms_as_images(drt: Runtime) -> None:
    ct = ingest(drt, SeriesSpec(slices=6, size=32))
    qa = drt.pipelines.create_run(algorithm="dicom-qa", series_uids=[ct])
    seg = drt.pipelines.create_run(algorithm="ct-body-seg", series_uids=[ct])
    assert wait_run(drt, qa.id, timeout=180) == "succeeded", run_log(drt, drt.sessions(), qa.id)
    assert wait_run(drt, seg.id, timeout=180) == "succeeded", run_log(drt, drt.sessions(), seg.id)
    [report] = _results(drt, qa.id)
    assert json.loads(drt.store.get(report.object_key))["passed"] is True
    [seg_res] = _results(drt, seg.id)
    with drt.sessions() as s:
        seg_series = s.get(Series, seg_res.series_uid)
        assert seg_series is not None and seg_series.modality == "SEG"
    vol = drt.pipelines.create_run(algorithm="volumetry", series_uids=[seg_res.series_uid])
    assert wait_run(drt, vol.id, timeout=180) == "succeeded", run_log(drt, drt.sessions(), vol.id)
    [table] = _results(drt, vol.id)
    rows = list(csv.DictReader(io.StringIO(drt.store.get(table.object_key).decode())))
    assert [r["segment_label"] for r in rows] == ["Body", "Lung"]
    assert all(float(r["volume_ml"]) > 0 for r in rows)
