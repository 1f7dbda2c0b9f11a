"""DIMSE command sets (group 0000, implicit VR little endian; PS3.7 section 9.3/E).

Just the requests a storage acceptor answers (C-STORE, C-ECHO) and their responses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from jip.dicom.upper_layer import REASON_INVALID_PARAMETER, ProtocolError

C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
C_ECHO_RQ = 0x0030
C_ECHO_RSP = 0x8030
NO_DATASET = 0x0101

_ELEMENT = struct.Struct("<HHI")
MAX_COMMAND = 64 * 1024  # a command set is a few hundred bytes; anything huge is hostile


@dataclass(slots=True)
class Command:
    field: int
    message_id: int
    sop_class_uid: str
    sop_instance_uid: str
    has_dataset: bool
    move_originator_aet: str = ""
    move_originator_message_id: int | None = None


def decode(data: bytes) -> Command:
    """Parse a request command set; raises ``ProtocolError`` on anything malformed."""
    if len(data) > MAX_COMMAND:
        raise ProtocolError(f"command set of {len(data)} bytes", REASON_INVALID_PARAMETER)
    values: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if pos + _ELEMENT.size > len(data):
            raise ProtocolError("truncated command element", REASON_INVALID_PARAMETER)
        group, element, length = _ELEMENT.unpack_from(data, pos)
        pos += _ELEMENT.size
        if group != 0x0000 or pos + length > len(data):
            raise ProtocolError(
                f"bad command element ({group:04X},{element:04X}) length {length}",
                REASON_INVALID_PARAMETER,
            )
        values[element] = bytes(data[pos : pos + length])
        pos += length
    try:
        field = _us(values[0x0100])
        message_id = _us(values[0x0110])
        dataset_type = _us(values[0x0800])
    except (KeyError, struct.error) as exc:
        raise ProtocolError(f"command set lacks a required element: {exc}") from exc
    originator_id = values.get(0x1031)
    return Command(
        field=field,
        message_id=message_id,
        sop_class_uid=_text(values.get(0x0002, b"")),
        sop_instance_uid=_text(values.get(0x1000, b"")),
        has_dataset=dataset_type != NO_DATASET,
        move_originator_aet=_text(values.get(0x1030, b"")),
        move_originator_message_id=_us(originator_id) if originator_id else None,
    )


def response(
    field: int,
    message_id: int,
    status: int,
    sop_class_uid: str,
    sop_instance_uid: str = "",
    error_comment: str = "",
) -> bytes:
    """An encoded response command set (no data set follows)."""
    elements: list[tuple[int, bytes]] = [(0x0002, padded(sop_class_uid, b"\x00"))]
    elements.append((0x0100, struct.pack("<H", field)))
    elements.append((0x0120, struct.pack("<H", message_id)))
    elements.append((0x0800, struct.pack("<H", NO_DATASET)))
    elements.append((0x0900, struct.pack("<H", status)))
    if error_comment:
        elements.append((0x0902, padded(error_comment[:64], b" ")))
    if sop_instance_uid:
        elements.append((0x1000, padded(sop_instance_uid, b"\x00")))
    body = b"".join(_ELEMENT.pack(0, el, len(v)) + v for el, v in elements)
    return _ELEMENT.pack(0, 0, 4) + struct.pack("<I", len(body)) + body


def _us(value: bytes) -> int:
    return int(struct.unpack("<H", value[:2])[0])


def _text(value: bytes) -> str:
    return value.decode("ascii", "replace").rstrip("\x00 ").strip()


def padded(text: str, pad: bytes) -> bytes:
    """ASCII value padded to even length (NUL for UIDs, space for text VRs)."""
    raw = text.encode("ascii", "replace")
    return raw + pad if len(raw) % 2 else raw
