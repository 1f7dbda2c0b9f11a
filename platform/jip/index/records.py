"""Write side of the index: one instance in, patient/study/series rows kept consistent.

This runs once per received instance inside the index writer's group commit, so it uses
plain SQL statements (no ORM unit of work): in the common case an instance costs one
lookup, one series lookup, two counter updates and one insert.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.orm import Session

from jip.dicom.parse import ParsedInstance
from jip.index.driver_sql import DriverStatements
from jip.index.models import Instance, Patient, Series, Study

# Statements built once: building SQLAlchemy constructs per call cost more than running them.
_FIND_INSTANCE = select(Instance.object_key).where(
    Instance.sop_instance_uid == bindparam("b_sop_instance_uid")
)
_FIND_STUDY = select(Study.modalities).where(Study.study_uid == bindparam("b_study_uid"))
_FIND_PATIENT = select(Patient.id).where(Patient.patient_id == bindparam("b_patient_id"))
_BUMP_SERIES = (
    update(Series)
    .where(Series.series_uid == bindparam("b_series_uid"))
    .values(
        num_instances=Series.num_instances + 1,
        last_received=bindparam("b_now"),
        completed_at=None,
    )
)
_BUMP_STUDY = (
    update(Study)
    .where(Study.study_uid == bindparam("b_study_uid"))
    .values(num_instances=Study.num_instances + 1, updated_at=bindparam("b_now"))
)
_INSERT_INSTANCE = insert(Instance)
_INSTANCE_KEYS = [
    "sop_instance_uid",
    "series_uid",
    "study_uid",
    "sop_class_uid",
    "transfer_syntax_uid",
    "instance_number",
    "rows",
    "columns",
    "number_of_frames",
    "object_key",
    "size",
    "received_at",
    "tags",
]
_HOT = DriverStatements()  # the per-instance statements skip SQLAlchemy's execute path


class StoreOutcome(enum.StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # same UID, same bytes: nothing to do
    CONFLICT = "conflict"  # same UID, other bytes: first stored copy is kept


def prepare_statements(dialect: Dialect) -> None:
    """Compile the per-instance statements now: a storage worker's fork server does,
    so no worker compiles them again for its first instance."""
    for statement in (_FIND_INSTANCE, _BUMP_SERIES, _BUMP_STUDY):
        _HOT.prepare(dialect, statement)
    _HOT.prepare(dialect, _INSERT_INSTANCE, _INSTANCE_KEYS)


def record_instance(
    session: Session, *, parsed: ParsedInstance, key: str, size: int, now: datetime
) -> StoreOutcome:
    """Index one stored instance. The rule for a repeated SOP Instance UID: the first
    copy stays; identical bytes are a duplicate, differing bytes a conflict (logged)."""
    return index_instance(session.connection(), parsed=parsed, key=key, size=size, now=now)


def index_instance(
    conn: Connection, *, parsed: ParsedInstance, key: str, size: int, now: datetime
) -> StoreOutcome:
    """``record_instance`` on a connection, inside the caller's transaction."""
    run = _HOT.execute
    existing = run(conn, _FIND_INSTANCE, {"b_sop_instance_uid": parsed.sop_instance_uid}).fetchone()
    if existing is not None:
        return StoreOutcome.DUPLICATE if existing[0] == key else StoreOutcome.CONFLICT

    bump = {"b_series_uid": parsed.series_uid, "b_now": now}
    if run(conn, _BUMP_SERIES, bump).rowcount == 0:  # first instance of its series
        _add_series(conn, parsed, now)
        run(conn, _BUMP_SERIES, bump)
    run(conn, _BUMP_STUDY, {"b_study_uid": parsed.study_uid, "b_now": now})
    values = (
        parsed.sop_instance_uid,
        parsed.series_uid,
        parsed.study_uid,
        parsed.sop_class_uid,
        parsed.transfer_syntax_uid,
        parsed.instance_number,
        parsed.rows,
        parsed.columns,
        parsed.number_of_frames,
        key,
        size,
        now,
        parsed.tags,
    )
    run(conn, _INSERT_INSTANCE, dict(zip(_INSTANCE_KEYS, values, strict=True)), _INSTANCE_KEYS)
    return StoreOutcome.STORED


def _add_series(conn: Connection, parsed: ParsedInstance, now: datetime) -> None:
    """First instance of a series: create the series row and, if new, its study and
    patient rows; keep the study's series count and modality list."""
    study = conn.execute(_FIND_STUDY, {"b_study_uid": parsed.study_uid}).first()
    if study is None:
        _add_study(conn, parsed, now)
        modalities = ""
    else:
        modalities = study[0]
    conn.execute(
        insert(Series).values(
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
    )
    mods = set(filter(None, modalities.split("\\")))
    if parsed.modality:
        mods.add(parsed.modality)
    conn.execute(
        update(Study)
        .where(Study.study_uid == parsed.study_uid)
        .values(num_series=Study.num_series + 1, modalities="\\".join(sorted(mods)))
    )


def _add_study(conn: Connection, parsed: ParsedInstance, now: datetime) -> None:
    patient_pk = conn.execute(_FIND_PATIENT, {"b_patient_id": parsed.patient_id}).scalar()
    if patient_pk is None:
        patient_pk = conn.execute(
            insert(Patient)
            .values(
                patient_id=parsed.patient_id,
                patient_name=parsed.patient_name,
                birth_date=parsed.patient_birth_date,
                sex=parsed.patient_sex,
            )
            .returning(Patient.id)
        ).scalar_one()
    conn.execute(
        insert(Study).values(
            study_uid=parsed.study_uid,
            patient_pk=patient_pk,
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
    )
