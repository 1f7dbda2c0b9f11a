"""The ingest path on both backend combos (filesystem+SQLite, S3+PostgreSQL), in process:
migrations, group commit under concurrency, the duplicate rule, odd values."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, inspect, select

from jip.errors import DatasetMismatchError, DicomError, StorageError
from jip.index.db import make_engine, make_sessionmaker, migrate
from jip.index.models import Instance, Patient, Series, Study
from jip.index.records import StoreOutcome
from jip.index.writer import IndexWriter
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series


def _counts(runtime: Runtime) -> tuple[int, int, int, int]:
    with runtime.sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Patient, Study, Series, Instance)
        )


def test_migrations_create_schema_and_rerun_cleanly(combo_runtime: Runtime) -> None:
    names = set(inspect(combo_runtime.engine).get_table_names())
    assert {"patients", "studies", "series", "instances", "alembic_version"} <= names
    migrate(combo_runtime.engine)  # a second start must be a no-op


def test_postgres_url_spellings(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    engine = make_engine(plain)
    try:
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        migrate(engine)
    finally:
        engine.dispose()


def test_group_commit_concurrent_ingest(combo_runtime: Runtime) -> None:
    blobs = [
        dataset_bytes(ds)
        for n in range(6)
        for ds in make_series(SeriesSpec(slices=5, size=16, patient_id=f"P{n % 3}"))
    ]
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(combo_runtime.ingestor.ingest, blobs + blobs))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(StoreOutcome.STORED) == 30
    assert outcomes.count(StoreOutcome.DUPLICATE) == 30
    assert _counts(combo_runtime) == (3, 6, 6, 30)
    with combo_runtime.sessions() as s:
        assert {x.num_instances for x in s.scalars(select(Series))} == {5}
        assert {x.num_instances for x in s.scalars(select(Study))} == {5}
        for inst in s.scalars(select(Instance)):
            assert combo_runtime.store.get(inst.object_key) in blobs
    assert len(list(combo_runtime.store.keys())) == 30


def test_duplicate_rule_keeps_first_and_leaves_no_stray_object(combo_runtime: Runtime) -> None:
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    first = combo_runtime.ingestor.ingest(dataset_bytes(ds))
    again = combo_runtime.ingestor.ingest(dataset_bytes(ds))
    ds.SeriesDescription = "changed"
    changed = combo_runtime.ingestor.ingest(dataset_bytes(ds))
    assert [first.outcome, again.outcome, changed.outcome] == [
        StoreOutcome.STORED,
        StoreOutcome.DUPLICATE,
        StoreOutcome.CONFLICT,
    ]
    assert list(combo_runtime.store.keys()) == [first.key]
    with combo_runtime.sessions() as s:
        inst = s.get(Instance, first.sop_instance_uid)
        assert inst is not None and inst.object_key == first.key
    assert _counts(combo_runtime) == (1, 1, 1, 1)


def test_odd_values_are_indexed(combo_runtime: Runtime) -> None:
    """NUL characters, overlong strings, non-ASCII names: PostgreSQL enforces lengths
    and rejects NUL in text, SQLite does neither; both must take the instance."""
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    ds.PatientName = "Müller^Jörg\x00"
    ds.StudyDescription = "A" * 200
    ds.InstitutionName = "Inst\x00itute"
    ds.AccessionNumber = "X" * 16
    ds.PatientID = "ID-ÄÖÜ-" + "9" * 80
    res = combo_runtime.ingestor.ingest(dataset_bytes(ds))
    assert res.outcome is StoreOutcome.STORED
    with combo_runtime.sessions() as s:
        p = s.scalars(select(Patient)).one()
        assert p.patient_name == "Müller^Jörg" and len(p.patient_id) == 64
        inst = s.get(Instance, res.sop_instance_uid)
        assert inst is not None and inst.tags["InstitutionName"] == "Institute"


def test_bad_input_writes_nothing(combo_runtime: Runtime) -> None:
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    good = dataset_bytes(ds)
    with pytest.raises(DicomError):
        combo_runtime.ingestor.ingest(b"\0" * 132 + b"garbage")
    with pytest.raises(DicomError):
        combo_runtime.ingestor.ingest(good[: len(good) // 3])
    with pytest.raises(DatasetMismatchError):
        combo_runtime.ingestor.ingest(good, expect_sop_instance="1.2.3.4")
    assert list(combo_runtime.store.keys()) == []
    assert _counts(combo_runtime) == (0, 0, 0, 0)


def test_index_down_is_storage_error(combo_runtime: Runtime) -> None:
    """When the index cannot commit, ingest fails with StorageError (C-STORE 0xA700)."""
    url = combo_runtime.engine.url
    if url.get_backend_name() == "sqlite":
        url = url.set(database="/nonexistent/dir/index.sqlite3")
    else:
        url = url.set(database="no_such_database")
    broken = make_engine(url.render_as_string(hide_password=False))
    combo_runtime.ingestor.writer = IndexWriter(make_sessionmaker(broken))
    try:
        ds = next(make_series(SeriesSpec(slices=1, size=16)))
        with pytest.raises(StorageError, match="index commit failed"):
            combo_runtime.ingestor.ingest(dataset_bytes(ds))
    finally:
        combo_runtime.ingestor.writer.close()
        combo_runtime.ingestor.writer = combo_runtime.writer
        broken.dispose()
