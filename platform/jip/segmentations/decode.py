"""Decode one DICOM SEG instance into what a viewer draws: segments and per-slice runs.

A SEG frame is one segment on one source image. Each frame is mapped to its source by
the per-frame ``DerivationImageSequence`` / ``SourceImageSequence`` (what highdicom
writes); a frame without such a reference keeps its plane position instead, which the
service matches to the source slices of the same frame of reference. Masks are kept as
run lengths over the row-major frame (``[start, length, start, length, ...]``): a body
outline costs two numbers per row instead of a bit per pixel, and the browser fills a
run with one ``fill`` call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import iter_pixels

from jip.errors import DicomError
from jip.segmentations.colors import default_color, dicom_lab_to_hex

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"


@dataclass(slots=True)
class Segment:
    number: int
    label: str
    color: str  # "#rrggbb", from RecommendedDisplayCIELabValue or the default palette
    category: str = ""
    property_type: str = ""
    algorithm_type: str = ""
    algorithm_name: str = ""


@dataclass(slots=True)
class DecodedSeg:
    """Everything the viewer needs of one SEG instance; JSON-able via ``to_json``."""

    sop_instance_uid: str
    series_uid: str
    study_uid: str
    frame_of_reference_uid: str
    segmentation_type: str
    content_label: str
    rows: int
    columns: int
    segments: list[Segment]
    referenced_series: list[str]
    referenced_sops: list[str]
    #: source SOP Instance UID -> segment number -> runs
    by_source: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    #: plane position "x\\y\\z" (frames without source references) -> segment -> runs
    by_position: dict[str, dict[int, list[int]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data (JSON turns the segment-number keys into strings)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecodedSeg:
        data = dict(data)
        data["segments"] = [Segment(**s) for s in data["segments"]]
        for key in ("by_source", "by_position"):
            data[key] = {u: {int(n): r for n, r in m.items()} for u, m in data[key].items()}
        return cls(**data)


def position_key(ipp: Any) -> str | None:
    """A plane position rounded to 0.01 mm, so header and index values compare equal."""
    try:
        x, y, z = (float(v) for v in ipp)
    except (TypeError, ValueError):
        return None
    return f"{x:.2f}\\{y:.2f}\\{z:.2f}"


def runs_of(mask: np.ndarray) -> list[int]:
    """Run lengths of the set pixels of a 2-D mask, row-major: ``[start, length, ...]``."""
    flat = np.ascontiguousarray(mask, dtype=bool).ravel().view(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    return np.column_stack((starts, ends - starts)).ravel().tolist()


def merge_runs(a: list[int], b: list[int], size: int) -> list[int]:
    """Union of two run lists over a frame of ``size`` pixels (two frames, one segment)."""
    mask = np.zeros(size, bool)
    for runs in (a, b):
        for start, length in zip(runs[0::2], runs[1::2], strict=True):
            mask[start : start + length] = True
    return runs_of(mask)


def decode_seg(data: bytes) -> DecodedSeg:
    """Decode a stored SEG; ``DicomError`` if it is not a SEG or cannot be decoded."""
    try:
        ds = pydicom.dcmread(BytesIO(data))
    except Exception as exc:
        raise DicomError(f"unreadable SEG: {type(exc).__name__}: {exc}") from exc
    if str(ds.get("SOPClassUID", "")) != SEGMENTATION_STORAGE:
        raise DicomError(f"not a Segmentation Storage instance: {ds.get('SOPClassUID', '')}")
    try:
        return _decode(ds)
    except DicomError:
        raise
    except Exception as exc:
        raise DicomError(f"cannot decode SEG: {type(exc).__name__}: {exc}") from exc


def _decode(ds: Dataset) -> DecodedSeg:
    rows, cols = int(ds.Rows), int(ds.Columns)
    seg_type = str(ds.get("SegmentationType", "BINARY"))
    threshold = 1
    if seg_type == "FRACTIONAL":  # probability/occupancy: draw where it is at least half
        threshold = max(1, (int(ds.get("MaximumFractionalValue", 255)) + 1) // 2)
    segments = [_segment(item) for item in ds.get("SegmentSequence", [])]
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", [])
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if len(per_frame) != n_frames:
        raise DicomError(f"{n_frames} frames but {len(per_frame)} per-frame functional groups")
    out = DecodedSeg(
        sop_instance_uid=str(ds.SOPInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        study_uid=str(ds.StudyInstanceUID),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
        segmentation_type=seg_type,
        content_label=str(ds.get("ContentLabel", "")),
        rows=rows,
        columns=cols,
        segments=segments,
        referenced_series=[
            str(item.SeriesInstanceUID)
            for item in ds.get("ReferencedSeriesSequence", [])
            if "SeriesInstanceUID" in item
        ],
        referenced_sops=sorted(
            {str(s.ReferencedSOPInstanceUID) for s in ds.get("SourceImageSequence", [])}
        ),
    )
    known = {s.number for s in segments}
    frames = _frames(ds) if "PixelData" in ds else iter(())
    for index, (groups, frame) in enumerate(zip(per_frame, frames, strict=False)):
        number = _segment_number(groups) or _segment_number(shared)
        if number is None or number not in known:
            raise DicomError(f"frame {index + 1} names no segment of the SEG ({number})")
        runs = runs_of(frame >= threshold)
        if not runs:
            continue
        sources = _source_sops(groups) or _source_sops(shared)
        targets = (
            [(out.by_source, s) for s in sources]
            if sources
            else [(out.by_position, key)]
            if (key := position_key(_plane_position(groups))) is not None
            else []
        )
        for table, uid in targets:
            slot = table.setdefault(uid, {})
            slot[number] = merge_runs(slot[number], runs, rows * cols) if number in slot else runs
    refs = set(out.referenced_sops) | set(out.by_source)
    out.referenced_sops = sorted(refs)
    return out


def _frames(ds: Dataset) -> Iterator[np.ndarray]:
    """Frames one at a time (a large SEG is never unpacked whole)."""
    for frame in iter_pixels(ds):
        yield frame.reshape(int(ds.Rows), int(ds.Columns))


def _first(ds: Dataset, keyword: str) -> Dataset | None:
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _segment_number(groups: Dataset | None) -> int | None:
    item = _first(groups, "SegmentIdentificationSequence") if groups is not None else None
    if item is None or "ReferencedSegmentNumber" not in item:
        return None
    return int(item.ReferencedSegmentNumber)


def _source_sops(groups: Dataset | None) -> list[str]:
    """Source instances of a frame (only frame 1 of a multi-frame source: what the
    viewer shows)."""
    if groups is None:
        return []
    out = []
    for derivation in groups.get("DerivationImageSequence", []):
        for src in derivation.get("SourceImageSequence", []):
            frames = src.get("ReferencedFrameNumber")
            if frames is not None and 1 not in _ints(frames):
                continue
            if "ReferencedSOPInstanceUID" in src:
                out.append(str(src.ReferencedSOPInstanceUID))
    return out


def _ints(value: Any) -> list[int]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        return [int(value)]
    return [int(v) for v in value]


def _plane_position(groups: Dataset) -> Any:
    item = _first(groups, "PlanePositionSequence")
    return item.get("ImagePositionPatient") if item is not None else None


def _code_meaning(item: Dataset, keyword: str) -> str:
    code = _first(item, keyword)
    return str(code.get("CodeMeaning", "")) if code is not None else ""


def _segment(item: Dataset) -> Segment:
    number = int(item.SegmentNumber)
    color = default_color(number)
    if "RecommendedDisplayCIELabValue" in item:
        # a malformed colour is no reason to hide the segment
        with contextlib.suppress(TypeError, ValueError):
            color = dicom_lab_to_hex(list(item.RecommendedDisplayCIELabValue))
    algorithm = _first(item, "SegmentationAlgorithmIdentificationSequence")
    return Segment(
        number=number,
        label=str(item.get("SegmentLabel", "")) or f"Segment {number}",
        color=color,
        category=_code_meaning(item, "SegmentedPropertyCategoryCodeSequence"),
        property_type=_code_meaning(item, "SegmentedPropertyTypeCodeSequence"),
        algorithm_type=str(item.get("SegmentAlgorithmType", "")),
        algorithm_name=str(algorithm.get("AlgorithmName", "")) if algorithm is not None else "",
    )
