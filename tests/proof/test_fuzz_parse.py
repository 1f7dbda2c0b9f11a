"""The parsing boundary under hostile bytes: explicit broken objects and a bounded
atheris run (the long run is ``scripts/fuzz_parse.py -max_total_time=...``)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from jip.dicom.parse import parse_instance
from jip.errors import DicomError
from jip.synthetic import SeriesSpec, dataset_bytes, make_series

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def valid() -> bytes:
    return dataset_bytes(next(make_series(SeriesSpec(slices=1, size=8))))


def _meta_end(blob: bytes) -> int:
    pos = 132
    while struct.unpack_from("<H", blob, pos)[0] == 0x0002:
        vr = blob[pos + 4 : pos + 6]
        if vr in (b"OB", b"UN"):
            pos += 12 + struct.unpack_from("<I", blob, pos + 8)[0]
        else:
            pos += 8 + struct.unpack_from("<H", blob, pos + 6)[0]
    return pos


def test_valid_object_parses(valid: bytes) -> None:
    assert parse_instance(valid).rows == 8


def broken_variants(blob: bytes) -> dict[str, bytes]:
    end = _meta_end(blob)
    return {
        "no_prefix": b"\x00" * 128 + b"XXXX" + blob[132:],
        "truncated_in_meta": blob[: end - 5],
        "meta_only": blob[:end],
        "meta_element_huge": blob[:132]
        + struct.pack("<HH", 2, 1)
        + b"OB\x00\x00"
        + struct.pack("<I", 0xFFFFFFF0)
        + b"\x00\x01",
        "truncated_pixel_data": blob[:-10],
        "huge_tag_length": blob[:end]
        + struct.pack("<HH", 0x0010, 0x0010)
        + b"UT\x00\x00"
        + struct.pack("<I", 0x7FFFFFF0)
        + b"x" * 8,
        "deep_nesting": blob[:end]
        + (
            struct.pack("<HH", 0x0008, 0x1140)
            + b"SQ\x00\x00"
            + b"\xff" * 4
            + b"\xfe\xff\x00\xe0"
            + b"\xff" * 4
        )
        * 64,
        "garbage_after_meta": blob[:end] + b"\xde\xad\xbe\xef" * 7,
    }


@pytest.mark.parametrize(
    "name", list(broken_variants(b"\x00" * 256 + b"\x02\x00\x00\x00" * 4).keys())
)
def test_broken_object_is_a_dicom_error(valid: bytes, name: str) -> None:
    with pytest.raises(DicomError):
        parse_instance(broken_variants(valid)[name])


def test_path_characters_in_uids_are_refused(valid: bytes) -> None:
    import pydicom

    from jip.synthetic import dataset_bytes as to_bytes

    ds = pydicom.dcmread(__import__("io").BytesIO(valid))
    for bad in ("1.2.3/../../etc", "..", "1.2.3\\x", "1.2.3 4"):
        ds.SeriesInstanceUID = bad
        with pytest.raises(DicomError):
            parse_instance(to_bytes(ds))


@pytest.mark.slow
def test_atheris_bounded_run_finds_no_crash(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fuzz_parse.py"),
            "-runs=2000",
            "-seed=1",
            "-max_len=4096",
            "-timeout=20",
            str(tmp_path / "corpus"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert "Done 2000 runs" in r.stderr
