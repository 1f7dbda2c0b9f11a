"""QIDO-RS series search over a large index, through the real HTTP server.

Builds an index of N instances (default 1,000,000 in 10,000 studies, 1-8 series per
study, CT/MR/CR/US/PT/SEG mix, study dates over ten years) by bulk-inserting rows
straight into the schema the migrations create, starts ``jip up`` on it and times
typical series searches one after the other (round-robin over the kinds, so each
kind sees the same machine load): modality, date range, PatientID, patient name
wildcard, study UID, includefield, limit/offset paging, the server maximum of 1,000
rows. Target: p95 under 50 ms.

Prints p50/p95/p99 per kind, the server's CPU time per request (which other load on
the machine moves much less than latency), the load average and the CPU the rest of
the machine used meanwhile. The built index is cached (``~/.cache/jip/query-bench``)
and reused by the next run (migrations are applied to it on start):

    .venv/bin/python benchmarks/query_bench.py                 # 1,000,000 instances
    .venv/bin/python benchmarks/query_bench.py --instances 100000 --queries 50
    .venv/bin/python benchmarks/query_bench.py --rebuild       # build the index anew
    .venv/bin/python benchmarks/query_bench.py --only bulk,health --queries 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jip.index.db import make_engine, migrate  # noqa: E402
from jip.index.models import Patient, Series, Study  # noqa: E402
from tests.conftest import start_jip  # noqa: E402

TARGET_P95_MS = 50.0
UID_ROOT = "1.2.826.0.1.3680043.9.7433"
MODALITIES = ["CT"] * 8 + ["MR"] * 6 + ["CR"] * 2 + ["US"] * 2 + ["PT", "SEG"]
SURNAMES = [
    "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz",
    "Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Garcia",
    "Martinez", "Rossi", "Russo", "Dubois", "Moreau", "Laurent", "Nowak", "Kowalski",
]  # fmt: skip
GIVEN = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas",
         "Karl", "Lena", "Maria", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tina"]  # fmt: skip
BODY = {"CT": "CHEST", "MR": "HEAD", "CR": "CHEST", "US": "ABDOMEN", "PT": "WHOLEBODY",
        "SEG": "CHEST"}  # fmt: skip
SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
       "CR": "1.2.840.10008.5.1.4.1.1.1", "US": "1.2.840.10008.5.1.4.1.1.6.1",
       "PT": "1.2.840.10008.5.1.4.1.1.128", "SEG": "1.2.840.10008.5.1.4.1.1.66.4"}  # fmt: skip


def build_index(engine: Engine, instances: int, studies: int, seed: int = 7) -> dict[str, Any]:
    """Insert patients, studies, series and instances with core executemany inserts.
    Returns facts the queries draw from (study UIDs, names, dates)."""
    rng = random.Random(seed)
    now = datetime(2025, 1, 1)
    n_patients = max(1, studies * 2 // 3)
    patients = [
        {
            "id": i + 1,
            "patient_id": f"PAT{i:07d}",
            "patient_name": f"{rng.choice(SURNAMES)}^{rng.choice(GIVEN)}",
            "birth_date": f"{rng.randint(1930, 2010)}0{rng.randint(1, 9)}{rng.randint(10, 28)}",
            "sex": rng.choice("MF"),
        }
        for i in range(n_patients)
    ]
    # series per study 1-8, instances spread so the total is exactly ``instances``
    plan = [rng.randint(1, 8) for _ in range(studies)]
    n_series = sum(plan)
    per_series = [instances // n_series] * n_series
    for i in range(instances - sum(per_series)):
        per_series[i % n_series] += 1
    study_rows, series_rows = [], []
    facts: dict[str, Any] = {
        "study_uids": [],
        "names": [p["patient_name"] for p in patients],
        "patient_ids": [p["patient_id"] for p in patients],
    }
    k = 0
    for s, count in enumerate(plan):
        pat = patients[rng.randrange(n_patients)]
        date = f"{rng.randint(2015, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        study_uid = f"{UID_ROOT}.{s + 1}"
        facts["study_uids"].append(study_uid)
        mods = []
        n_inst = 0
        for r in range(count):
            mod = rng.choice(MODALITIES)
            mods.append(mod)
            n_inst += per_series[k]
            series_rows.append(
                {
                    "series_uid": f"{study_uid}.{r + 1}",
                    "study_uid": study_uid,
                    "modality": mod,
                    "series_number": r + 1,
                    "description": f"{BODY[mod].title()} {mod} {r + 1}",
                    "body_part": BODY[mod],
                    "manufacturer": rng.choice(["SIEMENS", "GE", "Philips", "Canon"]),
                    "model": "Model X",
                    "institution": "JIP Bench Hospital",
                    "slice_thickness": 1.0,
                    "study_date": date,
                    "patient_sex": pat["sex"],
                    "patient_age": 50,
                    "num_instances": per_series[k],
                    "first_received": now,
                    "last_received": now,
                    "completed_at": now,
                }
            )
            k += 1
        study_rows.append(
            {
                "study_uid": study_uid,
                "patient_pk": pat["id"],
                "study_date": date,
                "study_time": f"{rng.randint(7, 18):02d}{rng.randint(0, 59):02d}00",
                "accession_number": f"ACC{s:08d}",
                "study_id": str(s % 1000),
                "description": f"{BODY[mods[0]].title()} study",
                "referring_physician": "Doctor^Ref",
                "institution": "JIP Bench Hospital",
                "modalities": "\\".join(sorted(set(mods))),
                "num_series": count,
                "num_instances": n_inst,
                "updated_at": now,
            }
        )
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Patient), patients)
        conn.execute(insert(Study), study_rows)
        conn.execute(insert(Series), series_rows)
    # instances through the DBAPI cursor: executemany of plain tuples in primary key
    # order, secondary indexes dropped during the load and rebuilt (sorted) after it
    cols = INSTANCE_COLUMNS  # any other column keeps its default
    sql = f"INSERT INTO instances ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    rows = sorted(_instance_rows(series_rows, now))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")  # the bench's own build, not JIP's ingest
        cur.execute("PRAGMA cache_size=-1000000")
        indexes = cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='instances'"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for i in range(0, len(rows), 50_000):
            cur.executemany(sql, rows[i : i + 50_000])
            raw.commit()
            print(
                f"\r  instances inserted: {min(i + 50_000, len(rows)):,}",
                end="",
                file=sys.stderr,
                flush=True,
            )
        t1 = time.perf_counter()
        for _, create in indexes:
            cur.execute(create)
        raw.commit()
        facts["index_seconds"] = time.perf_counter() - t1
    finally:
        raw.close()
    print(file=sys.stderr)
    facts["build_seconds"] = time.perf_counter() - t0
    facts["counts"] = {
        "patients": n_patients,
        "studies": studies,
        "series": n_series,
        "instances": instances,
    }
    return facts


def facts_from_index(engine: Engine) -> dict[str, Any]:
    """What the queries draw from, read back from an index built earlier."""
    with engine.connect() as conn:
        counts = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("patients", "studies", "series", "instances")
        }
        return {
            "study_uids": list(conn.execute(select(Study.study_uid)).scalars()),
            "names": list(conn.execute(select(Patient.patient_name)).scalars()),
            "patient_ids": list(conn.execute(select(Patient.patient_id)).scalars()),
            "counts": counts,
            "build_seconds": float("nan"),
            "index_seconds": float("nan"),
        }


INSTANCE_COLUMNS = [
    "sop_instance_uid", "series_uid", "study_uid", "sop_class_uid", "transfer_syntax_uid",
    "instance_number", "rows", "columns", "number_of_frames", "object_key", "size",
    "received_at", "tags",
]  # fmt: skip


def _instance_rows(series_rows: list[dict[str, Any]], now: datetime) -> Iterator[tuple[Any, ...]]:
    """Instance rows as DBAPI tuples in ``INSTANCE_COLUMNS`` order, tags JSON from a
    template (a million ``json.dumps`` calls would dominate the build)."""
    received = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
    n = 0
    for se in series_rows:
        mod = se["modality"]
        series_uid, study_uid = se["series_uid"], se["study_uid"]
        for i in range(se["num_instances"]):
            n += 1
            uid = f"{series_uid}.{i + 1}"
            tags = (
                f'{{"SOPInstanceUID":"{uid}","Modality":"{mod}","InstanceNumber":{i + 1},'
                '"ImageType":["ORIGINAL","PRIMARY","AXIAL"],'
                f'"SliceLocation":{float(i)},"ImagePositionPatient":[0.0,0.0,{float(i)}],'
                '"PixelSpacing":[0.7,0.7],"BitsAllocated":16,"WindowCenter":40.0,'
                '"WindowWidth":400.0}'
            )
            yield (
                uid,
                series_uid,
                study_uid,
                SOP[mod],
                "1.2.840.10008.1.2.1",
                i + 1,
                512,
                512,
                None,
                f"{n:064x}",
                525_000,
                received,
                tags,
            )


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


BULK = "bulk: no limit (server max, 1000 rows)"  # a 1 MB answer, reported on its own


def query_mix(facts: dict[str, Any], rng: random.Random) -> dict[str, Callable[[], str]]:
    """Typical series searches (what a viewer, the cohort UI or a script sends)."""

    def month() -> str:
        y, m = rng.randint(2015, 2024), rng.randint(1, 12)
        return f"{y}{m:02d}01-{y}{m:02d}28"

    def prefix() -> str:
        return rng.choice(facts["names"]).split("^")[0][:3] + "*"

    def study() -> str:
        return str(rng.choice(facts["study_uids"]))

    n_series = facts["counts"]["series"]
    deep = max(1, n_series // 5)  # CT is ~40% of the series: offsets inside the matches
    return {
        "modality": lambda: f"/dicomweb/series?Modality={rng.choice(MODALITIES)}&limit=100",
        "date range (1 month)": lambda: f"/dicomweb/series?StudyDate={month()}&limit=100",
        "PatientID": lambda: f"/dicomweb/series?PatientID={rng.choice(facts['patient_ids'])}",
        "patient name wildcard": lambda: f"/dicomweb/series?PatientName={prefix()}&limit=100",
        "study UID (path)": lambda: f"/dicomweb/studies/{study()}/series",
        "study UID (query key)": lambda: f"/dicomweb/series?StudyInstanceUID={study()}",
        "modality + date range": lambda: (
            f"/dicomweb/series?Modality=MR&StudyDate={month()}&limit=100"
        ),
        "includefield (columns + tags)": lambda: (
            f"/dicomweb/series?Modality={rng.choice(MODALITIES)}&limit=100"
            "&includefield=BodyPartExamined,Manufacturer,ImageType,PixelSpacing"
        ),
        "limit/offset (deep page)": lambda: (
            f"/dicomweb/series?Modality=CT&limit=100&offset={rng.randrange(deep)}"
        ),
        BULK: lambda: "/dicomweb/series?Modality=CT",
        "reference: GET /api/v1/health": lambda: "/api/v1/health",
    }


def _cpu_seconds(pid: int) -> float:
    """User+system CPU the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_seconds() -> float:
    """CPU time all processes of the machine have used (busy, not idle or iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_ms) - 1, int(-(-q * len(sorted_ms) // 100)) - 1))
    return sorted_ms[k]


SETTLE = 0.003  # s: pause after each answer (not timed) so its CPU is not the next one's


class Client:
    """One keep-alive HTTP/1.1 connection (stdlib): the least client-side work per
    request, so the figures are the server's, not the client library's."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers={"Accept": "application/dicom+json"})
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self) -> None:
        self.conn.close()


