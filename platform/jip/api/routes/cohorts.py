"""Cohorts CRUD, membership and export of the UID list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from jip.api.browse_deps import SeriesIndexDep
from jip.api.deps import RowId, SessionDep
from jip.api.errors import error_responses
from jip.cohorts import service
from jip.cohorts.schemas import (
    CohortCreate,
    CohortMember,
    CohortOut,
    CohortUpdate,
    MembershipChange,
    SeriesUids,
)
from jip.errors import InvalidInputError

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


@router.post("", response_model=CohortOut, status_code=201, responses=error_responses(400, 404))
def create_cohort(body: CohortCreate, session: SessionDep, index: SeriesIndexDep) -> CohortOut:
    """Save a selection: explicit `series_uids`, or every series matching `filter`."""
    if body.series_uids is not None and body.filter is not None:
        raise InvalidInputError("give either series_uids or filter, not both")
    if body.filter is not None:
        f = body.filter.to_filter()
        members = service.member_uids(session, f.cohort) if f.cohort is not None else None
        uids = [index.uids[i] for i in index.select(f, members)]
        return service.create_cohort(session, data=body, series_uids=uids, filter_used=f.active())
    return service.create_cohort(
        session, data=body, series_uids=body.series_uids or [], filter_used={}
    )


@router.get("", response_model=list[CohortOut])
def list_cohorts(session: SessionDep) -> list[CohortOut]:
    return service.list_cohorts(session)


@router.get("/{cohort_id}", response_model=CohortOut, responses=error_responses(404))
def get_cohort(cohort_id: RowId, session: SessionDep) -> CohortOut:
    return service.get_cohort(session, cohort_id)


@router.patch("/{cohort_id}", response_model=CohortOut, responses=error_responses(404))
def update_cohort(cohort_id: RowId, body: CohortUpdate, session: SessionDep) -> CohortOut:
    return service.update_cohort(session, cohort_id, body)


@router.delete("/{cohort_id}", status_code=204, responses=error_responses(404))
def delete_cohort(cohort_id: RowId, session: SessionDep) -> Response:
    service.delete_cohort(session, cohort_id)
    return Response(status_code=204)


@router.get(
    "/{cohort_id}/series", response_model=list[CohortMember], responses=error_responses(404)
)
def list_members(cohort_id: RowId, session: SessionDep) -> list[CohortMember]:
    return service.members(session, cohort_id)


@router.post(
    "/{cohort_id}/series", response_model=MembershipChange, responses=error_responses(400, 404)
)
def add_series(cohort_id: RowId, body: SeriesUids, session: SessionDep) -> MembershipChange:
    added, size = service.add_series(session, cohort_id, body.series_uids)
    return MembershipChange(cohort_id=cohort_id, changed=added, size=size)


@router.post(
    "/{cohort_id}/series/remove",
    response_model=MembershipChange,
    responses=error_responses(400, 404),
)
def remove_series(cohort_id: RowId, body: SeriesUids, session: SessionDep) -> MembershipChange:
    removed, size = service.remove_series(session, cohort_id, body.series_uids)
    return MembershipChange(cohort_id=cohort_id, changed=removed, size=size)


@router.delete(
    "/{cohort_id}/series/{series_uid}",
    response_model=MembershipChange,
    responses=error_responses(400, 404),
)
def remove_one(cohort_id: RowId, series_uid: str, session: SessionDep) -> MembershipChange:
    removed, size = service.remove_series(session, cohort_id, [series_uid])
    return MembershipChange(cohort_id=cohort_id, changed=removed, size=size)


@router.get(
    "/{cohort_id}/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **error_responses(404)},
)
def export(
    cohort_id: RowId,
    session: SessionDep,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    """The cohort's UID list (series, study, patient) as a CSV or JSON download."""
    cohort = service.get_cohort(session, cohort_id)
    rows = service.members(session, cohort_id)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in cohort.name)[:60]
    if format == "json":
        body, media = service.export_json(cohort, rows), "application/json"
    else:
        body, media = service.export_csv(cohort, rows), "text/csv"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="cohort-{cohort_id}-{safe}.{format}"'
        },
    )
