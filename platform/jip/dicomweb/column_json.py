"""A page of search results (plain DB tuples) as DICOM JSON text, column by column.

QIDO-RS answers up to ``JIP_QIDO_MAX_RESULTS`` rows of ~20 attributes each. Encoding
them value by value in Python cost more than the SQL query (16 us per row); here each
column is encoded at once, and a column whose values are all plain (non-empty text
without backslash, or integers: the usual case) goes through C-level ``map``/``join``
without Python code per value. Any other value falls back to ``search_json.element``,
so the text is the same as ``search_json.RowEncoder`` makes for the same row (a unit
test compares them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jip.dicomweb import search_json
from jip.index.attributes import SERVICE_ATTRIBUTES, Level

_str = search_json._str  # json.encoder.encode_basestring: a JSON string literal
_ALWAYS_GENERIC_VRS = frozenset({"IS", "DS"})  # text in the index, numbers in JSON


@dataclass(frozen=True, slots=True)
class _Field:
    tag: str
    keyword: str
    vr: str
    source: Callable[[Sequence[Sequence[Any]]], list[Any]]  # rows -> the column's values


def encode_rows(
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    *,
    tags: Sequence[dict[str, Any]] | None = None,
) -> list[str]:
    """One DICOM JSON object (text) per row. ``keys`` names the tuple positions (the
    SELECT's labels, ``__StudyInstanceUID`` etc. among them); ``returns`` the
    attributes to answer with; ``base`` the DICOMweb URL for RetrieveURL; ``tags``,
    one dict per row, answers attributes that have no column."""
    return ["{" + r + "}" for r in _row_texts(keys, rows, returns, level, base, tags)]


def encode_array(
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    *,
    tags: Sequence[dict[str, Any]] | None = None,
) -> str:
    """``encode_rows`` as one JSON array text, joined once (a 1,000-row page is 1 MB)."""
    if not rows:
        return "[]"
    return "[{" + "},{".join(_row_texts(keys, rows, returns, level, base, tags)) + "}]"


def _row_texts(
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    tags: Sequence[dict[str, Any]] | None,
) -> Iterable[str]:
    """Each row's attributes, comma-separated, without the braces."""
    fields = _fields(list(keys), returns, level, base, tags)
    if not rows:
        return []
    if not fields:
        return [""] * len(rows)
    columns = [_encode_column(f, f.source(rows)) for f in fields]
    return map(",".join, zip(*columns, strict=True))


def _fields(
    keys: list[str],
    returns: Sequence[str],
    level: Level,
    base: str,
    tags: Sequence[dict[str, Any]] | None,
) -> list[_Field]:
    position = {k: i for i, k in enumerate(keys)}
    fields = []
    for kw in dict.fromkeys(returns):
        tv = search_json._tag_vr(kw)
        if tv is None:
            continue
        tag, vr = tv
        fields.append(_Field(tag, kw, vr, _source(kw, position, level, base, tags)))
    fields.sort(key=lambda f: f.tag)
    return fields


def _source(
    kw: str,
    position: dict[str, int],
    level: Level,
    base: str,
    tags: Sequence[dict[str, Any]] | None,
) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
    if kw == "InstanceAvailability":
        return lambda rows: ["ONLINE"] * len(rows)
    if kw == "RetrieveURL":
        return _retrieve_urls(position, level, base)
    if kw in SERVICE_ATTRIBUTES or (kw not in position and tags is None):
        return lambda rows: [None] * len(rows)  # answered empty
    if kw not in position:  # no column: from the instance tags
        assert tags is not None
        return lambda rows: [t.get(kw) for t in tags]
    i = position[kw]
    if kw == "ModalitiesInStudy":  # stored "CT\MR": a list, empty parts dropped
        return lambda rows: [[m for m in (r[i] or "").split("\\") if m] for r in rows]
    return lambda rows: [r[i] for r in rows]


def _retrieve_urls(
    position: dict[str, int], level: Level, base: str
) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
    st = position["__StudyInstanceUID"]
    prefix = f"{base}/studies/"
    if level is Level.STUDY:
        return lambda rows: [prefix + r[st] for r in rows]
    se = position["__SeriesInstanceUID"]
    if level is Level.SERIES:
        return lambda rows: [f"{prefix}{r[st]}/series/{r[se]}" for r in rows]
    sop = position["__SOPInstanceUID"]
    return lambda rows: [f"{prefix}{r[st]}/series/{r[se]}/instances/{r[sop]}" for r in rows]


def _encode_column(field: _Field, values: list[Any]) -> list[str]:
    """Each value as ``"tag":{...}`` text."""
    tag, vr = field.tag, field.vr
    empty = f'"{tag}":{{"vr":"{vr}"}}'
    head = f'"{tag}":{{"vr":"{vr}","Value":['
    types = set(map(type, values))
    if types == {str} and vr not in _ALWAYS_GENERIC_VRS and "" not in values:
        joined = "".join(values)
        if "\\" not in joined and (vr != "PN" or "=" not in joined):
            if vr == "PN":
                return [head + '{"Alphabetic":' + s + "}]}" for s in map(_str, values)]
            return [head + s + "]}" for s in map(_str, values)]
    elif types == {int}:
        return [head + s + "]}" for s in map(str, values)]
    elif types == {list} and vr != "PN":
        items = [x for v in values for x in v]  # ModalitiesInStudy: non-empty codes
        kinds = set(map(type, items))
        if kinds <= {str} and "" not in items and vr not in _ALWAYS_GENERIC_VRS:
            return [head + ",".join(map(_str, v)) + "]}" if v else empty for v in values]
        if kinds <= {int, float} and all(map(math.isfinite, items)):  # PixelSpacing etc.
            return [head + ",".join(map(repr, v)) + "]}" if v else empty for v in values]
    return [_one(field.keyword, vr, v, empty, head) for v in values]


def _one(kw: str, vr: str, value: Any, empty: str, head: str) -> str:
    """One value, with ``RowEncoder.encode``'s rules."""
    if value is None or value == "":
        return empty
    if type(value) is str and "\\" not in value:
        if vr == "PN":
            if "=" in value:
                return head + search_json._dumps(search_json._person_name(value)) + "]}"
            return head + '{"Alphabetic":' + _str(value) + "}]}"
        if vr not in _ALWAYS_GENERIC_VRS:
            return head + _str(value) + "]}"
    elif type(value) is int:
        return head + str(value) + "]}"
    return search_json._generic(kw, value, empty)
