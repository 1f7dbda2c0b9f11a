"""The ingest path in-process: durable store, index rows, duplicates, series events."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from jip.dicom.fast_header import read_meta
from jip.dicom.storage_association import file_meta
from jip.errors import DicomError
from jip.index.models import Instance, Patient, Series, Study
from jip.index.records import StoreOutcome
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series


def test_concurrent_ingest_counts(runtime: Runtime) -> None:
    blobs = [
        dataset_bytes(ds)
        for n in range(4)
        for ds in make_series(SeriesSpec(slices=6, size=16, patient_id=f"P{n % 2}"))
    ]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(runtime.ingestor.ingest, blobs))
    assert all(r.outcome is StoreOutcome.STORED for r in results)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Instance)) == 24
        assert s.scalar(select(func.count()).select_from(Series)) == 4
        assert s.scalar(select(func.count()).select_from(Study)) == 4
        assert s.scalar(select(func.count()).select_from(Patient)) == 2
        assert {x.num_instances for x in s.scalars(select(Series))} == {6}
    for r in results:
        assert runtime.store.get(r.key) in blobs


def test_duplicate_rule(runtime: Runtime) -> None:
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    first = runtime.ingestor.ingest(dataset_bytes(ds))
    again = runtime.ingestor.ingest(dataset_bytes(ds))
    ds.SeriesDescription = "changed"
    changed = runtime.ingestor.ingest(dataset_bytes(ds))
    assert (first.outcome, again.outcome, changed.outcome) == (
        StoreOutcome.STORED,
        StoreOutcome.DUPLICATE,
        StoreOutcome.CONFLICT,
    )
    with runtime.sessions() as s:
        inst = s.get(Instance, first.sop_instance_uid)
        assert inst is not None and inst.object_key == first.key
        series = s.get(Series, first.series_uid)
        assert series is not None and series.num_instances == 1


def test_same_data_set_under_another_meta_group_is_a_duplicate(runtime: Runtime) -> None:
    """What STOW-RS or an import stored is what a C-STORE of it brings again."""
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    as_file = dataset_bytes(ds)
    _, body_start = read_meta(as_file) or ("", 0)
    as_received = b"".join(
        [
            b"\0" * 128,
            b"DICM",
            file_meta(ds.SOPClassUID, ds.SOPInstanceUID, ds.file_meta.TransferSyntaxUID),
            as_file[body_start:],
        ]
    )
    assert as_received != as_file and body_start > 132
    first = runtime.ingestor.ingest(as_file)
    again = runtime.ingestor.ingest(as_received)
    assert (first.outcome, again.outcome) == (StoreOutcome.STORED, StoreOutcome.DUPLICATE)
    assert again.key == first.key
    assert list(runtime.store.keys()) == [first.key]


def test_bad_input_writes_nothing(runtime: Runtime) -> None:
    with pytest.raises(DicomError):
        runtime.ingestor.ingest(b"\0" * 132 + b"garbage")
    assert list(runtime.store.keys()) == []


def test_series_complete_event_fires_once_after_quiet(runtime: Runtime) -> None:
    seen: list[str] = []
    runtime.series_events.subscribe(seen.append)
    res = [runtime.ingestor.ingest(dataset_bytes(d)) for d in make_series(SeriesSpec(slices=3))]
    assert runtime.series_events.check_now() == []  # not quiet yet (0.5 s in fixture)
    time.sleep(0.6)
    assert runtime.series_events.check_now() == [res[0].series_uid]
    assert runtime.series_events.check_now() == []
    assert seen == [res[0].series_uid]
