"""The one path by which DICOM enters JIP (C-STORE, STOW-RS, import, pipeline outputs).

Order matters for the durability promise: parse and validate, write the bytes durably,
commit the index rows, and only then report success to the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from jip.dicom.parse import parse_instance
from jip.index.records import StoreOutcome, record_instance
from jip.index.writer import IndexWriter
from jip.store.base import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: StoreOutcome
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str
    key: str


class Ingestor:
    def __init__(self, store: ObjectStore, writer: IndexWriter) -> None:
        self.store = store
        self.writer = writer

    def ingest(self, data: bytes) -> IngestResult:
        """Store and index one Part 10 object; raises ``DicomError`` if it is unusable
        and ``StorageError`` if it could not be made durable. Nothing is half-written:
        an object whose index commit fails is only an unreferenced blob."""
        parsed = parse_instance(data)
        key = self.store.put(data)
        now = datetime.now(UTC).replace(tzinfo=None)
        outcome: StoreOutcome = self.writer.run(
            lambda s: record_instance(s, parsed=parsed, key=key, size=len(data), now=now)
        )
        if outcome is StoreOutcome.CONFLICT:
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
