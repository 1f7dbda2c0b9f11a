"""The column-wise QIDO-RS encoder writes the same text as the row encoder."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from jip.dicomweb import column_json, qido, search_json
from jip.dicomweb.qido_params import defaults
from jip.index.attributes import Level

BASE = "http://127.0.0.1:8080/dicomweb"
BASES = [BASE, 'http://h/a%20b"c\\d/dicomweb', "http://[::1]:8080/dicomweb"]

# (label, candidate values): plain, empty, multi-valued, odd and non-ASCII text
VALUES: dict[str, list[Any]] = {
    "Modality": ["CT", "MR", "", None, "OT\\SR"],
    "SeriesDescription": ["Chest CT 5", 'quote " and \\ slash', "Ünïcødé", "", "\x01ctl", 'q"t'],
    "SeriesNumber": [1, 12, None, 0, -3],
    "NumberOfSeriesRelatedInstances": [5, 0, 110],
    "StudyDate": ["20240101", "", None],
    "StudyTime": ["101500", "101500.123", ""],
    "AccessionNumber": ["ACC1", "", None],
    "ModalitiesInStudy": ["CT\\MR", "CT", "", None, "CT\\\\MR", "\\CT", "CT\\", "\\", 'C"T\\MR'],
    "ReferringPhysicianName": ["Doctor^Ref", "Yamada^Tarou=山田^太郎=やまだ^たろう", "", "A\\B"],
    "PatientName": ["Mueller^Anna", "", None, "Smith^J=", "O'Neil^Ann", "Tab\tName", "100%^s"],
    "PatientID": ["PAT1", "P\\2", ""],
    "PatientBirthDate": ["19700101", ""],
    "PatientSex": ["M", "F", "O", ""],
    "StudyID": ["921", ""],
    "StudyDescription": ["Head study", "", None],
    "NumberOfStudyRelatedSeries": [1, 3],
    "NumberOfStudyRelatedInstances": [5, 1000],
    "SliceThickness": [1.0, 0.625, None, 2.0],
}
UNIQUE = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
UIDS = ["1.2.3", "1.2.826.0.1.3680043.9.7433.5922", "1.2.3.4.5.6", '1.2"3']


def _rows(level: Level, returns: list[str], n: int, rng: random.Random, uniform: bool):
    """Uniform: each column draws from one or two of its candidates (so columns that are
    all plain, all needing escapes, all empty... each occur); else from all of them."""
    keys = ["__key", *[k for k in returns if k in VALUES]]
    keys += ["__StudyInstanceUID", "__SeriesInstanceUID"]
    if level is Level.IMAGE:
        keys.append("__SOPInstanceUID")
    candidates = {
        k: rng.sample(VALUES.get(k, UIDS), rng.randint(1, 2)) if uniform else VALUES.get(k, UIDS)
        for k in keys
    }
    tuples = []
    for _ in range(n):
        tuples.append(tuple(rng.choice(candidates[k]) for k in keys))
    return keys, tuples


TAGS: dict[str, list[Any]] = {  # attributes without a column, from instance tags
    "ImageType": [["ORIGINAL", "PRIMARY", "AXIAL"], ["DERIVED", ""], [], None, "X"],
    "PixelSpacing": [[0.7, 0.7], [1, 2.5], None],
    "SeriesDate": ["20240101", "", None],
    "BitsAllocated": [16, 8.0, None],
    "WindowCenter": [40.0, "40\\60", [40, 60], None],
    "OperatorsName": ["Op^One", ["A^B", "C^D"], "", None],
}


def _tags(n: int, rng: random.Random, uniform: bool) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        t = {k: (v[0] if uniform else rng.choice(v)) for k, v in TAGS.items()}
        out.append({k: v for k, v in t.items() if v is not None or rng.random() < 0.5})
    return out


def _by_row_encoder(keys, tuples, returns, level, tags=None, base=BASE, aliases=None):
    """What QIDO-RS answered before: dict rows as ``search.rows_of`` makes them."""
    encoder = search_json.RowEncoder(returns)
    out = []
    for n, t in enumerate(tuples):
        row: dict[str, Any] = dict(zip(keys, t, strict=True))
        row.update((a, row[k]) for a, k in (aliases or {}).items())
        for kw in returns:
            if kw not in row and kw not in ("RetrieveURL", "InstanceAvailability"):
                row[kw] = (tags[n] if tags else {}).get(kw)
        for kw in returns:
            if kw in ("RetrieveURL", "InstanceAvailability", "RetrieveAETitle"):
                row[kw] = None
        if "ModalitiesInStudy" in row:
            row["ModalitiesInStudy"] = [
                m for m in (row["ModalitiesInStudy"] or "").split("\\") if m
            ]
        out.append(qido._encode(encoder, row, level, base, all_tags=False))
    return out


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("level", [Level.STUDY, Level.SERIES, Level.IMAGE])
def test_same_text_as_the_row_encoder(level: Level, uniform: bool) -> None:
    rng = random.Random(level * 10 + uniform)
    returns = defaults(level, {}) + ["SliceThickness", "RetrieveAETitle", "SOPClassUID"]
    for n in range(80):
        base = BASES[n % len(BASES)]
        keys, tuples = _rows(level, returns, rng.randint(1, 40), rng, uniform)
        # UIDs selected once, answered under their keyword too (search.plan's aliases)
        aliases = {k: f"__{k}" for k in UNIQUE if f"__{k}" in keys} if n % 2 else None
        got = column_json.encode_rows(keys, tuples, returns, level, base, aliases=aliases)
        want = _by_row_encoder(keys, tuples, returns, level, base=base, aliases=aliases)
        assert got == want
        array = column_json.encode_array(keys, tuples, returns, level, base, aliases=aliases)
        assert array == "[" + ",".join(want) + "]"
        for text in got:
            json.loads(text)  # valid JSON


def test_edge_cases() -> None:
    assert column_json.encode_rows(["__key"], [], ["Modality"], Level.SERIES, BASE) == []
    assert column_json.encode_array(["__key"], [], ["Modality"], Level.SERIES, BASE) == "[]"
    assert column_json.encode_rows(["__key"], [("x",)], [], Level.SERIES, BASE) == ["{}"]
    # attributes without a column or lower-level ones are answered empty
    out = column_json.encode_rows(["__key"], [("x",)], ["SOPClassUID"], Level.SERIES, BASE)
    assert json.loads(out[0]) == {"00080016": {"vr": "UI"}}


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("level", [Level.SERIES, Level.IMAGE])
def test_tag_attributes_same_as_the_row_encoder(level: Level, uniform: bool) -> None:
    rng = random.Random(7 + level + uniform)
    returns = defaults(level, {}) + list(TAGS)
    for _ in range(100):
        keys, tuples = _rows(level, returns, rng.randint(1, 30), rng, uniform)
        tags = _tags(len(tuples), rng, uniform)
        got = column_json.encode_rows(keys, tuples, returns, level, BASE, tags=tags)
        assert got == _by_row_encoder(keys, tuples, returns, level, tags)
        for text in got:
            json.loads(text)


def test_escape_check_agrees_with_the_json_encoder() -> None:
    """The ASCII fast check and JSON escaping agree on every character."""
    samples = [chr(c) for c in range(0x80)] + ["ü", "山", "\u2028", "\ud800"]
    for ch in samples:
        for text in (ch, f"a{ch}b", f"Mü{ch}"):
            escapes = len(search_json._str(text)) != len(text) + 2
            assert column_json._needs_no_escape(text) is not escapes, repr(text)
