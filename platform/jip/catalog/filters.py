"""The cohort filter: what the gallery, the facets and "save as cohort" all agree on.

Values within one facet are alternatives (OR); different facets combine (AND).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from jip.errors import InvalidInputError

#: facets whose values are exact strings (multi-select)
CATEGORICAL_FACETS = (
    "modality",
    "body_part",
    "manufacturer",
    "model",
    "institution",
    "patient_sex",
    "description",
)
#: facets that are ranges
RANGE_FACETS = ("study_date", "patient_age", "slice_thickness")

SORT_KEYS = (
    "study_date",
    "modality",
    "description",
    "body_part",
    "manufacturer",
    "patient_id",
    "patient_age",
    "slice_thickness",
    "num_instances",
    "series_number",
    "received",
)

_DATE_RE = re.compile(r"^([0-9]{4})-?([0-9]{2})-?([0-9]{2})$")  # ASCII digits only


@dataclass(frozen=True, slots=True)
class SeriesFilter:
    modality: tuple[str, ...] = ()
    body_part: tuple[str, ...] = ()
    manufacturer: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    institution: tuple[str, ...] = ()
    patient_sex: tuple[str, ...] = ()
    description: tuple[str, ...] = ()
    date_from: str = ""  # YYYYMMDD, inclusive
    date_to: str = ""
    age_min: float | None = None
    age_max: float | None = None
    thickness_min: float | None = None
    thickness_max: float | None = None
    q: str = ""  # words that must all occur in the series or study description
    cohort: int | None = None

    def active(self) -> dict[str, object]:
        """Only the conditions that restrict something (for storing with a cohort)."""
        out: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v not in ((), "", None):
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


def normalise_date(value: str | None, what: str) -> str:
    """Accept YYYYMMDD or YYYY-MM-DD; return YYYYMMDD or raise a 400."""
    if not value:
        return ""
    m = _DATE_RE.match(value.strip())
    if not m:
        raise InvalidInputError(f"{what} must be YYYY-MM-DD or YYYYMMDD, got {value!r}")
    y, mo, d = m.groups()
    try:
        date(int(y), int(mo), int(d))  # 2024-02-31 is no date
    except ValueError:
        raise InvalidInputError(f"{what} is not a valid date: {value!r}") from None
    return f"{y}{mo}{d}"


def check_range(lo: float | None, hi: float | None, what: str) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError(f"{what}: minimum {lo} is above maximum {hi}")


def parse_sort(sort: str) -> tuple[str, bool]:
    """``-study_date`` -> (``study_date``, descending); one ``+`` (a space once decoded
    from a URL) may mark ascending order."""
    desc = sort.startswith("-")
    key = sort[1:] if sort[:1] in ("-", "+", " ") else sort
    if key not in SORT_KEYS:
        raise InvalidInputError(
            f"unknown sort key {sort!r}; use one of {', '.join(SORT_KEYS)}, "
            "with one '-' in front for descending order"
        )
    return key, desc


def build_filter(
    *,
    modality: list[str] | None = None,
    body_part: list[str] | None = None,
    manufacturer: list[str] | None = None,
    model: list[str] | None = None,
    institution: list[str] | None = None,
    patient_sex: list[str] | None = None,
    description: list[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    age_min: float | None = None,
    age_max: float | None = None,
    thickness_min: float | None = None,
    thickness_max: float | None = None,
    q: str | None = None,
    cohort: int | None = None,
) -> SeriesFilter:
    """Validate raw parameters (query string or JSON) into a filter; raises a 400."""
    f = SeriesFilter(
        modality=tuple(modality or ()),
        body_part=tuple(body_part or ()),
        manufacturer=tuple(manufacturer or ()),
        model=tuple(model or ()),
        institution=tuple(institution or ()),
        patient_sex=tuple(patient_sex or ()),
        description=tuple(description or ()),
        date_from=normalise_date(date_from, "date_from"),
        date_to=normalise_date(date_to, "date_to"),
        age_min=age_min,
        age_max=age_max,
        thickness_min=thickness_min,
        thickness_max=thickness_max,
        q=(q or "").strip()[:200],
        cohort=cohort,
    )
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise InvalidInputError(f"date_from {f.date_from} is after date_to {f.date_to}")
    check_range(age_min, age_max, "patient age")
    check_range(thickness_min, thickness_max, "slice thickness")
    return f
