"""`jip up` that cannot start (a port taken by another program, a data folder it cannot
use or another site serves): one line naming what and the setting to change, exit
status 1, no traceback and no "JIP is up" banner before it."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, free_port, start_jip


def jip_up_refused(data_dir: Path, http_port: int, dicom_port: int) -> str:
    """Run `jip up`, expect it to exit 1 without a traceback or a banner; its output
    on one line (rich folds long lines, and long paths at the terminal width)."""
    env = dict(os.environ, COLUMNS="500")
    env.update(
        JIP_DATA_DIR=str(data_dir), JIP_HTTP_PORT=str(http_port), JIP_DICOM_PORT=str(dicom_port)
    )
    r = subprocess.run(
        [str(BIN / "jip"), "up"], env=env, capture_output=True, text=True, timeout=120
    )
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 1, out[-2000:]
    assert "JIP is up" not in out
    assert "Traceback" not in out
    return out


@pytest.mark.parametrize("which", ["http", "dicom"])
def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path, which: str) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    ports = {"http": free_port(), "dicom": free_port(), which: busy}
    try:
        out = jip_up_refused(tmp_path / "data", ports["http"], ports["dicom"])
    finally:
        holder.close()
    assert f"{which.upper()} port {busy} on 127.0.0.1 is already in use" in out
    assert f"JIP_{which.upper()}_PORT" in out


def test_an_unusable_data_folder_is_named(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    folder = in_the_way / "data"
    out = jip_up_refused(folder, free_port(), free_port())
    assert f"cannot use the data folder {folder} (JIP_DATA_DIR): Not a directory" in out


def test_a_second_site_on_one_data_folder_is_refused(tmp_path: Path) -> None:
    first = start_jip(tmp_path / "data")
    try:
        out = jip_up_refused(tmp_path / "data", free_port(), free_port())
        assert f"already served by another `jip up` (pid {first.proc.pid})" in out
        assert httpx.get(f"{first.url}/api/v1/health", timeout=30).status_code == 200
    finally:
        first.stop()
    again = start_jip(tmp_path / "data")  # the lock went with the first site
    again.stop()
