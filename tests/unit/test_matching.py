"""DICOM matching rules (PS3.4 C.2.2.2) on a real SQLite index built by the real
ingest path (parse -> record_instance)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jip.dicom.parse import parse_instance
from jip.errors import InvalidInputError
from jip.index.attributes import Level
from jip.index.db import make_engine, make_sessionmaker, migrate
from jip.index.records import record_instance
from jip.index.search import SearchRequest, search
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.servers import start_postgres

STUDIES = {
    "A": dict(patient_id="PID1", patient_name="Doe^John", study_date="20240115", modality="CT"),
    "B": dict(patient_id="pid2", patient_name="doe^jane", study_date="20240301", modality="CT"),
    "C": dict(patient_id="P3", patient_name="Smith^Anna", study_date="20231231", modality="US"),
    "D": dict(patient_id="P4", patient_name="Müller^Jörg", study_date="", modality="MR"),
    "E": dict(patient_id="P5", patient_name="Per%cent_^X", study_date="20200101", modality="CR"),
}
DESCRIPTIONS = {"C": "Abd*men[1]", "E": "Per_cent"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[sessionmaker[Session], dict[str, Any]]]:
    """The same rows in both index backends: SQLite (GLOB/LIKE) and PostgreSQL
    (LIKE/ILIKE) spell the matching differently."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{Path(tmp_path_factory.mktemp('idx')) / 'index.sqlite3'}"
        else:
            server = start_postgres()
            stack.callback(server.stop)
            url = server.create_database("matching")
        yield from _index(url)


def _index(url: str) -> Iterator[tuple[sessionmaker[Session], dict[str, Any]]]:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    uids: dict[str, Any] = {}
    now = datetime(2025, 1, 1)
    with sessions.begin() as s:
        for name, kw in STUDIES.items():
            specs = [
                SeriesSpec(slices=2, size=4, description=DESCRIPTIONS.get(name, "Synthetic"), **kw)
            ]  # type: ignore[arg-type]
            if name == "A":  # a second series, MR, in the same study
                specs.append(
                    SeriesSpec(slices=3, size=4, series_number=2, **{**kw, "modality": "MR"})
                )  # type: ignore[arg-type]
            study_uid = ""
            for spec in specs:
                spec.study_uid = study_uid
                for ds in make_series(spec):
                    ds.SeriesDate = "20190505" if name == "C" else spec.study_date
                    parsed = parse_instance(dataset_bytes(ds))
                    record_instance(s, parsed=parsed, key="0" * 64, size=1, now=now)
                    study_uid = parsed.study_uid
                    uids.setdefault(name, {"study": study_uid, "series": set()})
                    uids[name]["series"].add(parsed.series_uid)
    yield sessions, uids
    engine.dispose()


def find(
    index: Any, level: Level, returns: list[str] | None = None, **matches: str
) -> list[dict[str, Any]]:
    sessions, _ = index
    with sessions() as s:
        rows, _unsupported = search(
            s, SearchRequest(level=level, matches=matches, returns=returns or [])
        )
        return list(rows)


def studies(index: Any, **matches: str) -> set[str]:
    _, uids = index
    by_uid = {v["study"]: k for k, v in uids.items()}
    return {by_uid[r["__key"]] for r in find(index, Level.STUDY, **matches)}


def test_single_value_is_case_sensitive(index: Any) -> None:
    assert studies(index, PatientID="PID1") == {"A"}
    assert studies(index, PatientID="pid1") == set()
    assert len(find(index, Level.SERIES, Modality="CT")) == 2
    assert find(index, Level.SERIES, Modality="ct") == []


def test_person_names_match_case_insensitively(index: Any) -> None:
    assert studies(index, PatientName="DOE^JOHN") == {"A"}
    assert studies(index, PatientName="doe*") == {"A", "B"}
    assert studies(index, PatientName="*ANNA") == {"C"}
    assert studies(index, PatientName="D?E^J*") == {"A", "B"}
    assert studies(index, PatientName="Müller*") == {"D"}


def test_wildcards_and_literal_pattern_characters(index: Any) -> None:
    # *, ? are wildcards; [ ] % _ are plain characters in DICOM
    assert studies(index, PatientName="Per%*") == {"E"}
    assert studies(index, PatientName="Per_cent*") == set()
    assert studies(index, PatientName="Pe?%cent_^X") == {"E"}
    series = find(index, Level.SERIES, SeriesDescription="Abd*men[1]")
    assert len(series) == 1
    assert find(index, Level.SERIES, SeriesDescription="Abd*men[1") == []
    assert len(find(index, Level.SERIES, SeriesDescription="Per_cent")) == 1
    assert find(index, Level.SERIES, SeriesDescription="PerXcent") == []
    assert find(index, Level.SERIES, SeriesDescription="abd*") == []  # LO: case-sensitive


def test_universal_matching(index: Any) -> None:
    assert studies(index, PatientName="") == set(STUDIES)
    assert studies(index, PatientName="*") == set(STUDIES)
    assert studies(index, StudyInstanceUID="*") == set(STUDIES)


