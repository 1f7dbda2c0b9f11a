"""Response models of the segmentation overlay API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentOut(BaseModel):
    number: int
    label: str
    color: str = Field(description="#rrggbb, from RecommendedDisplayCIELabValue if present")
    category: str = ""
    property_type: str = ""
    algorithm_type: str = ""
    algorithm_name: str = ""


class SegmentationOut(BaseModel):
    """One SEG instance that references the source series."""

    sop_instance_uid: str
    series_uid: str
    series_description: str
    series_number: int | None
    content_label: str
    segmentation_type: str
    rows: int
    columns: int
    segments: list[SegmentOut]
    slices: dict[str, list[int]] = Field(
        description="source SOP Instance UID -> numbers of the segments drawn on it"
    )
    masks_url: str = Field(description="GET with ?source=SOP_UID for one slice's masks")


class SegmentationProblem(BaseModel):
    """A SEG of the study that could not be decoded (shown, never a 500)."""

    sop_instance_uid: str
    series_uid: str
    detail: str


class SegmentationList(BaseModel):
    source_series_uid: str
    items: list[SegmentationOut]
    problems: list[SegmentationProblem] = []


class SegmentMask(BaseModel):
    number: int
    runs: list[int] = Field(description="row-major [start, length, start, length, ...]")


class SliceMasks(BaseModel):
    segmentation_sop: str
    source_sop: str
    rows: int
    columns: int
    segments: list[SegmentMask]
