"""C-FIND against a real ``jip up`` with dcmtk's ``findscu``: both roots, all levels,
wildcards, ranges, UID lists, bad identifiers and cancel."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from benchmarks.query_bench import build_index
from jip.index.db import make_engine
from tests.conftest import JipProcess, tool_env
from tests.e2e.query.conftest import Loaded


@dataclass
class FindResult:
    answers: list[Dataset]
    output: str
    returncode: int


def findscu(
    loaded: Loaded, tmp_path: Path, root: str, *keys: str, extra: tuple[str, ...] = ()
) -> FindResult:
    out = tmp_path / f"find{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    args = ["findscu", "-v", root, "-aec", "JIP", "-X", "-od", str(out), *extra]
    for k in keys:
        args += ["-k", k]
    args += ["127.0.0.1", str(loaded.jip.dicom_port)]
    r = subprocess.run(args, env=tool_env(), capture_output=True, text=True, timeout=60)
    answers = [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]
    return FindResult(answers, r.stdout + r.stderr, r.returncode)


def test_study_root_study_level_wildcard(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(
        loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "PatientName=doe*",
        "StudyInstanceUID", "StudyDate", "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
    )  # fmt: skip
    assert r.returncode == 0, r.output
    got = {str(a.StudyInstanceUID): a for a in r.answers}
    assert set(got) == {loaded.studies["A"], loaded.studies["B"]}
    a = got[loaded.studies["A"]]
    assert str(a.PatientName) == "Doe^John"
    assert list(a.ModalitiesInStudy) == ["CT", "MR"]
    assert int(a.NumberOfStudyRelatedInstances) == 5
    assert a.QueryRetrieveLevel == "STUDY"


def test_study_root_date_range_and_uid_list(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "StudyDate=20240101-",
                "StudyInstanceUID")  # fmt: skip
    assert {str(a.StudyInstanceUID) for a in r.answers} == {
        loaded.studies["A"],
        loaded.studies["B"],
    }
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "StudyDate=-20231231",
                "StudyInstanceUID")  # fmt: skip
    assert {str(a.StudyInstanceUID) for a in r.answers} == {loaded.studies["C"]}
    uids = f"{loaded.studies['A']}\\{loaded.studies['C']}"
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={uids}")
    assert {str(a.StudyInstanceUID) for a in r.answers} == {
        loaded.studies["A"],
        loaded.studies["C"],
    }


def test_study_root_series_and_image_levels(loaded: Loaded, tmp_path: Path) -> None:
    study = loaded.studies["A"]
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={study}",
                "SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances")  # fmt: skip
    assert r.returncode == 0, r.output
    assert {str(a.SeriesInstanceUID) for a in r.answers} == set(loaded.series[study])
    assert sorted(str(a.Modality) for a in r.answers) == ["CT", "MR"]
    series = loaded.series[study][0]
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={study}",
                f"SeriesInstanceUID={series}", "SOPInstanceUID", "InstanceNumber")  # fmt: skip
    assert {str(a.SOPInstanceUID) for a in r.answers} == set(loaded.instances[series])
    assert sorted(int(a.InstanceNumber) for a in r.answers) == [1, 2, 3]


def test_series_level_wildcard_on_modality(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=SERIES", "Modality=M?",
                "SeriesInstanceUID", "PatientName")  # fmt: skip
    assert len(r.answers) == 2
    assert {str(a.PatientName) for a in r.answers} == {"Doe^John", "Smith^Anna"}


def test_patient_root_all_levels(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(loaded, tmp_path, "-P", "QueryRetrieveLevel=PATIENT", "PatientID",
                "PatientName", "NumberOfPatientRelatedStudies",
                "NumberOfPatientRelatedInstances")  # fmt: skip
    assert r.returncode == 0, r.output
    got = {str(a.PatientID): a for a in r.answers}
    assert set(got) == {"PID1", "PID2", "PID3"}
    assert int(got["PID1"].NumberOfPatientRelatedStudies) == 1
    assert int(got["PID1"].NumberOfPatientRelatedInstances) == 5
    r = findscu(loaded, tmp_path, "-P", "QueryRetrieveLevel=STUDY", "PatientID=PID1",
                "StudyInstanceUID")  # fmt: skip
    assert [str(a.StudyInstanceUID) for a in r.answers] == [loaded.studies["A"]]
    r = findscu(loaded, tmp_path, "-P", "QueryRetrieveLevel=SERIES", "PatientID=PID3",
                "SeriesInstanceUID")  # fmt: skip
    assert [str(a.SeriesInstanceUID) for a in r.answers] == loaded.series[loaded.studies["C"]]
    r = findscu(loaded, tmp_path, "-P", "QueryRetrieveLevel=IMAGE", "PatientID=PID2",
                "SOPInstanceUID")  # fmt: skip
    series = loaded.series[loaded.studies["B"]][0]
    assert {str(a.SOPInstanceUID) for a in r.answers} == set(loaded.instances[series])


def test_no_match_is_success_without_answers(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "PatientID=NOBODY")
    assert r.returncode == 0, r.output
    assert r.answers == []


def test_bad_identifiers_get_failure_statuses(loaded: Loaded, tmp_path: Path) -> None:
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "StudyDate=2024-01-01")
    assert r.answers == []
    assert "Failed: UnableToProcess" in r.output, r.output
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=PATIENT", "PatientID")
    assert r.answers == []
    assert "DataSetDoesNotMatchSOPClass" in r.output, r.output  # 0xA900
    # the listener keeps serving
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "PatientID=PID2")
    assert len(r.answers) == 1


def test_cancel_stops_the_answers(jip: JipProcess, tmp_path: Path) -> None:
    # 3,000 index rows (no objects needed for C-FIND), far more than can be sent
    # before findscu's C-CANCEL after the first answer arrives
    engine = make_engine(f"sqlite:///{jip.data_dir / 'index.sqlite3'}")
    build_index(engine, instances=3000, studies=1)
    engine.dispose()
    r = findscu(
        Loaded(jip), tmp_path, "-S", "QueryRetrieveLevel=IMAGE", "SOPInstanceUID",
        extra=("--cancel", "1"),
    )  # fmt: skip
    assert r.returncode == 0, r.output
    assert "Cancel" in r.output, r.output
    assert 1 <= len(r.answers) < 3000


def test_multi_valued_attribute_matches_if_any_value_does(loaded: Loaded, tmp_path: Path) -> None:
    """PixelSpacing (0.7\\0.7) lives only in the flattened tags: one matching value is
    enough (PS3.4 C.2.2.2)."""
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=IMAGE", "PatientID=PID2",
                "PixelSpacing=0.7", "SOPInstanceUID")  # fmt: skip
    assert r.returncode == 0, r.output
    assert len(r.answers) == 2
    r = findscu(loaded, tmp_path, "-S", "QueryRetrieveLevel=IMAGE", "PatientID=PID2",
                "PixelSpacing=0.5", "SOPInstanceUID")  # fmt: skip
    assert r.returncode == 0 and r.answers == [], r.output
