"""QIDO-RS query parameters (PS3.18 8.3.4): what is matched, returned, ignored or refused."""

from __future__ import annotations

import pytest

from jip.dicomweb.qido_params import QidoQuery, parse_query
from jip.errors import InvalidInputError
from jip.index.attributes import Level


def _parse(level: Level, *items: tuple[str, str]) -> QidoQuery:
    return parse_query(list(items), level, {}, max_results=100)


def test_includefield_of_a_lower_level_is_not_returned() -> None:
    """PS3.18 10.6.3.3: series/instance attributes named in a study search's includefield
    are not returned (an empty Modality element broke OHIF's study list, which asks for
    00080060 in every study search)."""
    q = _parse(Level.STUDY, ("includefield", "00081030,00080060,00080090,00100030"))
    assert "Modality" not in q.request.returns
    assert {"StudyDescription", "ReferringPhysicianName", "PatientBirthDate"} <= set(
        q.request.returns
    )
    q = _parse(Level.SERIES, ("includefield", "SOPClassUID"), ("includefield", "Rows,StudyID"))
    assert "SOPClassUID" not in q.request.returns and "Rows" not in q.request.returns
    assert "StudyID" in q.request.returns
    # attributes without an index column keep coming from a representative instance
    q = _parse(Level.SERIES, ("includefield", "SliceLocation"))
    assert "SliceLocation" in q.request.returns


@pytest.mark.parametrize("name", ["_", "NoSuchAttribute", "access_token", "00100099", "Foo.Bar"])
def test_unknown_parameters_are_ignored_with_a_warning(name: str) -> None:
    """PS3.18 8.3: the origin server shall ignore unsupported query parameters (a client's
    cache-buster, a token, a misspelt keyword) and may say so."""
    q = _parse(Level.STUDY, (name, "1"), ("PatientID", "P1"))
    assert q.request.matches == {"PatientID": "P1"}
    (warning,) = q.warnings
    assert "not supported and were ignored" in warning and name in warning


def test_warning_text_is_header_safe() -> None:
    """Parameter names end up in a Warning header: no quotes, backslashes, control or
    non-ASCII characters (they made the response fail with 500 before)."""
    q = _parse(Level.STUDY, ('a"b\\c\r\nX-Evil: 1', "1"), ("\u20ac" * 100, "1"))
    (warning,) = q.warnings
    assert warning.isascii() and warning.isprintable()
    assert '"' not in warning and "\\" not in warning
    warning.encode("latin-1")


def test_sequence_paths() -> None:
    q = _parse(Level.SERIES, ("RequestAttributesSequence.ScheduledProcedureStepID", "1"))
    assert "RequestAttributesSequence.ScheduledProcedureStepID" in q.warnings[0]
    q = _parse(Level.SERIES, ("00400275.00400009", "1"))
    assert "00400275.00400009" in q.warnings[0]
    # a path with a step that names no attribute is no supported parameter: ignored
    q = _parse(Level.SERIES, ("RequestAttributesSequence.\u20ac", "1"))
    assert "ignored" in q.warnings[0] and q.warnings[0].isascii()
    # ... and no valid includefield value: 400
    with pytest.raises(InvalidInputError, match="unknown DICOM attribute"):
        _parse(Level.SERIES, ("includefield", 'RequestAttributesSequence."x"'))


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("fuzzymatching", "Only literal matching has been performed."),
        ("emptyvaluematching", "Empty Value Matching has not been performed."),
        ("multiplevaluematching", "Multiple Value Matching has not been performed."),
    ],
)
def test_matching_options_are_accepted_and_not_performed(name: str, said: str) -> None:
    """PS3.18 8.3.4.2/5/6: origin servers accept these; unsupported: a Warning."""
    (warning,) = _parse(Level.STUDY, (name, "TRUE")).warnings
    assert warning == f"The {name} parameter is not supported. {said}"
    assert _parse(Level.STUDY, (name, "false")).warnings == []
    with pytest.raises(InvalidInputError, match=name):
        _parse(Level.STUDY, (name, "maybe"))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (("includefield", "Bogus"), "unknown DICOM attribute"),
        (("limit", "-1"), "limit"),
        (("offset", "x"), "offset"),
    ],
)
def test_supported_parameters_with_bad_values_are_refused(
    item: tuple[str, str], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _parse(Level.STUDY, item)


def test_offsets_past_any_index_are_kept_within_sql_integers() -> None:
    """An offset of 10**23 is a valid uint: it finds nothing (it overflowed SQLite)."""
    assert _parse(Level.STUDY, ("offset", "1" + "0" * 23)).request.offset == 2**62
