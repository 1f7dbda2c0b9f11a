"""WADO-RS retrieve (PS3.18 10.4): instances, metadata, bulk data and frames.

Routes only translate: resolve the URL to instance references (locate.py), negotiate the
representation from the Accept header, then stream parts read from the object store one
by one. Rendered images and thumbnails live in rendered.py.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from io import BytesIO

import pydicom
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian

from jip.api.deps import RuntimeDep, SessionDep
from jip.dicomweb.dicomjson import find_bulk_element
from jip.dicomweb.frames import (
    OCTET,
    choose_frame_encoding,
    frame_count,
    frame_parts,
    is_encapsulated,
    parse_frame_list,
)
from jip.dicomweb.locate import InstanceRef, find_instances
from jip.dicomweb.metadata import instance_json
from jip.dicomweb.multipart import (
    MediaRange,
    multipart_content_type,
    new_boundary,
    parse_accept,
    stream_multipart,
)
from jip.dicomweb.transfer import choose_dicom, transcode
from jip.errors import NotAcceptableError, NotFoundError
from jip.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()

DICOM_JSON = "application/dicom+json"
_JSON_OK = {DICOM_JSON, "application/json", "application/*", "*/*"}


def base_url(request: Request) -> str:
    """Absolute URL of the DICOMweb root, for every URL an answer carries (QIDO-RS
    RetrieveURL, BulkDataURI, STOW-RS RetrieveURL): ``dicomweb_public_url`` if set, else
    as this client reached it. Some clients (dicomweb-client) send a Host header without
    the port; the port we listen on is added then, unless a proxy forwarded the request."""
    runtime: Runtime = request.app.state.runtime
    if runtime.settings.dicomweb_public_url:
        return runtime.settings.dicomweb_public_url.rstrip("/")
    url = request.base_url
    server = request.scope.get("server")
    forwarded = "x-forwarded-host" in request.headers or "forwarded" in request.headers
    if url.port is None and server and server[1] not in (None, 80, 443) and not forwarded:
        url = url.replace(port=server[1])
    return str(url).rstrip("/") + "/dicomweb"


def instance_url(request: Request, ref: InstanceRef) -> str:
    return (
        f"{base_url(request)}/studies/{ref.study_uid}/series/{ref.series_uid}"
        f"/instances/{ref.sop_instance_uid}"
    )


def load(runtime: Runtime, ref: InstanceRef) -> Dataset:
    return pydicom.dcmread(BytesIO(runtime.store.get(ref.object_key)))


# ---- instances as application/dicom -------------------------------------------------


@router.get("/studies/{study}", summary="Retrieve a study (multipart application/dicom)")
def retrieve_study(
    study: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _retrieve(request, runtime, find_instances(session, study=study))


@router.get("/studies/{study}/series/{series}", summary="Retrieve a series")
def retrieve_series(
    study: str, series: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _retrieve(request, runtime, find_instances(session, study=study, series=series))


@router.get("/studies/{study}/series/{series}/instances/{instance}", summary="Retrieve an instance")
def retrieve_instance(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    refs = find_instances(session, study=study, series=series, instance=instance)
    return _retrieve(request, runtime, refs)


def _retrieve(request: Request, runtime: Runtime, refs: list[InstanceRef]) -> Response:
    accept = parse_accept(request.headers.get("accept"))
    choice = choose_dicom(accept, {r.transfer_syntax_uid for r in refs}, len(refs))

    def parts() -> Iterator[tuple[bytes, str]]:
        for ref in refs:
            data = runtime.store.get(ref.object_key)
            ts = ref.transfer_syntax_uid
            if choice.target is not None and choice.target != ts:
                data, ts = transcode(data, choice.target), choice.target
            yield data, f"application/dicom; transfer-syntax={ts}"

    if not choice.multipart:
        data, ctype = next(parts())
        return Response(data, media_type=ctype)
    # the first part is read before the status line goes out: a store that is down
    # answers 503 then, instead of a 200 whose body breaks off
    remaining = parts()
    first = next(remaining)
    boundary = new_boundary()
    return StreamingResponse(
        _logged(stream_multipart(itertools.chain([first], remaining), boundary)),
        media_type=multipart_content_type("application/dicom", boundary),
    )


def _logged(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Headers are gone once streaming starts: a failure can only cut the body short."""
    try:
        yield from chunks
    except Exception:
        log.exception("WADO-RS response aborted mid-stream")
        raise


