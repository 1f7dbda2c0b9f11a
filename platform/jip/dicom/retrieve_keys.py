"""Which stored instances a C-MOVE / C-GET identifier names.

Retrieval only needs the unique keys (Part 4 C.4.2.2.1: PatientID, StudyInstanceUID,
SeriesInstanceUID, SOPInstanceUID), matched exactly, with UID lists allowed. General
attribute matching (wildcards, ranges) belongs to C-FIND and is not done here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session

from jip.errors import InvalidInputError
from jip.index.models import Instance, Patient, Study

PATIENT_ROOT = "patient"
STUDY_ROOT = "study"

# retrieve level -> the unique key that names it
_LEVEL_KEY = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
_LEVELS = {
    PATIENT_ROOT: ("PATIENT", "STUDY", "SERIES", "IMAGE"),
    STUDY_ROOT: ("STUDY", "SERIES", "IMAGE"),
}
_WILDCARDS = set("*?")


@dataclass(frozen=True, slots=True)
class RetrieveKeys:
    """The parsed identifier: the level and, per unique key, the values to match."""

    level: str
    patient_ids: tuple[str, ...] = ()
    study_uids: tuple[str, ...] = ()
    series_uids: tuple[str, ...] = ()
    sop_instance_uids: tuple[str, ...] = ()
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """What a sub-operation needs to send one stored instance."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    object_key: str


def parse_identifier(identifier: Dataset, model: str) -> RetrieveKeys:
    """Read the level and unique keys; raises ``InvalidInputError`` if the identifier
    cannot name anything (no/invalid level, missing key of the level, wildcards)."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    levels = _LEVELS[model]
    if level not in levels:
        raise InvalidInputError(
            f"QueryRetrieveLevel {level!r} is not one of {', '.join(levels)} "
            f"for the {model} root model"
        )
    depth = levels.index(level)
    values: dict[str, tuple[str, ...]] = {}
    ignored: list[str] = []
    for i, lvl in enumerate(levels):
        keyword = _LEVEL_KEY[lvl]
        vals = _values(identifier.get(keyword))
        if i > depth:
            if vals:
                ignored.append(keyword)
            continue
        if any(_WILDCARDS & set(v) for v in vals):
            raise InvalidInputError(f"{keyword} must not contain wildcards in a retrieve")
        values[keyword] = vals
    if not values.get(_LEVEL_KEY[level]):
        raise InvalidInputError(f"{_LEVEL_KEY[level]} is required at the {level} level")
    return RetrieveKeys(
        level=level,
        patient_ids=values.get("PatientID", ()),
        study_uids=values.get("StudyInstanceUID", ()),
        series_uids=values.get("SeriesInstanceUID", ()),
        sop_instance_uids=values.get("SOPInstanceUID", ()),
        ignored=ignored,
    )


def find_instances(session: Session, keys: RetrieveKeys) -> list[InstanceRef]:
    """Stored instances matching every given key, in study/series/instance order."""
    q = select(
        Instance.sop_instance_uid,
        Instance.sop_class_uid,
        Instance.transfer_syntax_uid,
        Instance.object_key,
    )
    if keys.patient_ids:
        q = (
            q.join(Study, Study.study_uid == Instance.study_uid)
            .join(Patient, Patient.id == Study.patient_pk)
            .where(Patient.patient_id.in_(keys.patient_ids))
        )
    if keys.study_uids:
        q = q.where(Instance.study_uid.in_(keys.study_uids))
    if keys.series_uids:
        q = q.where(Instance.series_uid.in_(keys.series_uids))
    if keys.sop_instance_uids:
        q = q.where(Instance.sop_instance_uid.in_(keys.sop_instance_uids))
    q = q.order_by(
        Instance.study_uid,
        Instance.series_uid,
        Instance.instance_number,
        Instance.sop_instance_uid,
    )
    return [InstanceRef(*row) for row in session.execute(q).all()]


def _values(value: Any) -> tuple[str, ...]:
    """A key's values: a UID list arrives as a multi-value; empty means 'not given'."""
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        items: list[Any] = [value]
    else:
        items = list(value)
    return tuple(s for s in (str(v).strip().rstrip("\0") for v in items) if s)
