"""Retrieve benchmark: C-MOVE and C-GET of one CT study, JIP vs Orthanc, one run.

    .venv/bin/python benchmarks/retrieve_bench.py [--instances 300] [--size 512]

Both PACS hold the same study (loaded with dcmtk storescu). dcmtk movescu moves it to a
dcmtk storescp, and dcmtk getscu pulls it, from each; best of ``--repeat`` runs. Prints
instances/s, MB/s and the ratio JIP/Orthanc. JIP sends the stored bytes unchanged; the
check at the end confirms every received data set equals the one sent.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402

from jip.synthetic import SeriesSpec, write_series  # noqa: E402
from tests.conftest import free_port, start_jip, tool_env  # noqa: E402
from tests.dimse.conftest import dataset_bytes, start_storescp, storescu  # noqa: E402
from tests.orthanc import start_orthanc  # noqa: E402

BENCH_AET = "BENCH"


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(args, env=tool_env(), capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="jip-retrieve-bench-"))
    procs = []
    try:
        files = write_series(SeriesSpec(slices=args.instances, size=args.size), work / "src")
        study = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
        mbytes = sum(f.stat().st_size for f in files) / 1e6
        dest = start_storescp(work / "dest")
        procs.append(dest.proc)
        jip_port = free_port()
        orthanc = start_orthanc(
            work / "orthanc",
            modalities={
                "STORESCP": ("STORESCP", "127.0.0.1", dest.port),
                "BENCH": (BENCH_AET, "127.0.0.1", free_port()),
            },
        )
        procs.append(orthanc.proc)
        peers = f'{{"STORESCP": {{"ae_title": "STORESCP", "port": {dest.port}}}}}'
        jip = start_jip(work / "jip" / "data", dicom_port=jip_port,
                        extra_env={"JIP_PEERS": peers})
        procs.append(jip.proc)
        storescu(jip.dicom_port, files)
        storescu(orthanc.dicom_port, files, aet=orthanc.aet)

        nodes = {"JIP": ("JIP", jip.dicom_port), "Orthanc": (orthanc.aet, orthanc.dicom_port)}
        keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"]
        results: dict[tuple[str, str], float] = {}
        for name, (aet, port) in nodes.items():
            for op in ("C-MOVE", "C-GET"):
                best = float("inf")
                for _ in range(args.repeat):
                    dest.clear()
                    got = work / f"get-{name}"
                    shutil.rmtree(got, ignore_errors=True)
                    got.mkdir()
                    if op == "C-MOVE":
                        cmd = ["movescu", "-S", "-aet", BENCH_AET, "-aec", aet,
                               "-aem", "STORESCP", *keys, "127.0.0.1", str(port)]
                    else:
                        cmd = ["getscu", "-S", "+B", "-aet", BENCH_AET, "-aec", aet,
                               "-od", str(got), *keys, "127.0.0.1", str(port)]
                    best = min(best, _run(cmd))
                    received = dest.out if op == "C-MOVE" else got
                    n = len([p for p in received.iterdir() if p.is_file()])
                    if n != len(files):
                        raise RuntimeError(f"{name} {op}: received {n} of {len(files)}")
                results[(name, op)] = best
                if name == "JIP":
                    sent = {f.name.removesuffix(".dcm"): dataset_bytes(f.read_bytes())
                            for f in files}
                    for p in received.iterdir():
                        uid = str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                        assert dataset_bytes(p.read_bytes()) == sent[uid], f"{uid} changed"

        print(f"retrieve benchmark: 1 study, {len(files)} CT instances {args.size}x{args.size}, "
              f"{mbytes:.0f} MB, best of {args.repeat}")
        print(f"{'operation':10} {'JIP inst/s':>11} {'JIP MB/s':>9} {'Orthanc inst/s':>15} "
              f"{'Orthanc MB/s':>13} {'JIP/Orthanc':>12}")
        for op in ("C-MOVE", "C-GET"):
            j, o = results[("JIP", op)], results[("Orthanc", op)]
            print(f"{op:10} {len(files) / j:11.0f} {mbytes / j:9.1f} {len(files) / o:15.0f} "
                  f"{mbytes / o:13.1f} {o / j:12.2f}")
        print("JIP data sets received byte-identical to those sent: yes")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
