"""C-FIND identifiers -> searches, and index rows -> answers (no network needed)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from jip.dicom.find import (
    FIND_SOP_CLASSES,
    IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
    _Failure,
    answer,
    parse_identifier,
)
from jip.index.attributes import Level

PATIENT_ROOT, STUDY_ROOT = list(FIND_SOP_CLASSES)


def _ident(level: str, **keys: object) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


def test_matching_and_return_keys_are_split() -> None:
    ident = _ident("STUDY", PatientName="Doe*", StudyDate="20240101-", StudyInstanceUID="",
                   ModalitiesInStudy=["CT", "MR"])  # fmt: skip
    level, request, wanted = parse_identifier(ident, STUDY_ROOT)
    assert level is Level.STUDY
    assert request.matches == {
        "PatientName": "Doe*",
        "StudyDate": "20240101-",
        "ModalitiesInStudy": "CT\\MR",
    }
    assert "StudyInstanceUID" in request.returns
    assert {kw for _, kw, _ in wanted} >= {"PatientName", "StudyInstanceUID", "QueryRetrieveLevel"}


def test_lower_level_keys_are_answered_empty_not_matched() -> None:
    ident = _ident("STUDY", Modality="CT", StudyInstanceUID="")
    _, request, wanted = parse_identifier(ident, STUDY_ROOT)
    assert "Modality" not in request.matches
    ds = answer({"StudyInstanceUID": "1.2.3"}, Level.STUDY, wanted, "JIP")
    assert ds.Modality in ("", None)
    assert ds.StudyInstanceUID == "1.2.3"


@pytest.mark.parametrize(
    ("model", "level"), [(STUDY_ROOT, "PATIENT"), (PATIENT_ROOT, "FRAME"), (PATIENT_ROOT, "")]
)
def test_levels_outside_the_model_fail(model: str, level: str) -> None:
    with pytest.raises(_Failure) as err:
        parse_identifier(_ident(level, PatientID=""), model)
    assert err.value.status == IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS


def test_answer_carries_requested_keys_and_service_attributes() -> None:
    ident = _ident("SERIES", SeriesInstanceUID="", RetrieveAETitle="", SliceThickness="",
                   NumberOfSeriesRelatedInstances="", PatientName="")  # fmt: skip
    ident.ReferencedSeriesSequence = Sequence()
    _, _, wanted = parse_identifier(ident, PATIENT_ROOT)
    row = {
        "SeriesInstanceUID": "1.2.3.4",
        "SliceThickness": 0.30000000000000004,
        "NumberOfSeriesRelatedInstances": 12,
        "PatientName": "Müller^Jörg",
    }
    ds = answer(row, Level.SERIES, wanted, "JIPAE")
    assert ds.QueryRetrieveLevel == "SERIES"
    assert ds.RetrieveAETitle == "JIPAE"
    assert float(ds.SliceThickness) == pytest.approx(0.3)
    assert len(str(ds["SliceThickness"].value)) <= 16  # a valid DS
    assert ds.NumberOfSeriesRelatedInstances == 12
    assert ds.SpecificCharacterSet == "ISO_IR 192"  # non-ASCII name
    assert ds.ReferencedSeriesSequence == Sequence()
