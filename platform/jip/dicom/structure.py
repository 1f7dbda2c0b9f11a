"""Is a received Part 10 object structurally whole? A fast walk over its elements.

pydicom reads leniently: a value that runs past the end, a sequence that never ends or
a truncated last element come back as short values, not errors. JIP stores objects
exactly as received, so it must refuse those before storing: this walks every element
(nested sequences and encapsulated pixel data included) checking only that each
declared length fits, without decoding any value. Cost: microseconds per element.
"""

from __future__ import annotations

import struct

from jip.errors import DicomError

_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_IMPLICIT = "1.2.840.10008.1.2"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.204"}  # deflated data sets
_MAX_DEPTH = 32


def check_complete(data: bytes, transfer_syntax_uid: str) -> None:
    """Raise ``DicomError`` if any element of the object declares more bytes than it
    has, a sequence or item is never closed, or nesting is absurdly deep."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise DicomError("missing DICM prefix")
    pos = _skip_meta(data, 132)
    if transfer_syntax_uid in _DEFLATED:
        return  # the data set is zlib-compressed; pydicom inflates and checks it
    walker = _Walker(
        data,
        explicit=transfer_syntax_uid != _IMPLICIT,
        little=transfer_syntax_uid != _BIG_ENDIAN,
    )
    walker.dataset(pos, len(data), 0, until_item_end=False)


def _skip_meta(data: bytes, pos: int) -> int:
    """The file meta group (always explicit VR little endian): return where it ends."""
    end = len(data)
    while pos + 8 <= end:
        group = struct.unpack_from("<H", data, pos)[0]
        if group != 0x0002:
            return pos
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > end:
                break
            length = struct.unpack_from("<I", data, pos + 8)[0]
            pos += 12
        else:
            length = struct.unpack_from("<H", data, pos + 6)[0]
            pos += 8
        if length == _UNDEFINED or pos + length > end:
            raise DicomError("file meta element runs past the end of the object")
        pos += length
    if pos != end:
        raise DicomError("object truncated inside the file meta information")
    return pos


class _Walker:
    def __init__(self, data: bytes, *, explicit: bool, little: bool) -> None:
        self.data = data
        self.explicit = explicit
        self.u16 = struct.Struct("<H" if little else ">H")
        self.u32 = struct.Struct("<I" if little else ">I")

    def _tag(self, pos: int) -> int:
        return (self.u16.unpack_from(self.data, pos)[0] << 16) | self.u16.unpack_from(
            self.data, pos + 2
        )[0]

    def dataset(self, pos: int, end: int, depth: int, *, until_item_end: bool) -> int:
        """Walk elements from ``pos`` to ``end`` (or to an item delimiter); returns the
        position after the last byte consumed."""
        if depth > _MAX_DEPTH:
            raise DicomError("sequences nested deeper than JIP accepts")
        data = self.data
        while pos < end:
            if pos + 8 > end:
                raise DicomError(f"object truncated inside an element header at byte {pos}")
            tag = self._tag(pos)
            if tag == _ITEM_END:
                if not until_item_end:
                    raise DicomError(f"item delimiter outside an item at byte {pos}")
                return pos + 8
            if tag in (_ITEM, _SEQ_END):
                raise DicomError(f"unexpected delimiter ({tag:08X}) at byte {pos}")
            vr = data[pos + 4 : pos + 6]
            explicit = self.explicit and vr.isalpha() and vr.isupper()  # as pydicom: some
            # writers put implicit-VR elements into explicit data sets
            if explicit and vr in _LONG_VRS:
                if pos + 12 > end:
                    raise DicomError(f"object truncated inside an element header at byte {pos}")
                length = self.u32.unpack_from(data, pos + 8)[0]
                pos += 12
            elif explicit:
                length = self.u16.unpack_from(data, pos + 6)[0]
                pos += 8
            else:
                length = self.u32.unpack_from(data, pos + 4)[0]
                pos += 8
            if length == _UNDEFINED:
                pos = self._undefined(pos, end, depth, tag)
                continue
            if pos + length > end:
                raise DicomError(
                    f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) declares {length} bytes "
                    f"but only {end - pos} remain"
                )
            pos += length
        if until_item_end:
            raise DicomError("item without delimiter runs to the end of the object")
        return pos

    def _undefined(self, pos: int, end: int, depth: int, tag: int) -> int:
        """A sequence (or encapsulated pixel data) of undefined length: walk its items
        to the sequence delimiter."""
        encapsulated = tag == 0x7FE00010
        while True:
            if pos + 8 > end:
                raise DicomError(f"sequence ({tag >> 16:04X},{tag & 0xFFFF:04X}) never ends")
            item_tag = self._tag(pos)
            length = self.u32.unpack_from(self.data, pos + 4)[0]
            pos += 8
            if item_tag == _SEQ_END:
                return pos
            if item_tag != _ITEM:
                raise DicomError(f"expected an item at byte {pos - 8}, found ({item_tag:08X})")
            if length == _UNDEFINED:
                if encapsulated:
                    raise DicomError("encapsulated fragment of undefined length")
                pos = self.dataset(pos, end, depth + 1, until_item_end=True)
            elif pos + length > end:
                raise DicomError(f"item declares {length} bytes but only {end - pos} remain")
            else:
                pos += length
