"""DICOM upper-layer framing (PS3.8 section 9.3) for the storage fast path.

Only what a storage acceptor needs once the association is up: read one PDU with a
length bound and a deadline, split a P-DATA-TF into its PDVs, and build the few PDUs we
send (P-DATA-TF, A-RELEASE-RP, A-ABORT, A-ASSOCIATE-RJ). Association negotiation itself
stays with pynetdicom's PDU classes.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

ASSOCIATE_RQ = 0x01
ASSOCIATE_AC = 0x02
ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
RELEASE_RQ = 0x05
RELEASE_RP = 0x06
ABORT = 0x07

_HEADER = struct.Struct(">BBI")
_PDV_HEADER = struct.Struct(">IBB")
_TIMEVAL = struct.Struct("@ll")

# A-ABORT reasons when the service provider (we) aborts (PS3.8 9.3.8)
REASON_NOT_SPECIFIED = 0x00
REASON_UNRECOGNISED_PDU = 0x01
REASON_UNEXPECTED_PDU = 0x02
REASON_INVALID_PARAMETER = 0x06


class ProtocolError(Exception):
    """The peer broke the protocol; the association is aborted."""

    def __init__(self, message: str, reason: int = REASON_NOT_SPECIFIED) -> None:
        super().__init__(message)
        self.reason = reason


class PeerClosed(Exception):
    """The peer closed the connection (or it dropped) between or inside PDUs."""


@dataclass(slots=True)
class Pdv:
    context_id: int
    is_command: bool
    is_last: bool
    data: memoryview


def recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytearray:
    """``n`` bytes, or ``PeerClosed``/``TimeoutError``; the deadline bounds the whole
    read so a peer dribbling bytes cannot hold a thread (slowloris).

    On a blocking socket (``use_blocking``) one ``recv`` with ``MSG_WAITALL`` takes the
    whole PDU, each call bounded by the kernel's receive timeout and the deadline
    checked between calls; a socket with a Python timeout polls before every partial
    read. Each system call hands the GIL to another thread and must win it back: on a
    busy receiver that wait, not the copying, was most of a PDU's cost."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"peer too slow: {got} of {n} bytes in time")
        try:
            k = sock.recv_into(view[got:], n - got, socket.MSG_WAITALL)
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise PeerClosed(str(exc)) from exc
        except (BlockingIOError, TimeoutError):  # a call's timeout passed, nothing read
            continue
        if k == 0:
            raise PeerClosed(f"connection closed after {got} of {n} bytes")
        got += k
    return buf


def use_blocking(sock: socket.socket, timeout: float | None) -> None:
    """Put ``sock`` in the blocking mode ``recv_exact`` is fastest with: every receive
    and send call is bounded by ``timeout`` in the kernel (``None``: unbounded)."""
    sock.settimeout(None)
    value = _timeval(timeout or 0.0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _timeval(seconds: float) -> bytes:
    # a timeval of zero means "no timeout": round the last instant up to 1 us
    whole = int(seconds)
    micro = max(int((seconds - whole) * 1_000_000), 0 if whole or seconds == 0 else 1)
    return _TIMEVAL.pack(whole, micro)


def read_pdu(
    sock: socket.socket, *, max_length: int, idle_timeout: float | None, read_timeout: float | None
) -> tuple[int, bytearray]:
    """The next PDU as (type, body). Waits up to ``idle_timeout`` for its header, then
    up to ``read_timeout`` for its body; refuses bodies longer than ``max_length``."""
    start_deadline = None if idle_timeout is None else time.monotonic() + idle_timeout
    header = recv_exact(sock, _HEADER.size, start_deadline)
    kind, _, length = _HEADER.unpack(header)
    if length > max_length:
        raise ProtocolError(
            f"peer announced a PDU of {length} bytes (limit {max_length})",
            REASON_INVALID_PARAMETER,
        )
    deadline = None if read_timeout is None else time.monotonic() + read_timeout
    return kind, recv_exact(sock, length, deadline)


def iter_pdvs(body: bytearray) -> Iterator[Pdv]:
    """The presentation data values of one P-DATA-TF body, checked against its length."""
    view = memoryview(body)
    pos = 0
    end = len(body)
    if end == 0:
        raise ProtocolError("P-DATA-TF without any PDV", REASON_INVALID_PARAMETER)
    while pos < end:
        if pos + _PDV_HEADER.size > end:
            raise ProtocolError("truncated PDV header", REASON_INVALID_PARAMETER)
        length, context_id, control = _PDV_HEADER.unpack_from(body, pos)
        if length < 2 or pos + 4 + length > end:
            raise ProtocolError(
                f"PDV length {length} does not fit its PDU", REASON_INVALID_PARAMETER
            )
        yield Pdv(
            context_id,
            bool(control & 0x01),
            bool(control & 0x02),
            view[pos + _PDV_HEADER.size : pos + 4 + length],
        )
        pos += 4 + length


def p_data_pdus(context_id: int, message: bytes, *, command: bool, max_pdu: int) -> bytes:
    """``message`` as P-DATA-TF PDUs whose bodies respect the peer's maximum length
    (0 = unlimited), one fragment per PDU."""
    room = len(message) if max_pdu == 0 else max(max_pdu - _PDV_HEADER.size, 1)
    out = bytearray()
    pos = 0
    while True:
        chunk = message[pos : pos + room]
        pos += len(chunk)
        last = pos >= len(message)
        control = (0x01 if command else 0x00) | (0x02 if last else 0x00)
        out += _HEADER.pack(P_DATA_TF, 0, len(chunk) + _PDV_HEADER.size)
        out += _PDV_HEADER.pack(len(chunk) + 2, context_id, control) + chunk
        if last:
            return bytes(out)


def release_rp() -> bytes:
    return _HEADER.pack(RELEASE_RP, 0, 4) + b"\x00" * 4


def abort(reason: int = REASON_NOT_SPECIFIED) -> bytes:
    """A-ABORT from the service provider (source 2)."""
    return _HEADER.pack(ABORT, 0, 4) + bytes([0, 0, 0x02, reason])


def associate_rj(result: int, source: int, reason: int) -> bytes:
    return _HEADER.pack(ASSOCIATE_RJ, 0, 4) + bytes([0, result, source, reason])
