"""Idle memory of ``jip up`` (target: under 250 MB RSS).

Starts the embedded platform on a temp folder and free ports, waits until it answers
health, lets it settle, and reads its resident set size from /proc. Measured twice:
fresh, and idle again after ingesting a small series through C-STORE (the realistic
"idle" of a site that has worked). Prints the figures against the target.

    python benchmarks/memory_bench.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_MB = 250.0
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` and all its descendants, in MB."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pids.extend(int(c) for c in children)
    return total / 1024


def _send_series(dicom_port: int, folder: Path) -> None:
    from jip.dicom.scu import send
    from jip.synthetic import SeriesSpec, write_series

    files = write_series(SeriesSpec(slices=20, size=256), folder)
    report = send(files, "127.0.0.1", dicom_port, called="JIP", calling="BENCH")
    if report.failed:
        raise RuntimeError(f"send failed: {report.failed[:3]}")


def main() -> int:
    http_port, dicom_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="jip-membench-") as tmp:
        env = dict(os.environ)
        env.update(
            JIP_DATA_DIR=str(Path(tmp) / "data"),
            JIP_HTTP_PORT=str(http_port),
            JIP_DICOM_PORT=str(dicom_port),
        )
        log = Path(tmp) / "jip.log"
        proc = subprocess.Popen(
            [str(BIN / "jip"), "up"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jip up did not start: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{http_port}/api/v1/health").is_success:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            time.sleep(3)
            fresh = rss_mb(proc.pid)
            _send_series(dicom_port, Path(tmp) / "series")
            time.sleep(3)
            after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    print("jip up idle memory (RSS, process tree)")
    print(
        f"  fresh start            {fresh:7.1f} MB   target < {TARGET_MB:.0f} MB   "
        f"ratio {fresh / TARGET_MB:.2f}  {'OK' if fresh < TARGET_MB else 'OVER'}"
    )
    print(
        f"  idle after 20 stores   {after:7.1f} MB   target < {TARGET_MB:.0f} MB   "
        f"ratio {after / TARGET_MB:.2f}  {'OK' if after < TARGET_MB else 'OVER'}"
    )
    return 0 if max(fresh, after) < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
