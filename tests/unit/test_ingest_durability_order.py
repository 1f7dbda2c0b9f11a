"""The index commit of an instance waits for its object's flush, which overlaps it:
no row may ever reference bytes a crash could still lose."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jip.errors import StorageError
from jip.index.db import make_engine
from jip.index.models import Instance
from jip.ingest import InlineIngestor
from jip.runtime import Runtime, make_index_engine
from jip.store.base import Staged
from jip.store.filesystem import FilesystemStore
from jip.synthetic import SeriesSpec, dataset_bytes, make_series


class GatedStore(FilesystemStore):
    """The real folder store whose flushes wait for a gate (and may be made to fail),
    so a test can look at the index while an object is in place but not yet durable."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.staged = threading.Event()
        self.fail: OSError | None = None

    def stage(self, data: bytes) -> Staged:
        inner = super().stage(data)
        self.staged.set()

        def flush() -> None:
            self.gate.wait(30)
            if self.fail is not None:
                inner.flush()  # the real flush still runs (closes the file)
                raise self.fail
            inner.flush()

        return Staged(inner.key, flush)


@pytest.fixture
def gated(runtime: Runtime) -> GatedStore:
    store = GatedStore(runtime.store.root)  # type: ignore[attr-defined]
    runtime.ingestor.store = store
    return store


def _instances(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Instance)) or 0)


def test_row_is_committed_only_after_the_flush(runtime: Runtime, gated: GatedStore) -> None:
    data = dataset_bytes(next(make_series(SeriesSpec(slices=1, size=16))))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(runtime.ingestor.ingest, data)
        assert gated.staged.wait(10)
        # the bytes are in place and the writer has run the statements, but until the
        # flush returns no reader may see the row
        threading.Event().wait(0.3)
        assert gated.path(_key(data)).exists()
        assert _instances(runtime) == 0
        assert not pending.done()
        gated.gate.set()
        result = pending.result(10)
    assert result.key == _key(data)
    assert _instances(runtime) == 1


def test_failed_flush_commits_nothing_and_other_instances_go_on(
    runtime: Runtime, gated: GatedStore
) -> None:
    first, second = (dataset_bytes(ds) for ds in make_series(SeriesSpec(slices=2, size=16)))
    gated.fail = OSError(5, "Input/output error")
    gated.gate.set()
    with pytest.raises(StorageError, match="durable"):
        runtime.ingestor.ingest(first)
    runtime.writer.run(lambda s: None)  # whatever the writer had queued is done
    assert _instances(runtime) == 0
    gated.fail = None
    runtime.ingestor.ingest(second)
    runtime.ingestor.ingest(first)  # the sender retries: stored now
    assert _instances(runtime) == 2


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _inline(runtime: Runtime, store: FilesystemStore) -> InlineIngestor:
    """A storage worker's ingestor, on the runtime's index (its own engine)."""
    return InlineIngestor(store, make_index_engine(runtime.settings), runtime.index_lock)


def test_a_worker_commits_only_after_the_flush(runtime: Runtime, gated: GatedStore) -> None:
    data = dataset_bytes(next(make_series(SeriesSpec(slices=1, size=16))))
    inline = _inline(runtime, gated)
    try:
        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(inline.ingest, data)
            assert gated.staged.wait(10)
            assert _instances(runtime) == 0  # the object is in place, not yet durable
            gated.gate.set()
            assert done.result(30).outcome.value == "stored"
        assert _instances(runtime) == 1
    finally:
        inline.close()


def test_a_worker_whose_flush_fails_commits_nothing(runtime: Runtime, gated: GatedStore) -> None:
    first, second = list(make_series(SeriesSpec(slices=2, size=16)))
    inline = _inline(runtime, gated)
    try:
        gated.fail = OSError(5, "Input/output error")
        gated.gate.set()
        with pytest.raises(StorageError, match="durable"):
            inline.ingest(dataset_bytes(first))
        assert _instances(runtime) == 0
        gated.fail = None
        inline.ingest(dataset_bytes(second))
        assert _instances(runtime) == 1
    finally:
        inline.close()


def test_a_worker_without_its_index_reports_a_storage_error(
    runtime: Runtime, tmp_path: Path
) -> None:
    broken = make_engine(f"sqlite:///{tmp_path}/no/such/dir/index.sqlite3")
    inline = InlineIngestor(FilesystemStore(tmp_path / "objects"), broken, runtime.index_lock)
    try:
        with pytest.raises(StorageError, match="index commit failed"):
            inline.ingest(dataset_bytes(next(make_series(SeriesSpec(slices=1, size=16)))))
    finally:
        inline.close()
