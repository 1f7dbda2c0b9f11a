"""Retrieve SCP behaviour that needs a controllable peer: C-CANCEL, failed
sub-operations and their counts, transfer syntax conversion, identifier rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from jip.config import DicomPeer
from jip.dicom.retrieve_keys import PATIENT_ROOT, STUDY_ROOT, parse_identifier
from jip.errors import InvalidInputError
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import free_port
from tests.dimse.conftest import Listener, dataset_bytes, ingest_files, listening, make_settings


class SlowStoreSCP:
    """A pynetdicom storage SCP that takes ``delay`` seconds per C-STORE."""

    def __init__(self, delay: float) -> None:
        self.port = free_port()
        self.received: dict[str, bytes] = {}
        self.originators: set[str] = set()  # Move Originator AE Titles of the C-STOREs
        self.delay = delay
        ae = AE(ae_title="SLOWSCP")
        ae.add_supported_context(CTImageStorage)
        self.server = ae.start_server(("127.0.0.1", self.port), block=False,
                                      evt_handlers=[(evt.EVT_C_STORE, self._store)])

    def _store(self, event: Any) -> int:
        time.sleep(self.delay)
        self.received[str(event.request.AffectedSOPInstanceUID)] = event.request.DataSet.getvalue()
        self.originators.add(str(event.request.MoveOriginatorApplicationEntityTitle))
        return 0

    def require_called_aet(self) -> None:
        """Reject associations that call another AE title than SLOWSCP."""
        self.server.ae.require_called_aet = True

    def peer(self) -> DicomPeer:
        return DicomPeer(ae_title="SLOWSCP", host="127.0.0.1", port=self.port)


@pytest.fixture
def series(tmp_path: Path) -> list[Path]:
    return write_series(SeriesSpec(slices=5, size=16, patient_id="SCP1"), tmp_path / "s")


@pytest.fixture
def slow_scp() -> Iterator[SlowStoreSCP]:
    scp = SlowStoreSCP(delay=0.4)
    yield scp
    scp.server.shutdown()


@pytest.fixture
def jip(tmp_path: Path, slow_scp: SlowStoreSCP, series: list[Path]) -> Iterator[Listener]:
    settings = make_settings(tmp_path / "jip", peers={"SLOWSCP": slow_scp.peer()})
    with listening(settings) as listener:
        ingest_files(listener.runtime, series)
        yield listener


def _study_query(files: list[Path]) -> Dataset:
    q = Dataset()
    q.QueryRetrieveLevel = "STUDY"
    q.StudyInstanceUID = pydicom.dcmread(files[0]).StudyInstanceUID
    return q


def _scu(port: int, *contexts: str, **kw: Any) -> Any:
    ae = AE(ae_title="TESTSCU")
    for cx in contexts:
        ae.add_requested_context(cx)
    assoc = ae.associate("127.0.0.1", port, ae_title="JIP", **kw)
    assert assoc.is_established
    return assoc


def test_c_cancel_stops_before_next_suboperation(
    jip: Listener, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
    final = None
    cancelled = False
    for status, _ in assoc.send_c_move(_study_query(series), "SLOWSCP",
                                       StudyRootQueryRetrieveInformationModelMove, msg_id=7):
        if status.Status == 0xFF00 and not cancelled:
            assoc.send_c_cancel(7, query_model=StudyRootQueryRetrieveInformationModelMove)
            cancelled = True
        final = status
    assoc.release()
    assert final is not None and final.Status == 0xFE00
    assert final.NumberOfCompletedSuboperations < len(series)
    assert final.NumberOfRemainingSuboperations > 0
    assert len(slow_scp.received) == final.NumberOfCompletedSuboperations


def test_missing_object_counts_as_failed_suboperation(
    jip: Listener, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    slow_scp.delay = 0
    lost = pydicom.dcmread(series[2])
    key = jip.runtime.store.put(series[2].read_bytes())  # same bytes -> same key
    jip.runtime.store.delete(key)
    assoc = _scu(jip.port, PatientRootQueryRetrieveInformationModelMove)
    q = Dataset()
    q.QueryRetrieveLevel = "PATIENT"
    q.PatientID = "SCP1"
    responses = list(assoc.send_c_move(q, "SLOWSCP", PatientRootQueryRetrieveInformationModelMove))
    assoc.release()
    final, identifier = responses[-1]
    assert final.Status == 0xB000  # warning: some sub-operations failed
    assert final.NumberOfCompletedSuboperations == 4
    assert final.NumberOfFailedSuboperations == 1
    assert identifier.FailedSOPInstanceUIDList == lost.SOPInstanceUID
    pending = [s for s, _ in responses if s.Status == 0xFF00]
    assert [s.NumberOfRemainingSuboperations for s in pending] == [4, 3, 2, 1, 0]
    # what did arrive is the stored data set, byte for byte
    for uid, data in slow_scp.received.items():
        f = next(p for p in series if p.stem == uid)
        assert data == dataset_bytes(f.read_bytes())


def test_c_get_converts_when_requestor_takes_only_implicit(
    jip: Listener, series: list[Path]
) -> None:
    got: dict[str, Dataset] = {}
    lock = threading.Lock()

    def on_store(event: Any) -> int:
        with lock:
            got[str(event.request.AffectedSOPInstanceUID)] = event.dataset
        return 0

    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage, ImplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", jip.port, ae_title="JIP",
                         ext_neg=[build_role(CTImageStorage, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert assoc.is_established
    final = list(assoc.send_c_get(_study_query(series),
                                  StudyRootQueryRetrieveInformationModelGet))[-1][0]
    assoc.release()
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 5
    for f in series:
        original = pydicom.dcmread(f)
        assert got[original.SOPInstanceUID].PixelData == original.PixelData


def test_move_destination_unknown_is_a801(jip: Listener, series: list[Path]) -> None:
    assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
    rsp = list(assoc.send_c_move(_study_query(series), "NOBODY",
                                 StudyRootQueryRetrieveInformationModelMove))
    assoc.release()
    assert [s.Status for s, _ in rsp] == [0xA801]


def _ds(**kw: Any) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def test_identifier_rules() -> None:
    keys = parse_identifier(_ds(QueryRetrieveLevel="PATIENT", PatientID="P1"), PATIENT_ROOT)
    assert keys.patient_ids == ("P1",) and keys.study_uids == ()
    keys = parse_identifier(
        _ds(QueryRetrieveLevel="SERIES", StudyInstanceUID="1.2",
            SeriesInstanceUID=["1.2.3", "1.2.4"], SOPInstanceUID="9.9"), STUDY_ROOT)
    assert keys.series_uids == ("1.2.3", "1.2.4") and keys.sop_instance_uids == ()
    assert keys.ignored == ["SOPInstanceUID"]
    bad = [
        (_ds(PatientID="P1"), PATIENT_ROOT),  # no level
        (_ds(QueryRetrieveLevel="PATIENT", PatientID="P1"), STUDY_ROOT),  # not in model
        (_ds(QueryRetrieveLevel="STUDY", PatientID="P1"), STUDY_ROOT),  # key of level missing
        (_ds(QueryRetrieveLevel="STUDY", StudyInstanceUID=""), STUDY_ROOT),
        (_ds(QueryRetrieveLevel="STUDY", StudyInstanceUID="1.2.*"), STUDY_ROOT),
        (_ds(QueryRetrieveLevel="IMAGE", SOPInstanceUID="1?"), PATIENT_ROOT),
    ]
    for ds, model in bad:
        with pytest.raises(InvalidInputError):
            parse_identifier(ds, model)


# objects pydicom would not re-encode byte for byte (group lengths, big endian, UN,
# undefined-length sequences, RLE / JPEG 2000): the sub-operations must still carry them
# exactly as stored
AWKWARD = ["693_UNCR.dcm", "explicit_VR-UN.dcm", "ExplVR_BigEnd.dcm",
           "rtplan.dcm", "rtdose_rle.dcm", "CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm"]


def test_c_get_sends_awkward_objects_exactly_as_stored(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    files = [Path(str(get_testdata_file(n))) for n in AWKWARD]
    metas = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    got: dict[str, bytes] = {}

    def on_store(event: Any) -> int:
        got[str(event.request.AffectedSOPInstanceUID)] = event.request.DataSet.getvalue()
        return 0

    with listening(make_settings(tmp_path)) as jip:
        ingest_files(jip.runtime, files)
        ae = AE(ae_title="TESTSCU")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        roles = []
        for m in metas:
            ae.add_requested_context(m.SOPClassUID, m.file_meta.TransferSyntaxUID)
            roles.append(build_role(m.SOPClassUID, scp_role=True))
        assoc = ae.associate("127.0.0.1", jip.port, ae_title="JIP", ext_neg=roles,
                             evt_handlers=[(evt.EVT_C_STORE, on_store)])
        assert assoc.is_established
        q = Dataset()
        q.QueryRetrieveLevel = "IMAGE"
        q.SOPInstanceUID = [m.SOPInstanceUID for m in metas]
        final = list(assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet))[-1][0]
        assoc.release()
    assert final.Status == 0 and final.NumberOfCompletedSuboperations == len(files)
    for f, m in zip(files, metas, strict=True):
        assert got[m.SOPInstanceUID] == dataset_bytes(f.read_bytes()), f.name


def test_identifier_naming_nothing_is_refused_not_crashed(jip: Listener) -> None:
    q = Dataset()
    q.QueryRetrieveLevel = "SERIES"
    q.StudyInstanceUID = "1.2.3"  # no SeriesInstanceUID: names no series
    assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove, Verification)
    rsp = list(assoc.send_c_move(q, "SLOWSCP", StudyRootQueryRetrieveInformationModelMove))
    assert [s.Status for s, _ in rsp] == [0xC514]
    assert assoc.send_c_echo().Status == 0  # the association is still good
    assoc.release()
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    assoc = ae.associate("127.0.0.1", jip.port, ae_title="JIP")
    rsp = list(assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet))
    assoc.release()
    assert [s.Status for s, _ in rsp] == [0xC413]


def test_pacs_move_ctrl_c_sends_c_cancel(
    jip: Listener, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    """``jip pacs retrieve`` interrupted: the SCU cancels, here with JIP as the PACS."""
    from jip.dicom.pacs import MoveCancelled, MoveProgress, MoveTarget, move

    def interrupt(p: MoveProgress) -> None:
        if p.status == 0xFF00:
            raise KeyboardInterrupt

    pacs = DicomPeer(ae_title="JIP", host="127.0.0.1", port=jip.port)
    study = str(pydicom.dcmread(series[0]).StudyInstanceUID)
    with pytest.raises(MoveCancelled) as info:
        move(pacs, [MoveTarget(study)], destination="SLOWSCP", calling="TESTSCU",
             on_progress=interrupt)
    (progress,) = info.value.report.moves
    assert progress.status == 0xFE00
    assert progress.completed < len(series) and progress.remaining > 0


def test_move_to_destination_that_is_down_fails_cleanly(
    tmp_path: Path, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    """A known destination that cannot be used is no "unknown destination" (0xA801): the
    move fails with 0xA702 (unable to perform sub-operations), every instance counted
    and listed as failed, and the Error Comment says why."""
    down = DicomPeer(ae_title="DOWN", host="127.0.0.1", port=free_port())  # nobody listens
    wrong_ae = DicomPeer(ae_title="NOTSLOW", host="127.0.0.1", port=slow_scp.port)
    settings = make_settings(tmp_path / "d", peers={"DOWN": down, "WRONGAE": wrong_ae})
    slow_scp.require_called_aet()
    with listening(settings) as jip:
        ingest_files(jip.runtime, series[:2])
        assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
        for destination, why in (("DOWN", "connection refused"), ("WRONGAE", "rejected")):
            rsp = list(assoc.send_c_move(_study_query(series), destination,
                                         StudyRootQueryRetrieveInformationModelMove))
            ((final, identifier),) = rsp
            assert final.Status == 0xA702, destination
            assert final.NumberOfFailedSuboperations == 2
            assert final.NumberOfCompletedSuboperations == 0
            assert why in final.ErrorComment and destination in final.ErrorComment
            assert len(identifier.FailedSOPInstanceUIDList) == 2
        assert assoc.is_established
        assoc.release()



def test_move_longer_than_network_timeout_keeps_the_association(
    tmp_path: Path, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    """The requester sends nothing while a C-MOVE runs; the move outlasting
    network_timeout must not end in an A-ABORT after the final response."""
    slow_scp.delay = 0.35  # 5 instances: ~1.8 s, beyond the 1 s network timeout
    settings = make_settings(tmp_path / "t", network_timeout=1.0,
                             peers={"SLOWSCP": slow_scp.peer()})
    with listening(settings) as jip:
        ingest_files(jip.runtime, series)
        assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
        for _ in range(2):
            final = list(assoc.send_c_move(_study_query(series), "SLOWSCP",
                                           StudyRootQueryRetrieveInformationModelMove))[-1][0]
            assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 5
        assert assoc.is_established
        assoc.release()
        assert assoc.is_released and not assoc.is_aborted


def test_move_suboperations_name_the_requester_as_move_originator(
    jip: Listener, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    """PS3.7 9.1.1.1: the C-STOREs of a C-MOVE carry the AE title of the C-MOVE's
    requester as Move Originator, not the moving SCP's own."""
    slow_scp.delay = 0
    assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
    final = list(assoc.send_c_move(_study_query(series), "SLOWSCP",
                                   StudyRootQueryRetrieveInformationModelMove))[-1][0]
    assoc.release()
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 5
    assert slow_scp.originators == {"TESTSCU"}


def test_move_destination_found_by_the_peers_ae_title(
    tmp_path: Path, series: list[Path], slow_scp: SlowStoreSCP
) -> None:
    """JIP_PEERS maps names to peers; a requester names the destination by its AE title."""
    slow_scp.delay = 0
    settings = make_settings(tmp_path / "a", peers={"ARCHIVE": slow_scp.peer()})
    with listening(settings) as jip:
        ingest_files(jip.runtime, series[:2])
        assoc = _scu(jip.port, StudyRootQueryRetrieveInformationModelMove)
        for destination in ("ARCHIVE", "SLOWSCP"):
            final = list(assoc.send_c_move(_study_query(series), destination,
                                           StudyRootQueryRetrieveInformationModelMove))[-1][0]
            assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 2
        assoc.release()
