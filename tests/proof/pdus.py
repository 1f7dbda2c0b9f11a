"""Hand-built DICOM upper-layer PDUs (PS3.8 section 9.3) for hostile-input tests.

Built with ``struct`` rather than pynetdicom so the tests can send exactly the broken
bytes they mean to: wrong lengths, truncations, unknown types.
"""

from __future__ import annotations

import socket
import struct

APP_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"

ASSOCIATE_AC, ASSOCIATE_RJ, P_DATA, RELEASE_RP, ABORT = 0x02, 0x03, 0x04, 0x06, 0x07


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def _uid(uid: str) -> bytes:
    return uid.encode()


def associate_rq(
    called: str = "JIP",
    calling: str = "FUZZ",
    contexts: list[tuple[int, str, list[str]]] | None = None,
    max_pdu: int = 16384,
) -> bytes:
    contexts = contexts or [(1, VERIFICATION, [IMPLICIT_LE])]
    body = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode()
    body += b"\x00" * 32 + _item(0x10, _uid(APP_CONTEXT))
    for cid, abstract, syntaxes in contexts:
        sub = _item(0x30, _uid(abstract)) + b"".join(_item(0x40, _uid(ts)) for ts in syntaxes)
        body += _item(0x20, struct.pack(">BBBB", cid, 0, 0, 0) + sub)
    user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, _uid("1.2.826.0.1.3680043.9.1"))
    body += _item(0x50, user)
    return pdu(0x01, body)


def pdu(kind: int, body: bytes, length: int | None = None) -> bytes:
    """A PDU of ``kind``; ``length`` overrides the length field (to lie about it)."""
    return struct.pack(">BBI", kind, 0, len(body) if length is None else length) + body


def p_data(context_id: int, fragment: bytes, *, command: bool, last: bool = True) -> bytes:
    header = (0x01 if command else 0x00) | (0x02 if last else 0x00)
    pdv = struct.pack(">IB", len(fragment) + 2, context_id) + bytes([header]) + fragment
    return pdu(P_DATA, pdv)


def _elem(group: int, element: int, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00"
    return struct.pack("<HHI", group, element, len(value)) + value


def command_set(elements: list[tuple[int, bytes]]) -> bytes:
    """A DIMSE command set (implicit VR little endian, group 0000) with group length."""
    body = b"".join(_elem(0x0000, el, value) for el, value in sorted(elements))
    return _elem(0x0000, 0x0000, struct.pack("<I", len(body))) + body


def c_echo_rq(message_id: int = 1) -> bytes:
    return command_set(
        [
            (0x0002, _uid(VERIFICATION)),
            (0x0100, struct.pack("<H", 0x0030)),
            (0x0110, struct.pack("<H", message_id)),
            (0x0800, struct.pack("<H", 0x0101)),
        ]
    )


def c_store_rq(sop_class: str, sop_instance: str, message_id: int = 1) -> bytes:
    return command_set(
        [
            (0x0002, _uid(sop_class)),
            (0x0100, struct.pack("<H", 0x0001)),
            (0x0110, struct.pack("<H", message_id)),
            (0x0700, struct.pack("<H", 0)),
            (0x0800, struct.pack("<H", 0x0000)),
            (0x1000, _uid(sop_instance)),
        ]
    )


def read_pdu(sock: socket.socket) -> tuple[int, bytes] | None:
    """One PDU (type, body) or None if the peer closed the connection."""
    header = _recv_exact(sock, 6)
    if header is None:
        return None
    kind, _, length = struct.unpack(">BBI", header)
    body = _recv_exact(sock, length)
    return None if body is None else (kind, body)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def status_of(body: bytes) -> int | None:
    """The (0000,0900) Status of a DIMSE response carried in one P-DATA PDU body."""
    fragment = body[6:]  # PDV length (4), context id (1), header (1)
    pos = 0
    while pos + 8 <= len(fragment):
        group, element, length = struct.unpack_from("<HHI", fragment, pos)
        if (group, element) == (0x0000, 0x0900):
            return int(struct.unpack_from("<H", fragment, pos + 8)[0])
        pos += 8 + length
    return None


def explicit(group: int, element: int, vr: str, value: bytes, length: int | None = None) -> bytes:
    """One explicit-VR little-endian element; ``length`` overrides (to lie about it)."""
    if len(value) % 2 and length is None:
        value += b"\x00" if vr == "UI" else b" "
    n = len(value) if length is None else length
    if vr in ("OB", "OW", "OF", "SQ", "UT", "UN"):
        return (
            struct.pack("<HH", group, element)
            + vr.encode()
            + b"\x00\x00"
            + struct.pack("<I", n)
            + value
        )
    return struct.pack("<HH", group, element) + vr.encode() + struct.pack("<H", n) + value


def store_over_raw_socket(
    port: int, dataset: bytes, sop_instance: str, timeout: float = 20
) -> int | None:
    """Associate for CT storage (explicit VR LE), send one C-STORE with ``dataset`` as
    the data set bytes, return the response status (None if the server aborted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(associate_rq(contexts=[(1, CT_STORAGE, [EXPLICIT_LE])]))
        got = read_pdu(sock)
        assert got is not None and got[0] == ASSOCIATE_AC, got
        sock.sendall(p_data(1, c_store_rq(CT_STORAGE, sop_instance), command=True))
        sock.sendall(p_data(1, dataset, command=False))
        got = read_pdu(sock)
        if got is None or got[0] != P_DATA:
            return None
        status = status_of(got[1])
        sock.sendall(pdu(0x05, b"\x00" * 4))
        read_pdu(sock)
        return status
