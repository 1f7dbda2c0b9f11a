"""Ingest benchmark: dcmtk storescu -> JIP vs Orthanc vs dcmtk storescp, one run.

    .venv/bin/python benchmarks/ingest_bench.py [--quick] [--workdir DIR]

Sends 2,000 CT instances of 512x512 (20 series) and 5,000 instances of 64x64 (50
series) over 1 and over 4 associations (parallel storescu processes, TCP_NODELAY=1) to
each receiver, started fresh for every measurement. Prints instances/s, MB/s, the
ratios JIP/Orthanc and JIP/storescp, the RSS of ``jip up`` idle and during ingest, and
what each receiver made the disk write per instance (its page cache included).
For reference it also measures the disk's durable-write ceiling: the same files copied
by as many threads with write + fsync + rename + fsync(dir) each, no DICOM at all
(storescp acknowledges objects still in the page cache; JIP only durable ones).
JIP counts as done only when storescu got every C-STORE success, i.e. when every
instance is fsynced and its index rows are committed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.memory_bench import rss_mb  # noqa: E402
from benchmarks.peers import Peer, start_orthanc, start_storescp  # noqa: E402
from jip.synthetic import SeriesSpec, write_series  # noqa: E402
from tests.conftest import start_jip, tool_env  # noqa: E402

STORESCU = shutil.which("storescu") or "storescu"
TARGET_VS_ORTHANC = 1.5
TARGET_VS_STORESCP = 0.60


@dataclass
class DataSet:
    name: str
    series: int
    slices: int
    size: int

    @property
    def count(self) -> int:
        return self.series * self.slices


FULL = [DataSet("ct512", 20, 100, 512), DataSet("small64", 50, 100, 64)]
QUICK = [DataSet("ct512", 4, 50, 512), DataSet("small64", 10, 50, 64)]


@dataclass
class Result:
    dataset: str
    receiver: str
    associations: int
    instances: int
    megabytes: float
    seconds: float
    stored: int
    rss_max_mb: float | None = None
    disk_kb_per_instance: float | None = None

    @property
    def per_second(self) -> float:
        return self.instances / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.megabytes / self.seconds


def generate(ds: DataSet, root: Path) -> list[list[Path]]:
    """The series of one data set as file lists (cached between runs)."""
    folder = root / f"{ds.name}-{ds.series}x{ds.slices}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        for n in range(ds.series):
            spec = SeriesSpec(
                slices=ds.slices,
                size=ds.size,
                patient_id=f"BENCH{n // 2:04d}",
                series_number=n + 1,
                description=f"Bench {ds.name} {n}",
            )
            write_series(spec, folder / f"s{n:03d}")
        done.write_text("ok")
    return [sorted(p.glob("*.dcm")) for p in sorted(folder.glob("s*")) if p.is_dir()]


def send(series: list[list[Path]], ae_title: str, port: int, associations: int) -> float:
    """Run ``associations`` storescu processes in parallel (series split round-robin);
    returns the wall time until the last one got its last C-STORE response."""
    groups: list[list[Path]] = [[] for _ in range(associations)]
    for i, files in enumerate(series):
        groups[i % associations].extend(files)
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [STORESCU, "-aet", "BENCH", "-aec", ae_title, "127.0.0.1", str(port), *map(str, g)],
            env=tool_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for g in groups
        if g
    ]
    errors = []
    try:
        for p in procs:
            _, err = p.communicate(timeout=1800)
            if p.returncode != 0:
                errors.append(err.decode(errors="replace")[-2000:])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"storescu to {ae_title} failed:\n" + "\n".join(errors))
    return elapsed


def durable_write(series: list[list[Path]], associations: int, work: Path) -> tuple[float, int]:
    """The disk's ceiling for durable receipt: ``associations`` threads copy the files
    with write + fsync + rename + fsync(dir) each, as a receiver that acknowledges only
    durable objects must (storescp acknowledges what is still in the page cache)."""
    groups: list[list[Path]] = [[] for _ in range(associations)]
    for i, files in enumerate(series):
        groups[i % associations].extend(files)
    out = work / "out"
    out.mkdir()

    def copy(files: list[Path], n: int) -> None:
        dir_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i, f in enumerate(files):
                tmp, dest = out / f".{n}-{i}.tmp", out / f"{n}-{i}.dcm"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(fd, f.read_bytes())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, dest)
                os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=copy, args=(g, n)) for n, g in enumerate(groups) if g]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, count_files(out)


class DiskWrites:
    """Bytes the disk holding ``folder`` has written (``/proc/diskstats``), so the
    figures show what a durable receiver pays for beside the object bytes: its index,
    the filesystem journal, copies. ``None`` where the folder is on no block device
    listed there (tmpfs, overlay, not Linux)."""

    def __init__(self, folder: Path) -> None:
        dev = folder.stat().st_dev
        self._id = (str(os.major(dev)), str(os.minor(dev)))

    def read(self) -> int | None:
        try:
            with open("/proc/diskstats") as stats:
                for line in stats:
                    fields = line.split()
                    if (fields[0], fields[1]) == self._id:
                        return int(fields[9]) * 512  # sectors written, always of 512 bytes
        except OSError:
            return None
        return None


def settle() -> None:
    """Every receiver starts on a quiet disk: the previous one's page cache written back
    (Orthanc and storescp leave up to a gigabyte unsynced) and the blocks its files
    freed discarded (ext4 mounted with ``discard`` trims them at the next commit)."""
    os.sync()
    time.sleep(1.0)
    os.sync()


class RssSampler:
    """Samples the RSS of a process tree (the site and its storage workers) every
    100 ms in a thread; ``max`` is the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.max = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.max = max(self.max, rss_mb(self.pid))
            except OSError:
                return


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def run_jip(
    series: list[list[Path]], associations: int, work: Path, idle: list[float]
) -> tuple[float, int, float]:
    jip = start_jip(work / "jipdata", extra_env={"JIP_SERIES_QUIET_SECONDS": "600"})
    try:
        time.sleep(3.0)  # the fork server of the storage workers finishes its imports
        idle.append(rss_mb(jip.proc.pid))
        with RssSampler(jip.proc.pid) as sampler:
            seconds = send(series, "JIP", jip.dicom_port, associations)
        stats = httpx.get(f"{jip.url}/api/v1/statistics", timeout=60).raise_for_status()
        return seconds, int(stats.json()["instances"]), sampler.max
    finally:
        jip.stop()


