"""C-MOVE and C-GET against a real ``jip up`` with dcmtk movescu (to a real storescp
configured as peer) and getscu: bytes arrive exactly as stored, statuses and counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import JipProcess, tool_env
from tests.dimse.conftest import Corpus, StoreSCP, dataset_bytes, stored_objects

pytestmark = pytest.mark.slow


def _movescu(jip: JipProcess, dest: str, *keys: str, model: str = "-S",
             aet: str = "MOVER") -> subprocess.CompletedProcess[str]:
    args = ["movescu", "-v", model, "-aet", aet, "-aec", "JIP", "-aem", dest]
    for k in keys:
        args += ["-k", k]
    return subprocess.run(
        [*args, "127.0.0.1", str(jip.dicom_port)],
        env=tool_env(), capture_output=True, text=True, timeout=120,
    )


def _getscu(jip: JipProcess, out: Path, *keys: str,
            model: str = "-S") -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    args = ["getscu", "-v", model, "+B", "-aec", "JIP", "-od", str(out)]
    for k in keys:
        args += ["-k", k]
    return subprocess.run(
        [*args, "127.0.0.1", str(jip.dicom_port)],
        env=tool_env(), capture_output=True, text=True, timeout=120,
    )


def _assert_as_stored(jip: JipProcess, got: dict[str, bytes], uids: set[str]) -> None:
    """Each received data set is byte for byte the one JIP stored."""
    assert set(got) == uids
    stored = stored_objects(jip.data_dir)
    for uid in uids:
        assert dataset_bytes(got[uid]) == stored[uid], f"{uid} changed on the way"


def test_movescu_study_level_to_storescp_bytes_as_stored(
    jip_loaded: JipProcess, corpus: Corpus, received: StoreSCP
) -> None:
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=STUDY",
                 f"StudyInstanceUID={corpus.p1_study}")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "Pending" in out and "Success" in out
    got = received.received()
    _assert_as_stored(jip_loaded, got, corpus.uids_of(PatientID="DIMSEP1"))
    for uid, data in got.items():  # and storescu -> JIP -> storescp kept every byte
        assert dataset_bytes(data) == dataset_bytes(corpus.files[uid].read_bytes())


def test_movescu_patient_root_patient_level(
    jip_loaded: JipProcess, corpus: Corpus, received: StoreSCP
) -> None:
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=PATIENT", "PatientID=DIMSEP2",
                 model="-P")
    assert r.returncode == 0, r.stdout + r.stderr
    _assert_as_stored(jip_loaded, received.received(), corpus.uids_of(PatientID="DIMSEP2"))


def test_movescu_series_uid_list_and_image_level(
    jip_loaded: JipProcess, corpus: Corpus, received: StoreSCP
) -> None:
    series = "\\".join(corpus.p1_series)
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=SERIES",
                 f"StudyInstanceUID={corpus.p1_study}", f"SeriesInstanceUID={series}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(received.received()) == corpus.uids_of(StudyInstanceUID=corpus.p1_study)
    received.clear()
    # IMAGE level, compressed object: the JPEG 2000 bytes go out untouched
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=IMAGE",
                 "StudyInstanceUID=1.2", "SeriesInstanceUID=1.2",
                 f"SOPInstanceUID={corpus.j2k_uid}", model="-S")
    # wrong study/series keys above the level narrow the match to nothing
    assert r.returncode == 0, r.stdout + r.stderr
    assert received.received() == {}
    ds = corpus.files[corpus.j2k_uid]
    import pydicom

    meta = pydicom.dcmread(ds, stop_before_pixels=True)
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=IMAGE",
                 f"StudyInstanceUID={meta.StudyInstanceUID}",
                 f"SeriesInstanceUID={meta.SeriesInstanceUID}",
                 f"SOPInstanceUID={corpus.j2k_uid}")
    assert r.returncode == 0, r.stdout + r.stderr
    _assert_as_stored(jip_loaded, received.received(), {corpus.j2k_uid})


def test_getscu_study_and_patient_root(
    jip_loaded: JipProcess, corpus: Corpus, tmp_path: Path
) -> None:
    r = _getscu(jip_loaded, tmp_path / "s", "QueryRetrieveLevel=STUDY",
                f"StudyInstanceUID={corpus.p2_study}")
    assert r.returncode == 0, r.stdout + r.stderr
    got = {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir()}
    import pydicom

    by_uid = {str(pydicom.dcmread(p).SOPInstanceUID): p.read_bytes()
              for p in (tmp_path / "s").iterdir()}
    assert len(got) == 2
    _assert_as_stored(jip_loaded, by_uid, corpus.uids_of(PatientID="DIMSEP2"))

    r = _getscu(jip_loaded, tmp_path / "p", "QueryRetrieveLevel=PATIENT", "PatientID=DIMSEP1",
                model="-P")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list((tmp_path / "p").iterdir())) == 5


def test_move_to_unknown_destination_is_a801(
    jip_loaded: JipProcess, corpus: Corpus, received: StoreSCP
) -> None:
    r = _movescu(jip_loaded, "NOSUCHAE", "QueryRetrieveLevel=STUDY",
                 f"StudyInstanceUID={corpus.p1_study}")
    out = (r.stdout + r.stderr).lower()
    assert "movedestinationunknown" in out, out
    assert received.received() == {}


def test_unknown_uid_is_success_with_nothing_sent(
    jip_loaded: JipProcess, received: StoreSCP, tmp_path: Path
) -> None:
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=STUDY",
                 "StudyInstanceUID=1.2.826.0.1.3680043.99.99")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout + r.stderr
    assert received.received() == {}
    r = _getscu(jip_loaded, tmp_path / "none", "QueryRetrieveLevel=SERIES",
                "StudyInstanceUID=1.2.3", "SeriesInstanceUID=1.2.3.4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list((tmp_path / "none").iterdir())


def test_identifier_without_level_key_is_refused(
    jip_loaded: JipProcess, received: StoreSCP
) -> None:
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=SERIES",
                 "StudyInstanceUID=1.2.3")
    out = (r.stdout + r.stderr).lower()
    assert "0xc514" in out or "unable to process" in out or "failed" in out, out
    assert received.received() == {}
    # the listener keeps serving
    assert subprocess.run(["echoscu", "-aec", "JIP", "127.0.0.1", str(jip_loaded.dicom_port)],
                          env=tool_env(), timeout=30).returncode == 0


def test_disallowed_calling_ae_cannot_retrieve(
    jip_loaded: JipProcess, corpus: Corpus, received: StoreSCP, tmp_path: Path
) -> None:
    r = _movescu(jip_loaded, received.aet, "QueryRetrieveLevel=STUDY",
                 f"StudyInstanceUID={corpus.p1_study}", aet="INTRUDER")
    assert r.returncode != 0
    assert "calling ae title not recognized" in (r.stdout + r.stderr).lower()
    args = ["getscu", "-aet", "INTRUDER", "-S", "-aec", "JIP", "-od", str(tmp_path),
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={corpus.p2_study}",
            "127.0.0.1", str(jip_loaded.dicom_port)]
    r = subprocess.run(args, env=tool_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert received.received() == {} and not list(tmp_path.iterdir())
