"""STOW-RS (PS3.18 10.5): store instances sent as multipart/related application/dicom.

Every part goes through the same ``Ingestor`` as C-STORE, so durability and the
duplicate rule are identical. A bad part fails alone (FailedSOPSequence); the answer
is 200 if all parts were stored, 202 if some failed or carry a warning, 409 if none
was stored, 400 for a malformed body, 413 over ``stow_max_bytes``, 415 for any media
type other than application/dicom.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pydicom
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from jip.api.deps import RuntimeDep
from jip.api.errors import RETRY_AFTER
from jip.dicom.parse import check_uid, is_valid_uid
from jip.dicomweb.multipart import (
    Part,
    PayloadTooLargeError,
    boundary_of,
    parse_media_type,
    parse_multipart,
)
from jip.dicomweb.wado import DICOM_JSON, base_url
from jip.errors import DicomError, InvalidInputError, StorageError, UnsupportedError
from jip.index.records import StoreOutcome
from jip.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()

# PS3.18 Table 10.5.3-2/-3 failure and warning reasons (same codes as C-STORE statuses)
PROCESSING_FAILURE = 0x0110
OUT_OF_RESOURCES = 0xA700
STUDY_MISMATCH = 0xA900  # the instance does not belong to the study named in the URL
CANNOT_UNDERSTAND = 0xC000
ELEMENTS_DISCARDED = 0xB006  # same SOP Instance UID, other bytes: the first copy was kept
_WORKERS = 4


@dataclass(slots=True)
class PartResult:
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_uid: str = ""
    series_uid: str = ""
    failure: int | None = None
    warning: int | None = None
    reason: str = ""


@router.post("/studies", summary="Store instances (STOW-RS)")
async def stow(request: Request, runtime: RuntimeDep) -> JSONResponse:
    return await _stow(request, runtime, None)


@router.post("/studies/{study}", summary="Store instances into one study (STOW-RS)")
async def stow_study(study: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    check_uid(study, "Study Instance UID")
    return await _stow(request, runtime, study)


async def _stow(request: Request, runtime: Runtime, study: str | None) -> JSONResponse:
    ctype = parse_media_type(request.headers.get("content-type") or "application/octet-stream")
    if ctype.mime != "multipart/related":
        raise UnsupportedError(f"STOW-RS takes multipart/related, not {ctype.mime}")
    part_type = ctype.params.get("type", "application/dicom").lower()
    if part_type != "application/dicom":
        raise UnsupportedError(f"only type=application/dicom is supported, not {part_type}")
    boundary = boundary_of(ctype)
    body = await read_limited(request, runtime.settings.stow_max_bytes)
    parts = parse_multipart(body, boundary)
    del body
    if not parts:
        raise InvalidInputError("multipart body holds no parts")
    results = await run_in_threadpool(store_parts, runtime, parts, study)
    return _response(results, base_url(request))


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"request body of {declared} bytes exceeds {limit} bytes")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise PayloadTooLargeError(f"request body exceeds {limit} bytes")
    return bytes(buf)


def store_parts(runtime: Runtime, parts: list[Part], study: str | None) -> list[PartResult]:
    """Ingest each part; concurrent ones share the index writer's group commits."""
    if len(parts) == 1:
        return [store_part(runtime, parts[0], study)]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(parts))) as pool:
        return list(pool.map(lambda p: store_part(runtime, p, study), parts))


def store_part(runtime: Runtime, part: Part, study: str | None) -> PartResult:
    """One instance through the Ingestor; never raises, failures become a reason code."""
    result = PartResult()
    if part.content_type is not None:
        mime = parse_media_type(part.content_type).mime if _parsable(part.content_type) else "?"
        if mime != "application/dicom":
            return _fail(result, CANNOT_UNDERSTAND, f"part media type {part.content_type!r}")
    data = with_preamble(part.body)
    _peek(data, result)
    if study is not None and result.study_uid and result.study_uid != study:
        return _fail(result, STUDY_MISMATCH, f"instance belongs to study {result.study_uid}")
    try:
        ingested = runtime.ingestor.ingest(data)
    except DicomError as exc:
        return _fail(result, CANNOT_UNDERSTAND, exc.message)
    except StorageError as exc:
        log.error("STOW-RS storage failure: %s", exc.message)
        return _fail(result, OUT_OF_RESOURCES, exc.message)
    except Exception as exc:
        log.exception("STOW-RS part failed")
        return _fail(result, PROCESSING_FAILURE, f"{type(exc).__name__}")
    result.sop_class_uid = ingested.sop_class_uid
    result.sop_instance_uid = ingested.sop_instance_uid
    result.study_uid = ingested.study_uid
    result.series_uid = ingested.series_uid
    if ingested.outcome is StoreOutcome.CONFLICT:
        result.warning = ELEMENTS_DISCARDED
        result.reason = "instance already stored with other content; first copy kept"
    return result