def run_peer(
    start: Callable[[Path], Peer], series: list[list[Path]], associations: int, work: Path
) -> tuple[float, int]:
    peer = start(work)
    try:
        seconds = send(series, peer.ae_title, peer.port, associations)
        if peer.name == "orthanc":
            time.sleep(0.2)
            stored = count_files(work / "storage")
        else:
            stored = count_files(work / "out")
        return seconds, stored
    finally:
        peer.stop()


def machine() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    fs = subprocess.run(["df", "-T", "/tmp"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": str(
            len(
                [
                    ln
                    for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("processor")
                ]
            )
        ),
        "memory_gb": f"{int(mem) / 1024 / 1024:.1f}",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "tmp_fs": fs.splitlines()[-1].split()[1] if fs else "?",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small data sets (smoke run)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "jip-bench")
    ap.add_argument(
        "--receivers",
        default="jip,orthanc,storescp,fsync",
        help="fsync = the disk's durable-write ceiling (no DICOM), for reference",
    )
    ap.add_argument("--associations", default="1,4")
    ap.add_argument("--datasets", default="ct512,small64")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    # a SIGTERM unwinds like Ctrl-C, so receivers and senders started here are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    receivers = args.receivers.split(",")
    assocs = [int(a) for a in args.associations.split(",")]
    sets = [d for d in (QUICK if args.quick else FULL) if d.name in args.datasets.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    print("machine:", ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)

    results: list[Result] = []
    idle: list[float] = []
    for ds in sets:
        series = generate(ds, args.workdir / "data")
        files = [f for s in series for f in s]
        mb = sum(f.stat().st_size for f in files) / 1e6
        print(
            f"\n== {ds.name}: {len(files)} instances, {mb:.0f} MB, {ds.series} series", flush=True
        )
        for n in assocs:
            for name in receivers:
                work = args.workdir / "run" / f"{name}-{ds.name}-{n}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                settle()
                disk = DiskWrites(work)
                written_before = disk.read()
                rss = None
                if name == "jip":
                    seconds, stored, rss = run_jip(series, n, work, idle)
                elif name == "orthanc":
                    seconds, stored = run_peer(start_orthanc, series, n, work)
                elif name == "fsync":
                    seconds, stored = durable_write(series, n, work)
                else:
                    seconds, stored = run_peer(start_storescp, series, n, work)
                os.sync()  # what storescp and Orthanc left in the page cache counts too
                written_after = disk.read()
                written = (
                    (written_after - written_before) / len(files) / 1024
                    if written_before is not None and written_after is not None
                    else None
                )
                shutil.rmtree(work, ignore_errors=True)
                r = Result(ds.name, name, n, len(files), mb, seconds, stored, rss, written)
                results.append(r)
                extra = f"  rss peak {rss:.0f} MB" if rss else ""
                if written is not None:
                    extra += f"  disk {written:.0f} kB/instance"
                print(
                    f"  {name:9s} {n} assoc: {r.per_second:8.1f} inst/s {r.mb_per_second:7.1f} MB/s"
                    f"  ({seconds:.1f} s, stored {stored}){extra}",
                    flush=True,
                )
    print_table(results, idle)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "idle_rss_mb": idle,
                    "results": [
                        asdict(r) | {"inst_s": r.per_second, "mb_s": r.mb_per_second}
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    return 0


def print_table(results: list[Result], idle: list[float]) -> None:
    print(
        "\n| data set | assoc | JIP inst/s | JIP MB/s | Orthanc inst/s | storescp inst/s "
        "| durable-write ceiling inst/s | JIP/Orthanc | JIP/storescp | JIP/ceiling "
        "| JIP RSS peak MB | disk kB/instance: object, JIP, Orthanc, storescp, ceiling |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r.dataset, r.associations) for r in results}, key=lambda k: (k[0], k[1]))
    for ds, n in keys:
        by = {r.receiver: r for r in results if r.dataset == ds and r.associations == n}
        j, o, s, c = by.get("jip"), by.get("orthanc"), by.get("storescp"), by.get("fsync")

        def rate(r: Result | None) -> str:
            return f"{r.per_second:.1f}" if r else "-"

        vs_o = f"{j.per_second / o.per_second:.2f}x" if j and o else "-"
        vs_s = f"{j.per_second / s.per_second:.0%}" if j and s else "-"
        vs_c = f"{j.per_second / c.per_second:.0%}" if j and c else "-"

        def disk(r: Result | None) -> str:
            return f"{r.disk_kb_per_instance:.0f}" if r and r.disk_kb_per_instance else "-"

        any_r = next(iter(by.values()))
        written = ", ".join(
            [f"{any_r.megabytes * 1e6 / any_r.instances / 1024:.0f}", *map(disk, (j, o, s, c))]
        )
        print(
            f"| {ds} | {n} | {rate(j)} | {j.mb_per_second:.1f} | {rate(o)} | {rate(s)} | "
            f"{rate(c)} | {vs_o} | {vs_s} | {vs_c} | {j.rss_max_mb or 0:.0f} | {written} |"
            if j
            else f"| {ds} | {n} | - | - | {rate(o)} | {rate(s)} | {rate(c)} | - | - | - | - "
            f"| {written} |"
        )
    if idle:
        print(f"\njip up idle RSS: {max(idle):.0f} MB (max over {len(idle)} starts)")
    print(
        f"targets (ct512, 4 assoc): JIP/Orthanc >= {TARGET_VS_ORTHANC}x, "
        f"JIP/storescp >= {TARGET_VS_STORESCP:.0%}"
    )


if __name__ == "__main__":
    sys.exit(main())
