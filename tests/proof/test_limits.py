"""Associations beyond settings.max_associations are rejected at once with an
A-ASSOCIATE-RJ, never queued; a freed slot is usable again."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from tests.conftest import JipProcess, start_jip
from tests.proof import pdus


@pytest.fixture
def limited_jip(tmp_path: Path) -> Iterator[JipProcess]:
    jip = start_jip(tmp_path / "data", extra_env={"JIP_MAX_ASSOCIATIONS": "2"})
    yield jip
    jip.stop()


def _associate(port: int) -> Association:
    ae = AE(ae_title="LIMIT")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = 10
    return ae.associate("127.0.0.1", port, ae_title="JIP")


def test_association_over_the_limit_is_rejected_not_queued(limited_jip: JipProcess) -> None:
    held = [_associate(limited_jip.dicom_port) for _ in range(2)]
    try:
        assert all(a.is_established for a in held)
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", limited_jip.dicom_port), timeout=10) as s:
            s.sendall(pdus.associate_rq())
            got = pdus.read_pdu(s)
        assert got is not None and got[0] == pdus.ASSOCIATE_RJ, got
        # result 1 (rejected-permanent) or 2 (rejected-transient), source 3 (provider
        # presentation), reason 2 (local limit exceeded)
        assert got[1][1] in (1, 2) and got[1][2:4] == b"\x03\x02", got[1]
        assert time.monotonic() - t0 < 5
        extra = _associate(limited_jip.dicom_port)
        assert extra.is_rejected
    finally:
        for a in held:
            a.release()
    time.sleep(0.5)
    again = _associate(limited_jip.dicom_port)
    try:
        assert again.is_established
        status = again.send_c_echo()
        assert status.Status == 0x0000
    finally:
        again.release()
