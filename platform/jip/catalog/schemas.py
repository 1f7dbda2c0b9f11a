"""Response models of the browse API (what leaves the server, nothing internal)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SeriesOut(BaseModel):
    series_uid: str
    study_uid: str
    patient_id: str
    patient_name: str
    modality: str
    description: str
    study_description: str
    body_part: str
    manufacturer: str
    model: str
    institution: str
    patient_sex: str
    patient_age: int | None
    slice_thickness: float | None
    study_date: str = Field(description="YYYYMMDD, empty when unknown")
    num_instances: int
    series_number: int | None
    thumbnail_url: str


class SeriesPage(BaseModel):
    total: int = Field(description="series matching the filter (all pages)")
    limit: int
    offset: int
    sort: str
    items: list[SeriesOut]


class FacetValue(BaseModel):
    value: str
    count: int


class Bucket(BaseModel):
    key: str
    start: str
    end: str
    count: int


class DateHistogram(BaseModel):
    interval: str = Field(description="'year' or 'month'")
    buckets: list[Bucket]
    unknown: int = Field(description="series without a study date")
    min: str
    max: str


class FacetsOut(BaseModel):
    total: int
    facets: dict[str, list[FacetValue]] = Field(
        description="per facet the most frequent values, counted under the current filter "
        "without that facet's own condition"
    )
    distinct: dict[str, int] = Field(description="number of distinct values per facet")
    study_date: DateHistogram
    patient_age: list[Bucket]
    slice_thickness: list[FacetValue]


class InstanceOut(BaseModel):
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    number_of_frames: int | None


class SeriesDetail(BaseModel):
    series: SeriesOut
    instances: list[InstanceOut]
    dicomweb_series_url: str


class StudyOut(BaseModel):
    study_uid: str
    patient_id: str
    patient_name: str
    patient_sex: str
    study_date: str
    study_time: str
    description: str
    accession_number: str
    institution: str
    modalities: list[str]
    num_series: int
    num_instances: int


class StudyPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[StudyOut]


class StudyDetail(BaseModel):
    study: StudyOut
    series: list[SeriesOut]


class PatientDetail(BaseModel):
    patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    studies: list[StudyDetail] = Field(description="oldest first: the patient's timeline")


class ModalityCount(BaseModel):
    modality: str
    series: int
    instances: int


class Statistics(BaseModel):
    patients: int
    studies: int
    series: int
    instances: int
    bytes: int
    by_modality: list[ModalityCount]
    by_body_part: list[FacetValue]
    first_received: str | None
    last_received: str | None


class GalleryOut(BaseModel):
    """One gallery view in one answer: a page of series and the facet counts."""

    series: SeriesPage
    facets: FacetsOut
