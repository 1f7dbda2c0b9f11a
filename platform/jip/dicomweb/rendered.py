"""WADO-RS rendered resources and thumbnails (PS3.18 10.4.1.1.3, 10.4.1.1.4).

Query parameters: ``window=center,width[,linear|linear-exact|sigmoid]``,
``viewport=vw,vh[,sx,sy,sw,sh]``, ``quality=1..100``; others (annotation, charset,
iccprofile) are accepted and ignored. A single image type (``image/jpeg``, the default,
``image/png``, ``image/gif``) answers with one image; ``multipart/related; type=image/...``
with one part per frame of every instance.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from jip import thumbnails
from jip.api.deps import RuntimeDep, SessionDep
from jip.dicomweb.frames import frame_count, parse_frame_list
from jip.dicomweb.locate import InstanceRef, find_instances, middle
from jip.dicomweb.multipart import (
    MediaRange,
    multipart_content_type,
    new_boundary,
    parse_accept,
    stream_multipart,
)
from jip.dicomweb.wado import load
from jip.errors import NotAcceptableError
from jip.render import (
    MEDIA_TYPES,
    ImageFormat,
    Viewport,
    parse_quality,
    parse_viewport,
    parse_window,
    render,
)
from jip.runtime import Runtime
from jip.thumbnails import render_thumbnail, representative

router = APIRouter()
_BY_MEDIA: dict[str, ImageFormat] = {v: k for k, v in MEDIA_TYPES.items()}


def choose_image(accept: list[MediaRange], allow_multipart: bool) -> tuple[ImageFormat, bool]:
    """(format, multipart) from the Accept header; JPEG when anything goes."""
    for r in accept:
        mime, multipart = r.mime, False
        if r.mime == "multipart/related" and allow_multipart:
            mime, multipart = r.params.get("type", "image/jpeg").lower(), True
        if mime in ("*/*", "image/*"):
            return "jpeg", multipart
        if mime in _BY_MEDIA:
            return _BY_MEDIA[mime], multipart
    raise NotAcceptableError("rendered images are available as image/jpeg, image/png, image/gif")


class _Options:
    def __init__(self, request: Request) -> None:
        q = request.query_params
        self.window = parse_window(q.get("window"))
        self.viewport = parse_viewport(q.get("viewport"))
        self.quality = parse_quality(q.get("quality"))


def _one(runtime: Runtime, ref: InstanceRef, index: int, fmt: ImageFormat, opt: _Options) -> bytes:
    ds = load(runtime, ref)
    return render(ds, index, fmt=fmt, window=opt.window, viewport=opt.viewport, quality=opt.quality)


def _image(data: bytes, fmt: ImageFormat) -> Response:
    return Response(data, media_type=MEDIA_TYPES[fmt])


def _multipart(
    runtime: Runtime, refs: list[InstanceRef], fmt: ImageFormat, opt: _Options
) -> Response:
    def parts() -> Iterator[tuple[bytes, str]]:
        for ref in refs:
            ds = load(runtime, ref)
            for i in range(max(1, frame_count(ds))):
                data = render(
                    ds, i, fmt=fmt, window=opt.window, viewport=opt.viewport, quality=opt.quality
                )
                yield data, MEDIA_TYPES[fmt]

    boundary = new_boundary()
    return StreamingResponse(
        stream_multipart(parts(), boundary),
        media_type=multipart_content_type(MEDIA_TYPES[fmt], boundary),
    )


@router.get("/studies/{study}/series/{series}/rendered", summary="Rendered series")
def series_rendered(
    study: str, series: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """One image of the middle slice, or (multipart) every frame of every instance."""
    opt = _Options(request)
    refs = find_instances(session, study=study, series=series)
    fmt, multipart = choose_image(parse_accept(request.headers.get("accept")), True)
    if multipart:
        return _multipart(runtime, [r for r in refs if r.rows], fmt, opt)
    ref = representative(session, refs)
    return _image(_one(runtime, ref, 0, fmt, opt), fmt)


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/rendered", summary="Rendered instance"
)
def instance_rendered(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """The first frame as one image, or (multipart) every frame."""
    opt = _Options(request)
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    fmt, multipart = choose_image(parse_accept(request.headers.get("accept")), True)
    if multipart:
        return _multipart(runtime, [ref], fmt, opt)
    return _image(_one(runtime, ref, 0, fmt, opt), fmt)


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
    summary="Rendered frame",
)
def frames_rendered(
    study: str,
    series: str,
    instance: str,
    frames: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    opt = _Options(request)
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    fmt, _ = choose_image(parse_accept(request.headers.get("accept")), False)
    ds = load(runtime, ref)
    indices = parse_frame_list(frames, frame_count(ds))
    if len(indices) != 1:
        raise NotAcceptableError("a rendered frame request names exactly one frame")
    data = render(
        ds, indices[0], fmt=fmt, window=opt.window, viewport=opt.viewport, quality=opt.quality
    )
    return _image(data, fmt)


# ---- thumbnails ------------------------------------------------------------------------


def _thumbnail(
    request: Request, runtime: Runtime, ref: InstanceRef, frame: int | None = None
) -> Response:
    fmt, _ = choose_image(parse_accept(request.headers.get("accept")), False)
    viewport = parse_viewport(request.query_params.get("viewport"))
    if viewport is None:
        size = runtime.settings.thumbnail_size
        viewport = Viewport(size, size)
    return _image(render_thumbnail(runtime, ref, viewport=viewport, fmt=fmt, frame=frame), fmt)


@router.get("/studies/{study}/thumbnail", summary="Study thumbnail")
def study_thumbnail(
    study: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Middle slice of the study's largest image series."""
    refs = find_instances(session, study=study)
    return _thumbnail(request, runtime, representative(session, largest_series(refs)))