def with_preamble(data: bytes) -> bytes:
    """Part 10 bytes as received; some clients (pydicom's dcmwrite of an in-memory
    dataset, as dicomweb-client does) omit the 128-byte preamble and "DICM" but do send
    the file meta group: those get a zero preamble and the prefix, nothing else."""
    if data[128:132] != b"DICM" and data[:2] == b"\x02\x00" and data[4:6].isalpha():
        return bytes(128) + b"DICM" + data
    return data


def _parsable(text: str) -> bool:
    try:
        parse_media_type(text)
    except InvalidInputError:
        return False
    return True


def _peek(data: bytes, result: PartResult) -> None:
    """UIDs for the response (and the study check), even for parts that then fail."""
    try:
        ds = pydicom.dcmread(
            BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
        )
    except Exception:
        return
    for attr, name in (
        ("sop_class_uid", "SOPClassUID"),
        ("sop_instance_uid", "SOPInstanceUID"),
        ("study_uid", "StudyInstanceUID"),
    ):
        value = str(ds.get(name, "") or "")
        if is_valid_uid(value):
            setattr(result, attr, value)


def _fail(result: PartResult, code: int, reason: str) -> PartResult:
    log.warning("STOW-RS part rejected (0x%04X): %s", code, reason)
    result.failure = code
    result.reason = reason
    return result


def _response(results: list[PartResult], base: str) -> JSONResponse:
    ok = [r for r in results if r.failure is None]
    failed = [r for r in results if r.failure is not None]
    body: dict[str, Any] = {}
    # Retrieve URL (Type 2, PS3.18 Table I.1-1): the study the stored instances are in;
    # empty when nothing was stored or they are in several studies
    studies = {r.study_uid for r in ok}
    retrieve_study = studies.pop() if len(studies) == 1 else None
    if retrieve_study:
        body["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{retrieve_study}"]}
    else:
        body["00081190"] = {"vr": "UR"}
    body["00081198"] = (
        {"vr": "SQ", "Value": [_item(r, base) for r in failed]} if failed else {"vr": "SQ"}
    )
    body["00081199"] = {"vr": "SQ", "Value": [_item(r, base) for r in ok]} if ok else {"vr": "SQ"}
    if not ok and all(r.failure == OUT_OF_RESOURCES for r in failed):
        # every part failed for the server's storage (object store or index down): a
        # temporary condition of the server, not of the request (PS3.18 8.5, 10.5.3)
        status = 503
    elif not ok:
        status = 409
    elif failed or any(r.warning is not None for r in ok):
        status = 202
    else:
        status = 200
    headers = RETRY_AFTER if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=DICOM_JSON, headers=headers)


def _item(r: PartResult, base: str) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if r.sop_class_uid:
        item["00081150"] = {"vr": "UI", "Value": [r.sop_class_uid]}
    if r.sop_instance_uid:
        item["00081155"] = {"vr": "UI", "Value": [r.sop_instance_uid]}
    if r.failure is not None:
        item["00081197"] = {"vr": "US", "Value": [r.failure]}
    else:
        item["00081190"] = {"vr": "UR", "Value": [_instance_url(r, base)]}
        if r.warning is not None:
            item["00081196"] = {"vr": "US", "Value": [r.warning]}
    return item


def _instance_url(r: PartResult, base: str) -> str:
    return f"{base}/studies/{r.study_uid}/series/{r.series_uid}/instances/{r.sop_instance_uid}"
