"""Bad input over C-STORE, sent with a raw pynetdicom SCU that passes the bytes through
unchanged: each gets a DICOM failure status, nothing is written, and the listener keeps
serving. Runs on both backend combos."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.backends.conftest import Site

UNKNOWN_TS = "1.2.840.99999.1.2"
SUCCESS, MISMATCH, CANNOT_UNDERSTAND = 0x0000, 0xA900, 0xC000


def _meta_len(data: bytes) -> int:
    return 132 + 12 + int.from_bytes(data[140:144], "little")


def _good() -> Dataset:
    return next(make_series(SeriesSpec(slices=1, size=16)))


def _with_body(good: bytes, body: bytes) -> bytes:
    """The good object's file meta (so the request names valid UIDs) with another body."""
    return good[: _meta_len(good)] + body


def bad_objects() -> dict[str, tuple[bytes, int]]:
    """name -> (Part 10 bytes as sent, expected status)."""
    ds = _good()
    good = dataset_bytes(ds)
    body = good[_meta_len(good) :]
    cases: dict[str, tuple[bytes, int]] = {
        "non-DICOM bytes": (
            _with_body(good, b"this is not DICOM at all\n" * 40),
            CANNOT_UNDERSTAND,
        ),
        "empty dataset": (_with_body(good, b""), CANNOT_UNDERSTAND),
        "truncated": (good[: len(good) - 700], CANNOT_UNDERSTAND),
        "huge length": (
            good + struct.pack("<HH2sHI", 0x7FE1, 0x0010, b"OB", 0, 0xFFFFFFF0) + b"abc",
            CANNOT_UNDERSTAND,
        ),
        "huge length in header": (
            _with_body(good, struct.pack("<HH2sHI", 0x0008, 0x0005, b"UT", 0, 0x7FFFFFF0) + body),
            CANNOT_UNDERSTAND,
        ),
    }
    missing = _good()
    del missing.StudyInstanceUID
    del missing.SeriesInstanceUID
    cases["missing UIDs"] = (dataset_bytes(missing), CANNOT_UNDERSTAND)

    path_uid = _good()
    path_uid.SOPInstanceUID = "1.2.3/../../../etc/passwd"
    path_uid.file_meta.MediaStorageSOPInstanceUID = path_uid.SOPInstanceUID
    cases["UID with path characters"] = (dataset_bytes(path_uid), CANNOT_UNDERSTAND)

    # meta (so the C-STORE request) of one object, dataset of a changed copy
    for name, keyword, value in [
        ("instance UID differs from request", "SOPInstanceUID", "1.2.3.4.5.6.7"),
        ("SOP class differs from request", "SOPClassUID", MRImageStorage),
    ]:
        ds = _good()
        announced = dataset_bytes(ds)
        setattr(ds, keyword, value)
        actual = dataset_bytes(ds)
        cases[name] = (_with_body(announced, actual[_meta_len(actual) :]), MISMATCH)
    return cases


@pytest.fixture
def chunked_send() -> Iterator[None]:
    """Make pynetdicom send a file's bytes after the meta as they are (no re-encoding)."""
    old = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    yield
    _config.STORE_SEND_CHUNKED_DATASET = old


def _associate(site: Site) -> Association:
    ae = AE(ae_title="BADSCU")
    ae.add_requested_context(Verification)
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    ae.add_requested_context(MRImageStorage, [UNKNOWN_TS])
    assoc = ae.associate("127.0.0.1", site.jip.dicom_port, ae_title="JIP")
    assert assoc.is_established
    return assoc


def _status(assoc: Association, path: Path) -> int:
    rsp = assoc.send_c_store(path)
    assert "Status" in rsp, "no C-STORE response (association aborted?)"
    return int(rsp.Status)


def test_bad_c_store_input(combo_site: Site, tmp_path: Path, chunked_send: None) -> None:
    site = combo_site
    before, keys_before = site.counts()["instances"], set(site.store.keys())
    assoc = _associate(site)
    try:
        # a transfer syntax JIP does not know is refused at negotiation
        assert [cx.abstract_syntax for cx in assoc.rejected_contexts] == [MRImageStorage]
        got = {}
        for n, (name, (data, _)) in enumerate(bad_objects().items()):
            path = tmp_path / f"bad{n}.dcm"
            path.write_bytes(data)
            got[name] = _status(assoc, path)
        assert got == {name: want for name, (_, want) in bad_objects().items()}
        assert site.counts()["instances"] == before
        assert set(site.store.keys()) == keys_before
        if site.settings.store_backend == "filesystem":
            assert not any((site.settings.data_dir / "objects" / ".tmp").iterdir())

        # same association, then a fresh one: still serving
        good = tmp_path / "good.dcm"
        good.write_bytes(dataset_bytes(_good()))
        assert _status(assoc, good) == SUCCESS
    finally:
        assoc.release()
    assoc = _associate(site)
    try:
        assert assoc.send_c_echo().Status == SUCCESS
    finally:
        assoc.release()
    assert site.counts()["instances"] == before + 1
    assert len(set(site.store.keys()) - keys_before) == 1
