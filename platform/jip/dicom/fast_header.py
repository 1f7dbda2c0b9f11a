"""Top-level element values straight from the bytes, for the common case only.

pydicom builds a Dataset, a DataElement per element and converts values through its
hooks: about 2.5 ms for a CT header, a third of JIP's CPU per received instance. The
index needs just the top-level non-bulk values as plain Python values, so for objects
in the plain case - little endian, explicit or implicit VR, default/Latin-1/UTF-8
character set, no VR that needs context to resolve - this module decodes them the way
pydicom's converters do, returning exactly what ``parse.element_values`` returns from a
pydicom Dataset (a property test compares the two over pydicom's test files).
Anything else returns ``None`` and takes the pydicom path.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag

from jip.dicom.structure import skip_items
from jip.errors import DicomError

IMPLICIT_LE = "1.2.840.10008.1.2"
_LITTLE_ENDIAN_SYNTAXES = frozenset(
    {
        IMPLICIT_LE,
        "1.2.840.10008.1.2.1",  # explicit VR little endian
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.5",  # RLE lossless
    }
)
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_SKIP_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"})  # not indexed
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})  # pydicom stops here
_NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"}
_SPLIT_STRIP = frozenset({"AS", "CS", "DA", "DT", "TM"})  # pydicom multi_string
_TEXT = frozenset({"LO", "SH", "UC"})  # split, each value rstrip
_SINGLE_TEXT = frozenset({"LT", "ST", "UT"})  # no split
_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_UNDEFINED = 0xFFFFFFFF
_CHARSET_TAG = 0x00080005
_PIXEL_REPRESENTATION_TAG = 0x00280103

_u16 = struct.Struct("<H").unpack_from
_u32 = struct.Struct("<I").unpack_from
_tag = struct.Struct("<HH").unpack_from


class _NotPlain(Exception):
    """This object needs pydicom's general reader."""


def read_meta(data: bytes) -> tuple[str, int] | None:
    """(Transfer Syntax UID, offset of the data set) of a Part 10 object with a plain
    explicit VR little endian meta group; ``None`` lets pydicom judge anything else."""
    if len(data) < 132 or data[128:132] != b"DICM":
        return None
    pos = 132
    tsuid = ""
    try:
        while pos + 8 <= len(data) and _tag(data, pos)[0] == 0x0002:
            element = _tag(data, pos)[1]
            _, length, pos = _explicit_header(data, pos)
            if length == _UNDEFINED or pos + length > len(data):
                return None
            if element == 0x0010:
                tsuid = data[pos : pos + length].decode("ascii").rstrip("\x00 ")
            pos += length
    except (struct.error, UnicodeDecodeError):
        return None
    return (tsuid, pos) if tsuid else None


def element_values(data: bytes, transfer_syntax_uid: str, body_start: int) -> dict[str, Any] | None:
    """``{keyword: value}`` for top-level non-bulk elements, as ``parse.element_values``
    would give, or ``None`` when the object is not in the plain case (or malformed)."""
    if transfer_syntax_uid not in _LITTLE_ENDIAN_SYNTAXES:
        return None
    try:
        return _read(data, body_start, transfer_syntax_uid == IMPLICIT_LE)
    except (_NotPlain, DicomError, struct.error, UnicodeDecodeError, ValueError, IndexError):
        return None