def test_uid_lists(index: Any) -> None:
    _, uids = index
    a, c = uids["A"]["study"], uids["C"]["study"]
    assert studies(index, StudyInstanceUID=f"{a}\\{c}") == {"A", "C"}
    assert studies(index, StudyInstanceUID=f"{a},{c}") == {"A", "C"}
    assert studies(index, StudyInstanceUID=a) == {"A"}
    with pytest.raises(InvalidInputError, match="not a valid UID"):
        studies(index, StudyInstanceUID="1.2.abc")
    with pytest.raises(InvalidInputError, match="not a valid UID"):
        studies(index, StudyInstanceUID="1.2.3*")


def test_date_ranges(index: Any) -> None:
    assert studies(index, StudyDate="20240101-20240201") == {"A"}
    assert studies(index, StudyDate="20240101-") == {"A", "B"}
    assert studies(index, StudyDate="-20231231") == {"C", "E"}  # empty date D never matches
    assert studies(index, StudyDate="20240301") == {"B"}
    assert studies(index, StudyDate="20240301-20240101") == set()
    assert studies(index, StudyDate="20240115-20240115") == {"A"}


def test_time_ranges_are_inclusive_of_finer_values(index: Any) -> None:
    assert studies(index, StudyTime="1000-1100") == set(STUDIES)
    assert studies(index, StudyTime="-1015") == set(STUDIES)  # 101500 is within 10:15
    assert studies(index, StudyTime="1016-") == set()


@pytest.mark.parametrize(
    "value", ["2024-01-01", "20240230", "2024", "-", "20240101-20240201-20240301", "abc"]
)
def test_bad_dates_are_rejected(index: Any, value: str) -> None:
    with pytest.raises(InvalidInputError, match="StudyDate"):
        studies(index, StudyDate=value)


def test_numbers_and_lists(index: Any) -> None:
    assert len(find(index, Level.SERIES, SeriesNumber="2")) == 1
    assert len(find(index, Level.SERIES, Modality="US\\CR")) == 2
    with pytest.raises(InvalidInputError, match="not a number"):
        find(index, Level.SERIES, SeriesNumber="two")
    with pytest.raises(InvalidInputError, match="out of range"):  # was an OverflowError
        find(index, Level.SERIES, SeriesNumber="9" * 30)


def test_modalities_in_study(index: Any) -> None:
    assert studies(index, ModalitiesInStudy="MR") == {"A", "D"}
    assert studies(index, ModalitiesInStudy="CT\\US") == {"A", "B", "C"}
    row = find(index, Level.STUDY, ["ModalitiesInStudy"], PatientID="PID1")[0]
    assert row["ModalitiesInStudy"] == ["CT", "MR"]


def test_unindexed_attributes_match_on_flattened_tags(index: Any) -> None:
    # SeriesDate has no column: matched on the instances' tags, at any level
    assert len(find(index, Level.SERIES, SeriesDate="20190505")) == 1
    assert studies(index, SeriesDate="20190101-20191231") == {"C"}
    rows = find(index, Level.IMAGE, ["SliceLocation"], SliceLocation="2.5", PatientID="PID1")
    assert len(rows) == 2 and {r["SliceLocation"] for r in rows} == {2.5}
    # returned from a representative instance at series level
    rows = find(index, Level.SERIES, ["PixelSpacing"], PatientID="P3")
    assert rows[0]["PixelSpacing"] == [0.7, 0.7]


def test_lower_level_key_in_higher_level_search_is_an_error(index: Any) -> None:
    with pytest.raises(InvalidInputError, match="series-level attribute"):
        find(index, Level.STUDY, Modality="CT")


def test_order_limit_offset(index: Any) -> None:
    _, uids = index
    order = [r["__key"] for r in find(index, Level.STUDY)]
    assert order[:4] == [uids[k]["study"] for k in ("B", "A", "C", "E")]  # newest first
    sessions, _ = index
    with sessions() as s:
        page, _ = search(s, SearchRequest(level=Level.STUDY, limit=2, offset=1))
        assert [r["__key"] for r in page] == order[1:3]


def test_patient_level_counts(index: Any) -> None:
    rows = find(
        index,
        Level.PATIENT,
        [
            "NumberOfPatientRelatedStudies",
            "NumberOfPatientRelatedSeries",
            "NumberOfPatientRelatedInstances",
        ],
        PatientID="PID1",
    )
    assert len(rows) == 1
    r = rows[0]
    assert (r["NumberOfPatientRelatedStudies"], r["NumberOfPatientRelatedSeries"]) == (1, 2)
    assert r["NumberOfPatientRelatedInstances"] == 5


def test_returns_come_from_the_right_levels(index: Any) -> None:
    rows = find(
        index,
        Level.IMAGE,
        ["PatientName", "StudyDate", "Modality", "InstanceNumber", "SOPInstanceUID"],
        PatientID="P3",
    )
    assert len(rows) == 2
    assert {r["PatientName"] for r in rows} == {"Smith^Anna"}
    assert {r["Modality"] for r in rows} == {"US"}
    assert sorted(r["InstanceNumber"] for r in rows) == [1, 2]


def test_patient_counts_in_a_study_search(index: Any) -> None:
    rows = find(index, Level.STUDY, ["NumberOfPatientRelatedStudies"], PatientID="PID1")
    assert [r["NumberOfPatientRelatedStudies"] for r in rows] == [1]
