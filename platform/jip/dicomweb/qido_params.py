"""QIDO-RS query parameters (PS3.18 8.3.4) -> a ``SearchRequest``.

Defaults follow PS3.18 10.6.3.3 (the attributes each search returns); JIP adds the
study/series UIDs a client needs to go on from a result, and the Study Description.
Parameters the service does not support are ignored with a warning (PS3.18 8.3);
supported ones with a bad value are ``InvalidInputError`` (HTTP 400).
"""

from __future__ import annotations

import re
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
    ignored: list[str] = []
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
                    _resolve_path(part)
                    unsupported_paths.append(part)
                else:
                    kw = resolve_keyword(part)
                    attr = ATTRIBUTES.get(kw)
                    if attr is None or attr.level <= level:
                        # attributes of a lower level are not returned (PS3.18 10.6.3.3)
                        includes.append(kw)
        elif low == "limit":
            limit = _non_negative_int(value, "limit")
        elif low == "offset":  # past any index's row count: no results, not an overflow
            offset = min(_non_negative_int(value, "offset"), 2**62)
        elif low in _NOT_PERFORMED:
            if _boolean(value, low):
                warnings.append(f"The {low} parameter is not supported. {_NOT_PERFORMED[low]}")
        elif "." in key:  # sequence path: a valid query the index cannot answer
            try:
                _resolve_path(key)
            except InvalidInputError:
                ignored.append(key)
                continue
            unsupported_paths.append(key)
        else:
            try:
                kw = resolve_keyword(key)
            except InvalidInputError:  # not an attribute: ignored (PS3.18 8.3)
                ignored.append(key)
                continue
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
    if ignored:
        warnings.append(
            "The following query parameters are not supported and were ignored: "
            + ", ".join(_printable(k) for k in dict.fromkeys(ignored))
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


# PS3.18 8.3.4.2, 8.3.4.5, 8.3.4.6: accepted, not performed, said so in a Warning
_NOT_PERFORMED = {
    "fuzzymatching": "Only literal matching has been performed.",
    "emptyvaluematching": "Empty Value Matching has not been performed.",
    "multiplevaluematching": "Multiple Value Matching has not been performed.",
}
_UNPRINTABLE = re.compile(r'[^\x20-\x7e]|["\\]')


def _boolean(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise InvalidInputError(f"{name} must be 'true' or 'false', got {value!r}")
    return text == "true"


def _resolve_path(path: str) -> None:
    """A sequence path ``Keyword.Keyword`` or ``GGGGEEEE.GGGGEEEE``: every step must name
    an attribute (``InvalidInputError`` otherwise), so only attribute names reach a
    Warning header."""
    for step in path.split("."):
        resolve_keyword(step)


def _printable(name: str) -> str:
    """A parameter name as it may stand in a Warning header's quoted text: printable
    ASCII without quotes or backslashes, at most 64 characters."""
    return _UNPRINTABLE.sub("?", name[:64])


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
