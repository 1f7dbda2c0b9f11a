"""DICOMweb figures, JIP side by side with Orthanc + its DICOMweb plugin (Debian).

    python -m benchmarks.dicomweb [--slices 100] [--size 512]

STOW-RS of one CT series, then WADO-RS series retrieve, series metadata, single frames
(uncompressed) and rendered JPEGs, and JIP's series thumbnail (uncached and cached).
Prints figures and the JIP/Orthanc ratio; asserts nothing. Both servers run with a
private network namespace (the script re-executes itself under ``unshare -n``), so
nothing listens beyond this process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.conftest import free_port, start_jip, tool_env

ROOT = Path(__file__).resolve().parent.parent
ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGINS = "/usr/share/orthanc/plugins"
BOUNDARY = "jip-bench"


def _netns_reexec() -> None:
    if os.environ.get("JIP_BENCH_NETNS") == "1":
        return
    script = 'ip link set lo up && exec "$@"'
    cmd = ["unshare", "-n", "sh", "-c", script, "sh", sys.executable, "-m", "benchmarks.dicomweb"]
    env = {**os.environ, "JIP_BENCH_NETNS": "1"}
    sys.exit(subprocess.call([*cmd, *sys.argv[1:]], env=env, cwd=ROOT))


@contextmanager
def orthanc(folder: Path) -> Iterator[str]:
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "REF",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [PLUGINS],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    proc = subprocess.Popen(
        [ORTHANC, str(folder / "orthanc.json")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=tool_env(),
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/system", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("Orthanc did not start")
        yield f"{url}/dicom-web"
    finally:
        proc.terminate()
        proc.wait(30)


def stow(http: httpx.Client, base: str, parts: list[bytes], batch: int = 10) -> float:
    ctype = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    start = time.perf_counter()
    for i in range(0, len(parts), batch):
        body = (
            b"".join(
                f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
                for p in parts[i : i + batch]
            )
            + f"--{BOUNDARY}--\r\n".encode()
        )
        r = http.post(f"{base}/studies", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 200, (base, r.status_code, r.text[:300])
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def measure(
    base: str, parts: list[bytes], uids: dict[str, str], sops: list[str]
) -> dict[str, float]:
    res: dict[str, float] = {}
    with httpx.Client(timeout=300) as http:
        res["stow_inst_per_s"] = len(parts) / stow(http, base, parts)
        series_url = f"{base}/studies/{uids['study']}/series/{uids['series']}"
        dicom = 'multipart/related; type="application/dicom"; transfer-syntax=*'

        def get(url: str, accept: str) -> None:
            r = http.get(url, headers={"Accept": accept})
            assert r.status_code == 200, (url, r.status_code, r.text[:200])

        t = min(timed(lambda: get(series_url, dicom), 3))
        res["series_retrieve_mb_per_s"] = sum(map(len, parts)) / t / 1e6
        res["series_metadata_ms"] = 1000 * min(
            timed(lambda: get(f"{series_url}/metadata", "application/dicom+json"), 3)
        )
        octet = 'multipart/related; type="application/octet-stream"'
        sample = sops[:: max(1, len(sops) // 20)]
        frame_t = [
            timed(lambda s=s: get(f"{series_url}/instances/{s}/frames/1", octet), 1)[0]
            for s in sample
        ]
        res["frame_p50_ms"] = 1000 * statistics.median(frame_t)
        rendered_t = [
            timed(lambda s=s: get(f"{series_url}/instances/{s}/rendered", "image/jpeg"), 1)[0]
            for s in sample
        ]
        res["rendered_p50_ms"] = 1000 * statistics.median(rendered_t)
    return res


def main() -> None:
    _netns_reexec()
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=100)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    datasets = list(make_series(SeriesSpec(slices=args.slices, size=args.size)))
    parts = [dataset_bytes(ds) for ds in datasets]
    uids = {"study": datasets[0].StudyInstanceUID, "series": datasets[0].SeriesInstanceUID}
    sops = [str(ds.SOPInstanceUID) for ds in datasets]
    mb = sum(map(len, parts)) / 1e6
    print(f"DICOMweb benchmark: {args.slices} CT instances {args.size}x{args.size}, {mb:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        jip = start_jip(Path(tmp) / "jip")
        try:
            ours = measure(f"{jip.url}/dicomweb", parts, uids, sops)
            thumb = f"{jip.url}/api/v1/series/{uids['series']}/thumbnail"
            with httpx.Client(timeout=60) as http:
                http.get(f"{jip.url}/api/v1/health")
                ours["thumbnail_uncached_ms"] = 1000 * timed(lambda: http.get(thumb), 1)[0]
                ours["thumbnail_cached_ms"] = 1000 * min(timed(lambda: http.get(thumb), 5))
        finally:
            jip.stop()
        with orthanc(Path(tmp) / "orthanc") as base:
            ref = measure(base, parts, uids, sops)
    lower_is_better = {"series_metadata_ms", "frame_p50_ms", "rendered_p50_ms"}
    print(f"{'figure':28} {'JIP':>10} {'Orthanc':>10} {'JIP better by':>14}")
    for key, value in ours.items():
        other = ref.get(key)
        if other is None:
            print(f"{key:28} {value:10.1f} {'-':>10} {'-':>14}")
            continue
        ratio = other / value if key in lower_is_better else value / other
        print(f"{key:28} {value:10.1f} {other:10.1f} {ratio:13.2f}x")


if __name__ == "__main__":
    main()
