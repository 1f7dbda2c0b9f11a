"""The three shipped algorithms, end to end through the local engine (process runner):
QA findings on broken stacks, a SEG re-ingested as a series, volumetry on that SEG."""

from __future__ import annotations

import copy
import csv
import io
import json

import pydicom
from sqlalchemy import select

from jip.index.models import Series
from jip.pipelines.models import PipelineResult
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.pipelines.conftest import wait_run


def _ingest_datasets(rt: Runtime, datasets: list[pydicom.Dataset]) -> str:
    uid = ""
    for ds in datasets:
        uid = rt.ingestor.ingest(dataset_bytes(ds)).series_uid
    return uid


def _results(rt: Runtime, run_id: str) -> list[PipelineResult]:
    with rt.sessions() as s:
        return list(s.scalars(select(PipelineResult).where(PipelineResult.run_id == run_id)))


def _qa_report(rt: Runtime, run_id: str, series_uid: str) -> dict:
    for r in _results(rt, run_id):
        report = json.loads(rt.store.get(r.object_key))
        if report["series_uid"] == series_uid:
            return report
    raise AssertionError(f"no report for {series_uid}")


def test_dicom_qa_findings(prt: Runtime) -> None:
    good = _ingest_datasets(prt, list(make_series(SeriesSpec(slices=8, size=16))))
    # missing slice: drop one from the middle
    missing = [d for i, d in enumerate(make_series(SeriesSpec(slices=8, size=16))) if i != 4]
    missing_uid = _ingest_datasets(prt, missing)
    # duplicate position and instance number (a resent slice with a new SOP UID)
    dup = list(make_series(SeriesSpec(slices=6, size=16)))
    extra = copy.deepcopy(dup[2])
    extra.SOPInstanceUID = extra.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    dup_uid = _ingest_datasets(prt, [*dup, extra])
    # mixed orientation: one slice tilted
    mixed = list(make_series(SeriesSpec(slices=6, size=16)))
    mixed[3].ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
    mixed_uid = _ingest_datasets(prt, mixed)
    # uneven spacing: one gap 30 % larger
    uneven = list(make_series(SeriesSpec(slices=6, size=16)))
    for d in uneven[3:]:
        d.ImagePositionPatient = [0.0, 0.0, float(d.ImagePositionPatient[2]) + 0.75]
    uneven_uid = _ingest_datasets(prt, uneven)

    uids = [good, missing_uid, dup_uid, mixed_uid, uneven_uid]
    run = prt.pipelines.create_run(algorithm="dicom-qa", series_uids=uids)
    assert wait_run(prt, run.id) == "succeeded"
    assert _qa_report(prt, run.id, good)["passed"] is True
    r = _qa_report(prt, run.id, missing_uid)
    assert not r["passed"] and r["missing_slices"] == 1 and r["missing_instance_numbers"] == [5]
    r = _qa_report(prt, run.id, dup_uid)
    assert r["duplicate_positions"] == 1 and r["duplicate_instance_numbers"] == [3]
    r = _qa_report(prt, run.id, mixed_uid)
    assert r["mixed_orientation"] is True and not r["passed"]
    r = _qa_report(prt, run.id, uneven_uid)
    assert r["uneven_spacing"] is True and r["missing_slices"] == 0 and not r["passed"]


def test_segmentation_then_volumetry(prt: Runtime) -> None:
    ct = _ingest_datasets(prt, list(make_series(SeriesSpec(slices=8, size=48))))
    seg_run = prt.pipelines.create_run(algorithm="ct-body-seg", series_uids=[ct])
    assert wait_run(prt, seg_run.id, timeout=120) == "succeeded"
    [res] = _results(prt, seg_run.id)
    assert res.kind == "seg" and res.series_uid
    with prt.sessions() as s:
        seg_series = s.get(Series, res.series_uid)
        assert seg_series is not None and seg_series.modality == "SEG"
    seg = pydicom.dcmread(io.BytesIO(prt.store.get(res.object_key)))
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == ct
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["Body", "Lung"]

    vol_run = prt.pipelines.create_run(algorithm="volumetry", series_uids=[res.series_uid],
                                       params={"percentiles": [10, 90]})
    assert wait_run(prt, vol_run.id, timeout=120) == "succeeded"
    [table] = _results(prt, vol_run.id)
    rows = {r["segment_label"]: r for r in csv.DictReader(io.StringIO(
        prt.store.get(table.object_key).decode()))}
    body, lung = rows["Body"], rows["Lung"]
    # phantom: body ellipse 0.45 x 0.35 of a 48 px field of 0.7 mm pixels, 8 x 2.5 mm slices
    import math

    expected_ml = math.pi * 0.45 * 0.35 * (48 * 0.7) ** 2 * 8 * 2.5 / 1000
    assert abs(float(body["volume_ml"]) - expected_ml) / expected_ml < 0.15
    assert 0 < float(lung["volume_ml"]) < float(body["volume_ml"])
    assert float(lung["mean"]) < -700 and {"p10", "p90", "std", "skewness"} <= set(lung)
