"""One request per gallery view: ``GET /api/v1/gallery`` = ``/series`` + ``/facets``.

The browser needs both for every view; one request instead of two saves a round trip,
one pass through the framework and one index sync, which on a shared 2-core machine is
a good part of a facet click (see docs/performance.md, UI).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from jip.api.browse_deps import SeriesFilterDep, SeriesIndexDep
from jip.api.deps import SessionDep
from jip.api.routes.facets import facets
from jip.api.routes.series import list_series
from jip.catalog.filters import SORT_KEYS
from jip.catalog.schemas import GalleryOut

router = APIRouter(tags=["browse"])


@router.get("/gallery", response_model=GalleryOut)
def gallery(
    index: SeriesIndexDep,
    session: SessionDep,
    f: SeriesFilterDep,
    sort: Annotated[str, Query(description=f"one of {', '.join(SORT_KEYS)}; '-' = descending")] = (
        "-study_date"
    ),
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    top: Annotated[int, Query(ge=1, le=500, description="values per facet")] = 50,
) -> GalleryOut:
    """The page of series and the facet counts for one filter (same parameters and
    answers as ``/series`` and ``/facets``)."""
    return GalleryOut(
        series=list_series(index, session, f, sort, limit, offset),
        facets=facets(index, session, f, top),
    )
