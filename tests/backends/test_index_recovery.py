"""Index rows lost with the SQLite log's tail (an OS crash) come back from the objects."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select, text

from jip.config import Settings
from jip.index.db import make_engine
from jip.index.models import Instance, Series
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import object_files


def _counts(rt: Runtime) -> tuple[int, int]:
    with rt.sessions() as s:
        instances = s.execute(select(func.count()).select_from(Instance)).scalar_one()
        series_total = s.execute(select(func.sum(Series.num_instances))).scalar_one()
    return instances, int(series_total or 0)


def _index_files(settings: Settings) -> list[Path]:
    return sorted(settings.data_dir.glob("index.sqlite3*"))


def test_objects_whose_rows_were_lost_are_indexed_again(settings: Settings, tmp_path: Path) -> None:
    files = write_series(SeriesSpec(slices=5, size=16), tmp_path / "series")
    rt = Runtime(settings)
    for f in files[:3]:
        rt.ingestor.ingest(f.read_bytes())
    rt.close()
    saved = tmp_path / "index-before"
    saved.mkdir()
    for p in _index_files(settings):  # the index as the disk held it before the crash
        shutil.copy2(p, saved / p.name)

    rt = Runtime(settings)
    for f in files[3:]:
        rt.ingestor.ingest(f.read_bytes())  # acknowledged: files fsynced, rows committed
    assert _counts(rt) == (5, 5)
    rt.close()
    for p in _index_files(settings):  # power loss: the log's last two commits are gone
        p.unlink()
    for p in saved.iterdir():
        shutil.copy2(p, settings.data_dir / p.name)

    rt = Runtime(settings)
    try:
        assert _counts(rt) == (5, 5)  # the two objects are indexed again, counters agree
    finally:
        rt.close()
    rt = Runtime(settings)  # and a second start-up changes nothing
    try:
        assert _counts(rt) == (5, 5)
        assert len(object_files(settings.data_dir)) == 5
    finally:
        rt.close()


def test_sqlite_skips_its_own_flush_only_beside_the_folder_store(settings: Settings) -> None:
    rt = Runtime(settings)
    try:
        with rt.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        rt.close()
    engine = make_engine(settings.resolved_database_url)  # any other pairing: FULL
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
    finally:
        engine.dispose()


def test_an_unindexed_torn_object_is_removed_not_indexed(
    settings: Settings, tmp_path: Path
) -> None:
    """A power loss can cut an object's flush short: nothing was acknowledged for it,
    and its bytes may be torn. Indexing them would give a corrupt instance a key of
    its own; start-up removes the file instead, and the sender's resend is stored."""
    files = write_series(SeriesSpec(slices=4, size=16), tmp_path / "series")
    rt = Runtime(settings)
    rt.ingestor.ingest(files[0].read_bytes())
    rt.close()
    saved = tmp_path / "index-before"
    saved.mkdir()
    for p in _index_files(settings):
        shutil.copy2(p, saved / p.name)

    rt = Runtime(settings)
    keys = [rt.ingestor.ingest(f.read_bytes()).key for f in files[1:]]
    torn, zeroed = (rt.store.path(k) for k in keys[:2])  # type: ignore[attr-defined]
    rt.close()
    for p in _index_files(settings):  # the rows of the last three are gone
        p.unlink()
    for p in saved.iterdir():
        shutil.copy2(p, settings.data_dir / p.name)
    torn.write_bytes(torn.read_bytes()[:-100])  # written back only in part
    data = zeroed.read_bytes()  # a block never written: still a valid data set
    zeroed.write_bytes(data[:-256] + bytes(256))

    rt = Runtime(settings)
    try:
        assert _counts(rt) == (2, 2)  # one indexed again, the torn ones not
        assert not torn.exists() and not zeroed.exists()
        assert len(object_files(settings.data_dir)) == 2
        for f in files[1:3]:
            assert rt.ingestor.ingest(f.read_bytes()).outcome.value == "stored"
        assert _counts(rt) == (4, 4)
    finally:
        rt.close()
