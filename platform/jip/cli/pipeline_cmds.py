"""CLI for pipelines: list algorithms, start and watch runs (through a running JIP's
REST API), and ``jip pipeline step`` which runs one operator in this process (what an
Airflow task calls)."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 250)  # pipes get whole UIDs

algorithms_app = typer.Typer(help="Algorithms this site can run.", no_args_is_help=True)
runs_app = typer.Typer(help="Pipeline runs: show, cancel, retry, logs.", no_args_is_help=True)
pipeline_app = typer.Typer(
    help="Engine-side commands (used by workflow engines).", no_args_is_help=True
)
triggers_app = typer.Typer(
    help="Auto-triggers: run on each matching completed series.", no_args_is_help=True
)

UrlOpt = Annotated[str, typer.Option(help="JIP base URL (default: local JIP_HTTP_PORT)")]


def _base(url: str) -> str:
    if url:
        return url.rstrip("/")
    from jip.cli.common import load_settings

    return f"http://127.0.0.1:{load_settings().http_port}"


def _call(method: str, url: str, path: str, **kw: Any) -> Any:
    import httpx

    try:
        r = httpx.request(method, f"{_base(url)}/api/v1{path}", timeout=30, **kw)
    except httpx.HTTPError as exc:
        console.print(f"[red]JIP not reachable at {_base(url)}[/]: {exc}")
        raise typer.Exit(1) from exc
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        console.print(f"[red]error {r.status_code}[/]: {detail}")
        raise typer.Exit(1)
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json()
    return r.text


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; a value that parses as JSON (numbers, true, lists) is taken as such."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


# -- algorithms ------------------------------------------------------------------------


@algorithms_app.command("list")
def algorithms_list() -> None:
    """Algorithms found in the configured algorithm folders."""
    from jip.cli.common import load_settings
    from jip.pipelines.registry import AlgorithmRegistry

    table = Table("name", "version", "image", "inputs", "outputs")
    for a in AlgorithmRegistry(load_settings().algorithms_dirs).list():
        m = a.manifest
        table.add_row(
            m.name,
            m.version,
            m.image,
            ",".join(m.inputs.modalities) or "any",
            ", ".join(f"{o.name}:{o.kind}" for o in m.outputs),
        )
    out.print(table)


@algorithms_app.command("show")
def algorithms_show(name: str) -> None:
    """The manifest of one algorithm, parameters schema included."""
    from jip.cli.common import load_settings
    from jip.pipelines.registry import AlgorithmRegistry

    a = AlgorithmRegistry(load_settings().algorithms_dirs).get(name)
    out.print_json(a.manifest.model_dump_json())


# -- runs ------------------------------------------------------------------------------


def run(
    algorithm: Annotated[str, typer.Argument(help="algorithm name")],
    series: Annotated[list[str] | None, typer.Option("--series", help="SeriesInstanceUID")] = None,
    cohort: Annotated[str | None, typer.Option(help="cohort id")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value")] = None,
    wait: Annotated[bool, typer.Option(help="wait until the run has finished")] = False,
    url: UrlOpt = "",
) -> None:
    """Start ALGORITHM on series or a cohort; prints the run id."""
    body = {
        "algorithm": algorithm,
        "series_uids": series or [],
        "cohort_id": cohort,
        "params": parse_params(param or []),
    }
    created = _call("POST", url, "/runs", json=body)
    out.print(created["id"])
    if wait:
        final = _wait(url, created["id"])
        if final["status"] != "succeeded":
            raise typer.Exit(1)


def _wait(url: str, run_id: str, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail: dict[str, Any] = _call("GET", url, f"/runs/{run_id}")
        if detail["status"] in ("succeeded", "failed", "cancelled"):
            console.print(f"run {run_id} {detail['status']}: {detail['progress']}")
            return detail
        time.sleep(0.5)
    console.print(f"[red]run {run_id} still {detail['status']} after {timeout} s")
    raise typer.Exit(1)


@runs_app.command("list")
def runs_list(url: UrlOpt = "", limit: int = 20) -> None:
    table = Table("id", "algorithm", "status", "progress", "created")
    for r in _call("GET", url, "/runs", params={"limit": limit}):
        prog = " ".join(f"{k}={v}" for k, v in r["progress"].items() if k != "total")
        table.add_row(r["id"], r["algorithm"], r["status"], prog, r["created_at"])
    out.print(table)


@runs_app.command("show")
def runs_show(run_id: str, url: UrlOpt = "") -> None:
    """Status, per-series jobs and results of a run."""
    d = _call("GET", url, f"/runs/{run_id}")
    out.print(f"run {d['id']}  {d['algorithm']} {d['algorithm_version']}  [bold]{d['status']}[/]")
    out.print(f"params {json.dumps(d['params'])}  progress {d['progress']}")
    jobs = Table("job", "series", "status", "attempts", "exit", "error")
    for j in d["jobs"]:
        jobs.add_row(
            j["id"],
            j["series_uid"],
            j["status"],
            str(j["attempts"]),
            "" if j["exit_code"] is None else str(j["exit_code"]),
            j["error"][:80],
        )
    out.print(jobs)
    if d["results"]:
        res = Table("result", "kind", "file", "series", "download")
        for r in d["results"]:
            res.add_row(
                str(r["id"]), r["kind"], r["filename"], r["series_uid"] or "", r["download"]
            )
        out.print(res)


@runs_app.command("cancel")
def runs_cancel(run_id: str, url: UrlOpt = "") -> None:
    d = _call("POST", url, f"/runs/{run_id}/cancel")
    out.print(f"run {run_id} {d['status']}")


@runs_app.command("retry")
def runs_retry(run_id: str, url: UrlOpt = "") -> None:
    d = _call("POST", url, f"/runs/{run_id}/retry")
    out.print(f"run {run_id}: {d['requeued']} job(s) queued again")


@runs_app.command("logs")
def runs_logs(
    run_id: str, job: Annotated[str | None, typer.Option()] = None, url: UrlOpt = ""
) -> None:
    path = f"/runs/{run_id}/jobs/{job}/logs" if job else f"/runs/{run_id}/logs"
    sys.stdout.write(_call("GET", url, path))


@runs_app.command("wait")
def runs_wait(run_id: str, url: UrlOpt = "", timeout: float = 3600) -> None:
    if _wait(url, run_id, timeout)["status"] != "succeeded":
        raise typer.Exit(1)


# -- triggers --------------------------------------------------------------------------


@triggers_app.command("add")
def triggers_add(
    algorithm: str,
    filter_: Annotated[list[str], typer.Option("--filter", help="key=glob, e.g. modality=CT")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p")] = None,
    url: UrlOpt = "",
) -> None:
    body = {
        "algorithm": algorithm,
        "series_filter": parse_params(filter_),
        "params": parse_params(param or []),
    }
    out.print(_call("POST", url, "/pipeline-triggers", json=body)["id"])


@triggers_app.command("list")
def triggers_list(url: UrlOpt = "") -> None:
    for t in _call("GET", url, "/pipeline-triggers"):
        out.print(f"{t['id']}  {t['algorithm']}  {json.dumps(t['series_filter'])}")


@triggers_app.command("rm")
def triggers_rm(trigger_id: int, url: UrlOpt = "") -> None:
    _call("DELETE", url, f"/pipeline-triggers/{trigger_id}")


# -- engine side -----------------------------------------------------------------------


class Step(StrEnum):
    prepare = "prepare"
    run = "run"
    store = "store"


@pipeline_app.command("step")
def step(
    name: Annotated[Step, typer.Argument(help="which operator")],
    job: Annotated[list[str], typer.Option("--job", help="job id (repeat for a batch)")],
    workers: Annotated[int, typer.Option(help="jobs of the batch worked on at once")] = 0,
) -> None:
    """Run one operator function for each job against JIP_DATA_DIR/JIP_DATABASE_URL
    (what an Airflow task calls, once per batch of jobs). Jobs failed by an earlier
    step are skipped. Exit code 1 if no job of the batch is left to go on (after
    ``store``: unless every job succeeded); SIGTERM stops running algorithms."""
    raise typer.Exit(step_main(name.value, job, workers))


def step_main(name: str, jobs: list[str], workers: int = 0) -> int:
    """``jip pipeline step`` without the command line (the step server's children call
    it too); returns the exit code."""
    import logging
    import signal
    import threading

    from jip.cli.common import load_settings
    from jip.logs import setup_logging
    from jip.pipelines import batch
    from jip.runtime import Runtime

    setup_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per Docker API call
    settings = load_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = Runtime(settings)
    try:
        outcome = batch.run_step(
            runtime, name, jobs, workers=workers or settings.pipeline_workers, stop=stop,
            report=lambda line: console.print(line, highlight=False, soft_wrap=True),
        )
        final = batch.statuses(runtime, jobs) if name == "store" else None
    finally:
        runtime.close()
    if final is not None:
        for job_id in jobs:
            if final.get(job_id) != "succeeded":
                console.print(f"job {job_id} ended {final.get(job_id, 'unknown')}")
    code = outcome.exit_code(final)
    if code:
        console.print(f"[red]{name} failed[/] for {len(outcome.failed)} of {len(jobs)} "
                      "job(s)" + (" (some job of the batch did not succeed)" if final else ""))
    return code


@pipeline_app.command("airflow-config")
def airflow_config(
    parallelism: Annotated[int, typer.Option(help="Airflow task slots")] = 4,
) -> None:
    """Print the Airflow settings that suit JIP's engine as shell exports."""
    from jip.pipelines.airflow_config import tuned_airflow_env

    for key, value in tuned_airflow_env(parallelism).items():
        out.print(f"export {key}={value}", highlight=False)


