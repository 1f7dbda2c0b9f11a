"""SQL reads for the detail views: one series, one study, one patient, statistics.

(The gallery list and facets come from the in-memory index, see ``memindex``.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from jip.catalog.memindex import SeriesIndex
from jip.catalog.schemas import (
    FacetValue,
    InstanceOut,
    ModalityCount,
    PatientDetail,
    SeriesDetail,
    SeriesOut,
    Statistics,
    StudyDetail,
    StudyOut,
    StudyPage,
)
from jip.errors import NotFoundError
from jip.index.models import Instance, Patient, Series, Study


def thumbnail_url(series_uid: str) -> str:
    return f"/api/v1/series/{series_uid}/thumbnail"


def series_out(row: dict[str, Any]) -> SeriesOut:
    return SeriesOut(**row, thumbnail_url=thumbnail_url(row["series_uid"]))


def _series_from_orm(s: Series, st: Study, p: Patient) -> SeriesOut:
    return SeriesOut(
        series_uid=s.series_uid,
        study_uid=s.study_uid,
        patient_id=p.patient_id,
        patient_name=p.patient_name,
        modality=s.modality,
        description=s.description,
        study_description=st.description,
        body_part=s.body_part,
        manufacturer=s.manufacturer,
        model=s.model,
        institution=s.institution,
        patient_sex=s.patient_sex,
        patient_age=s.patient_age,
        slice_thickness=s.slice_thickness,
        study_date=s.study_date,
        num_instances=s.num_instances,
        series_number=s.series_number,
        thumbnail_url=thumbnail_url(s.series_uid),
    )


def _study_out(st: Study, p: Patient) -> StudyOut:
    return StudyOut(
        study_uid=st.study_uid,
        patient_id=p.patient_id,
        patient_name=p.patient_name,
        patient_sex=p.sex,
        study_date=st.study_date,
        study_time=st.study_time,
        description=st.description,
        accession_number=st.accession_number,
        institution=st.institution,
        modalities=[m for m in st.modalities.split("\\") if m],
        num_series=st.num_series,
        num_instances=st.num_instances,
    )


def series_detail(session: Session, series_uid: str) -> SeriesDetail:
    """The series and its instances in slice order; raises NotFoundError."""
    row = session.execute(
        select(Series, Study, Patient)
        .join(Study, Study.study_uid == Series.study_uid)
        .join(Patient, Patient.id == Study.patient_pk)
        .where(Series.series_uid == series_uid)
    ).first()
    if row is None:
        raise NotFoundError(f"no series {series_uid!r}")
    s, st, p = row
    instances = session.execute(
        select(
            Instance.sop_instance_uid,
            Instance.sop_class_uid,
            Instance.transfer_syntax_uid,
            Instance.instance_number,
            Instance.rows,
            Instance.columns,
            Instance.number_of_frames,
        )
        .where(Instance.series_uid == series_uid)
        .order_by(Instance.instance_number.is_(None), Instance.instance_number)
    ).all()
    return SeriesDetail(
        series=_series_from_orm(s, st, p),
        instances=[InstanceOut(**r._mapping) for r in instances],
        dicomweb_series_url=f"/dicomweb/studies/{s.study_uid}/series/{series_uid}",
    )


def instance_tags(session: Session, series_uid: str, sop_uid: str) -> dict[str, Any]:
    """The flattened non-bulk header of one instance of the series."""
    inst = session.get(Instance, sop_uid)
    if inst is None or inst.series_uid != series_uid:
        raise NotFoundError(f"no instance {sop_uid!r} in series {series_uid!r}")
    return dict(inst.tags)


def _study_query() -> Select[Study, Patient]:
    return select(Study, Patient).join(Patient, Patient.id == Study.patient_pk)


def list_studies(
    session: Session,
    *,
    q: str = "",
    modality: str = "",
    patient_id: str = "",
    date_from: str = "",
    date_to: str = "",
    limit: int = 50,
    offset: int = 0,
) -> StudyPage:
    """Studies newest first; ``q`` matches patient id/name and study description."""
    conds: list[Any] = []
    if q:
        # q is matched as typed: % and _ are characters here, not LIKE wildcards
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            or_(
                Patient.patient_id.ilike(like, escape="\\"),
                Patient.patient_name.ilike(like, escape="\\"),
                Study.description.ilike(like, escape="\\"),
            )
        )
    if modality:
        # a series of exactly that modality (a substring test took "C" for "CT\MR")
        conds.append(
            exists().where(Series.study_uid == Study.study_uid, Series.modality == modality)
        )
    if patient_id:
        conds.append(Patient.patient_id == patient_id)
    if date_from or date_to:
        conds.append(Study.study_date != "")  # undated studies are in no date range
    if date_from:
        conds.append(Study.study_date >= date_from)
    if date_to:
        conds.append(Study.study_date <= date_to)
    base = _study_query().where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(Study.study_date.desc(), Study.study_uid).limit(limit).offset(offset)
    ).all()
    return StudyPage(
        total=total, limit=limit, offset=offset, items=[_study_out(st, p) for st, p in rows]
    )


def _series_of_studies(session: Session, study_uids: list[str]) -> dict[str, list[SeriesOut]]:
    out: dict[str, list[SeriesOut]] = {u: [] for u in study_uids}
    if not study_uids:
        return out
    rows = session.execute(
        select(Series, Study, Patient)
        .join(Study, Study.study_uid == Series.study_uid)
        .join(Patient, Patient.id == Study.patient_pk)
        .where(Series.study_uid.in_(study_uids))
        .order_by(Series.series_number.is_(None), Series.series_number, Series.series_uid)
    ).all()
    for s, st, p in rows:
        out[s.study_uid].append(_series_from_orm(s, st, p))
    return out


def study_detail(session: Session, study_uid: str) -> StudyDetail:
    row = session.execute(_study_query().where(Study.study_uid == study_uid)).first()
    if row is None:
        raise NotFoundError(f"no study {study_uid!r}")
    st, p = row
    return StudyDetail(
        study=_study_out(st, p), series=_series_of_studies(session, [study_uid])[study_uid]
    )


def patient_detail(session: Session, patient_id: str) -> PatientDetail:
    """The patient with every study, oldest first, each with its series."""
    p = session.scalar(select(Patient).where(Patient.patient_id == patient_id))
    if p is None:
        raise NotFoundError(f"no patient {patient_id!r}")
    studies = session.scalars(
        select(Study)
        .where(Study.patient_pk == p.id)
        .order_by(Study.study_date, Study.study_time, Study.study_uid)
    ).all()
    series = _series_of_studies(session, [st.study_uid for st in studies])
    return PatientDetail(
        patient_id=p.patient_id,
        patient_name=p.patient_name,
        birth_date=p.birth_date,
        sex=p.sex,
        studies=[
            StudyDetail(study=_study_out(st, p), series=series[st.study_uid]) for st in studies
        ],
    )


def statistics(session: Session, index: SeriesIndex) -> Statistics:
    """Totals for the site dashboard: series-level figures from the in-memory index,
    instance count and bytes from one aggregate over the instances table."""
    n_instances, n_bytes = session.execute(
        select(func.count(), func.coalesce(func.sum(Instance.size), 0)).select_from(Instance)
    ).one()
    first, last = session.execute(
        select(func.min(Series.first_received), func.max(Series.last_received))
    ).one()
    s = index.summary()
    return Statistics(
        patients=s.patients,
        studies=s.studies,
        series=s.series,
        instances=int(n_instances),
        bytes=int(n_bytes),
        by_modality=[
            ModalityCount(modality=m, series=n, instances=i) for m, n, i in s.by_modality
        ],
        by_body_part=[FacetValue(value=b, count=n) for b, n in s.by_body_part],
        first_received=first.isoformat() if first else None,
        last_received=last.isoformat() if last else None,
    )
