"""C-FIND SCP behaviour that needs an in-process listener (a slowed index)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
)

import jip.dicom.find
from jip.synthetic import SeriesSpec, write_series
from tests.dimse.conftest import ingest_files, listening, make_settings


def test_find_longer_than_network_timeout_keeps_the_association(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The requester sends nothing while the answers go out: answering for longer than
    network_timeout must not end in an A-ABORT."""
    answer = jip.dicom.find.answer

    def slow_answer(*args: Any) -> Dataset:
        time.sleep(0.35)  # 5 answers: ~1.8 s, beyond the 1 s network timeout
        return answer(*args)

    monkeypatch.setattr(jip.dicom.find, "answer", slow_answer)
    files = write_series(SeriesSpec(slices=5, size=8, patient_id="FIND1"), tmp_path / "s")
    with listening(make_settings(tmp_path / "t", network_timeout=1.0)) as jip_scp:
        ingest_files(jip_scp.runtime, files)
        ae = AE(ae_title="TESTSCU")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        assoc = ae.associate("127.0.0.1", jip_scp.port, ae_title="JIP")
        assert assoc.is_established
        q = Dataset()
        q.QueryRetrieveLevel = "IMAGE"
        q.PatientID = "FIND1"
        q.SOPInstanceUID = ""
        for _ in range(2):
            rsp = list(assoc.send_c_find(q, StudyRootQueryRetrieveInformationModelFind))
            assert [s.Status for s, _ in rsp] == [0xFF00] * 5 + [0x0000]
        assert assoc.is_established
        assoc.release()
        assert assoc.is_released and not assoc.is_aborted
