"""Which SEGs reference a series, and one slice's masks of one SEG.

A SEG lives in the study of the images it segments (highdicom copies the study), so the
candidates are the Segmentation Storage instances of the source series' study. One
references the source series when its ``ReferencedSeriesSequence`` names it, when its
frames name source instances of that series, or, for frames carrying only a plane
position, when it shares the source's frame of reference and a position matches a slice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jip.dicom.parse import check_uid
from jip.errors import DicomError, NotFoundError, StorageError
from jip.index.models import Instance, Series
from jip.segmentations.cache import DecodedSegCache
from jip.segmentations.decode import SEGMENTATION_STORAGE, DecodedSeg, position_key
from jip.segmentations.schemas import (
    SegmentationList,
    SegmentationOut,
    SegmentationProblem,
    SegmentMask,
    SegmentOut,
    SliceMasks,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _SegRow:
    sop_instance_uid: str
    series_uid: str
    object_key: str
    series_description: str
    series_number: int | None


class _Source:
    """The source series' slices, with their plane positions read only when needed."""

    def __init__(self, session: Session, series: Series) -> None:
        self.session = session
        self.series = series
        self.sops: set[str] = set(
            session.scalars(
                select(Instance.sop_instance_uid).where(Instance.series_uid == series.series_uid)
            )
        )
        self._positions: dict[str, str] | None = None
        self._frame_of_reference: str = ""

    def positions(self) -> tuple[str, dict[str, str]]:
        """(frame of reference UID, position key -> SOP Instance UID)."""
        if self._positions is None:
            self._positions = {}
            rows = self.session.execute(
                select(Instance.sop_instance_uid, Instance.tags).where(
                    Instance.series_uid == self.series.series_uid
                )
            )
            for sop, tags in rows:
                key = position_key((tags or {}).get("ImagePositionPatient"))
                if key is not None:
                    self._positions.setdefault(key, sop)
                self._frame_of_reference = self._frame_of_reference or str(
                    (tags or {}).get("FrameOfReferenceUID", "")
                )
        return self._frame_of_reference, self._positions


def list_segmentations(
    session: Session, cache: DecodedSegCache, source_series_uid: str
) -> SegmentationList:
    """The SEGs drawn on the series; 400 for a malformed UID, 404 for an unknown series.
    A SEG that cannot be decoded is listed under ``problems`` instead of failing."""
    check_uid(source_series_uid, "Series Instance UID")
    series = session.get(Series, source_series_uid)
    if series is None:
        raise NotFoundError(f"no series {source_series_uid!r}")
    source = _Source(session, series)
    out = SegmentationList(source_series_uid=source_series_uid, items=[])
    for row in _seg_candidates(session, series.study_uid, exclude=source_series_uid):
        try:
            decoded = cache.get(row.object_key)
        except (DicomError, StorageError, NotFoundError) as exc:
            log.warning("SEG %s cannot be decoded: %s", row.sop_instance_uid, exc)
            out.problems.append(
                SegmentationProblem(
                    sop_instance_uid=row.sop_instance_uid,
                    series_uid=row.series_uid,
                    detail=getattr(exc, "message", str(exc)),
                )
            )
            continue
        slices = _slices_on_source(decoded, source)
        if slices is None:
            continue
        out.items.append(_seg_out(row, decoded, slices))
    return out


def slice_masks(
    session: Session, cache: DecodedSegCache, seg_sop_uid: str, source_sop_uid: str
) -> SliceMasks:
    """The masks one SEG draws on one source slice (possibly none);
    400 for malformed UIDs, 404 for an unknown SEG or slice."""
    check_uid(seg_sop_uid, "SOP Instance UID")
    check_uid(source_sop_uid, "SOP Instance UID")
    seg = session.get(Instance, seg_sop_uid)
    if seg is None or seg.sop_class_uid != SEGMENTATION_STORAGE:
        raise NotFoundError(f"no segmentation {seg_sop_uid!r}")
    src = session.get(Instance, source_sop_uid)
    if src is None:
        raise NotFoundError(f"no instance {source_sop_uid!r}")
    decoded = cache.get(seg.object_key)
    runs = decoded.by_source.get(source_sop_uid)
    if runs is None and decoded.by_position:
        tags: dict[str, Any] = src.tags or {}
        if str(tags.get("FrameOfReferenceUID", "")) == decoded.frame_of_reference_uid:
            key = position_key(tags.get("ImagePositionPatient"))
            runs = decoded.by_position.get(key) if key is not None else None
    return SliceMasks(
        segmentation_sop=seg_sop_uid,
        source_sop=source_sop_uid,
        rows=decoded.rows,
        columns=decoded.columns,
        segments=[SegmentMask(number=n, runs=r) for n, r in sorted((runs or {}).items())],
    )


def _seg_candidates(session: Session, study_uid: str, *, exclude: str) -> list[_SegRow]:
    rows = session.execute(
        select(
            Instance.sop_instance_uid,
            Instance.series_uid,
            Instance.object_key,
            Series.description,
            Series.series_number,
        )
        .join(Series, Series.series_uid == Instance.series_uid)
        .where(
            Instance.study_uid == study_uid,
            Instance.sop_class_uid == SEGMENTATION_STORAGE,
            Instance.series_uid != exclude,
        )
        .order_by(Series.series_number.is_(None), Series.series_number, Instance.instance_number)
    ).all()
    return [_SegRow(*r) for r in rows]


def _slices_on_source(decoded: DecodedSeg, source: _Source) -> dict[str, list[int]] | None:
    """Source SOP -> segment numbers with pixels there; None if the SEG is not about
    this series at all."""
    slices = {sop: sorted(masks) for sop, masks in decoded.by_source.items() if sop in source.sops}
    about = (
        source.series.series_uid in decoded.referenced_series
        or bool(slices)
        or not source.sops.isdisjoint(decoded.referenced_sops)
    )
    if decoded.by_position:
        frame_of_reference, positions = source.positions()
        if frame_of_reference and frame_of_reference == decoded.frame_of_reference_uid:
            for key, masks in decoded.by_position.items():
                sop = positions.get(key)
                if sop is not None:
                    slices[sop] = sorted(set(slices.get(sop, [])) | set(masks))
                    about = True
    return slices if about else None


def _seg_out(row: _SegRow, decoded: DecodedSeg, slices: dict[str, list[int]]) -> SegmentationOut:
    return SegmentationOut(
        sop_instance_uid=row.sop_instance_uid,
        series_uid=row.series_uid,
        series_description=row.series_description,
        series_number=row.series_number,
        content_label=decoded.content_label,
        segmentation_type=decoded.segmentation_type,
        rows=decoded.rows,
        columns=decoded.columns,
        segments=[
            SegmentOut(
                number=s.number,
                label=s.label,
                color=s.color,
                category=s.category,
                property_type=s.property_type,
                algorithm_type=s.algorithm_type,
                algorithm_name=s.algorithm_name,
            )
            for s in decoded.segments
        ],
        slices=slices,
        masks_url=f"/api/v1/segmentations/{row.sop_instance_uid}/masks",
    )
