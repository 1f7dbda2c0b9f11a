"""Studies list, one study with all its series, one patient's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from jip.api.browse_deps import PageLimit, PageOffset
from jip.api.deps import SessionDep
from jip.api.errors import error_responses
from jip.catalog import views
from jip.catalog.filters import normalise_date
from jip.catalog.schemas import PatientDetail, StudyDetail, StudyPage

router = APIRouter(tags=["browse"])


@router.get("/studies", response_model=StudyPage, responses=error_responses(400))
def list_studies(
    session: SessionDep,
    q: Annotated[str, Query(max_length=200, description="patient id/name, description")] = "",
    modality: Annotated[str, Query(max_length=16)] = "",
    patient_id: Annotated[str, Query(max_length=64)] = "",
    date_from: str | None = None,
    date_to: str | None = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> StudyPage:
    """Studies, newest first, with the total over all pages."""
    return views.list_studies(
        session,
        q=q,
        modality=modality,
        patient_id=patient_id,
        date_from=normalise_date(date_from, "date_from"),
        date_to=normalise_date(date_to, "date_to"),
        limit=limit,
        offset=offset,
    )


@router.get("/studies/{study_uid}", response_model=StudyDetail, responses=error_responses(404))
def get_study(study_uid: str, session: SessionDep) -> StudyDetail:
    return views.study_detail(session, study_uid)


@router.get(
    "/patients/{patient_id:path}", response_model=PatientDetail, responses=error_responses(404)
)
def get_patient(patient_id: str, session: SessionDep) -> PatientDetail:
    """The patient's studies oldest first (a timeline), each with its series. A patient
    ID may contain "/" (sent as %2F), hence a path parameter."""
    return views.patient_detail(session, patient_id)
