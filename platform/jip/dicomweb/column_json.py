"""A page of search results (plain DB tuples) as DICOM JSON text, column by column.

QIDO-RS answers up to ``JIP_QIDO_MAX_RESULTS`` rows of ~20 attributes each. Encoding
them value by value in Python cost more than the SQL query (16 us per row). Here the
page is transposed once and each column is looked at as a whole:

- a column whose values are all plain (non-empty text without backslash, or integers:
  the usual case) is *inlined*: its constant JSON (``"tag":{"vr":..,"Value":["``)
  becomes part of the row's constant text and only the values are filled in (text that
  needs no JSON escaping goes in as it is, with no Python code per value);
- constant attributes (``InstanceAvailability``, attributes answered empty) are
  constant text;
- any other column is encoded value by value with ``search_json``'s rules.

Each row is then one C-level ``"".join`` of constant texts and its values (``%``
formatting of a row template took four times as long). The text is the same as
``search_json.RowEncoder`` makes for the same row (a unit test compares them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

from jip.dicomweb import search_json
from jip.index.attributes import SERVICE_ATTRIBUTES, Level

_str = search_json._str  # json.encoder.encode_basestring: a JSON string literal
_ALWAYS_GENERIC_VRS = frozenset({"IS", "DS"})  # text in the index, numbers in JSON
_SEP = "\x00"  # joins a column's texts for checks; JSON escapes it, so it cannot hide

# An attribute's text in every row: constant texts and columns of value texts (one
# per row), in row order.
Pieces = list[str | Sequence[str]]


def encode_rows(
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    *,
    tags: Sequence[dict[str, Any]] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[str]:
    """One DICOM JSON object (text) per row. ``keys`` names the tuple positions (the
    SELECT's labels, ``__StudyInstanceUID`` etc. among them), ``aliases`` more names
    for some (``{name: key}``); ``returns`` the attributes to answer with; ``base`` the
    DICOMweb URL for RetrieveURL; ``tags``, one dict per row, answers attributes that
    have no column."""
    if not rows:
        return []
    position = {k: i for i, k in enumerate(keys)}
    position.update((a, position[k]) for a, k in (aliases or {}).items())
    pieces: Pieces = ["{"]
    for i, attribute in enumerate(_attributes(position, rows, returns, level, base, tags)):
        if i:
            pieces.append(",")
        pieces.extend(attribute)
    pieces.append("}")
    n = len(rows)
    merged: list[Any] = []  # adjacent constants joined, each repeated for every row
    text = ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        merged += [repeat(text, n), piece]
        text = ""
    if not merged:
        return [text] * n
    merged.append(repeat(text, n))
    return list(map("".join, zip(*merged, strict=False)))  # repeat() never ends: n rows


def encode_array(
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    *,
    tags: Sequence[dict[str, Any]] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """``encode_rows`` as one JSON array text, joined once (a 1,000-row page is 1 MB:
    the brackets go into the first and last row, not around a copy of the whole)."""
    texts = encode_rows(keys, rows, returns, level, base, tags=tags, aliases=aliases)
    if not texts:
        return "[]"
    texts[0] = "[" + texts[0]
    texts[-1] += "]"
    return ",".join(texts)


def _attributes(
    position: dict[str, int],
    rows: Sequence[Sequence[Any]],
    returns: Sequence[str],
    level: Level,
    base: str,
    tags: Sequence[dict[str, Any]] | None,
) -> list[Pieces]:
    """Each returned attribute's pieces, in tag order."""
    table = list(zip(*rows, strict=True))  # the page transposed: one tuple per column
    fields = []
    for kw in dict.fromkeys(returns):
        tv = search_json._tag_vr(kw)
        if tv is not None:
            fields.append((tv[0], kw, tv[1]))
    fields.sort()
    out: list[Pieces] = []
    for tag, kw, vr in fields:
        empty = f'"{tag}":{{"vr":"{vr}"}}'
        head = f'"{tag}":{{"vr":"{vr}","Value":['
        if kw == "InstanceAvailability":
            out.append([head + '"ONLINE"]}'])
        elif kw == "RetrieveURL":
            out.append(_retrieve_url(table, position, level, base, head))
        elif kw in SERVICE_ATTRIBUTES or (kw not in position and tags is None):
            out.append([empty])  # answered empty
        elif kw not in position:  # no column: from the instance tags
            assert tags is not None
            out.append([_encode_column(kw, vr, [t.get(kw) for t in tags], empty, head)])
        elif kw == "ModalitiesInStudy":  # stored "CT\MR": a list, empty parts dropped
            out.append(_modalities(table[position[kw]], vr, empty, head))
        else:
            out.append(_column(kw, vr, table[position[kw]], empty, head))
    return out


def _needs_no_escape(text: str) -> bool:
    """Whether no character of ``text`` (a column's values joined) needs JSON escaping.
    ASCII text: its bytes lose nothing when control characters, quote and backslash
    are deleted (5x faster than escaping it); other text: escaping only ever
    lengthens a JSON string."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _ESCAPED_ASCII)) == len(data)
    return len(_str(text)) == len(text) + 2


_ESCAPED_ASCII = bytes(range(0x20)) + b'"\\'  # what encode_basestring escapes


def _column(kw: str, vr: str, values: Sequence[Any], empty: str, head: str) -> Pieces:
    """A column of text (one value each, non-empty) is inlined; checks run over the
    column's joined text, each in one C-level pass."""
    joined = _joined_text(values) if vr not in _ALWAYS_GENERIC_VRS else None
    if joined is not None and "" not in values and (vr != "PN" or "=" not in joined):
        start, tail = (head + '{"Alphabetic":', "}]}") if vr == "PN" else (head, "]}")
        if _needs_no_escape(joined):  # so no backslash either: one value each
            return [start + '"', values, '"' + tail]
        if "\\" not in joined:
            return [start, list(map(_str, values)), tail]
    elif joined is None and set(map(type, values)) == {int}:
        return [head, list(map(str, values)), "]}"]
    return [_encode_column(kw, vr, list(values), empty, head)]


def _joined_text(values: Sequence[Any]) -> str | None:
    """The values joined, ``None`` unless every one is text."""
    try:
        return "".join(values)
    except TypeError:
        return None


def _modalities(values: Sequence[Any], vr: str, empty: str, head: str) -> Pieces:
    """Codes joined by backslashes; inlined when no part is empty and none needs
    escaping, so ``CT\\MR`` becomes ``"CT","MR"`` by one replace per value."""
    if set(map(type, values)) == {str} and "" not in values:
        joined = _SEP.join(values)
        plain = not any(b in joined for b in ("\\\\", _SEP + "\\", "\\" + _SEP))
        plain = plain and not joined.startswith("\\") and not joined.endswith("\\")
        if plain and _needs_no_escape("".join(values).replace("\\", "")):
            split = list(map(str.replace, values, repeat("\\"), repeat('","')))
            return [head + '"', split, '"]}']
    lists = [[m for m in (v or "").split("\\") if m] for v in values]
    return [_encode_column("ModalitiesInStudy", vr, lists, empty, head)]


def _retrieve_url(
    table: list[tuple[Any, ...]], position: dict[str, int], level: Level, base: str, head: str
) -> Pieces:
    names = ["__StudyInstanceUID", "__SeriesInstanceUID", "__SOPInstanceUID"][: int(level)]
    uids = [table[position[name]] for name in names]
    if all(set(map(type, u)) == {str} for u in uids) and _needs_no_escape(
        "".join("".join(u) for u in uids)
    ):  # UIDs are digits and dots, as a rule: only the base may need escaping
        pieces: Pieces = [head + _str(f"{base}/studies/")[:-1], uids[0]]
        for between, column in zip(("/series/", "/instances/"), uids[1:], strict=False):
            pieces += [between, column]
        return [*pieces, '"]}']
    return [head, list(map(_str, _urls(uids, level, base))), "]}"]


def _urls(uids: Sequence[Sequence[Any]], level: Level, base: str) -> list[str]:
    prefix = f"{base}/studies/"
    if level is Level.STUDY:
        return [prefix + st for st in uids[0]]
    if level is Level.SERIES:
        return [f"{prefix}{st}/series/{se}" for st, se in zip(*uids, strict=True)]
    return [f"{prefix}{st}/series/{se}/instances/{sop}" for st, se, sop in zip(*uids, strict=True)]


def _encode_column(kw: str, vr: str, values: list[Any], empty: str, head: str) -> list[str]:
    """Each value as a whole ``"tag":{...}`` text."""
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
    return [_one(kw, vr, v, empty, head) for v in values]


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