def largest_series(refs: list[InstanceRef]) -> list[InstanceRef]:
    """The image instances of the series with the most of them (a study's key series)."""
    by_series: dict[str, list[InstanceRef]] = {}
    for r in refs:
        if r.rows:
            by_series.setdefault(r.series_uid, []).append(r)
    return max(by_series.values(), key=len) if by_series else []


@router.get("/studies/{study}/rendered", summary="Rendered study")
def study_rendered(
    study: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """One image (middle slice of the largest series) or, multipart, every frame."""
    opt = _Options(request)
    refs = find_instances(session, study=study)
    fmt, multipart = choose_image(parse_accept(request.headers.get("accept")), True)
    if multipart:
        return _multipart(runtime, [r for r in refs if r.rows], fmt, opt)
    ref = representative(session, largest_series(refs))
    return _image(_one(runtime, ref, 0, fmt, opt), fmt)


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail",
    summary="Frame thumbnail",
)
def frame_thumbnail(
    study: str,
    series: str,
    instance: str,
    frames: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    indices = parse_frame_list(frames, max(1, ref.number_of_frames or 1) if ref.rows else 0)
    if len(indices) != 1:
        raise NotAcceptableError("a frame thumbnail names exactly one frame")
    return _thumbnail(request, runtime, ref, frame=indices[0])


@router.get("/studies/{study}/series/{series}/thumbnail", summary="Series thumbnail")
def series_thumbnail(
    study: str, series: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    refs = find_instances(session, study=study, series=series)
    if "viewport" not in request.query_params:  # the default size: the REST API's cache
        fmt, _ = choose_image(parse_accept(request.headers.get("accept")), False)
        if fmt != "gif":
            return _image(thumbnails.series_thumbnail(runtime, series, fmt=fmt), fmt)
    return _thumbnail(request, runtime, representative(session, refs))


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/thumbnail", summary="Instance thumbnail"
)
def instance_thumbnail(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    (ref,) = find_instances(session, study=study, series=series, instance=instance)
    return _thumbnail(request, runtime, middle([ref]))
