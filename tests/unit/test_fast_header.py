"""The raw-bytes header reader gives exactly what pydicom gives, or steps aside."""

from __future__ import annotations

import dataclasses
import json
from io import BytesIO
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from jip.dicom import fast_header, parse
from jip.errors import DicomError


def _part10(ds: Dataset, syntax: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _dataset(**extra: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P1"
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SliceThickness = "2.50"
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.InstanceNumber = "7"
    ds.Rows = 4
    ds.Columns = 4
    ds.PixelRepresentation = 1
    ds.SmallestImagePixelValue = -5
    ds.RescaleSlope = "1"
    ds.WindowCenter = ["40", "400"]
    ds.StudyDate = ""
    ds.ReferencedImageSequence = Sequence([Dataset()])
    ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = generate_uid()
    for k, v in extra.items():
        setattr(ds, k, v)
    return ds


def _pydicom_values(data: bytes) -> dict[str, object]:
    return parse.element_values(parse.read_header(data))


def _fast_values(data: bytes) -> dict[str, object] | None:
    meta = fast_header.read_meta(data)
    assert meta is not None
    return fast_header.element_values(data, *meta)


def _test_files() -> list[Path]:
    """pydicom's bundled test files (listed locally: its finder tries to download more)."""
    folder = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_agrees_with_pydicom_on_its_test_files() -> None:
    covered = 0
    for path in _test_files():
        data = path.read_bytes()
        meta = fast_header.read_meta(data)
        if meta is None:
            continue
        fast = fast_header.element_values(data, *meta)
        if fast is None:
            continue
        covered += 1
        assert _same(fast, _pydicom_values(data)), path.name
    assert covered >= 50  # the plain case really is the common case


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_agrees_on_sequences_multi_values_and_ambiguous_vr(syntax: str) -> None:
    data = _part10(_dataset(), syntax)
    fast = _fast_values(data)
    assert fast is not None
    assert fast["SmallestImagePixelValue"] == -5  # "US or SS" resolved by the pixel representation
    assert fast["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert "ReferencedImageSequence" not in fast
    assert _same(fast, _pydicom_values(data))


def test_utf8_character_set() -> None:
    data = _part10(
        _dataset(SpecificCharacterSet="ISO_IR 192", PatientName="Müller^Zoë", InstitutionName="Å"),
        ExplicitVRLittleEndian,
    )
    fast = _fast_values(data)
    assert fast is not None and fast["PatientName"] == "Müller^Zoë"
    assert _same(fast, _pydicom_values(data))


def test_other_character_sets_and_big_endian_take_the_pydicom_path() -> None:
    latin2 = _part10(_dataset(SpecificCharacterSet="ISO_IR 101"), ExplicitVRLittleEndian)
    assert _fast_values(latin2) is None
    big = Path(str(get_testdata_file("MR_small_bigendian.dcm"))).read_bytes()
    meta = fast_header.read_meta(big)
    assert meta is not None and fast_header.element_values(big, *meta) is None


def _outcome(build: object) -> str:
    try:
        return json.dumps(dataclasses.asdict(build()), sort_keys=True)  # type: ignore[operator]
    except DicomError as exc:
        return f"refused: {exc.message}"


def test_parse_instance_is_the_same_on_both_paths() -> None:
    """The index rows (or the refusal) do not depend on which reader ran."""
    compared = 0
    for name in _test_files():
        data = name.read_bytes()
        meta = fast_header.read_meta(data)
        if meta is None or fast_header.element_values(data, *meta) is None:
            continue
        fast = _outcome(lambda data=data: parse.parse_instance(data))
        slow = _outcome(lambda data=data: parse.parse_with_pydicom(data))
        assert fast == slow, name
        compared += 1
    assert compared >= 50


def test_truncated_object_is_still_refused() -> None:
    data = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    with pytest.raises(DicomError, match="truncated"):
        parse.parse_instance(data[: len(data) - 100])


def test_uid_check_has_no_regex_loopholes() -> None:
    for good in ("1.2.3", "0", "1.2.840.10008.5.1.4.1.1.2"):
        assert parse.is_valid_uid(good)
    for bad in ("", "1..2", ".1", "1.", "1.2\n", "1.2/..", "１.２", "1" * 65, None, 12):
        assert not parse.is_valid_uid(bad)
    assert pydicom.uid.UID("1.2.3").is_valid
