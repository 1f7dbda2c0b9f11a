"""REST thumbnails: ``GET /api/v1/series/{series_uid}/thumbnail`` (middle slice, windowed)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from jip.api.deps import RuntimeDep
from jip.api.errors import error_responses
from jip.render import MEDIA_TYPES
from jip.thumbnails import series_thumbnail

router = APIRouter(tags=["series"])


@router.get(
    "/series/{series_uid}/thumbnail",
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}},
        **error_responses(400, 404, 406, 503),
    },
    response_class=Response,
    summary="Thumbnail of a series",
)
async def get_series_thumbnail(
    series_uid: str,
    runtime: RuntimeDep,
    format: Literal["png", "jpeg"] = Query("png", description="image format"),
) -> Response:
    """The middle slice, windowed, fitted into ``thumbnail_size`` pixels; cached on disk.
    404 for an unknown series, 400 for a malformed UID, 406 for a series without images."""
    data = await run_in_threadpool(series_thumbnail, runtime, series_uid, fmt=format)
    return Response(
        data, media_type=MEDIA_TYPES[format], headers={"Cache-Control": "private, max-age=60"}
    )
