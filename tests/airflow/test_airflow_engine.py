"""The Airflow engine against a real Airflow 3 (api-server + scheduler + dag-processor):
runs are triggered through the REST API, run the real ``jip pipeline step`` commands,
can be cancelled, and jobs a DAG run leaves behind are failed by the engine's poller."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from jip.pipelines import airflow_engine, state
from jip.pipelines.airflow_client import AirflowClient, AirflowError
from jip.pipelines.airflow_engine import CANCEL_NOTE, AirflowEngine, dag_run_prefix
from jip.pipelines.models import PipelineResult, PipelineRun
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.airflow.conftest import AirflowServices
from tests.conftest import free_port
from tests.pipelines.conftest import ingest, job_states, pipeline_settings, wait_run


def airflow_runtime(tmp_path: Path, services: AirflowServices, **overrides: object) -> Runtime:
    settings = pipeline_settings(
        tmp_path,
        workflow_engine="airflow",
        airflow_url=services.url,
        airflow_username=services.username,
        airflow_password=SecretStr(services.password),
        airflow_poll_seconds=1.0,
        **overrides,
    )
    rt = Runtime(settings)
    rt.pipelines.start()
    return rt


@pytest.fixture
def make_runtime(
    tmp_path: Path, airflow_services: AirflowServices
) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(name: str = "site", **overrides: object) -> Runtime:
        made.append(airflow_runtime(tmp_path / name, airflow_services, **overrides))
        return made[-1]

    yield make
    for rt in made:
        rt.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def engine_of(rt: Runtime) -> AirflowEngine:
    engine = rt.pipelines.engine
    assert isinstance(engine, AirflowEngine)
    return engine


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_run_through_rest_api_stores_results(
    make_runtime: Callable[..., Runtime],
    airflow_services: AirflowServices,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two jobs, one DAG run each (the batch size lowered to 1 to cover batching)."""
    monkeypatch.setattr(airflow_engine, "MAX_JOBS_PER_DAG_RUN", 1)
    rt = make_runtime()
    uids = [ingest(rt, SeriesSpec(slices=n, size=16)) for n in (2, 3)]
    run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=uids)

    assert wait_run(rt, run.id, timeout=600) == "succeeded", airflow_services.logs()
    with rt.sessions() as s:
        results = list(s.scalars(select(PipelineResult).where(PipelineResult.run_id == run.id)))
    assert sorted(r.filename for r in results) == ["count.json", "count.json"]
    engine = engine_of(rt)
    dag_runs = engine.client.list_runs(engine.dag_id, dag_run_prefix(run.id))
    assert sorted(len(d.conf["jobs"]) for d in dag_runs) == [1, 1]

    def all_succeeded() -> bool:
        return all(engine.client.get_run(engine.dag_id, d.dag_run_id).state == "success"
                   for d in dag_runs)

    wait_for(all_succeeded, 120, "the DAG runs to succeed")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cancel_fails_the_dag_run(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    uid = ingest(rt, SeriesSpec(slices=2, size=16))
    run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid],
                                  params={"seconds": 120})
    wait_for(lambda: job_states(rt, run.id)[uid] == "running", 600, "the algorithm to start")

    rt.pipelines.cancel(run.id)

    engine = engine_of(rt)
    (dag_run,) = engine.client.list_runs(engine.dag_id, dag_run_prefix(run.id))

    def stopped_by_jip() -> bool:
        d = engine.client.get_run(engine.dag_id, dag_run.dag_run_id)
        return d.state == "failed" and d.note == CANCEL_NOTE

    wait_for(stopped_by_jip, 120, "the DAG run to be failed by the engine")
    assert job_states(rt, run.id) == {uid: "cancelled"}
    with rt.sessions() as s:
        assert state.get_run(s, run.id).status == "cancelled"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_jobs_left_behind_by_a_failed_dag_run_are_failed(
    make_runtime: Callable[..., Runtime],
) -> None:
    """A task that cannot even start ``jip`` never touches the job: the poller fails it."""
    rt = make_runtime(airflow_jip_bin="/nonexistent/jip")
    uid = ingest(rt, SeriesSpec(slices=2, size=16))
    run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid])

    assert wait_run(rt, run.id, timeout=600) == "failed"
    with rt.sessions() as s:
        (job,) = state.jobs_of(s, run.id)
    assert job.error.startswith("airflow: DAG run jip-") and "ended failed" in job.error


@pytest.mark.slow
def test_wrong_password_is_refused_without_echoing_it(airflow_services: AirflowServices) -> None:
    client = AirflowClient(airflow_services.url, "jip", SecretStr("not-the-password"))
    with pytest.raises(AirflowError) as err:
        client.list_runs("jip_pipeline", "jip-")
    assert "401" in err.value.message and "not-the-password" not in str(err.value)
    client.close()


def test_submit_with_airflow_down_fails_the_jobs(tmp_path: Path) -> None:
    settings = pipeline_settings(
        tmp_path, workflow_engine="airflow", airflow_url=f"http://127.0.0.1:{free_port()}"
    )
    rt = Runtime(settings)
    try:
        uid = ingest(rt, SeriesSpec(slices=2, size=16))
        with pytest.raises(AirflowError, match="not reachable"):
            rt.pipelines.create_run(algorithm="test-trivial", series_uids=[uid])
        with rt.sessions() as s:
            (run,) = s.scalars(select(PipelineRun)).all()
            (job,) = state.jobs_of(s, run.id)
            assert run.status == "failed"
        assert job.status == "failed" and "not reachable" in job.error
    finally:
        rt.close()
