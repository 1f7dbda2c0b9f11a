"""Pipeline speed: per-job overhead of the local engine with the docker runner, and a
100-series cohort with a trivial algorithm on the local and the airflow engine, side by
side with the ratio.

    .venv/bin/python benchmarks/pipeline_bench.py [--series 100] [--no-airflow]

Targets: trigger -> container start and container exit -> results indexed < 1 s each;
100 series < 60 s on 2 cores. Starts its own dockerd (image cache as in the tests). The
same cohort then runs on the airflow engine (``benchmarks/airflow_bench.py``: Airflow 3
from .venv-airflow on free ports) and both are printed side by side with the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jip.config import Settings  # noqa: E402
from jip.pipelines import state  # noqa: E402
from jip.pipelines.registry import REPO_ALGORITHMS  # noqa: E402
from jip.runtime import Runtime  # noqa: E402
from jip.synthetic import SeriesSpec, dataset_bytes, make_series  # noqa: E402

TEST_ALGORITHMS = ROOT / "tests" / "pipelines" / "algorithms"
ALGORITHM = "test-trivial"


def make_settings(data: Path, docker_host: str, **over: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=data, runner="docker", docker_host=docker_host,
        algorithms_dirs=[REPO_ALGORITHMS, TEST_ALGORITHMS],
        pipeline_poll_seconds=0.5,
    )
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


def seed(rt: Runtime, n: int) -> list[str]:
    uids = []
    for i in range(n):
        uid = ""
        for ds in make_series(SeriesSpec(slices=2, size=16, patient_id=f"B{i:05d}")):
            uid = rt.ingestor.ingest(dataset_bytes(ds)).series_uid
        uids.append(uid)
    return uids


def wait(rt: Runtime, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            status = state.get_run(s, run_id).status
        if status in ("succeeded", "failed", "cancelled"):
            return status
        time.sleep(0.05)
    raise RuntimeError(f"run {run_id} did not finish in {timeout} s")


def per_job_overhead(rt: Runtime, uids: list[str], n: int = 8) -> None:
    starts, ends, totals = [], [], []
    for uid in uids[:n]:
        run = rt.pipelines.create_run(algorithm=ALGORITHM, series_uids=[uid])
        assert wait(rt, run.id) == "succeeded"
        with rt.sessions() as s:
            r = state.get_run(s, run.id)
            j = state.jobs_of(s, run.id)[0]
        assert j.container_started_at and j.container_exited_at and j.finished_at
        starts.append((j.container_started_at - r.created_at).total_seconds())
        ends.append((j.finished_at - j.container_exited_at).total_seconds())
        totals.append((j.finished_at - r.created_at).total_seconds())
    print(f"per-job overhead over {n} single-series runs (local engine, docker runner):")
    for label, xs, target in (("trigger -> container start", starts, True),
                              ("container exit -> results indexed", ends, True),
                              ("trigger -> done (whole job)", totals, False)):
        verdict = ("   target < 1 s: " + ("ok" if statistics.median(xs) < 1 else "MISSED")
                   if target else "")
        print(f"  {label:36s} median {statistics.median(xs):6.3f} s   max {max(xs):6.3f} s"
              + verdict)


def main() -> None:
    import os

    from benchmarks.airflow_bench import airflow_cohort, cohort, side_by_side

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(figures are wall time: a busy machine inflates them)")
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--no-airflow", action="store_true", help="skip the airflow engine")
    ap.add_argument("--airflow-parallelism", type=int, default=2, help="Airflow task slots")
    ap.add_argument("--quick", action="store_true", help="10 series (make bench --quick)")
    args, _ = ap.parse_known_args()  # run_all.py passes its arguments to every script
    if args.quick:
        args.series = 10
    from tests.pipelines.dockerd import CACHE, running_dockerd

    with running_dockerd() as host, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = make_settings(data, host)
        rt = Runtime(settings)
        try:
            from jip.pipelines.images import ImageBuilder
            from jip.pipelines.runners.docker import DockerRunner

            t0 = time.monotonic()
            ImageBuilder(DockerRunner(rt.settings), CACHE).build(
                rt.pipelines.registry.get(ALGORITHM))
            print(f"image ready in {time.monotonic() - t0:.1f} s (cached after the first run)")
            uids = seed(rt, args.series)
            rt.pipelines.start()
            per_job_overhead(rt, uids)
            print(f"{args.series}-series cohort ({ALGORITHM}, docker runner, "
                  f"{settings.pipeline_workers} workers), the same workload on both engines:")
            local = cohort(rt, uids, 600)
        finally:
            rt.close()
        airflow = None
        if not args.no_airflow:
            airflow = airflow_cohort(settings, uids, Path(tmp) / "airflow",
                                     parallelism=args.airflow_parallelism, timeout=1200)
        side_by_side(args.series, local, airflow)
        print(f"  local target < 60 s: {'ok' if local[0] < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
