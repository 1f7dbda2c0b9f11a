"""Statements run on the DBAPI cursor store exactly what SQLAlchemy's execute stores."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from jip.dicom.parse import parse_instance
from jip.index import records
from jip.index.db import make_engine, make_sessionmaker, migrate
from jip.index.driver_sql import DriverStatements
from jip.synthetic import SeriesSpec, dataset_bytes, make_series


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return [
            row
            for table in ("patients", "studies", "series", "instances")
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608
        ]


def _fill(engine: Engine, blobs: list[bytes], hot: DriverStatements) -> None:
    """Index ``blobs`` with the per-instance statements run by ``hot``."""
    now = datetime(2026, 1, 2, 3, 4, 5, 678901)
    saved, records._HOT = records._HOT, hot
    try:
        with make_sessionmaker(engine)() as session:
            for n, blob in enumerate(blobs):
                records.record_instance(
                    session, parsed=parse_instance(blob), key=f"{n:064x}", size=len(blob), now=now
                )
            session.commit()
    finally:
        records._HOT = saved


class _ThroughSqlAlchemy(DriverStatements):
    """What the cursor path replaces: ``Connection.execute``."""

    def execute(self, conn, statement, values, column_keys=None):  # type: ignore[no-untyped-def]
        return conn.execute(statement, dict(values))


def test_cursor_path_stores_the_same_rows_as_sqlalchemy(tmp_path: Path) -> None:
    blobs = [
        dataset_bytes(ds)
        for n in (1, 2)
        for ds in make_series(SeriesSpec(slices=3, size=8, series_number=n, patient_id="P1"))
    ]
    blobs.append(blobs[0])  # a duplicate: looked up, not stored again
    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    _fill(_engine(a), blobs, DriverStatements())
    _fill(_engine(b), blobs, _ThroughSqlAlchemy())
    rows = _dump(a)
    assert len(rows) == 1 + 2 + 2 + 6  # one patient, a study per series
    assert rows == _dump(b)
    instance = rows[-1]
    assert "2026-01-02 03:04:05.678901" in instance
    assert any(isinstance(v, str) and v.startswith('{') and '"SOPClassUID"' in v for v in instance)