@pipeline_app.command("step-server")
def step_server(
    socket_path: Annotated[str, typer.Option("--socket", help="unix socket to serve on")],
    idle_seconds: Annotated[float, typer.Option(help="exit after this long unused")] = 300,
    stop: Annotated[bool, typer.Option("--stop", help="ask the server to exit")] = False,
) -> None:
    """A warm process that runs ``jip pipeline step`` requests in forked children, so a
    step skips the seconds of imports a fresh ``jip`` costs (Airflow tasks use it)."""
    from pathlib import Path

    from jip.pipelines import step_server as server

    if stop:
        raise typer.Exit(0 if server.request_stop(Path(socket_path)) else 1)
    server.serve(Path(socket_path), idle_seconds)


@pipeline_app.command("work")
def work() -> None:
    """Run every queued job of the local engine in this process, then exit."""
    from jip.cli.common import load_settings
    from jip.logs import setup_logging
    from jip.pipelines.engine import LocalEngine
    from jip.runtime import Runtime

    setup_logging()
    runtime = Runtime(load_settings())
    try:
        n = LocalEngine(runtime, workers=1).run_pending()
    finally:
        runtime.close()
    console.print(f"ran {n} job(s)")


@algorithms_app.command("build")
def algorithms_build(
    names: Annotated[list[str] | None, typer.Argument(help="algorithms (default: all)")] = None,
    record: Annotated[
        bool, typer.Option(help="pin the built image's digest in its jip-algorithm.yaml")
    ] = True,
) -> None:
    """Build algorithm images locally (mmdebstrap base, vendored wheels, --network none)
    and record each image's digest in its manifest (``image_digest``), which the
    runners then enforce."""
    from jip.cli.common import load_settings
    from jip.errors import JIPError
    from jip.logs import setup_logging
    from jip.pipelines.images import ImageBuilder, cache_dir
    from jip.pipelines.manifest import MANIFEST_NAME, record_image_digest
    from jip.pipelines.registry import AlgorithmRegistry
    from jip.pipelines.runners.docker import DockerRunner

    setup_logging()
    settings = load_settings()
    registry = AlgorithmRegistry(settings.algorithms_dirs)
    builder = ImageBuilder(DockerRunner(settings), cache_dir(settings))
    for algo in [registry.get(n) for n in names] if names else registry.list():
        image_id = builder.build(algo)
        out.print(f"{algo.manifest.image}  {image_id}")
        if not record:
            continue
        digest = builder.digest_to_pin(image_id)
        try:
            previous = record_image_digest(algo.folder / MANIFEST_NAME, digest)
        except JIPError as exc:
            console.print(f"[red]{algo.name}: digest not recorded[/]: {exc.message}")
            raise typer.Exit(1) from exc
        if previous != digest:
            was = f" (was {previous})" if previous else ""
            console.print(f"{algo.name}: pinned image_digest {digest}{was}", soft_wrap=True)
