"""Write side of the index: one instance in, patient/study/series rows kept consistent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jip.dicom.parse import ParsedInstance
from jip.index.models import Instance, Patient, Series, Study


class StoreOutcome(enum.StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # same UID, same bytes: nothing to do
    CONFLICT = "conflict"  # same UID, other bytes: first stored copy is kept


def record_instance(
    session: Session, *, parsed: ParsedInstance, key: str, size: int, now: datetime
) -> StoreOutcome:
    """Index one stored instance. The rule for a repeated SOP Instance UID: the first
    copy stays; identical bytes are a duplicate, differing bytes a conflict (logged)."""
    existing = session.get(Instance, parsed.sop_instance_uid)
    if existing is not None:
        return StoreOutcome.DUPLICATE if existing.object_key == key else StoreOutcome.CONFLICT

    patient = session.scalar(select(Patient).where(Patient.patient_id == parsed.patient_id))
    if patient is None:
        patient = Patient(
            patient_id=parsed.patient_id,
            patient_name=parsed.patient_name,
            birth_date=parsed.patient_birth_date,
            sex=parsed.patient_sex,
        )
        session.add(patient)
        session.flush()

    study = session.get(Study, parsed.study_uid)
    if study is None:
        study = Study(
            study_uid=parsed.study_uid,
            patient_pk=patient.id,
            study_date=parsed.study_date,
            study_time=parsed.study_time,
            accession_number=parsed.accession_number,
            study_id=parsed.study_id,
            description=parsed.study_description,
            referring_physician=parsed.referring_physician,
            institution=parsed.institution,
            modalities="",
            num_series=0,
            num_instances=0,
            updated_at=now,
        )
        session.add(study)
        session.flush()

    series = session.get(Series, parsed.series_uid)
    if series is None:
        series = Series(
            series_uid=parsed.series_uid,
            study_uid=parsed.study_uid,
            modality=parsed.modality,
            series_number=parsed.series_number,
            description=parsed.series_description,
            body_part=parsed.body_part,
            manufacturer=parsed.manufacturer,
            model=parsed.model,
            institution=parsed.institution,
            slice_thickness=parsed.slice_thickness,
            study_date=parsed.study_date,
            patient_sex=parsed.patient_sex,
            patient_age=parsed.patient_age,
            num_instances=0,
            first_received=now,
            last_received=now,
        )
        session.add(series)
        session.flush()
        study.num_series += 1
        mods = set(filter(None, study.modalities.split("\\")))
        if parsed.modality and parsed.modality not in mods:
            study.modalities = "\\".join(sorted(mods | {parsed.modality}))
    series.num_instances += 1
    series.last_received = now
    series.completed_at = None
    study.num_instances += 1
    study.updated_at = now

    session.add(
        Instance(
            sop_instance_uid=parsed.sop_instance_uid,
            series_uid=parsed.series_uid,
            study_uid=parsed.study_uid,
            sop_class_uid=parsed.sop_class_uid,
            transfer_syntax_uid=parsed.transfer_syntax_uid,
            instance_number=parsed.instance_number,
            rows=parsed.rows,
            columns=parsed.columns,
            number_of_frames=parsed.number_of_frames,
            object_key=key,
            size=size,
            received_at=now,
            tags=parsed.tags,
        )
    )
    session.flush()
    return StoreOutcome.STORED
