"""Saved cohorts (= datasets): named sets of series that pipelines run on."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jip.errors import NotFoundError


def series_uids_for_cohort(session: Session, cohort_id: str) -> list[str]:
    """The series of a cohort (the resolver pipelines use); raises NotFoundError."""
    from jip.cohorts.service import member_uids

    try:
        key = int(cohort_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no cohort {cohort_id!r}") from None
    return member_uids(session, key)
