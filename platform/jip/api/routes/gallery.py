"""One request per gallery view: ``GET /api/v1/gallery`` = ``/series`` + ``/facets``.

The browser needs both for every view; one request instead of two saves a round trip,
one pass through the framework and one index sync, which on a shared 2-core machine is
a good part of a facet click (see docs/performance.md, UI).
"""

from __future__ import annotations

from fastapi import APIRouter

from jip.api.browse_deps import (
    FacetTop,
    PageLimit,
    PageOffset,
    SeriesFilterDep,
    SeriesIndexDep,
    SeriesSort,
    only_params,
)
from jip.api.deps import SessionDep
from jip.api.errors import error_responses
from jip.api.routes.facets import facets
from jip.api.routes.series import list_series
from jip.catalog.schemas import GalleryOut

router = APIRouter(tags=["browse"])


@router.get(
    "/gallery",
    response_model=GalleryOut,
    responses=error_responses(400, 404),
    dependencies=[only_params("sort", "limit", "offset", "top")],
)
def gallery(
    index: SeriesIndexDep,
    session: SessionDep,
    f: SeriesFilterDep,
    sort: SeriesSort = "-study_date",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
    top: FacetTop = 50,
) -> GalleryOut:
    """The page of series and the facet counts for one filter (same parameters and
    answers as ``/series`` and ``/facets``)."""
    return GalleryOut(
        series=list_series(index, session, f, sort, limit, offset),
        facets=facets(index, session, f, top),
    )
