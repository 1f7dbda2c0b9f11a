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
from sqlalchemy.sql import Executable

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
_INSERT_SERIES = insert(Series)
_SERIES_KEYS = [
    "series_uid",
    "study_uid",
    "modality",
    "series_number",
    "description",
    "body_part",
    "manufacturer",
    "model",
    "institution",
    "slice_thickness",
    "study_date",
    "patient_sex",
    "patient_age",
    "num_instances",
    "first_received",
    "last_received",
]
_ADD_SERIES_TO_STUDY = (
    update(Study)
    .where(Study.study_uid == bindparam("b_study_uid"))
    .values(num_series=Study.num_series + 1, modalities=bindparam("b_modalities"))
)
_INSERT_PATIENT = insert(Patient).returning(Patient.id)
_PATIENT_KEYS = ["patient_id", "patient_name", "birth_date", "sex"]
_INSERT_STUDY = insert(Study)
_STUDY_KEYS = [
    "study_uid",
    "patient_pk",
    "study_date",
    "study_time",
    "accession_number",
    "study_id",
    "description",
    "referring_physician",
    "institution",
    "modalities",
    "num_series",
    "num_instances",
    "updated_at",
]
# the per-instance statements skip SQLAlchemy's execute path; so do those of a series'
# first instance, which a storage worker would otherwise compile for its first instance
# (about 15 ms, under the index write lock)
_HOT = DriverStatements()


class StoreOutcome(enum.StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # same UID, same bytes: nothing to do
    CONFLICT = "conflict"  # same UID, other bytes: first stored copy is kept


def prepare_statements(dialect: Dialect) -> None:
    """Compile the per-instance statements now: a storage worker's fork server does,
    so no worker compiles them again for its first instance."""
    plain: list[Executable] = [
        _FIND_INSTANCE,
        _BUMP_SERIES,
        _BUMP_STUDY,
        _FIND_STUDY,
        _FIND_PATIENT,
        _ADD_SERIES_TO_STUDY,
    ]
    for statement in plain:
        _HOT.prepare(dialect, statement)
    with_keys: list[tuple[Executable, list[str]]] = [
        (_INSERT_INSTANCE, _INSTANCE_KEYS),
        (_INSERT_SERIES, _SERIES_KEYS),
        (_INSERT_PATIENT, _PATIENT_KEYS),
        (_INSERT_STUDY, _STUDY_KEYS),
    ]
    for statement, keys in with_keys:
        _HOT.prepare(dialect, statement, keys)


def record_instance(
    session: Session, *, parsed: ParsedInstance, key: str, size: int, now: datetime
) -> StoreOutcome:
    """Index one stored instance. The rule for a repeated SOP Instance UID: the first
    copy stays; identical bytes are a duplicate, differing bytes a conflict (logged)."""
    return index_instance(session.connection(), parsed=parsed, key=key, size=size, now=now)


def stored_key(conn: Connection, sop_instance_uid: str) -> str | None:
    """The object key the index holds for this SOP Instance UID, if any."""
    row = _HOT.execute(conn, _FIND_INSTANCE, {"b_sop_instance_uid": sop_instance_uid}).fetchone()
    return None if row is None else str(row[0])


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
    run = _HOT.execute
    study = run(conn, _FIND_STUDY, {"b_study_uid": parsed.study_uid}).fetchone()
    if study is None:
        _add_study(conn, parsed, now)
        modalities = ""
    else:
        modalities = study[0]
    values = (
        parsed.series_uid,
        parsed.study_uid,
        parsed.modality,
        parsed.series_number,
        parsed.series_description,
        parsed.body_part,
        parsed.manufacturer,
        parsed.model,
        parsed.institution,
        parsed.slice_thickness,
        parsed.study_date,
        parsed.patient_sex,
        parsed.patient_age,
        0,
        now,
        now,
    )
    run(conn, _INSERT_SERIES, dict(zip(_SERIES_KEYS, values, strict=True)), _SERIES_KEYS)
    mods = set(filter(None, modalities.split("\\")))
    if parsed.modality:
        mods.add(parsed.modality)
    run(
        conn,
        _ADD_SERIES_TO_STUDY,
        {"b_study_uid": parsed.study_uid, "b_modalities": "\\".join(sorted(mods))},
    )


def _add_study(conn: Connection, parsed: ParsedInstance, now: datetime) -> None:
    run = _HOT.execute
    found = run(conn, _FIND_PATIENT, {"b_patient_id": parsed.patient_id}).fetchone()
    if found is None:
        patient = (
            parsed.patient_id,
            parsed.patient_name,
            parsed.patient_birth_date,
            parsed.patient_sex,
        )
        values = dict(zip(_PATIENT_KEYS, patient, strict=True))
        found = run(conn, _INSERT_PATIENT, values, _PATIENT_KEYS).fetchone()
    study = (
        parsed.study_uid,
        found[0],
        parsed.study_date,
        parsed.study_time,
        parsed.accession_number,
        parsed.study_id,
        parsed.study_description,
        parsed.referring_physician,
        parsed.institution,
        "",
        0,
        0,
        now,
    )
    run(conn, _INSERT_STUDY, dict(zip(_STUDY_KEYS, study, strict=True)), _STUDY_KEYS)
