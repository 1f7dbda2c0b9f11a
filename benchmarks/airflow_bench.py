"""The 100-series trivial workload on the local engine and on the Airflow engine.

Both use the ``process`` runner and the ``test-trivial`` algorithm, so the difference is
the engine: the local pool runs the operator functions in threads of this process, the
Airflow engine triggers one DAG run (api-server + scheduler + dag-processor, started
here on free ports) whose mapped tasks each start ``jip pipeline step`` processes.
Prints seconds per workload and the airflow/local ratio. Run: ``make bench`` or
``.venv/bin/python benchmarks/airflow_bench.py --series 100``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jip.runtime import Runtime  # noqa: E402
from jip.synthetic import SeriesSpec  # noqa: E402
from tests.airflow.conftest import start_airflow_services  # noqa: E402
from tests.pipelines.conftest import ingest, job_states, pipeline_settings, wait_run  # noqa: E402


def cpu_seconds() -> float:
    """CPU used by this process and every child it has reaped (Airflow and its tasks
    once stopped): a figure a busy machine distorts far less than wall time."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def workload(rt: Runtime, series: int, timeout: float) -> tuple[float, dict[str, int]]:
    """Seconds from trigger to the run's final state, and how its jobs ended."""
    uids = [ingest(rt, SeriesSpec(slices=2, size=16)) for _ in range(series)]
    t0 = time.perf_counter()
    run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=uids)
    wait_run(rt, run.id, timeout=timeout)
    took = time.perf_counter() - t0
    ended: dict[str, int] = {}
    for status in job_states(rt, run.id).values():
        ended[status] = ended.get(status, 0) + 1
    return took, ended


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="10 series (make bench --quick)")
    ap.add_argument("--workers", type=int, default=2, help="local workers / Airflow parallelism")
    ap.add_argument("--timeout", type=float, default=1800)
    args, _ = ap.parse_known_args()  # run_all.py passes its arguments to every script
    if args.quick:
        args.series = 10

    with tempfile.TemporaryDirectory(prefix="jip-airflow-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rt = Runtime(pipeline_settings(tmp / "local", pipeline_workers=args.workers))
        rt.pipelines.start()
        cpu0 = cpu_seconds()
        try:
            local_s, local_jobs = workload(rt, args.series, args.timeout)
        finally:
            rt.close()
        local_cpu = cpu_seconds() - cpu0
        print(f"local engine:   {args.series} series in {local_s:7.1f} s  "
              f"({local_s / args.series * 1000:.0f} ms/series)  cpu {local_cpu:.1f} s  "
              f"jobs {local_jobs}")

        t0 = time.perf_counter()
        cpu0 = cpu_seconds()
        services = start_airflow_services(tmp / "airflow", parallelism=args.workers)
        print(f"airflow up in {time.perf_counter() - t0:.0f} s (not counted)")
        try:
            rt = Runtime(pipeline_settings(
                tmp / "af", workflow_engine="airflow", airflow_url=services.url,
                airflow_username=services.username,
                airflow_password=SecretStr(services.password),
            ))
            rt.pipelines.start()
            try:
                af_s, af_jobs = workload(rt, args.series, args.timeout)
            finally:
                rt.close()
        finally:
            services.stop()
        af_cpu = cpu_seconds() - cpu0
        print(f"airflow engine: {args.series} series in {af_s:7.1f} s  "
              f"({af_s / args.series * 1000:.0f} ms/series)  cpu {af_cpu:.1f} s "
              f"(Airflow start-up included)  jobs {af_jobs}")
        print(f"ratio airflow/local: wall {af_s / local_s:.1f}x  cpu {af_cpu / local_cpu:.1f}x")


if __name__ == "__main__":
    main()
