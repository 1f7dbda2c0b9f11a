"""Cohort request/response models (the ORM rows never leave the server)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jip.catalog.schemas import FilterParams


class FilterIn(FilterParams):
    """The gallery filter as JSON; same fields, meaning and limits as the GET /series
    parameters. An unknown field is refused: ignored, a typo would select everything."""

    model_config = ConfigDict(extra="forbid")


class CohortCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=4000)
    owner: str = Field("", max_length=64)
    series_uids: list[str] | None = Field(
        None, description="explicit members; or give `filter` to take every matching series"
    )
    filter: FilterIn | None = None


class CohortUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=4000)
    owner: str | None = Field(None, max_length=64)


class SeriesUids(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
