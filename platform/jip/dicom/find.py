"""C-FIND SCP: Patient Root and Study Root Query/Retrieve Information Model - FIND.

Translates the request identifier into a ``SearchRequest`` (the same matching as
QIDO-RS) and answers one Pending response per match, then Success. Bad identifiers get
a failure status with an Error Comment; a C-CANCEL stops the answers with Cancel.
Queries are relational: unique keys of the levels above may be given, need not be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.valuerep import DSfloat
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from jip.dicom.sockets import keep_alive
from jip.errors import InvalidInputError
from jip.index.attributes import ATTRIBUTES, Level, resolve_keyword
from jip.index.search import SearchRequest, search
from jip.runtime import Runtime

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
_CANCEL_CHECK_EVERY = 64  # answers between pauses that let a C-CANCEL be read
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS = 0xA900
UNABLE_TO_PROCESS = 0xC000
OUT_OF_RESOURCES = 0xA700

FIND_SOP_CLASSES = {
    str(PatientRootQueryRetrieveInformationModelFind): (
        Level.PATIENT,
        Level.STUDY,
        Level.SERIES,
        Level.IMAGE,
    ),
    str(StudyRootQueryRetrieveInformationModelFind): (Level.STUDY, Level.SERIES, Level.IMAGE),
}
_NOT_KEYS = {"QueryRetrieveLevel", "SpecificCharacterSet"}


def handle_find(event: Any, runtime: Runtime) -> Iterator[tuple[Any, Dataset | None]]:
    """EVT_C_FIND handler: yields ``(status, identifier)`` pairs as pynetdicom expects."""
    try:
        identifier: Dataset = event.identifier
        model = str(event.request.AffectedSOPClassUID)
        level, request, wanted = parse_identifier(identifier, model)
    except _Failure as exc:
        yield _failure(exc.status, exc.message), None
        return
    except InvalidInputError as exc:
        yield _failure(UNABLE_TO_PROCESS, exc.message), None
        return
    except Exception as exc:
        log.warning("C-FIND identifier could not be decoded: %s", exc)
        yield _failure(UNABLE_TO_PROCESS, f"identifier could not be decoded: {exc}"), None
        return
    try:
        with runtime.sessions() as session:
            rows, _unsupported = search(session, request)
            for n, row in enumerate(rows):
                keep_alive(event.assoc)  # the requester sends nothing while we answer
                if n % _CANCEL_CHECK_EVERY == 0 and n:
                    _let_peer_in(event)
                if event.is_cancelled:
                    yield CANCEL, None
                    return
                yield PENDING, answer(row, level, wanted, runtime.settings.ae_title)
            keep_alive(event.assoc)
    except InvalidInputError as exc:
        yield _failure(UNABLE_TO_PROCESS, exc.message), None
    except Exception:
        log.exception("C-FIND failed")
        yield _failure(OUT_OF_RESOURCES, "the index could not be searched"), None


def _let_peer_in(event: Any) -> None:
    """Wait until pynetdicom has sent the answers queued so far. Its DUL thread reads
    from the peer only when nothing is waiting to be sent, so without this pause a fast
    search queues every answer before a C-CANCEL can be read (and holds them all in
    memory)."""
    queue = event.assoc.dul.to_provider_queue
    deadline = time.monotonic() + 5.0
    while not queue.empty() and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(0.002)  # one turn of the DUL loop to read what the peer sent


class _Failure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_identifier(
    identifier: Dataset, model: str
) -> tuple[Level, SearchRequest, list[tuple[int, str | None, str]]]:
    """The level, the search and the requested elements ``(tag, keyword, VR)``.

    Keys of levels below the query level are answered empty, not matched."""
    levels = FIND_SOP_CLASSES.get(model)
    if levels is None:
        raise _Failure(IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, f"not a FIND model: {model}")
    raw_level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if not raw_level:
        raise _Failure(IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, "Query/Retrieve Level is missing")
    try:
        level = Level[raw_level]
    except KeyError:
        raise _Failure(
            IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, f"unknown Query/Retrieve Level {raw_level!r}"
        ) from None
    if level not in levels:
        raise _Failure(
            IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
            f"level {raw_level} is not part of this information model",
        )
    matches: dict[str, str] = {}
    returns: list[str] = []
    wanted: list[tuple[int, str | None, str]] = []
    for elem in identifier:
        if elem.tag.element == 0 or elem.tag.group in (0x0000, 0x0002):
            continue
        kw = elem.keyword or None
        wanted.append((int(elem.tag), kw, elem.VR))
        if kw is None or kw in _NOT_KEYS or elem.VR == "SQ":
            continue
        try:
            kw = resolve_keyword(kw)
        except InvalidInputError:
            continue
        attr = ATTRIBUTES.get(kw)
        if attr is not None and attr.level > level:
            continue
        returns.append(kw)
        value = _text(elem.value)
        if value:
            matches[kw] = value
    request = SearchRequest(level=level, matches=matches, returns=returns)
    return level, request, wanted


def answer(
    row: dict[str, Any], level: Level, wanted: list[tuple[int, str | None, str]], ae_title: str
) -> Dataset:
    """One Pending identifier: every requested element, with the index's value or
    empty; plus the Query/Retrieve Level and Retrieve AE Title."""
    ds = Dataset()
    non_ascii = False
    for tag, kw, vr in wanted:
        if vr == "SQ":
            ds.add_new(tag, "SQ", Sequence())
            continue
        value = row.get(kw) if kw else None
        if kw == "RetrieveAETitle":
            value = ae_title
        elif kw == "InstanceAvailability":
            value = "ONLINE"
        elif kw in _NOT_KEYS:
            continue
        if isinstance(value, str) and not value.isascii():
            non_ascii = True
        try:
            ds.add_new(tag, vr, _dicom_value(value, vr))
        except Exception:
            ds.add_new(tag, vr, None)
    ds.QueryRetrieveLevel = level.name
    if non_ascii:
        ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


def _dicom_value(value: Any, vr: str) -> Any:
    if value is None or value == "" or value == []:
        return None
    if vr in ("IS", "SL", "SS", "UL", "US") and isinstance(value, float):
        return int(value)
    if vr == "DS" and isinstance(value, int | float):
        return DSfloat(value, auto_format=True)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace").strip()
    return str(value).strip()


def _failure(status: int, comment: str) -> Dataset:
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = comment[:64]
    return ds
