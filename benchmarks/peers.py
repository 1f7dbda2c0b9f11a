"""Reference DICOM receivers for side-by-side benchmarks: Orthanc and dcmtk storescp.

Each is started on a free loopback port in its own temp folder and stopped by the
bench that started it, so one run measures all receivers on the same machine state.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port, tool_env

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
STORESCP = shutil.which("storescp") or "storescp"
ECHOSCU = shutil.which("echoscu") or "echoscu"


@dataclass
class Peer:
    """A running receiver: what to call it and how to stop it."""

    name: str
    ae_title: str
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    @property
    def pid(self) -> int:
        return self.proc.pid


def wait_for_echo(ae_title: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Block until the receiver answers C-ECHO (raises if it exits or never answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) != 0:
                time.sleep(0.2)
                continue
        r = subprocess.run(
            [ECHOSCU, "-aec", ae_title, "127.0.0.1", str(port)],
            env=tool_env(),
            capture_output=True,
            timeout=30,
        )
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"no C-ECHO answer from {ae_title} on {port}")


def start_orthanc(folder: Path) -> Peer:
    """Orthanc from the Debian package with its default SQLite index and fsync'd storage."""
    folder.mkdir(parents=True, exist_ok=True)
    port, http = free_port(), free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "DicomAet": "ORTHANC",
        "DicomPort": port,
        "HttpPort": http,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "Plugins": [],
    }
    cfg = folder / "orthanc.json"
    cfg.write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    proc = subprocess.Popen(
        [ORTHANC, str(cfg)], env=tool_env(), stdout=log, stderr=subprocess.STDOUT
    )
    peer = Peer("orthanc", "ORTHANC", port, proc, folder)
    try:
        wait_for_echo("ORTHANC", port, proc, 60)
    except Exception:
        peer.stop()
        raise
    return peer


def start_storescp(folder: Path, fork: bool = True) -> Peer:
    """dcmtk storescp writing each dataset as received (bit-preserving), one process per
    association with ``--fork``: the practical ceiling of a receiver on this machine."""
    out = folder / "out"
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [STORESCP, "--bit-preserving", "-od", str(out), "-aet", "STORESCP"]
    if fork:
        args.append("--fork")
    args.append(str(port))
    log = (folder / "storescp.log").open("wb")
    proc = subprocess.Popen(args, env=tool_env(), stdout=log, stderr=subprocess.STDOUT)
    peer = Peer("storescp", "STORESCP", port, proc, folder)
    try:
        wait_for_echo("STORESCP", port, proc, 30)
    except Exception:
        peer.stop()
        raise
    return peer