def measure(
    url: str, mix: dict[str, Callable[[], str]], n: int, server_pid: int
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Wall-clock latency per request as the client sees it, the server's CPU time per
    request, and how busy the machine was meanwhile."""
    times: dict[str, list[float]] = {name: [] for name in mix}
    sizes: dict[str, list[int]] = {name: [] for name in mix}
    nbytes: dict[str, list[int]] = {name: [] for name in mix}
    cpu: dict[str, float] = dict.fromkeys(mix, 0.0)
    loads: list[float] = []
    client = Client(url)
    try:
        for _ in range(3):  # warm caches, connections and the gallery index load
            for make in mix.values():
                client.get(make())
        machine0, server0, own0 = _machine_cpu_seconds(), _cpu_seconds(server_pid), _own_cpu()
        wall0 = time.perf_counter()
        for i in range(n):  # round-robin: every filter sees the same machine load
            if i % 10 == 0:
                loads.append(os.getloadavg()[0])
            for name, make in mix.items():
                path = make()
                cpu0 = _cpu_seconds(server_pid)
                t0 = time.perf_counter()
                status, body = client.get(path)
                times[name].append((time.perf_counter() - t0) * 1000)
                time.sleep(SETTLE)  # work the server does after answering is this request's
                cpu[name] += _cpu_seconds(server_pid) - cpu0
                if status not in (200, 204):
                    raise RuntimeError(f"{path}: HTTP {status} {body[:200]!r}")
                results = json.loads(body) if status == 200 else []
                sizes[name].append(len(results) if isinstance(results, list) else 1)
                nbytes[name].append(len(body))
        wall = time.perf_counter() - wall0
        machine = _machine_cpu_seconds() - machine0
        ours = (_cpu_seconds(server_pid) - server0) + (_own_cpu() - own0)
    finally:
        client.close()
    loads.append(os.getloadavg()[0])
    out: dict[str, dict[str, float]] = {}
    for name in mix:
        t = sorted(times[name])
        out[name] = {
            "p50_ms": percentile(t, 50),
            "p95_ms": percentile(t, 95),
            "p99_ms": percentile(t, 99),
            "server_cpu_ms": cpu[name] / n * 1000,
            "mean_results": statistics.mean(sizes[name]),
            "mean_kb": statistics.mean(nbytes[name]) / 1000,
        }
    machine_facts = {
        "load_min": min(loads),
        "load_mean": statistics.mean(loads),
        "load_max": max(loads),
        "other_cores_busy": max(0.0, machine - ours) / wall,  # CPU others used meanwhile
        "seconds": wall,
    }
    return out, machine_facts


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


CACHE_VERSION = 2  # bump when build_index's data changes
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jip"


def cached_data_dir(instances: int, studies: int) -> Path:
    """``.../data``: ``jip up`` writes its log beside the data folder, so inside this one."""
    return DEFAULT_CACHE / f"query-bench-{instances}-{studies}-v{CACHE_VERSION}" / "data"


def prepare_index(data_dir: Path, instances: int, studies: int, rebuild: bool) -> dict[str, Any]:
    """Build the index in ``data_dir`` or reuse a complete earlier build there (a marker
    file is written last, so an interrupted build is never reused)."""
    db = data_dir / "index.sqlite3"
    marker = data_dir / "bench-build.json"
    if rebuild or not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    try:
        migrate(engine)  # a reused index gets the newest schema (indexes) too
        if marker.exists():
            print(f"reusing the index built earlier in {data_dir} (--rebuild for a new one)")
            facts = facts_from_index(engine)
            facts.update(json.loads(marker.read_text()))
            return facts
        print(f"building index: {instances:,} instances, {studies:,} studies in {data_dir} ...")
        facts = build_index(engine, instances, studies)
    finally:
        engine.dispose()
    built = {k: facts[k] for k in ("build_seconds", "index_seconds")}
    built["built_at"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    marker.write_text(json.dumps(built))
    return facts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=1_000_000)
    ap.add_argument("--studies", type=int, default=0, help="default: instances / 100")
    ap.add_argument("--queries", type=int, default=200, help="requests per kind")
    ap.add_argument("--data-dir", type=Path, default=None, help="default: a cache folder")
    ap.add_argument("--rebuild", action="store_true", help="build the index anew")
    ap.add_argument("--no-cache", action="store_true", help="build in a temp folder, remove it")
    ap.add_argument("--reuse", action="store_true", help=argparse.SUPPRESS)  # now the default
    ap.add_argument("--json", type=Path, default=None, help="write figures as JSON")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated words: run only the kinds whose name contains one (e.g. bulk)",
    )
    args = ap.parse_args()
    studies = args.studies or max(1, args.instances // 100)
    tmp = Path(tempfile.mkdtemp(prefix="jip-query-bench-")) if args.no_cache else None
    data_dir = tmp / "data" if tmp else args.data_dir or cached_data_dir(args.instances, studies)
    try:
        facts = prepare_index(data_dir, args.instances, studies, args.rebuild)
        counts = facts["counts"]
        db = data_dir / "index.sqlite3"
        rate = counts["instances"] / facts["build_seconds"]
        print(
            f"index: built in {facts['build_seconds']:.1f} s ({rate:,.0f} instances/s; "
            f"instance indexes rebuilt in {facts['index_seconds']:.1f} s of it): "
            f"{counts['patients']:,} patients, {counts['studies']:,} studies, "
            f"{counts['series']:,} series, {counts['instances']:,} instances, "
            f"{db.stat().st_size / 1e6:,.0f} MB"
        )
        jip = start_jip(data_dir)
        try:
            mix = query_mix(facts, random.Random(11))
            words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
            if words:
                mix = {k: v for k, v in mix.items() if any(w in k.lower() for w in words)}
            results, machine = measure(jip.url, mix, args.queries, jip.proc.pid)
        finally:
            jip.stop()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, machine, args.queries)
    if args.json:
        payload = {"counts": counts, "results": results, "machine": machine}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


def report(results: dict[str, dict[str, float]], machine: dict[str, float], n: int) -> None:
    print(f"\nQIDO-RS series search, {n} requests per kind, target p95 < {TARGET_P95_MS:.0f} ms")
    print(
        f"machine: {os.cpu_count()} cores; load average (1 min) during the run "
        f"{machine['load_min']:.1f}-{machine['load_max']:.1f} (mean {machine['load_mean']:.1f}); "
        f"other processes kept {machine['other_cores_busy']:.2f} cores busy"
    )
    head = f"{'kind':38s} {'p50':>6s} {'p95':>6s} {'p99':>6s} {'cpu':>6s} {'rows':>5s} {'kB':>6s}"
    print(head + "  p95/target")
    print(f"{'':38s} {'ms':>6s} {'ms':>6s} {'ms':>6s} {'ms':>6s}")
    worst = 0.0
    for name, r in results.items():
        ratio = r["p95_ms"] / TARGET_P95_MS
        if not name.startswith("reference") and name != BULK:
            worst = max(worst, ratio)
        print(
            f"{name:38s} {r['p50_ms']:6.1f} {r['p95_ms']:6.1f} {r['p99_ms']:6.1f} "
            f"{r['server_cpu_ms']:6.1f} {r['mean_results']:5.0f} {r['mean_kb']:6.1f}  "
            f"{ratio:.2f}x {'ok' if ratio < 1 else 'OVER'}"
        )
    verdict = "MET" if worst < 1 else "NOT MET"
    print(f"typical searches: worst p95/target {worst:.2f}x -> {verdict}")
    if BULK in results:
        bulk = results[BULK]["p95_ms"] / TARGET_P95_MS
        print(f"bulk (1000 rows, ~1 MB): p95/target {bulk:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
