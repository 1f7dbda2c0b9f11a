"""Site totals for the dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from jip.api.browse_deps import SeriesIndexDep
from jip.api.deps import SessionDep
from jip.catalog import views
from jip.catalog.schemas import Statistics

router = APIRouter(tags=["browse"])


@router.get("/statistics", response_model=Statistics)
def statistics(session: SessionDep, index: SeriesIndexDep) -> Statistics:
    return views.statistics(session, index)
