"""AE policy and limits from settings, proven against the real listener: calling AE
allow-list, called AE check, max associations (A-ASSOCIATE-RJ, not queued), max PDU
size, ACSE / network / DIMSE timeouts."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)

from jip.dicom.server import build_ae
from jip.runtime import Runtime
from tests.conftest import tool_env
from tests.dimse.conftest import ingest_files, listening, make_settings

# A-ASSOCIATE-RJ (result, source, diagnostic), PS3.8 9.3.4
RJ_CALLING_AE = (0x01, 0x01, 0x03)
RJ_CALLED_AE = (0x01, 0x01, 0x07)
RJ_LOCAL_LIMIT = (0x02, 0x03, 0x02)


@contextmanager
def associate(port: int, *, called: str = "JIP", calling: str = "TESTSCU",
              **kwargs: Any) -> Iterator[tuple[Association, tuple[int, int, int] | None]]:
    """Associate and report the A-ASSOCIATE-RJ reason, if any."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    ae.acse_timeout = 10
    rejection: list[tuple[int, int, int]] = []

    def on_acse(event: Any) -> None:
        p = event.primitive
        if getattr(p, "result", None) in (0x01, 0x02):
            rejection.append((p.result, p.result_source, p.diagnostic))

    assoc = ae.associate("127.0.0.1", port, ae_title=called,
                         evt_handlers=[(evt.EVT_ACSE_RECV, on_acse)], **kwargs)
    try:
        yield assoc, (rejection[0] if rejection else None)
    finally:
        if assoc.is_established:
            assoc.release()


def test_settings_reach_the_ae(tmp_path: Path) -> None:
    s = make_settings(tmp_path, max_associations=3, max_pdu_size=32768, dimse_timeout=7.0,
                      network_timeout=8.0, acse_timeout=9.0, require_called_aet=False,
                      allowed_calling_aets=["A", "B"])
    rt = Runtime(s)
    try:
        ae = build_ae(rt)
    finally:
        rt.close()
    assert (ae.maximum_associations, ae.maximum_pdu_size) == (3, 32768)
    assert (ae.dimse_timeout, ae.network_timeout, ae.acse_timeout) == (7.0, 8.0, 9.0)
    assert ae.require_called_aet is False
    assert ae.require_calling_aet == ["A", "B"]


def test_calling_ae_allow_list(tmp_path: Path) -> None:
    with listening(make_settings(tmp_path, allowed_calling_aets=["FRIEND"])) as jip:
        with associate(jip.port, calling="STRANGER") as (assoc, rj):
            assert assoc.is_rejected and rj == RJ_CALLING_AE
        with associate(jip.port, calling="FRIEND") as (assoc, rj):
            assert assoc.is_established and rj is None
        # a real client this project did not write sees the same
        r = subprocess.run(["echoscu", "-aet", "STRANGER", "-aec", "JIP", "127.0.0.1",
                            str(jip.port)], env=tool_env(), capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0
        assert "calling ae title not recognized" in (r.stdout + r.stderr).lower()


def test_called_ae_checked_unless_disabled(tmp_path: Path) -> None:
    with listening(make_settings(tmp_path)) as jip:
        with associate(jip.port, called="SOMEONEELSE") as (assoc, rj):
            assert assoc.is_rejected and rj == RJ_CALLED_AE
        with associate(jip.port, called="JIP") as (assoc, _):
            assert assoc.is_established
    lenient = make_settings(tmp_path / "b", require_called_aet=False)
    with listening(lenient) as jip, associate(jip.port, called="SOMEONEELSE") as (assoc, _):
        assert assoc.is_established


def test_excess_association_rejected_not_queued(tmp_path: Path) -> None:
    with listening(make_settings(tmp_path, max_associations=2)) as jip:
        with associate(jip.port) as (a1, _), associate(jip.port) as (a2, _):
            assert a1.is_established and a2.is_established
            with associate(jip.port) as (a3, rj):
                assert a3.is_rejected and rj == RJ_LOCAL_LIMIT
            assert a1.send_c_echo().Status == 0  # the held ones keep working
        # once they are released, a new one is accepted again
        deadline = time.monotonic() + 10
        while True:
            with associate(jip.port) as (a4, rj):
                if a4.is_established or time.monotonic() > deadline:
                    break
            time.sleep(0.1)
        assert a4.is_established or rj is None


def test_max_pdu_size_is_what_we_announce(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_pdu_size=16384)
    with listening(settings) as jip, associate(jip.port, max_pdu=0) as (assoc, _):
        assert assoc.is_established
        assert assoc.acceptor.maximum_length == 16384


def test_acse_timeout_drops_silent_connection(tmp_path: Path) -> None:
    with (
        listening(make_settings(tmp_path, acse_timeout=1.0)) as jip,
        socket.create_connection(("127.0.0.1", jip.port), timeout=15) as sock,
    ):
        # send nothing: the listener must give up on us, not wait forever
        assert sock.recv(1024) == b""


def test_network_timeout_ends_idle_association(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, network_timeout=1.0)
    with listening(settings) as jip, associate(jip.port) as (assoc, _):
        assert assoc.is_established
        deadline = time.monotonic() + 15
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not assoc.is_established


def test_dimse_timeout_aborts_unanswered_c_get_store(
    tmp_path: Path, ct_series: list[Path]
) -> None:
    """A C-GET requestor that never answers its C-STORE: JIP gives up after
    dimse_timeout and aborts, instead of hanging on the association."""
    with listening(make_settings(tmp_path, dimse_timeout=1.0)) as jip:
        ingest_files(jip.runtime, ct_series[:1])
        ae = AE(ae_title="SLOWGET")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_requested_context(CTImageStorage)
        def slow_store(event: Any) -> int:
            time.sleep(4)
            return 0

        assoc = ae.associate("127.0.0.1", jip.port, ae_title="JIP",
                             ext_neg=[build_role(CTImageStorage, scp_role=True)],
                             evt_handlers=[(evt.EVT_C_STORE, slow_store)])
        assert assoc.is_established
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.StudyInstanceUID = pydicom.dcmread(ct_series[0]).StudyInstanceUID
        statuses = [s for s, _ in assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet)]
        deadline = time.monotonic() + 15
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.1)
        assert assoc.is_aborted
        assert all(not s or s.Status != 0 for s in statuses)


def test_released_association_frees_its_slot_at_once(tmp_path: Path) -> None:
    """One association after the other, never more than one open: none may be refused
    for the limit because an ended one still holds its slot."""
    rejected = []
    with listening(make_settings(tmp_path, max_associations=2)) as jip:
        for _ in range(60):
            with associate(jip.port) as (assoc, rj):
                if not assoc.is_established:
                    rejected.append(rj)
                else:
                    assert assoc.send_c_echo().Status == 0
    assert rejected == []
