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
    ap.add_argument("--workers", type=int, default=2, help="local workers / Airflow parallelism")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="jip-airflow-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rt = Runtime(pipeline_settings(tmp / "local", pipeline_workers=args.workers))
        rt.pipelines.start()
        try:
            local_s, local_jobs = workload(rt, args.series, args.timeout)
        finally:
            rt.close()
        print(f"local engine:   {args.series} series in {local_s:7.1f} s  "
              f"({local_s / args.series * 1000:.0f} ms/series)  jobs {local_jobs}")

        t0 = time.perf_counter()
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
        print(f"airflow engine: {args.series} series in {af_s:7.1f} s  "
              f"({af_s / args.series * 1000:.0f} ms/series)  jobs {af_jobs}")
        print(f"ratio airflow/local: {af_s / local_s:.1f}x")


if __name__ == "__main__":
    main()
