"""DICOM event handlers: translate between pynetdicom events and JIP services.

Each answers with a DICOM status instead of raising, so one bad request never breaks
the association or the listener.
"""

from __future__ import annotations

import logging
from typing import Any

from jip.errors import DatasetMismatchError, DicomError, StorageError
from jip.ingest import Ingestor
from jip.runtime import Runtime

log = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
DATASET_DOES_NOT_MATCH = 0xA900
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122


def handle_echo(event: Any) -> int:
    return SUCCESS


def handle_store(event: Any, runtime: Runtime) -> int:
    """Success is returned only after the object is fsynced and its index rows committed."""
    try:
        data = event.encoded_dataset(include_meta=True)
    except Exception as exc:
        log.warning("cannot encode received dataset: %s", exc)
        return CANNOT_UNDERSTAND
    req = event.request
    return store_status(
        runtime.ingestor,
        data,
        sop_class=str(req.AffectedSOPClassUID or ""),
        sop_instance=str(req.AffectedSOPInstanceUID or ""),
        calling_ae=_calling(event),
    )


def store_status(
    ingestor: Ingestor, data: bytes, *, sop_class: str, sop_instance: str, calling_ae: str
) -> int:
    """Ingest one received Part 10 object and answer with the C-STORE status; shared by
    pynetdicom's handler and the storage fast path."""
    try:
        ingestor.ingest(
            data, expect_sop_class=sop_class or None, expect_sop_instance=sop_instance or None
        )
    except DatasetMismatchError as exc:
        log.warning("C-STORE rejected: %s", exc.message, extra={"calling_ae": calling_ae})
        return DATASET_DOES_NOT_MATCH
    except DicomError as exc:
        log.warning("C-STORE rejected: %s", exc.message, extra={"calling_ae": calling_ae})
        return CANNOT_UNDERSTAND
    except StorageError as exc:
        log.error("C-STORE storage failure: %s", exc.message)
        return OUT_OF_RESOURCES
    except Exception:
        log.exception("C-STORE failed")
        return PROCESSING_FAILURE
    return SUCCESS  # a conflict too (the ingestor logged it): the first copy is kept


def _calling(event: Any) -> str:
    try:
        return str(event.assoc.requestor.ae_title)
    except Exception:
        return "?"
