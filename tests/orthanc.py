"""Start the Debian ``Orthanc`` in a temp folder (a real site PACS for tests/benchmarks).

Reusable: ``start_orthanc(folder, modalities={"JIP": ("JIP", "127.0.0.1", 11112)})``
returns a running server on free ports (HTTP on loopback only, no remote access) that
knows the given DICOM modalities, so it accepts C-FIND/C-MOVE from them and can move
to them. ``stop()`` ends it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port, stop_process, tool_env

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"


@dataclass
class OrthancServer:
    proc: subprocess.Popen[bytes]
    folder: Path
    aet: str
    dicom_port: int
    http_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def instance_count(self) -> int:
        return int(httpx.get(f"{self.url}/statistics", timeout=10).json()["CountInstances"])

    def stop(self) -> None:
        stop_process(self.proc)


def orthanc_config(
    folder: Path,
    *,
    aet: str,
    dicom_port: int,
    http_port: int,
    modalities: dict[str, tuple[str, str, int]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Name": f"jip-test-{aet}",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "DicomServerEnabled": True,
        "Plugins": [],
        "StorageCompression": False,
        "DicomModalities": {k: list(v) for k, v in modalities.items()},
        "DicomScpTimeout": 30,
        "ConcurrentJobs": 2,
    }
    config.update(extra or {})
    return config


def start_orthanc(
    folder: Path,
    *,
    modalities: dict[str, tuple[str, str, int]],
    aet: str = "ORTHANC",
    dicom_port: int | None = None,
    http_port: int | None = None,
    extra: dict[str, Any] | None = None,
    timeout: float = 60,
) -> OrthancServer:
    """Write a config into ``folder`` and start Orthanc; waits until HTTP answers."""
    folder.mkdir(parents=True, exist_ok=True)
    dicom_port = dicom_port or free_port()
    http_port = http_port or free_port()
    config = orthanc_config(
        folder, aet=aet, dicom_port=dicom_port, http_port=http_port,
        modalities=modalities, extra=extra,
    )
    cfg = folder / "orthanc.json"
    cfg.write_text(json.dumps(config, indent=2))
    log = folder / "orthanc.log"
    proc = subprocess.Popen(
        [ORTHANC, str(cfg)], env=tool_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT,
        cwd=folder,
    )
    server = OrthancServer(proc, folder, aet, dicom_port, http_port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Orthanc exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/system", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"Orthanc did not start: {log.read_text()[-3000:]}")
