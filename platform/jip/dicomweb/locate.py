"""Find the stored instances a WADO-RS URL names, or say precisely what is missing.

Routes resolve a URL to a list of ``InstanceRef`` (plain values, no ORM rows) before
they start streaming, so a response never holds a database session open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jip.dicom.parse import check_uid
from jip.errors import NotFoundError
from jip.index.models import Instance, Series, Study


@dataclass(frozen=True, slots=True)
class InstanceRef:
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    object_key: str
    number_of_frames: int | None
    instance_number: int | None
    rows: int | None


# the columns of InstanceRef, in its field order (the flattened tags are never loaded)
_COLUMNS = (
    Instance.study_uid,
    Instance.series_uid,
    Instance.sop_instance_uid,
    Instance.sop_class_uid,
    Instance.transfer_syntax_uid,
    Instance.object_key,
    Instance.number_of_frames,
    Instance.instance_number,
    Instance.rows,
)


def check_uids(study: str, series: str | None = None, instance: str | None = None) -> None:
    """400 for anything in a UID position that is not a UID (no path tricks reach the store)."""
    check_uid(study, "Study Instance UID")
    if series is not None:
        check_uid(series, "Series Instance UID")
    if instance is not None:
        check_uid(instance, "SOP Instance UID")


def find_instances(
    session: Session, *, study: str, series: str | None = None, instance: str | None = None
) -> list[InstanceRef]:
    """Instances of the study/series/instance, in series then instance-number order.

    Raises ``InvalidInputError`` for malformed UIDs and ``NotFoundError`` naming the
    first level that does not exist (a series of another study does not exist here)."""
    check_uids(study, series, instance)
    if session.get(Study, study) is None:
        raise NotFoundError(f"study {study} not found")
    if series is not None:
        row = session.get(Series, series)
        if row is None or row.study_uid != study:
            raise NotFoundError(f"series {series} not found in study {study}")
    query = select(*_COLUMNS).join(Series, Series.series_uid == Instance.series_uid)
    query = query.where(Instance.study_uid == study)
    if series is not None:
        query = query.where(Instance.series_uid == series)
    if instance is not None:
        query = query.where(Instance.sop_instance_uid == instance)
    query = query.order_by(
        Series.series_number,
        Instance.series_uid,
        Instance.instance_number,
        Instance.sop_instance_uid,
    )
    refs = [InstanceRef(*row) for row in session.execute(query)]
    if not refs:
        if instance is not None:
            raise NotFoundError(f"instance {instance} not found in series {series}")
        raise NotFoundError(f"no instances in {series or study}")
    return refs


def middle(refs: Sequence[InstanceRef]) -> InstanceRef:
    """The representative slice of a series: the middle one in instance-number order."""
    ordered = sorted(
        refs,
        key=lambda r: (r.instance_number is None, r.instance_number or 0, r.sop_instance_uid),
    )
    return ordered[len(ordered) // 2]
