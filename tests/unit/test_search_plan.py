"""The search plan selects each index column once and still answers every name."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from jip.dicomweb.qido_params import defaults
from jip.index.attributes import Level
from jip.index.models import Base, Patient, Series, Study
from jip.index.search import SearchRequest, cached_plan, page_of, plan, rows_of


@pytest.mark.parametrize("level", [Level.STUDY, Level.SERIES, Level.IMAGE])
def test_each_column_selected_once(level: Level) -> None:
    request = SearchRequest(level, returns=defaults(level, {}), limit=10)
    p = plan(request, dialect="sqlite")
    sources = Counter(
        (c.element.table.name, c.element.key)
        for c in p.statement.selected_columns
        if hasattr(c, "element") and hasattr(c.element, "table")
    )
    assert sources and max(sources.values()) == 1
    if level is not Level.STUDY:  # the row key doubles as the level's unique key
        assert p.aliases[f"__{_UNIQUE[level]}"] == "__key"


_UNIQUE = {Level.SERIES: "SeriesInstanceUID", Level.IMAGE: "SOPInstanceUID"}


def test_rows_and_pages_answer_every_name() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        _seed(session)
        request = SearchRequest(Level.SERIES, returns=defaults(Level.SERIES, {}), limit=10)
        p = plan(request, dialect="sqlite")
        (row,) = list(rows_of(session, p, Level.SERIES))
        assert row["SeriesInstanceUID"] == row["__SeriesInstanceUID"] == row["__key"] == "1.2.3"
        assert row["StudyInstanceUID"] == row["__StudyInstanceUID"] == "1.2"
        page = page_of(session, p, Level.SERIES)
        names = set(page.keys) | set(page.aliases)
        assert {"SeriesInstanceUID", "StudyInstanceUID", "__SeriesInstanceUID"} <= names
        assert all(target in page.keys for target in page.aliases.values())


def _now() -> datetime:
    return datetime(2025, 1, 1)


def test_a_plan_asked_again_runs_its_recorded_sql_on_current_data() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        _seed(session)
        request = SearchRequest(
            Level.SERIES, {"Modality": "CT"}, defaults(Level.SERIES, {}), limit=10
        )
        p = cached_plan(request, dialect="sqlite")
        first = page_of(session, p, Level.SERIES)
        assert p.prepared is not None and p.plain_columns  # text and integers only
        same = SearchRequest(Level.SERIES, {"Modality": "CT"}, defaults(Level.SERIES, {}), limit=10)
        assert cached_plan(same, dialect="sqlite") is p
        session.add(_series("1.2.4", "1.2"))  # the SQL is kept, never the rows
        session.flush()
        again = page_of(session, p, Level.SERIES)
        assert again.keys == first.keys
        assert [r[0] for r in again.rows] == ["1.2.4", "1.2.3"]
        assert [tuple(r) for r in again.rows][1] == tuple(first.rows[0])
        other = SearchRequest(Level.SERIES, {"Modality": "MR"}, defaults(Level.SERIES, {}))
        assert cached_plan(other, dialect="sqlite") is not p
        assert page_of(session, cached_plan(other, dialect="sqlite"), Level.SERIES).rows == []


def test_json_columns_keep_their_result_processing() -> None:
    request = SearchRequest(Level.IMAGE, returns=["ImageType"], all_tags=True, limit=5)
    p = plan(request, dialect="sqlite")
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        page_of(session, p, Level.IMAGE)
    assert p.plain_columns is False and p.prepared is None


def _study(uid: str) -> Study:
    return Study(
        study_uid=uid,
        patient_pk=1,
        study_date="20240101",
        modalities="CT",
        num_series=1,
        num_instances=3,
        updated_at=_now(),
    )


def _seed(session: Session) -> None:
    """One patient, study 1.2 and its series 1.2.3."""
    session.add(Patient(id=1, patient_id="P1", patient_name="A^B", birth_date="", sex="F"))
    session.add(_study("1.2"))
    session.add(_series("1.2.3", "1.2"))
    session.flush()


def _series(uid: str, study: str) -> Series:
    return Series(
        series_uid=uid,
        study_uid=study,
        modality="CT",
        study_date="20240101",
        num_instances=3,
        first_received=_now(),
        last_received=_now(),
    )
