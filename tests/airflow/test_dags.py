"""Every DAG in ``dags/`` runs for real under ``airflow dags test`` (sqlite metadata db),
calling the real ``jip pipeline step`` commands against a temp JIP site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from jip.pipelines import state
from jip.pipelines.airflow_engine import default_jip_bin, step_env
from jip.pipelines.models import PipelineResult
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.airflow.conftest import AirflowHome
from tests.pipelines.conftest import ingest, pipeline_settings

# DAG ids that have an ``airflow dags test`` below; a new DAG without one fails the suite.
TESTED_DAGS = {"jip_pipeline"}


def test_every_dag_parses_and_is_tested(airflow_home: AirflowHome) -> None:
    """A DAG with an import error is not listed, so this also fails on broken DAG files."""
    done = airflow_home.run("dags", "list", "--local", "-o", "json")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("[{")))
    assert {d["dag_id"] for d in listed} == TESTED_DAGS


@pytest.mark.timeout(600)
def test_jip_pipeline_dag_runs_real_steps_and_isolates_failures(
    airflow_home: AirflowHome, tmp_path: Path
) -> None:
    """Each batch of jobs runs prepare -> run -> store through ``jip pipeline step``; the
    results land in JIP's database; a job that fails (unknown id) stops only itself, also
    inside its batch (batch size 2: [job, unknown], [job])."""
    settings = pipeline_settings(tmp_path, workflow_engine="airflow")
    rt = Runtime(settings)
    try:
        uids = [ingest(rt, SeriesSpec(slices=n, size=16)) for n in (2, 3)]
        run = rt.pipelines.create_run(algorithm="test-trivial", series_uids=uids, submit=False)
        with rt.sessions() as s:
            jobs = [j.id for j in state.jobs_of(s, run.id)]
        conf = {
            "run_id": run.id,
            "jobs": [jobs[0], "no-such-job", jobs[1]],
            "batch_size": 2,
            "step_workers": 2,
            # a fresh `jip` per task here; the step server is covered with the real
            # scheduler (test_airflow_engine) and in tests/pipelines/test_step_server.py
            "step_server": False,
            "jip_env": step_env(settings),
            "jip_bin": default_jip_bin(settings),
        }

        done = airflow_home.dags_test("jip_pipeline", conf)

        log = done.stdout + done.stderr
        with rt.sessions() as s:
            final = {j.series_uid: j.status for j in state.jobs_of(s, run.id)}
            results = list(s.scalars(select(PipelineResult).where(PipelineResult.run_id == run.id)))
            status = state.get_run(s, run.id).status
        assert final == {uids[0]: "succeeded", uids[1]: "succeeded"}, log[-5000:]
        assert status == "succeeded"
        counts: dict[str, int] = {}
        for r in results:
            counts.update(json.loads(rt.store.get(r.object_key))["series"])
        assert counts == {uids[0]: 2, uids[1]: 3}
        assert "no-such-job: prepare failed: no such job" in log
        assert f"jip step store for job(s) {jobs[0]}, no-such-job exited with 1" in log
        assert done.returncode != 0  # the DAG run failed because one of its jobs failed
    finally:
        rt.close()
