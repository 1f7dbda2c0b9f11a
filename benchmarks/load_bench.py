"""Load benchmark: 8 storescu senders + 50 concurrent query clients for 60 s on one
``jip up``; prints stores (zero may fail), query count, 5xx (zero allowed) and latency
p50/p95/p99. The query endpoint is QIDO-RS ``/dicomweb/studies`` when this build has it,
else ``/api/v1/health`` (``--endpoint`` to choose).

    .venv/bin/python benchmarks/load_bench.py [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.loadgen import run_load  # noqa: E402
from jip.synthetic import SeriesSpec, write_series  # noqa: E402
from tests.conftest import start_jip  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--slices", type=int, default=100, help="instances per sender run")
    ap.add_argument("--endpoint", default=None)
    ap.add_argument("--quick", action="store_true", help="10 s, 20 instances per sender")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.slices = 10, 20
    with tempfile.TemporaryDirectory(prefix="jip-load-") as tmp:
        work = Path(tmp)
        files = [
            write_series(
                SeriesSpec(slices=args.slices, size=64, patient_id=f"LOAD{n}", series_number=n),
                work / "data" / f"s{n}",
            )
            for n in range(args.senders)
        ]
        jip = start_jip(work / "jip", extra_env={"JIP_SERIES_QUIET_SECONDS": "5"})
        try:
            result = run_load(
                jip.url,
                jip.dicom_port,
                files,
                http_clients=args.clients,
                seconds=args.seconds,
                endpoint=args.endpoint,
            )
        finally:
            jip.stop()
    print(f"{args.senders} storescu senders + {args.clients} HTTP clients, {args.seconds:.0f} s")
    print(result.summary())
    for msg in result.failure_messages[:3]:
        print("store failure:", msg)
    ok = result.store_failures == 0 and result.server_errors == 0
    print("PASS" if ok else "FAIL", "(zero failed stores, zero 5xx)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
