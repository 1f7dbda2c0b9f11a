"""Hostile peers on the DICOM port: raw sockets sending malformed, truncated, lying or
stalled PDUs. Each must end in a rejection or abort (never an accepted association or a
hang), the listener must keep answering C-ECHO, and the server's memory stays bounded."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tests.conftest import JipProcess
from tests.proof import pdus
from tests.proof.netcheck import echo_ok, rss_mb

TIMEOUT = 3.0  # the hostile_jip fixture's network/ACSE timeouts
GRACE = TIMEOUT + 7.0


@pytest.fixture
def jip(hostile_jip: JipProcess) -> Iterator[JipProcess]:
    before = rss_mb(hostile_jip.proc.pid)
    yield hostile_jip
    assert hostile_jip.proc.poll() is None, "the server must survive"
    assert echo_ok(hostile_jip.dicom_port), "the listener must keep serving"
    assert rss_mb(hostile_jip.proc.pid) < before + 100, "memory must stay bounded"


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GRACE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _ends_without_accept(sock: socket.socket) -> list[int]:
    """Read until the server closes; returns the PDU types seen. Fails on a hang."""
    seen: list[int] = []
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        try:
            got = pdus.read_pdu(sock)
        except TimeoutError:
            pytest.fail(f"server neither answered nor closed within {GRACE} s (saw {seen})")
        if got is None:
            return seen
        seen.append(got[0])
        if got[0] in (pdus.ABORT, pdus.ASSOCIATE_RJ):
            return seen
    pytest.fail(f"connection still open after {GRACE} s (saw {seen})")


def _associate(sock: socket.socket, **kwargs: object) -> bytes:
    sock.sendall(pdus.associate_rq(**kwargs))  # type: ignore[arg-type]
    got = pdus.read_pdu(sock)
    assert got is not None and got[0] == pdus.ASSOCIATE_AC, got
    return got[1]


HOSTILE_OPENINGS = {
    "garbage": b"\xde\xad\xbe\xef" * 256,
    "unknown_pdu_type": pdus.pdu(0x09, b"x" * 10),
    "p_data_before_associate": pdus.p_data(1, pdus.c_echo_rq(), command=True),
    "release_before_associate": pdus.pdu(0x05, b"\x00" * 4),
    "empty_associate": pdus.pdu(0x01, b""),
    "absurd_length": pdus.pdu(0x01, b"\x00" * 64, length=0xFFFFFFFF),
    "associate_item_lies_about_length": pdus.associate_rq()[:80]
    + b"\x20\x00\xff\xff"
    + pdus.associate_rq()[84:],
    "called_ae_wrong": pdus.associate_rq(called="NOTJIP"),
    "no_presentation_context": pdus.associate_rq(contexts=[(1, "", [])]),
}


@pytest.mark.parametrize("opening", list(HOSTILE_OPENINGS), ids=list(HOSTILE_OPENINGS))
def test_hostile_opening_is_rejected_or_aborted(jip: JipProcess, opening: str) -> None:
    with _connect(jip.dicom_port) as sock:
        sock.sendall(HOSTILE_OPENINGS[opening])
        seen = _ends_without_accept(sock)
    assert pdus.ASSOCIATE_AC not in seen, f"{opening} must not be accepted"


def test_truncated_associate_then_stall_times_out(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        sock.sendall(pdus.associate_rq()[:40])
        t0 = time.monotonic()
        seen = _ends_without_accept(sock)
    assert pdus.ASSOCIATE_AC not in seen
    assert time.monotonic() - t0 < GRACE


def test_slowloris_connections_are_dropped_and_service_continues(jip: JipProcess) -> None:
    """Twenty peers that connect and dribble one byte a second never reach an
    association; the server drops them after its timeout and keeps answering."""
    socks = [_connect(jip.dicom_port) for _ in range(20)]
    rq = pdus.associate_rq()
    try:
        deadline = time.monotonic() + GRACE + 5
        open_socks = list(socks)
        i = 0
        while open_socks and time.monotonic() < deadline:
            for s in list(open_socks):
                try:
                    s.sendall(rq[i : i + 1])
                except OSError:
                    open_socks.remove(s)
            i += 1
            time.sleep(1.0)
            assert i < len(rq)
            for s in list(open_socks):
                s.setblocking(False)
                try:
                    if s.recv(1 << 16) == b"":
                        open_socks.remove(s)
                except BlockingIOError:
                    pass
                except OSError:
                    open_socks.remove(s)
                finally:
                    s.setblocking(True)
        assert not open_socks, f"{len(open_socks)} stalled peers still connected"
    finally:
        for s in socks:
            s.close()


def test_idle_established_association_is_closed(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        seen = _ends_without_accept(sock)  # we send nothing more
    assert seen in ([], [pdus.ABORT]), seen


def test_pdu_dribbled_inside_an_association_is_cut_off(jip: JipProcess) -> None:
    """A byte every half second keeps any per-read timeout alive: the deadline bounds
    the whole PDU, so the server aborts about one network timeout after it started."""
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        sock.sendall(struct.pack(">BBI", pdus.P_DATA, 0, 1000))
        start = time.monotonic()
        sock.settimeout(0.5)
        ended = None
        while ended is None and time.monotonic() - start < GRACE:
            try:
                sock.sendall(b"\x00")
                got = sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                got = b""
            if not got or got[0] == pdus.ABORT:
                ended = time.monotonic() - start
    assert ended is not None, f"still open after {GRACE} s of dribbling"
    assert ended < TIMEOUT + 2.0, ended


def test_garbage_after_associate(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        sock.sendall(pdus.associate_rq() + b"\x99" * 500)
        seen = _ends_without_accept(sock)
    assert seen[-1:] == [pdus.ABORT] or seen == [pdus.ASSOCIATE_AC]


def test_p_data_on_unknown_context_is_aborted(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        sock.sendall(pdus.p_data(99, pdus.c_echo_rq(), command=True))
        seen = _ends_without_accept(sock)
    assert pdus.P_DATA not in seen


def test_rejected_presentation_context_cannot_be_used(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        ac = _associate(
            sock,
            contexts=[
                (1, pdus.VERIFICATION, [pdus.IMPLICIT_LE]),
                (3, "1.2.3.4.5.6", [pdus.IMPLICIT_LE]),
            ],
        )
        # the AC's second presentation context item (id 3) carries a non-zero result
        assert b"\x21\x00\x00\x19\x03\x00\x00" not in ac
        sock.sendall(pdus.p_data(3, pdus.c_echo_rq(), command=True))
        seen = _ends_without_accept(sock)
    assert pdus.P_DATA not in seen


def test_garbage_command_set_is_aborted(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        sock.sendall(
            pdus.p_data(1, b"\x00\x00\x00\x00\xff\xff\xff\x7f" + b"\x01" * 40, command=True)
        )
        seen = _ends_without_accept(sock)
    assert pdus.P_DATA not in seen or seen[-1] == pdus.ABORT


def test_p_data_with_lying_pdv_length_is_aborted(jip: JipProcess) -> None:
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        body = struct.pack(">IB", 0x7FFFFFFF, 1) + b"\x03" + pdus.c_echo_rq()
        sock.sendall(pdus.pdu(pdus.P_DATA, body))
        seen = _ends_without_accept(sock)
    assert pdus.P_DATA not in seen


def test_echo_over_raw_socket_works(jip: JipProcess) -> None:
    """The builders themselves are right: a well-formed echo gets status 0."""
    with _connect(jip.dicom_port) as sock:
        _associate(sock)
        sock.sendall(pdus.p_data(1, pdus.c_echo_rq(), command=True))
        got = pdus.read_pdu(sock)
        assert got is not None and got[0] == pdus.P_DATA
        assert pdus.status_of(got[1]) == 0x0000
        sock.sendall(pdus.pdu(0x05, b"\x00" * 4))
        got = pdus.read_pdu(sock)
        assert got is not None and got[0] == pdus.RELEASE_RP
