"""Cohort request/response models (the ORM rows never leave the server)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jip.catalog.filters import SeriesFilter, build_filter
from jip.index.db import DB_INT_MAX


class FilterIn(BaseModel):
    """The gallery filter as JSON; same fields and meaning as GET /series parameters."""

    modality: list[str] = []
    body_part: list[str] = []
    manufacturer: list[str] = []
    model: list[str] = []
    institution: list[str] = []
    patient_sex: list[str] = []
    description: list[str] = []
    date_from: str | None = None
    date_to: str | None = None
    age_min: float | None = None
    age_max: float | None = None
    thickness_min: float | None = None
    thickness_max: float | None = None
    q: str | None = None
    cohort: int | None = Field(None, ge=1, le=DB_INT_MAX)

    def to_filter(self) -> SeriesFilter:
        return build_filter(**self.model_dump())


class CohortCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=4000)
    owner: str = Field("", max_length=64)
    series_uids: list[str] | None = Field(
        None, description="explicit members; or give `filter` to take every matching series"
    )
    filter: FilterIn | None = None


class CohortUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=4000)
    owner: str | None = Field(None, max_length=64)


class SeriesUids(BaseModel):
    series_uids: list[str] = Field(min_length=1, max_length=200_000)


class MembershipChange(BaseModel):
    cohort_id: int
    changed: int = Field(description="series actually added or removed")
    size: int


class CohortOut(BaseModel):
    id: int
    name: str
    description: str
    owner: str
    size: int
    filter: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CohortMember(BaseModel):
    series_uid: str
    study_uid: str
    patient_id: str
    modality: str
    description: str
    study_date: str
