"""DICOM SEG overlays for the viewer: the SEGs drawn on a series, one slice's masks."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from jip.api.deps import RuntimeDep, SessionDep
from jip.api.errors import error_responses
from jip.segmentations import service
from jip.segmentations.cache import DecodedSegCache
from jip.segmentations.schemas import SegmentationList, SliceMasks
from jip.segmentations.warm import cache_dir

router = APIRouter(tags=["segmentations"])
_create_lock = threading.Lock()


def get_seg_cache(request: Request, runtime: RuntimeDep) -> DecodedSegCache:
    """One cache of decoded SEGs per app."""
    cache: DecodedSegCache | None = getattr(request.app.state, "seg_cache", None)
    if cache is None:
        with _create_lock:
            cache = getattr(request.app.state, "seg_cache", None)
            if cache is None:
                cache = DecodedSegCache(cache_dir(runtime), runtime.store)
                request.app.state.seg_cache = cache
    return cache


SegCacheDep = Annotated[DecodedSegCache, Depends(get_seg_cache)]


@router.get(
    "/series/{series_uid}/segmentations",
    response_model=SegmentationList,
    responses=error_responses(404, 503),
)
def list_series_segmentations(
    series_uid: str, session: SessionDep, cache: SegCacheDep
) -> SegmentationList:
    """DICOM SEG instances that segment this series: segments (label, colour) and, per
    source slice, the segments drawn on it. 404 for an unknown series."""
    return service.list_segmentations(session, cache, series_uid)


@router.get(
    "/segmentations/{seg_sop_uid}/masks",
    response_model=SliceMasks,
    responses=error_responses(400, 404, 503),
)
def get_slice_masks(
    seg_sop_uid: str,
    session: SessionDep,
    cache: SegCacheDep,
    source: Annotated[str, Query(description="SOP Instance UID of the source slice")],
) -> SliceMasks:
    """Run-length masks (row-major ``[start, length, ...]``) of each segment on one
    source slice. 404 for an unknown SEG or slice."""
    return service.slice_masks(session, cache, seg_sop_uid, source)
