"""Search result rows (``{keyword: value}``) as DICOM JSON (PS3.18 Annex F).

Kept small and allocation-light: QIDO-RS encodes up to thousands of rows per request.
"""

from __future__ import annotations

import json
import json.encoder
from functools import lru_cache
from typing import Any

from jip.index.attributes import tag_of, vr_of

_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})  # never split on backslash
_SKIP_VRS = frozenset({"SQ", "UN", "AT", "OB", "OW", "OF", "OD", "OL", "OV"})


@lru_cache(maxsize=4096)
def _tag_vr(keyword: str) -> tuple[str, str] | None:
    try:
        vr = vr_of(keyword)
        tag = tag_of(keyword)
    except (KeyError, ValueError):
        return None
    if vr in _SKIP_VRS:
        return None
    return f"{tag:08X}", vr


def element(keyword: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    """``(tag, {"vr": .., "Value": [..]})``; ``None`` for what DICOM JSON cannot carry
    without bulk data (sequences, binary, unknown tags)."""
    tv = _tag_vr(keyword)
    if tv is None:
        return None
    tag, vr = tv
    values = _values(value, vr)
    if not values:
        return tag, {"vr": vr}
    if vr == "PN":
        return tag, {"vr": vr, "Value": [_person_name(str(v)) for v in values]}
    return tag, {"vr": vr, "Value": values}


class RowEncoder:
    """Encodes many rows with the same attributes straight to JSON text: tags, VRs,
    order and the constant JSON around each value are worked out once per request."""

    def __init__(self, keywords: list[str]) -> None:
        fields = []
        for kw in dict.fromkeys(keywords):
            tv = _tag_vr(kw)
            if tv is not None:
                tag, vr = tv
                fields.append(
                    (tag, kw, vr, f'"{tag}":{{"vr":"{vr}"}}', f'"{tag}":{{"vr":"{vr}","Value":[')
                )
        fields.sort()
        self.fields = fields
        self.keywords = frozenset(f[1] for f in fields)

    def encode(self, row: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
        """One DICOM JSON object as text; ``extra`` adds attributes (all tags)."""
        if extra:
            merged = {f[1]: row.get(f[1]) for f in self.fields}
            merged.update((k, v) for k, v in extra.items() if k not in self.keywords)
            return _dumps(dataset(merged))
        parts = []
        for _tag, kw, vr, empty, head in self.fields:
            value = row.get(kw)
            if value is None or value == "":
                parts.append(empty)
            elif type(value) is str and "\\" not in value:
                if vr == "PN":
                    if "=" in value:
                        parts.append(head + _dumps(_person_name(value)) + "]}")
                    else:
                        parts.append(head + '{"Alphabetic":' + _str(value) + "}]}")
                elif vr in ("IS", "DS"):
                    parts.append(_generic(kw, value, empty))
                else:
                    parts.append(head + _str(value) + "]}")
            elif type(value) is int:
                parts.append(head + str(value) + "]}")
            else:
                parts.append(_generic(kw, value, empty))
        return "{" + ",".join(parts) + "}"


def _generic(kw: str, value: Any, empty: str) -> str:
    el = element(kw, value)
    if el is None:
        return empty
    return f'"{el[0]}":' + _dumps(el[1])


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _plain(value: Any, vr: str) -> bool:
    """A single value DICOM JSON carries as is."""
    kind = type(value)
    if kind is str:
        return "\\" not in value and vr not in ("IS", "DS")
    return kind is int or kind is float


def dataset(attrs: dict[str, Any]) -> dict[str, Any]:
    """One DICOM JSON object, attributes in tag order."""
    items = []
    for kw, value in attrs.items():
        el = element(kw, value)
        if el is not None:
            items.append(el)
    items.sort(key=lambda item: item[0])
    return dict(items)


def _values(value: Any, vr: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None and v != ""]
    if isinstance(value, str):
        if vr in ("IS", "DS"):
            try:
                return [int(p) if vr == "IS" else float(p) for p in value.split("\\") if p]
            except ValueError:
                return []
        if vr not in _TEXT_VRS and "\\" in value:
            return [p for p in value.split("\\")]
        return [value]
    if vr in ("IS", "SL", "SS", "UL", "US") and isinstance(value, float):
        return [int(value)] if value.is_integer() else [value]
    return [value]


def _person_name(text: str) -> dict[str, str]:
    groups = text.split("=")
    out: dict[str, str] = {}
    for name, g in zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False):
        if g:
            out[name] = g
    return out
