"""Series filters for auto-triggers: a small, explicit vocabulary over index fields."""

from __future__ import annotations

import fnmatch
from typing import Any

from jip.errors import InvalidInputError
from jip.index.models import Series

# filter key -> Series attribute; values are a string (glob, case-insensitive) or a list
FILTER_FIELDS = {
    "modality": "modality",
    "body_part": "body_part",
    "description": "description",
    "manufacturer": "manufacturer",
    "institution": "institution",
}
FLAGS = {"include_derived", "min_instances"}


def validate_filter(series_filter: dict[str, Any]) -> None:
    """Raises ``InvalidInputError`` for unknown keys or values of the wrong type."""
    if not isinstance(series_filter, dict):
        raise InvalidInputError("series_filter must be an object")
    for key, value in series_filter.items():
        if key == "min_instances":
            # bool is an int too; a string here would break matching for every series
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError("filter 'min_instances' must be a whole number >= 1")
            continue
        if key == "include_derived":
            if not isinstance(value, bool):
                raise InvalidInputError("filter 'include_derived' must be true or false")
            continue
        if key not in FILTER_FIELDS:
            known = sorted(FILTER_FIELDS) + sorted(FLAGS)
            raise InvalidInputError(f"unknown filter key {key!r}; known: {known}")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise InvalidInputError(f"filter {key!r} must be a string or a list of strings")


def matches_filter(series: Series, series_filter: dict[str, Any]) -> bool:
    """All keys must match; within a key any listed value (shell-style glob) may."""
    if series.num_instances < int(series_filter.get("min_instances", 1)):
        return False
    for key, attr in FILTER_FIELDS.items():
        if key not in series_filter:
            continue
        wanted = series_filter[key]
        values = wanted if isinstance(wanted, list) else [wanted]
        have = str(getattr(series, attr) or "").lower()
        if not any(fnmatch.fnmatchcase(have, v.lower()) for v in values):
            return False
    return True
