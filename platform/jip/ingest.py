"""The one path by which DICOM enters JIP (C-STORE, STOW-RS, import, pipeline outputs).

Order matters for the durability promise: parse and validate, write the bytes, make
them durable, commit the index rows, and only then report success to the caller. The
index rows are prepared while the disk flushes the bytes, but committed only after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jip.dicom.parse import ParsedInstance, parse_instance, same_data_set
from jip.errors import DatasetMismatchError, JIPError, StorageError
from jip.index.models import Instance
from jip.index.records import StoreOutcome, index_instance, record_instance, stored_key
from jip.index.write_lock import IndexWriteLock
from jip.index.writer import IndexWriter
from jip.store.base import ObjectStore, Staged

log = logging.getLogger(__name__)

_TOUCH_SCHEMA = f"SELECT 1 FROM {Instance.__tablename__} LIMIT 0"  # nothing to compile


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: StoreOutcome
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str
    key: str


class Ingestor:
    """Parses, stores and indexes; the site process's index writer commits the rows
    (``InlineIngestor``: the calling thread does)."""

    def __init__(self, store: ObjectStore, writer: IndexWriter) -> None:
        self.store = store
        self.writer = writer

    def ingest(
        self,
        data: bytes,
        *,
        expect_sop_class: str | None = None,
        expect_sop_instance: str | None = None,
    ) -> IngestResult:
        """Store and index one Part 10 object; raises ``DicomError`` if it is unusable
        (``DatasetMismatchError`` if it is not what the sender announced, e.g. the
        C-STORE request's affected SOP class/instance) and ``StorageError`` if it could
        not be made durable. Nothing is half-written: bad input is rejected before any
        write, the bytes of a conflicting duplicate are removed again, and only an
        index failure after the write can leave an unreferenced blob."""
        parsed = parse_instance(data)
        if expect_sop_class and parsed.sop_class_uid != expect_sop_class:
            raise DatasetMismatchError(
                f"dataset SOP Class UID {parsed.sop_class_uid} differs from the "
                f"announced {expect_sop_class}"
            )
        if expect_sop_instance and parsed.sop_instance_uid != expect_sop_instance:
            raise DatasetMismatchError(
                f"dataset SOP Instance UID {parsed.sop_instance_uid} differs from the "
                f"announced {expect_sop_instance}"
            )
        staged = self.store.stage(data)
        now = datetime.now(UTC).replace(tzinfo=None)
        outcome = self._index(parsed, staged, len(data), now)
        key = staged.key
        if outcome is StoreOutcome.CONFLICT:
            first = self._same_data_set_stored(parsed.sop_instance_uid, data)
            if first is not None:  # only the file meta groups differ
                self._discard(key)
                outcome, key = StoreOutcome.DUPLICATE, first
        if outcome is StoreOutcome.CONFLICT:
            # these bytes name this SOP Instance UID, whose index row points at other
            # bytes: no row can reference them, so they must not linger in the store
            self._discard(key)
            log.warning(
                "instance %s received again with different content; first copy kept",
                parsed.sop_instance_uid,
                extra={"sop_instance_uid": parsed.sop_instance_uid, "new_key": key},
            )
        return IngestResult(
            outcome=outcome,
            sop_instance_uid=parsed.sop_instance_uid,
            sop_class_uid=parsed.sop_class_uid,
            series_uid=parsed.series_uid,
            study_uid=parsed.study_uid,
            key=key,
        )

    def _index(
        self, parsed: ParsedInstance, staged: Staged, size: int, now: datetime
    ) -> StoreOutcome:
        """Flush ``staged`` and commit its index rows (the commit waits for the flush);
        raises ``StorageError`` if either failed."""
        key = staged.key
        try:
            try:
                future = self.writer.submit(
                    lambda s: record_instance(s, parsed=parsed, key=key, size=size, now=now),
                    barrier=staged.wait_durable,
                )
            finally:
                staged.flush()  # the commit above waits for this
            outcome: StoreOutcome = future.result(timeout=120)
        except (SQLAlchemyError, TimeoutError) as exc:
            raise StorageError(
                f"index commit failed for {parsed.sop_instance_uid}: {type(exc).__name__}",
                key=key,
            ) from exc
        return outcome

    def _same_data_set_stored(self, sop_instance_uid: str, data: bytes) -> str | None:
        """The key of the stored copy if it holds the same data set as ``data``."""
        try:
            first = self._stored_key(sop_instance_uid)
            if first is not None and same_data_set(self.store.get(first), data):
                return first
        except (JIPError, SQLAlchemyError, TimeoutError) as exc:
            log.warning("could not compare %s with its stored copy: %s", sop_instance_uid, exc)
        return None

    def _stored_key(self, sop_instance_uid: str) -> str | None:
        key: str | None = self.writer.run(lambda s: stored_key(s.connection(), sop_instance_uid))
        return key

    def _discard(self, key: str) -> None:
        try:
            self.store.delete(key)
        except JIPError as exc:
            log.warning("could not remove unreferenced object %s: %s", key, exc.message)


class InlineIngestor(Ingestor):
    """Commits each instance's rows in the calling thread, under the site's index write
    lock, once the object is durable: for a storage worker process, whose association
    would otherwise hand every instance to the site process and wait for its answer
    (about 5 ms of round trip per instance, where the commit itself takes 1)."""

    def __init__(self, store: ObjectStore, engine: Engine, lock: IndexWriteLock) -> None:
        self.store = store
        self.lock = lock
        self._engine = engine
        self._conn: Connection | None = None  # opened by the first instance, not by echo

    def prepare(self) -> None:
        """Open the index connection now (a worker waiting for its association)."""
        conn = self._connection()
        with conn.begin():  # SQLite reads its schema now, not for the first instance
            conn.exec_driver_sql(_TOUCH_SCHEMA)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def _index(
        self, parsed: ParsedInstance, staged: Staged, size: int, now: datetime
    ) -> StoreOutcome:
        staged.flush()  # raises StorageError: nothing reaches the index then
        try:
            try:
                return self._commit(parsed, staged.key, size, now)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # the held connection died (the database restarted since this worker
                # opened it): once more on a new one. Safe even if the commit did
                # happen: the instance is found then and the outcome is a duplicate
                dead, self._conn = self._conn, None
                if dead is not None:
                    dead.close()
                return self._commit(parsed, staged.key, size, now)
        except SQLAlchemyError as exc:
            raise StorageError(
                f"index commit failed for {parsed.sop_instance_uid}: {type(exc).__name__}",
                key=staged.key,
            ) from exc

    def _stored_key(self, sop_instance_uid: str) -> str | None:
        conn = self._connection()
        with conn.begin():
            return stored_key(conn, sop_instance_uid)

    def _commit(self, parsed: ParsedInstance, key: str, size: int, now: datetime) -> StoreOutcome:
        conn = self._connection()
        with self.lock, conn.begin():
            return index_instance(conn, parsed=parsed, key=key, size=size, now=now)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._engine.dispose()
        self.store.close()
