"""Gallery list of series, one series with its instances, an instance's header."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jip.api.browse_deps import (
    PageLimit,
    PageOffset,
    SeriesFilterDep,
    SeriesIndexDep,
    SeriesSort,
    only_params,
)
from jip.api.deps import SessionDep
from jip.api.errors import error_responses
from jip.catalog import views
from jip.catalog.filters import parse_sort
from jip.catalog.schemas import SeriesDetail, SeriesPage
from jip.cohorts import service as cohorts

router = APIRouter(tags=["browse"])


@router.get(
    "/series",
    response_model=SeriesPage,
    responses=error_responses(400, 404),
    dependencies=[only_params("sort", "limit", "offset")],
)
def list_series(
    index: SeriesIndexDep,
    session: SessionDep,
    f: SeriesFilterDep,
    sort: SeriesSort = "-study_date",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> SeriesPage:
    """Series matching the filter, one page, with the total over all pages."""
    key, desc = parse_sort(sort)
    members = cohorts.member_uids(session, f.cohort) if f.cohort is not None else None
    total, rows = index.page(
        f, sort=key, descending=desc, limit=limit, offset=offset, members=members
    )
    return SeriesPage(
        total=total,
        limit=limit,
        offset=offset,
        sort=sort,
        items=[views.series_out(r) for r in rows],
    )


@router.get("/series/{series_uid}", response_model=SeriesDetail, responses=error_responses(404))
def get_series(series_uid: str, session: SessionDep) -> SeriesDetail:
    """One series with its instances in slice order (for the viewer)."""
    return views.series_detail(session, series_uid)


@router.get("/series/{series_uid}/instances/{sop_uid}/tags", responses=error_responses(404))
def get_instance_tags(series_uid: str, sop_uid: str, session: SessionDep) -> dict[str, Any]:
    """The flattened non-bulk DICOM header of one instance ({keyword: value})."""
    return views.instance_tags(session, series_uid, sop_uid)
