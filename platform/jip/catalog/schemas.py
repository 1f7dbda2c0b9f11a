"""Response models of the browse API (what leaves the server, nothing internal)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from jip.catalog.filters import SeriesFilter, build_filter
from jip.index.db import DB_INT_MAX


class FilterParams(BaseModel):
    """The gallery filter's parameters and their limits, one definition for both forms:
    the query string of GET /series, /facets, /gallery and the JSON ``filter`` of
    POST /cohorts (so neither accepts what the other refuses)."""

    modality: list[str] = Field([], description="e.g. CT; repeat for OR")
    body_part: list[str] = []
    manufacturer: list[str] = []
    model: list[str] = Field([], description="manufacturer model name")
    institution: list[str] = []
    patient_sex: list[str] = Field([], description="M, F, O")
    description: list[str] = Field([], description="exact series description")
    date_from: str | None = Field(None, description="study date, YYYY-MM-DD")
    date_to: str | None = Field(None, description="study date, YYYY-MM-DD")
    age_min: float | None = Field(None, ge=0, le=200, allow_inf_nan=False)
    age_max: float | None = Field(None, ge=0, le=200, allow_inf_nan=False)
    thickness_min: float | None = Field(None, ge=0, allow_inf_nan=False, description="mm")
    thickness_max: float | None = Field(None, ge=0, allow_inf_nan=False, description="mm")
    q: str | None = Field(None, max_length=200, description="words in series/study description")
    cohort: int | None = Field(None, ge=1, le=DB_INT_MAX, description="only members of this cohort")

    def to_filter(self) -> SeriesFilter:
        """Checks across fields (dates, ranges) raise a 400."""
        return build_filter(**self.model_dump())


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
