"""Live facet counts for the gallery's current filter."""

from __future__ import annotations

from fastapi import APIRouter

from jip.api.browse_deps import FacetTop, SeriesFilterDep, SeriesIndexDep, only_params
from jip.api.deps import SessionDep
from jip.api.errors import error_responses
from jip.catalog.histograms import age_histogram, date_histogram, value_counts
from jip.catalog.schemas import FacetsOut, FacetValue
from jip.cohorts import service as cohorts

router = APIRouter(tags=["browse"])


@router.get(
    "/facets",
    response_model=FacetsOut,
    responses=error_responses(400, 404),
    dependencies=[only_params("top")],
)
def facets(
    index: SeriesIndexDep,
    session: SessionDep,
    f: SeriesFilterDep,
    top: FacetTop = 50,
) -> FacetsOut:
    """Counts per value of every facet; each facet ignores its own condition, so the
    other values of a selected facet still show what selecting them would give."""
    members = cohorts.member_uids(session, f.cohort) if f.cohort is not None else None
    c = index.facets(f, top=top, members=members)
    return FacetsOut(
        total=c.total,
        facets={
            name: [FacetValue(value=v, count=n) for v, n in values]
            for name, values in c.categorical.items()
        },
        distinct=c.distinct,
        study_date=date_histogram(c.study_dates),
        patient_age=age_histogram(c.ages),
        slice_thickness=value_counts(c.thicknesses),
    )
