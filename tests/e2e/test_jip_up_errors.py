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


def jip_up_refused(
    data_dir: Path, http_port: int, dicom_port: int, **settings: str
) -> str:
    """Run `jip up`, expect it to exit 1 without a traceback or a banner; its output
    on one line (rich folds long lines, and long paths at the terminal width)."""
    env = dict(os.environ, COLUMNS="500")
    env.update(
        JIP_DATA_DIR=str(data_dir), JIP_HTTP_PORT=str(http_port), JIP_DICOM_PORT=str(dicom_port)
    )
    env.update(settings)
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


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # no login exists yet: "on" would promise a protection nothing gives
        ({"JIP_AUTH": "on"}, "JIP_AUTH=on needs login, which this JIP does not have yet"),
        (
            {"JIP_BIND_HOST": "0.0.0.0"},
            "JIP_BIND_HOST must be a loopback address (got '0.0.0.0')",
        ),
        (
            {"JIP_AUTH": "on", "JIP_BIND_HOST": "10.1.2.3"},
            "JIP_AUTH=on needs login, which this JIP does not have yet",
        ),
        ({"JIP_DICOM_PORT": "abc"}, "invalid setting JIP_DICOM_PORT: Input should be a valid"),
        ({"JIP_AE_TITLE": "A" * 17}, "invalid setting JIP_AE_TITLE: AE title must be 1-16"),
    ],
)
def test_a_bad_setting_is_named_and_nothing_is_served(
    tmp_path: Path, settings: dict[str, str], expected: str
) -> None:
    http_port = free_port()
    out = jip_up_refused(tmp_path / "data", http_port, free_port(), **settings)
    assert expected in out
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{http_port}/api/v1/health", timeout=5)


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
