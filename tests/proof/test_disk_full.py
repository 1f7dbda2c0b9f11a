"""A full disk: C-STOREs that do not fit are answered "out of resources" (0xA700), the
association and the site go on, every acknowledged instance is indexed with intact
bytes, nothing half-written is left, and once there is space again the same sender
stores the rest.

The site's data folder is a real filesystem of 12 MB (tmpfs, mounted by the test: CI
runs as root), so the kernel itself answers ENOSPC to the store and to SQLite."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE

from jip.store.base import content_key
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, small_filesystem, start_jip
from tests.proof.helpers import dataset_part, index_rows, object_files, object_path, sop_uid

OUT_OF_RESOURCES = 0xA700


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "disk", 12) as mount:
        yield mount


def _send(jip: JipProcess, files: list[Path]) -> dict[str, int]:
    """One association sending every file; ``{sop_instance_uid: status}``."""
    ae = AE(ae_title="FULLDISK")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
    assert assoc.is_established
    statuses = {}
    try:
        for path in files:
            status = assoc.send_c_store(path)
            assert status, "no C-STORE response"
            statuses[sop_uid(path)] = int(status.Status)
            assert assoc.is_established, "the association ended on a failed C-STORE"
    finally:
        assoc.release()
    return statuses


def _check_store(jip: JipProcess) -> dict[str, str]:
    """Every indexed instance's object is there, whole; no object file is torn; no
    temp file is left. Returns the index rows."""
    rows = index_rows(jip)
    files = {p.name: p for p in object_files(jip)}
    for uid, key in rows.items():
        assert key in files, f"indexed {uid} has no object"
    for name, path in files.items():
        assert content_key(path.read_bytes()) == name, f"object {name} is torn"
    assert list((jip.data_dir / "objects" / ".tmp").iterdir()) == []
    return rows


def test_a_full_disk_refuses_what_does_not_fit_and_loses_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    files = write_series(SeriesSpec(slices=30, size=512), tmp_path / "ct")  # 15.8 MB
    jip = start_jip(small_disk / "data")
    try:
        statuses = _send(jip, files)
        acked = {uid for uid, status in statuses.items() if status == 0x0000}
        refused = {uid for uid, status in statuses.items() if status != 0x0000}
        assert acked and refused  # the disk filled up part way
        assert {statuses[uid] for uid in refused} == {OUT_OF_RESOURCES}
        health = httpx.get(f"{jip.url}/api/v1/health", timeout=30)
        assert health.status_code == 200  # still serving, and says why stores fail
        assert health.json()["data_total_bytes"] == 12 << 20
        assert health.json()["data_free_bytes"] < 1 << 20
        [warning] = health.json()["warnings"]
        assert "MB free" in warning and str(small_disk / "data") in warning

        rows = _check_store(jip)
        assert set(rows) == acked  # acknowledged means indexed; refused means not

        # space again: the same sender stores everything, the rest as new instances
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        again = _send(jip, files)
        assert set(again.values()) == {0x0000}
        rows = _check_store(jip)
        assert set(rows) == {sop_uid(f) for f in files}
        for path in files:  # stored exactly as sent
            stored = object_path(jip, rows[sop_uid(path)])
            assert dataset_part(stored) == dataset_part(path)
    finally:
        jip.stop()
