"""Every DAG in ``dags/`` runs for real under ``airflow dags test`` (sqlite metadata db)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.airflow.conftest import AirflowHome

# DAG ids that have an ``airflow dags test`` below; a new DAG without one fails the suite.
TESTED_DAGS = {"jip_pipeline"}

STUB_JIP = """\
#!{python}
'''Stand-in for `jip pipeline step STEP --job J`: logs the call, fails `run` of job "bad".'''
import os, sys
_, group, verb, step, flag, job = sys.argv
assert (group, verb, flag) == ("pipeline", "step", "--job"), sys.argv
with open(os.path.join(os.environ["JIP_DATA_DIR"], "steps.log"), "a") as f:
    f.write(f"{{step}} {{job}}\\n")
print(f"stub {{step}} {{job}}")
sys.exit(3 if (step, job) == ("run", "bad") else 0)
"""


def test_every_dag_parses_and_is_tested(airflow_home: AirflowHome) -> None:
    """A DAG with an import error is not listed, so this also fails on broken DAG files."""
    done = airflow_home.run("dags", "list", "--local", "-o", "json")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("[{")))
    assert {d["dag_id"] for d in listed} == TESTED_DAGS


def test_jip_pipeline_dag_maps_jobs_and_isolates_failures(
    airflow_home: AirflowHome, tmp_path: Path
) -> None:
    """Each job runs prepare -> run -> store in order; a failing job stops only itself."""
    stub = tmp_path / "jip"
    stub.write_text(STUB_JIP.format(python=sys.executable))
    stub.chmod(0o755)
    data = tmp_path / "data"
    data.mkdir()
    conf = {"run_id": "r1", "jobs": ["good", "bad"], "jip_env": {"JIP_DATA_DIR": str(data)}}
    conf["jip_bin"] = str(stub)

    done = airflow_home.dags_test("jip_pipeline", conf)

    calls = (data / "steps.log").read_text().split("\n")
    good = [c.split()[0] for c in calls if c.endswith(" good")]
    bad = [c.split()[0] for c in calls if c.endswith(" bad")]
    assert good == ["prepare", "run", "store"], done.stdout[-4000:]
    assert bad == ["prepare", "run"]
    assert done.returncode != 0  # the DAG run is failed because one job failed
    assert "jip step run for job bad exited with 3" in done.stdout + done.stderr
