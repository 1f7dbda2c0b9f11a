"""Check that a Part 10 byte string is complete, without decoding any values.

The header parse stops before the pixel data (to keep the C-STORE path cheap), and
pydicom reads lazily and never notices a value cut short. A truncated transfer or a
length field that lies ("huge lengths") would then be stored as if it were whole.
This walker reads only element headers -- a handful for a typical image -- and checks
that every declared length fits in the bytes that are really there.
"""

from __future__ import annotations

import struct

from pydicom.uid import AllTransferSyntaxes

from jip.errors import DicomError, UnsupportedTransferSyntaxError

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
_ITEM, _ITEM_END, _SEQ_END = 0xE000, 0xE00D, 0xE0DD
_DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95", "1.2.840.10008.1.2.8.1"}
_MAX_DEPTH = 32
# what the DICOM listener negotiates (pynetdicom's list: pydicom's plus JPIP/JPEG XL)
SUPPORTED_TRANSFER_SYNTAXES = frozenset(AllTransferSyntaxes) | {
    "1.2.840.10008.1.2.4.94",
    "1.2.840.10008.1.2.4.95",
    "1.2.840.10008.1.2.4.110",
    "1.2.840.10008.1.2.4.111",
    "1.2.840.10008.1.2.4.112",
    "1.2.840.10008.1.2.8.1",
}


def check_transfer_syntax(transfer_syntax_uid: str) -> None:
    """Raise ``UnsupportedTransferSyntaxError`` for a syntax JIP would not negotiate."""
    if transfer_syntax_uid not in SUPPORTED_TRANSFER_SYNTAXES:
        raise UnsupportedTransferSyntaxError(f"unsupported transfer syntax {transfer_syntax_uid}")


class _Walker:
    def __init__(self, buf: bytes, little: bool) -> None:
        self.buf = buf
        self.end = len(buf)
        self.u16 = struct.Struct("<H" if little else ">H").unpack_from
        self.u32 = struct.Struct("<I" if little else ">I").unpack_from
        self.tag = struct.Struct("<HH" if little else ">HH").unpack_from

    def need(self, pos: int, n: int, what: str) -> None:
        if pos + n > self.end:
            raise DicomError(
                f"truncated DICOM object: {what} at byte {pos} needs {n} bytes, "
                f"only {self.end - pos} left"
            )

    def elements(self, pos: int, end: int, implicit: bool, depth: int, in_item: bool) -> int:
        """Walk elements up to ``end`` (or an item delimiter when ``in_item``)."""
        if depth > _MAX_DEPTH:
            raise DicomError("DICOM object nests sequences too deeply")
        while pos < end:
            self.need(pos, 8, "element header")
            group, elem = self.tag(self.buf, pos)
            if group == 0xFFFE:
                if in_item and elem == _ITEM_END:
                    return pos + 8
                raise DicomError(f"unexpected delimiter ({group:04X},{elem:04X}) at byte {pos}")
            vr = b""
            if implicit:
                length, hdr = self.u32(self.buf, pos + 4)[0], 8
            else:
                vr = self.buf[pos + 4 : pos + 6]
                if vr in _LONG_VRS:
                    self.need(pos, 12, "element header")
                    length, hdr = self.u32(self.buf, pos + 8)[0], 12
                else:
                    length, hdr = self.u16(self.buf, pos + 6)[0], 8
            pos += hdr
            if length == _UNDEFINED:
                # a sequence, encapsulated pixel data, or UN holding implicit VR LE
                pos = self.items(pos, implicit or vr == b"UN", depth + 1)
            else:
                self.need(pos, length, f"value of ({group:04X},{elem:04X})")
                pos += length
        if in_item and end == self.end:
            raise DicomError("truncated DICOM object: item without delimiter")
        return pos

    def items(self, pos: int, implicit: bool, depth: int) -> int:
        """Walk items of an undefined-length value up to its sequence delimiter."""
        while True:
            self.need(pos, 8, "item header")
            group, elem = self.tag(self.buf, pos)
            length = self.u32(self.buf, pos + 4)[0]
            pos += 8
            if group != 0xFFFE:
                raise DicomError(
                    f"expected an item at byte {pos - 8}, found ({group:04X},{elem:04X})"
                )
            if elem == _SEQ_END:
                return pos
            if elem != _ITEM:
                raise DicomError(f"unexpected delimiter ({group:04X},{elem:04X}) at byte {pos - 8}")
            if length == _UNDEFINED:
                pos = self.elements(pos, self.end, implicit, depth, in_item=True)
            else:
                self.need(pos, length, "item value")
                pos += length


def skip_items(data: bytes, pos: int, implicit: bool) -> int:
    """End of the undefined-length value (little endian) whose items start at ``pos``."""
    return _Walker(data, little=True).items(pos, implicit, depth=1)


def check_complete(data: bytes, transfer_syntax_uid: str) -> None:
    """Raise ``DicomError`` unless every element of ``data`` (Part 10) is complete."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise DicomError("not a DICOM Part 10 object (no DICM prefix)")
    meta = _Walker(data, little=True)
    pos = 132
    while pos + 8 <= len(data) and meta.tag(data, pos)[0] == 0x0002:
        pos = meta.elements(pos, pos + 1, implicit=False, depth=0, in_item=False)
    if transfer_syntax_uid in _DEFLATED:
        return  # the body is a deflate stream; the header parse already inflated it
    implicit = transfer_syntax_uid == "1.2.840.10008.1.2"
    little = transfer_syntax_uid != "1.2.840.10008.1.2.2"
    _Walker(data, little).elements(pos, len(data), implicit, depth=0, in_item=False)
