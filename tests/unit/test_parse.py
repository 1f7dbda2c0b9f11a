from __future__ import annotations

import pytest
from pydicom.data import get_testdata_file

from jip.dicom.parse import parse_instance
from jip.errors import DicomError
from jip.synthetic import SeriesSpec, dataset_bytes, make_series


def test_parse_synthetic() -> None:
    ds = next(make_series(SeriesSpec(slices=1, birth_date="19800601", study_date="20240101")))
    p = parse_instance(dataset_bytes(ds))
    assert p.modality == "CT" and p.patient_age == 43
    assert p.tags["Modality"] == "CT" and "PixelData" not in p.tags


@pytest.mark.parametrize("data", [b"", b"not dicom at all" * 10, b"\0" * 128 + b"DICM\x02"])
def test_garbage_rejected(data: bytes) -> None:
    with pytest.raises(DicomError):
        parse_instance(data)


def test_truncated_rejected() -> None:
    with open(get_testdata_file("rtplan_truncated.dcm"), "rb") as fh:  # type: ignore[arg-type]
        data = fh.read()
    with pytest.raises(DicomError):
        parse_instance(data[:200])


def test_path_uid_rejected() -> None:
    ds = next(make_series(SeriesSpec(slices=1)))
    ds.SeriesInstanceUID = "../../x"
    with pytest.raises(DicomError, match="Series Instance UID"):
        parse_instance(dataset_bytes(ds))
