"""The same cohort on the local engine and on the Airflow engine, side by side.

The workload is identical on both: the same series, the ``test-trivial`` algorithm, the
same runner and worker threads; only the engine differs. The local pool runs the
operator functions in threads of this process; the Airflow engine triggers a DAG run
(api-server + scheduler + dag-processor started here on free ports with
``jip.pipelines.airflow_config``'s settings) whose mapped task groups run each step for a
batch of jobs in JIP's warm step server. Prints wall seconds per engine and the ratio.

    .venv/bin/python benchmarks/airflow_bench.py [--series 100] [--workers 2]

``benchmarks/pipeline_bench.py`` calls ``airflow_cohort`` for the docker-runner figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jip.config import Settings  # noqa: E402
from jip.runtime import Runtime  # noqa: E402
from jip.synthetic import SeriesSpec  # noqa: E402
from tests.airflow.conftest import start_airflow_services  # noqa: E402
from tests.pipelines.conftest import ingest, job_states, pipeline_settings, wait_run  # noqa: E402

ALGORITHM = "test-trivial"


def cohort(rt: Runtime, uids: list[str], timeout: float) -> tuple[float, dict[str, int]]:
    """Seconds from trigger to the run's final state, and how its jobs ended. A one-series
    run goes first, not counted: it pays one-time costs (the first task after Airflow's
    start-up is slow, the step server imports JIP) that a running site has paid long ago."""
    warm_up, _ = _one_run(rt, uids[:1], timeout)
    print(f"  ({rt.settings.workflow_engine}: warm-up run of 1 series {warm_up:.1f} s, "
          "not counted)")
    return _one_run(rt, uids, timeout)


def _one_run(rt: Runtime, uids: list[str], timeout: float) -> tuple[float, dict[str, int]]:
    t0 = time.perf_counter()
    run = rt.pipelines.create_run(algorithm=ALGORITHM, series_uids=uids)
    wait_run(rt, run.id, timeout=timeout)
    took = time.perf_counter() - t0
    ended: dict[str, int] = {}
    for status in job_states(rt, run.id).values():
        ended[status] = ended.get(status, 0) + 1
    return took, ended


def airflow_cohort(
    settings: Settings, uids: list[str], airflow_home: Path, *, parallelism: int,
    timeout: float = 1800,
) -> tuple[float, dict[str, int]] | None:
    """The cohort on the Airflow engine for a site with ``settings`` (its runner,
    workers, batch size); None (with the reason printed) if Airflow could not run it."""
    t0 = time.perf_counter()
    try:
        services = start_airflow_services(airflow_home, parallelism=parallelism)
    except (AssertionError, OSError) as exc:  # no Airflow venv: a finding, not a crash
        print(f"  airflow engine: not measured ({type(exc).__name__}: {str(exc)[:300]})")
        return None
    server = "step server" if settings.airflow_step_server else "a fresh jip per task"
    print(f"  (airflow up in {time.perf_counter() - t0:.0f} s, not counted; "
          f"{parallelism} task slots, batches of {settings.airflow_batch_size} jobs, {server})")
    try:
        rt = Runtime(settings.model_copy(update=dict(
            workflow_engine="airflow", airflow_url=services.url,
            airflow_username=services.username,
            airflow_password=SecretStr(services.password))))
        try:
            rt.pipelines.start()
            return cohort(rt, uids, timeout)
        finally:
            rt.close()
    except Exception as exc:  # a failing Airflow is a finding, not a crash
        print(f"  airflow engine: not measured ({type(exc).__name__}: {exc})")
        return None
    finally:
        services.stop()


def side_by_side(series: int, local: tuple[float, dict[str, int]],
                 airflow: tuple[float, dict[str, int]] | None) -> None:
    print(f"  {'engine':8s} {'wall s':>8s} {'ms/series':>10s}  jobs")
    for name, result in (("local", local), ("airflow", airflow)):
        if result is not None:
            took, jobs = result
            print(f"  {name:8s} {took:8.1f} {took / series * 1000:10.0f}  {jobs}")
    if airflow is not None:
        print(f"  airflow / local = {airflow[0] / local[0]:.2f}x (wall, same workload)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="10 series (make bench --quick)")
    ap.add_argument("--workers", type=int, default=2, help="threads per engine / step")
    ap.add_argument("--parallelism", type=int, default=2, help="Airflow task slots")
    ap.add_argument("--batch-size", type=int, default=Settings().airflow_batch_size,
                    help="jobs per Airflow task")
    ap.add_argument("--no-step-server", action="store_true",
                    help="a fresh jip process per Airflow task (to see what the server saves)")
    ap.add_argument("--timeout", type=float, default=1800)
    args, _ = ap.parse_known_args()  # run_all.py passes its arguments to every script
    if args.quick:
        args.series = 10

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="jip-airflow-bench-") as tmp_name:
        tmp = Path(tmp_name)
        settings = pipeline_settings(tmp / "site", pipeline_workers=args.workers,
                                     airflow_batch_size=args.batch_size,
                                     airflow_step_server=not args.no_step_server)
        rt = Runtime(settings)
        try:
            uids = [ingest(rt, SeriesSpec(slices=2, size=16)) for _ in range(args.series)]
            rt.pipelines.start()
            local = cohort(rt, uids, args.timeout)
        finally:
            rt.close()
        print(f"{args.series}-series cohort, {ALGORITHM}, process runner, "
              f"{args.workers} workers:")
        airflow = airflow_cohort(settings, uids, tmp / "airflow",
                                 parallelism=args.parallelism, timeout=args.timeout)
        side_by_side(args.series, local, airflow)


if __name__ == "__main__":
    main()