# ---- metadata ------------------------------------------------------------------------


@router.get("/studies/{study}/metadata", summary="Study metadata (DICOM JSON)")
def study_metadata(
    study: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _metadata(request, runtime, find_instances(session, study=study))


@router.get("/studies/{study}/series/{series}/metadata", summary="Series metadata")
def series_metadata(
    study: str, series: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _metadata(request, runtime, find_instances(session, study=study, series=series))


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/metadata", summary="Instance metadata"
)
def instance_metadata(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    refs = find_instances(session, study=study, series=series, instance=instance)
    return _metadata(request, runtime, refs)


def _metadata(request: Request, runtime: Runtime, refs: list[InstanceRef]) -> Response:
    accept = parse_accept(request.headers.get("accept"))
    if not any(r.mime in _JSON_OK for r in accept):
        raise NotAcceptableError("metadata is available as application/dicom+json only")

    def body() -> Iterator[bytes]:
        yield b"["
        for i, ref in enumerate(refs):
            yield (b"," if i else b"") + instance_json(runtime, ref, instance_url(request, ref))
        yield b"]"

    return StreamingResponse(_logged(body()), media_type=DICOM_JSON)


# ---- bulk data and frames ------------------------------------------------------------


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag_path:path}",
    summary="Bulk data of one element (BulkDataURI of the metadata)",
)
def bulkdata(
    study: str,
    series: str,
    instance: str,
    tag_path: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    ds = load(runtime, ref)
    elem = find_bulk_element(ds, tag_path)
    accept = parse_accept(request.headers.get("accept"))
    ts = str(ds.file_meta.TransferSyntaxUID)
    if int(elem.tag) == 0x7FE00010 and (is_encapsulated(ts) or ts == ExplicitVRBigEndian):
        # compressed or big-endian pixels: frame by frame, as /frames would answer
        return _frames_response(accept, ds, list(range(frame_count(ds))))
    if not isinstance(elem.value, bytes | bytearray):
        raise NotFoundError(f"element {tag_path} is not bulk data")
    if not any(r.mime in ("*/*", "multipart/related", "multipart/*") for r in accept):
        raise NotAcceptableError("bulk data is served as multipart/related octet-stream")
    boundary = new_boundary()
    return StreamingResponse(
        stream_multipart([(bytes(elem.value), OCTET)], boundary),
        media_type=multipart_content_type(OCTET, boundary),
    )


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
    summary="Pixel data of frames (uncompressed or as stored)",
)
def retrieve_frames(
    study: str,
    series: str,
    instance: str,
    frames: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    ds = load(runtime, ref)
    indices = parse_frame_list(frames, frame_count(ds))
    return _frames_response(parse_accept(request.headers.get("accept")), ds, indices)


def _frames_response(accept: list[MediaRange], ds: Dataset, indices: list[int]) -> Response:
    if not indices:
        raise NotFoundError("instance has no pixel data")
    stored_ts = str(ds.file_meta.TransferSyntaxUID)
    encoding = choose_frame_encoding(accept, stored_ts)
    parts = frame_parts(ds, indices, encoding)
    first = next(parts)  # decode errors surface here, before the headers are sent
    part_type = first[1].split(";", 1)[0]

    def all_parts() -> Iterator[tuple[bytes, str]]:
        yield first
        yield from parts

    boundary = new_boundary()
    return StreamingResponse(
        _logged(stream_multipart(all_parts(), boundary)),
        media_type=multipart_content_type(part_type, boundary),
    )