def _read(data: bytes, pos: int, implicit: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    end = len(data)
    encoding = "latin-1"
    pixel_representation: int | None = None
    while pos + 8 <= end:
        group, element = _tag(data, pos)
        tag = group << 16 | element
        if tag in _PIXEL_TAGS:
            break
        if implicit:
            length = _u32(data, pos + 4)[0]
            pos += 8
            vr = _implicit_vr(tag)
            if vr == "US or SS":  # resolved as pydicom does, by the pixel representation
                if pixel_representation is None:
                    raise _NotPlain("US or SS without PixelRepresentation")
                vr = "SS" if pixel_representation else "US"
        else:
            vr, length, pos = _explicit_header(data, pos)
        if vr == "UN":
            raise _NotPlain("UN (pydicom may convert it by the dictionary)")
        if length == _UNDEFINED:
            if vr != "SQ":
                raise _NotPlain("undefined length outside a sequence")
            pos = skip_items(data, pos, implicit)
            continue
        if pos + length > end:
            raise _NotPlain("truncated")
        raw = data[pos : pos + length]
        pos += length
        if vr in _SKIP_VRS or group == 0x0002:
            continue
        if tag == _CHARSET_TAG:
            charset = raw.decode("ascii").strip(" \x00")
            if charset not in _CHARSETS:
                raise _NotPlain(f"character set {charset}")
            encoding = _CHARSETS[charset]
        value = _convert(vr, raw, encoding)
        if tag == _PIXEL_REPRESENTATION_TAG:
            pixel_representation = value if isinstance(value, int) else None
        out[_keyword(tag)] = value
    return out


def _explicit_header(data: bytes, pos: int) -> tuple[str, int, int]:
    """(VR, value length, value offset) of the explicit VR element at ``pos``."""
    vr = data[pos + 4 : pos + 6].decode("ascii")
    if vr in _LONG_VRS:
        return vr, _u32(data, pos + 8)[0], pos + 12
    return vr, _u16(data, pos + 6)[0], pos + 8


@lru_cache(maxsize=4096)
def _keyword(tag: int) -> str:
    return keyword_for_tag(tag) or f"{tag >> 16:04X}{tag & 0xFFFF:04X}"


@lru_cache(maxsize=4096)
def _implicit_vr(tag: int) -> str:
    if (tag >> 16) & 1:
        raise _NotPlain("private element in implicit VR")
    try:
        vr = dictionary_VR(tag)
    except KeyError as exc:
        raise _NotPlain("unknown element in implicit VR") from exc
    if " or " in vr and vr != "US or SS":
        raise _NotPlain("ambiguous VR")
    return vr


def _convert(vr: str, raw: bytes, encoding: str) -> Any:
    """The value as pydicom's converter would give it, then as ``parse._jsonable``."""
    if not raw:
        return "" if vr not in _NUMBER_FORMATS and vr not in ("DS", "IS", "AT") else None
    if vr in _NUMBER_FORMATS:
        fmt = _NUMBER_FORMATS[vr]
        size = struct.calcsize(fmt)
        if len(raw) % size:
            raise _NotPlain("number length")
        values = struct.unpack(f"<{len(raw) // size}{fmt}", raw)
        cleaned = [_finite(v) for v in values]
        return cleaned[0] if len(cleaned) == 1 else cleaned
    if vr in ("DS", "IS"):
        items = raw.decode("latin-1").rstrip(" \x00").split("\\")
        numbers = [_number(vr, item) for item in items]
        return numbers[0] if len(numbers) == 1 else numbers
    if b"\x1b" in raw:
        raise _NotPlain("escape sequences")
    if vr == "UI":
        return _one_or_list(_clean(raw.decode("latin-1").rstrip("\x00 ")).split("\\"))
    if vr in _SPLIT_STRIP:
        return _one_or_list(_clean(raw.decode("latin-1")).rstrip(" \x00").split("\\"))
    if vr == "AE":
        return _one_or_list([_clean(v).strip() for v in raw.decode("latin-1").split("\\")])
    if vr == "PN":
        text = _clean(raw.rstrip(b"\x00 ").decode(encoding))
        return _one_or_list(text.split("\\"))
    if vr in _TEXT:
        return _one_or_list([_clean(v.rstrip("\x00 ")) for v in raw.decode(encoding).split("\\")])
    if vr in _SINGLE_TEXT:
        return _clean(raw.decode(encoding).rstrip("\x00 "))
    raise _NotPlain(f"VR {vr}")


def _number(vr: str, item: str) -> Any:
    text = item.strip(" ")
    if not text:
        raise _NotPlain("empty number in a list")
    if vr == "IS":
        return int(text)
    value = float(text)
    return value if value == value and abs(value) != float("inf") else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return None
    return value


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


def _clean(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text
