"""C-ECHO and C-STORE against a real ``jip up`` with dcmtk's echoscu/storescu."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pydicom
from pydicom.data import get_testdata_file

from jip.disk_space import LOW_BYTES
from tests.conftest import BIN, JipProcess, object_files, tool_env

STORESCU = shutil.which("storescu") or "storescu"


def _storescu(
    jip: JipProcess, *files: Path, ts_flag: str = "-R"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STORESCU, ts_flag, "-aec", "JIP", "127.0.0.1", str(jip.dicom_port), *map(str, files)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_echoscu(jip: JipProcess) -> None:
    r = subprocess.run(
        ["echoscu", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr


def test_storescu_stores_exact_bytes_and_indexes(jip: JipProcess, ct_series: list[Path]) -> None:
    r = _storescu(jip, *ct_series)
    assert r.returncode == 0, r.stderr
    objects = object_files(jip.data_dir)
    assert len(objects) == len(ct_series)
    # bytes after the file meta are exactly the dataset storescu sent
    sent = {pydicom.dcmread(p).SOPInstanceUID: p for p in ct_series}
    for obj in objects:
        ds = pydicom.dcmread(obj)
        original = pydicom.dcmread(sent[ds.SOPInstanceUID])
        assert ds.PixelData == original.PixelData
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    health = httpx.get(f"{jip.url}/api/v1/health").json()
    assert health["status"] == "ok"
    space = shutil.disk_usage(jip.data_dir)
    assert health["data_total_bytes"] == space.total
    assert abs(health["data_free_bytes"] - space.free) < 256 << 20  # others write too
    assert (health["warnings"] == []) == (space.free >= LOW_BYTES)


def test_duplicate_sent_twice_is_stored_once(jip: JipProcess, ct_series: list[Path]) -> None:
    assert _storescu(jip, ct_series[0]).returncode == 0
    assert _storescu(jip, ct_series[0]).returncode == 0
    objects = object_files(jip.data_dir)
    assert len(objects) == 1


def test_an_instance_imported_then_received_is_stored_once(
    jip: JipProcess, ct_series: list[Path], tmp_path: Path
) -> None:
    """`jip import` keeps a file's own meta group, C-STORE writes JIP's: the same data
    set arriving both ways is a duplicate, not a conflict; a changed one is a conflict."""
    original = ct_series[0]
    imported = subprocess.run(
        [str(BIN / "jip"), "import", str(original)], env=jip.env, capture_output=True, timeout=120
    )
    assert imported.returncode == 0, imported.stderr
    assert _storescu(jip, original).returncode == 0
    objects = object_files(jip.data_dir)
    assert [o.read_bytes() for o in objects] == [original.read_bytes()]
    assert "different content" not in jip.log.read_text()

    changed = tmp_path / "changed.dcm"
    ds = pydicom.dcmread(original)
    ds.SeriesDescription = "changed"
    ds.save_as(changed)
    assert _storescu(jip, changed).returncode == 0  # success: the first copy is kept
    assert [o.read_bytes() for o in object_files(jip.data_dir)] == [original.read_bytes()]
    assert "received again with different content" in jip.log.read_text()


def test_compressed_transfer_syntaxes_kept_as_received(jip: JipProcess) -> None:
    # storescu's flags to propose JPEG 2000, RLE and JPEG baseline, each sent unconverted
    cases = {"JPEG2000.dcm": "-xw", "MR_small_RLE.dcm": "-xr", "SC_rgb_jpeg_dcmtk.dcm": "-xy"}
    files = [Path(str(get_testdata_file(n))) for n in cases]
    for f, flag in zip(files, cases.values(), strict=True):
        r = _storescu(jip, f, ts_flag=flag)
        assert r.returncode == 0, r.stderr
    tsuids = {
        str(pydicom.dcmread(p).file_meta.TransferSyntaxUID)
        for p in object_files(jip.data_dir)
    }
    assert tsuids == {str(pydicom.dcmread(f).file_meta.TransferSyntaxUID) for f in files}


def test_bad_dataset_rejected_and_service_keeps_serving(
    jip: JipProcess, ct_series: list[Path], tmp_path: Path
) -> None:
    ds = pydicom.dcmread(ct_series[0])
    ds.SOPInstanceUID = "1.2.3/../../etc"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    bad = tmp_path / "bad.dcm"
    ds.save_as(bad)
    r = _storescu(jip, bad)
    assert "0xc000" in (r.stdout + r.stderr).lower() or r.returncode != 0
    assert not object_files(jip.data_dir)
    assert _storescu(jip, ct_series[1]).returncode == 0
