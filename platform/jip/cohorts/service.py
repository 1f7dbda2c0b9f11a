"""Cohort logic, callable without a server: every function takes a session."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from jip.cohorts.models import Cohort, CohortSeries
from jip.cohorts.schemas import CohortCreate, CohortMember, CohortOut, CohortUpdate
from jip.errors import InvalidInputError, NotFoundError
from jip.index.models import Patient, Series, Study

_CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _size(session: Session, cohort_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(CohortSeries)
            .where(CohortSeries.cohort_id == cohort_id)
        )
        or 0
    )


def _out(c: Cohort, size: int) -> CohortOut:
    return CohortOut(
        id=c.id,
        name=c.name,
        description=c.description,
        owner=c.owner,
        size=size,
        filter=c.filter or {},
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _get(session: Session, cohort_id: int) -> Cohort:
    c = session.get(Cohort, cohort_id)
    if c is None:
        raise NotFoundError(f"no cohort {cohort_id}")
    return c


def _check_known(session: Session, uids: Sequence[str]) -> None:
    """Every UID must name an indexed series; raises a 400 naming the unknown ones."""
    known: set[str] = set()
    for chunk in _chunks(uids):
        known.update(session.scalars(select(Series.series_uid).where(Series.series_uid.in_(chunk))))
    unknown = [u for u in uids if u not in known]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InvalidInputError(f"{len(unknown)} unknown series UID(s): {shown}")


def create_cohort(
    session: Session, *, data: CohortCreate, series_uids: Sequence[str], filter_used: dict[str, Any]
) -> CohortOut:
    uids = list(dict.fromkeys(series_uids))
    _check_known(session, uids)
    now = _now()
    c = Cohort(
        name=data.name.strip(),
        description=data.description,
        owner=data.owner,
        filter=filter_used,
        created_at=now,
        updated_at=now,
    )
    session.add(c)
    session.flush()
    _insert_members(session, c.id, uids, now)
    session.commit()
    return _out(c, len(uids))


def _insert_members(session: Session, cohort_id: int, uids: Sequence[str], now: datetime) -> None:
    for chunk in _chunks(uids):
        session.execute(
            insert(CohortSeries),
            [{"cohort_id": cohort_id, "series_uid": u, "added_at": now} for u in chunk],
        )


def list_cohorts(session: Session) -> list[CohortOut]:
    sizes = dict(
        session.execute(
            select(CohortSeries.cohort_id, func.count()).group_by(CohortSeries.cohort_id)
        ).all()
    )
    cohorts = session.scalars(select(Cohort).order_by(Cohort.updated_at.desc(), Cohort.id.desc()))
    return [_out(c, int(sizes.get(c.id, 0))) for c in cohorts]


def get_cohort(session: Session, cohort_id: int) -> CohortOut:
    return _out(_get(session, cohort_id), _size(session, cohort_id))


def update_cohort(session: Session, cohort_id: int, patch: CohortUpdate) -> CohortOut:
    c = _get(session, cohort_id)
    for field, value in patch.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(c, field, value.strip() if field == "name" else value)
    c.updated_at = _now()
    session.commit()
    return get_cohort(session, cohort_id)


def delete_cohort(session: Session, cohort_id: int) -> None:
    _get(session, cohort_id)
    session.execute(delete(CohortSeries).where(CohortSeries.cohort_id == cohort_id))
    session.execute(delete(Cohort).where(Cohort.id == cohort_id))
    session.commit()


def member_uids(session: Session, cohort_id: int) -> list[str]:
    _get(session, cohort_id)
    return list(
        session.scalars(select(CohortSeries.series_uid).where(CohortSeries.cohort_id == cohort_id))
    )


def add_series(session: Session, cohort_id: int, uids: Sequence[str]) -> tuple[int, int]:
    """Add series (already present ones are ignored); returns (added, new size)."""
    c = _get(session, cohort_id)
    wanted = list(dict.fromkeys(uids))
    _check_known(session, wanted)
    present = set(member_uids(session, cohort_id))
    new = [u for u in wanted if u not in present]
    now = _now()
    _insert_members(session, cohort_id, new, now)
    c.updated_at = now
    session.commit()
    return len(new), len(present) + len(new)


def remove_series(session: Session, cohort_id: int, uids: Sequence[str]) -> tuple[int, int]:
    """Remove series (absent ones are ignored); returns (removed, new size)."""
    c = _get(session, cohort_id)
    removed = 0
    for chunk in _chunks(list(dict.fromkeys(uids))):
        res = session.execute(
            delete(CohortSeries).where(
                CohortSeries.cohort_id == cohort_id, CohortSeries.series_uid.in_(chunk)
            )
        )
        removed += int(getattr(res, "rowcount", 0) or 0)
    c.updated_at = _now()
    session.commit()
    return removed, _size(session, cohort_id)


def members(session: Session, cohort_id: int) -> list[CohortMember]:
    """Members still in the index, with the UIDs a pipeline or a PACS pull needs."""
    _get(session, cohort_id)
    rows = session.execute(
        select(
            Series.series_uid,
            Series.study_uid,
            Patient.patient_id,
            Series.modality,
            Series.description,
            Series.study_date,
        )
        .join(CohortSeries, CohortSeries.series_uid == Series.series_uid)
        .join(Study, Study.study_uid == Series.study_uid)
        .join(Patient, Patient.id == Study.patient_pk)
        .where(CohortSeries.cohort_id == cohort_id)
        .order_by(Patient.patient_id, Series.study_date, Series.series_uid)
    ).all()
    return [CohortMember(**r._mapping) for r in rows]


def export_csv(cohort: CohortOut, rows: Sequence[CohortMember]) -> str:
    buf = io.StringIO()
    fields = list(CohortMember.model_fields)
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.model_dump())
    return buf.getvalue()


def export_json(cohort: CohortOut, rows: Sequence[CohortMember]) -> str:
    return json.dumps(
        {
            "cohort": json.loads(cohort.model_dump_json()),
            "series": [r.model_dump() for r in rows],
        },
        indent=1,
    )
