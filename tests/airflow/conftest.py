"""Fixtures for the Airflow engine: the separate Airflow venv, a throw-away AIRFLOW_HOME.

Airflow lives in ``.venv-airflow`` (``make airflow-venv``), never in JIP's venv: the tests
only ever run its ``airflow`` binary as a subprocess. A missing venv fails the tests (it is
built by ``make test``), it is never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

AIRFLOW_VENV = ROOT / ".venv-airflow"
AIRFLOW_BIN = AIRFLOW_VENV / "bin" / "airflow"
DAGS_FOLDER = ROOT / "dags"
JIP_BIN = Path(sys.executable).parent / "jip"


@dataclass
class AirflowHome:
    """One AIRFLOW_HOME with a migrated SQLite metadata database."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AIRFLOW_BIN), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def dags_test(self, dag_id: str, conf: dict[str, object]) -> subprocess.CompletedProcess[str]:
        # generous: an idle 2-core machine needs ~1 min, a busy one several
        return self.run("dags", "test", dag_id, "-c", json.dumps(conf), timeout=540)


def airflow_env(home: Path) -> dict[str, str]:
    """Environment for every Airflow process of a test: tmp home, our DAGs, no examples."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JIP_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        PATH=f"{AIRFLOW_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    assert AIRFLOW_BIN.exists(), f"{AIRFLOW_BIN} missing: run `make airflow-venv`"
    home = tmp_path_factory.mktemp("airflow-home")
    af = AirflowHome(home, airflow_env(home))
    done = af.run("db", "migrate")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return af
