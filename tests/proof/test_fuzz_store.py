"""Hostile data sets over C-STORE (raw sockets): huge or lying tag lengths, truncation,
garbage, missing or path-like UIDs. Each gets a failure status (or an abort), nothing is
written, and the listener keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import JipProcess
from tests.proof import pdus
from tests.proof.helpers import object_files
from tests.proof.netcheck import echo_ok, rss_mb

CT = pdus.CT_STORAGE.encode()
GOOD_UID = "1.2.826.0.1.3680043.9.7777.1"


def _header(sop_uid: str = GOOD_UID) -> bytes:
    return (
        pdus.explicit(0x0008, 0x0016, "UI", CT)
        + pdus.explicit(0x0008, 0x0018, "UI", sop_uid.encode())
        + pdus.explicit(0x0010, 0x0020, "LO", b"FUZZ")
        + pdus.explicit(0x0020, 0x000D, "UI", b"1.2.826.0.1.3680043.9.7777.2")
        + pdus.explicit(0x0020, 0x000E, "UI", b"1.2.826.0.1.3680043.9.7777.3")
    )


HOSTILE_DATASETS = {
    "huge_tag_length": _header() + pdus.explicit(0x0040, 0xA160, "UT", b"abcd", length=0xFFFFFFF0),
    "short_length_lies": _header() + pdus.explicit(0x0008, 0x0060, "CS", b"CT", length=0x7FFF),
    "pixel_data_lies": _header() + pdus.explicit(0x7FE0, 0x0010, "OW", b"\x00" * 64, 1 << 30),
    "truncated_mid_element": _header()[:-7],
    "unterminated_sequence": _header()
    + pdus.explicit(0x0008, 0x1140, "SQ", b"\xfe\xff\x00\xe0\xff\xff\xff\xff", 0xFFFFFFFF),
    "garbage": b"\x13\x37" * 300,
    "empty": b"",
    "missing_sop_uid": pdus.explicit(0x0008, 0x0016, "UI", CT),
    "uid_with_path": _header("1.2.3/../../../../tmp/jip-evil"),
    "uid_with_nul_and_slash": _header("1.2.3\x00/etc/passwd"),
}


@pytest.fixture
def jip(hostile_jip: JipProcess) -> Iterator[JipProcess]:
    before_rss = rss_mb(hostile_jip.proc.pid)
    before_objects = len(object_files(hostile_jip))
    yield hostile_jip
    assert hostile_jip.proc.poll() is None
    assert len(object_files(hostile_jip)) == before_objects, "nothing may be written"
    assert echo_ok(hostile_jip.dicom_port)
    assert rss_mb(hostile_jip.proc.pid) < before_rss + 100


@pytest.mark.parametrize("name", list(HOSTILE_DATASETS), ids=list(HOSTILE_DATASETS))
def test_hostile_dataset_fails_cleanly(jip: JipProcess, name: str) -> None:
    status = pdus.store_over_raw_socket(jip.dicom_port, HOSTILE_DATASETS[name], GOOD_UID)
    assert status is None or status != 0x0000, f"{name} must not be stored (status {status})"


def test_well_formed_raw_store_succeeds(hostile_jip: JipProcess) -> None:
    """The raw builder itself is right: a small valid data set is stored."""
    dataset = _header("1.2.826.0.1.3680043.9.7777.99") + pdus.explicit(0x0008, 0x0060, "CS", b"OT")
    before = len(object_files(hostile_jip))
    status = pdus.store_over_raw_socket(
        hostile_jip.dicom_port, dataset, "1.2.826.0.1.3680043.9.7777.99"
    )
    assert status == 0x0000
    assert len(object_files(hostile_jip)) == before + 1
    assert not list((hostile_jip.data_dir.parent).glob("**/jip-evil"))
