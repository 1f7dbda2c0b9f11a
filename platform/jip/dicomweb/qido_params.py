"""QIDO-RS query parameters (PS3.18 8.3.4) -> a ``SearchRequest``.

Defaults follow PS3.18 10.6.3.3 (the attributes each search returns); JIP adds the
study/series UIDs a client needs to go on from a result, and the Study Description.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jip.errors import InvalidInputError
from jip.index.attributes import ATTRIBUTES, Level, resolve_keyword
from jip.index.search import SearchRequest

STUDY_DEFAULTS = [
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "InstanceAvailability",
    "ModalitiesInStudy",
    "ReferringPhysicianName",
    "RetrieveURL",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
]
SERIES_DEFAULTS = [
    "Modality",
    "SeriesDescription",
    "RetrieveURL",
    "SeriesInstanceUID",
    "SeriesNumber",
    "NumberOfSeriesRelatedInstances",
    "StudyInstanceUID",
]
INSTANCE_DEFAULTS = [
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceAvailability",
    "RetrieveURL",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
    "StudyInstanceUID",
    "SeriesInstanceUID",
]


@dataclass
class QidoQuery:
    request: SearchRequest
    warnings: list[str] = field(default_factory=list)
    client_limit: int | None = None


def defaults(level: Level, scope: dict[str, str]) -> list[str]:
    """PS3.18: a search over all series also returns the study attributes, one over all
    instances the study and series attributes; one inside a study/series does not."""
    if level is Level.STUDY:
        return list(STUDY_DEFAULTS)
    if level is Level.SERIES:
        out = list(SERIES_DEFAULTS)
        if "StudyInstanceUID" not in scope:
            out += STUDY_DEFAULTS
        return _unique(out)
    out = list(INSTANCE_DEFAULTS)
    if "SeriesInstanceUID" not in scope:
        out += SERIES_DEFAULTS
    if "StudyInstanceUID" not in scope:
        out += STUDY_DEFAULTS
    return _unique(out)


def parse_query(
    items: list[tuple[str, str]], level: Level, scope: dict[str, str], *, max_results: int
) -> QidoQuery:
    """Raises ``InvalidInputError`` (HTTP 400) with a message naming the bad parameter."""
    matches: dict[str, str] = dict(scope)
    includes: list[str] = []
    include_all = False
    limit: int | None = None
    offset = 0
    warnings: list[str] = []
    unsupported_paths: list[str] = []
    for name, value in items:
        key = name.strip()
        low = key.lower()
        if low == "includefield":
            for part in value.split(","):
                part = part.strip()
                if not part:
                    continue
                if part.lower() == "all":
                    include_all = True
                elif "." in part:
                    unsupported_paths.append(part)
                else:
                    includes.append(resolve_keyword(part))
        elif low == "limit":
            limit = _non_negative_int(value, "limit")
        elif low == "offset":
            offset = _non_negative_int(value, "offset")
        elif low == "fuzzymatching":
            if value.strip().lower() not in ("true", "false"):
                raise InvalidInputError("fuzzymatching must be 'true' or 'false'")
            if value.strip().lower() == "true":
                warnings.append(
                    "The fuzzymatching parameter is not supported. "
                    "Only literal matching has been performed."
                )
        elif "." in key:  # sequence path: a valid query the index cannot answer
            resolve_keyword(key.split(".")[0])
            unsupported_paths.append(key)
        else:
            kw = resolve_keyword(key)
            if kw in scope:
                if value.strip() and value.strip() != scope[kw]:
                    raise InvalidInputError(f"{kw} given in the path and differently in the query")
                continue
            if kw in matches:
                raise InvalidInputError(f"query parameter {key!r} given more than once")
            matches[kw] = value
    if unsupported_paths:
        warnings.append(
            "The following attributes are not supported for matching or return: "
            + ", ".join(unsupported_paths)
        )
    if include_all:
        includes += [kw for kw, a in ATTRIBUTES.items() if a.level <= level and a.column]
        if level >= Level.STUDY:
            includes.append("ModalitiesInStudy")
    if limit == 0:  # no client limit: the server's maximum applies
        limit = None
    effective = max_results if limit is None else min(limit, max_results)
    request = SearchRequest(
        level=level,
        matches=matches,
        returns=_unique(defaults(level, scope) + includes),
        all_tags=include_all and level is Level.IMAGE,
        limit=effective + 1,  # one more tells whether results were cut
        offset=offset,
    )
    return QidoQuery(request=request, warnings=warnings, client_limit=limit)


def _non_negative_int(value: str, name: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}") from None
    if n < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return n


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
