"""`jip up` with one of its ports taken by another program: one line naming the port and
the setting to change, exit status 1, and no "JIP is up" banner before it."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, free_port


@pytest.mark.parametrize("which", ["http", "dicom"])
def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path, which: str) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    ports = {"http": free_port(), "dicom": free_port(), which: busy}
    env = dict(os.environ)
    env.update(
        JIP_DATA_DIR=str(tmp_path / "data"),
        JIP_HTTP_PORT=str(ports["http"]),
        JIP_DICOM_PORT=str(ports["dicom"]),
    )
    try:
        r = subprocess.run(
            [str(BIN / "jip"), "up"], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        holder.close()
    out = " ".join((r.stdout + r.stderr).split())  # rich wraps long lines
    assert r.returncode == 1, out[-2000:]
    assert f"{which.upper()} port {busy} on 127.0.0.1 is already in use" in out
    assert f"JIP_{which.upper()}_PORT" in out
    assert "JIP is up" not in out
    assert "Traceback" not in out
