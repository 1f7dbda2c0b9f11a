"""Fixtures for the Airflow engine: the separate Airflow venv, a throw-away AIRFLOW_HOME.

Airflow lives in ``.venv-airflow`` (``make airflow-venv``), never in JIP's venv: the tests
only ever run its ``airflow`` binary as a subprocess. A missing venv fails the tests (it is
built by ``make test``), it is never a skip.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jip.pipelines.airflow_config import tuned_airflow_env
from tests.conftest import ROOT, free_port

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


def stop_step_server() -> None:
    """End the warm step server the tasks started (it would idle on for minutes)."""
    from jip.pipelines.step_server import request_stop, socket_path

    request_stop(socket_path(str(JIP_BIN)))


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowHome]:
    assert AIRFLOW_BIN.exists(), f"{AIRFLOW_BIN} missing: run `make airflow-venv`"
    home = tmp_path_factory.mktemp("airflow-home")
    af = AirflowHome(home, airflow_env(home))
    done = af.run("db", "migrate")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield af
    stop_step_server()


@dataclass
class AirflowServices:
    """api-server + scheduler + dag-processor on a free port, with one admin user."""

    home: AirflowHome
    url: str
    username: str
    password: str
    procs: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        stop_step_server()
        for p in self.procs:  # each was started in its own session: end its whole group
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)

    def logs(self) -> str:
        return "\n".join(
            f"== {f.name}\n{f.read_text(errors='replace')[-3000:]}"
            for f in sorted(self.home.path.glob("*.log"))
        )


def start_airflow_services(
    tmp: Path, timeout: float = 600, parallelism: int = 4, migrated: AirflowHome | None = None
) -> AirflowServices:
    """Start Airflow for real and wait until the API answers and our DAG is parsed.
    ``migrated``: reuse that home's metadata database instead of migrating a new one."""
    assert AIRFLOW_BIN.exists(), f"{AIRFLOW_BIN} missing: run `make airflow-venv`"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(16)
    tmp = migrated.path if migrated else tmp
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "passwords.json").write_text(json.dumps({"jip": password}))
    env = airflow_env(tmp)
    env.update(
        AIRFLOW__API__BASE_URL=url,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{url}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="jip:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(tmp / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
    )
    env.update(tuned_airflow_env(parallelism))  # what docs/airflow.md recommends
    home = AirflowHome(tmp, env)
    if migrated is None:
        done = home.run("db", "migrate")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    commands = {
        "api-server": ["api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
    }
    procs = [
        subprocess.Popen(
            [str(AIRFLOW_BIN), *args],
            env=env,
            stdout=(tmp / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, args in commands.items()
    ]
    services = AirflowServices(home, url, "jip", password, procs)
    try:
        _wait_for_dag(services, "jip_pipeline", timeout)
    except BaseException:
        services.stop()
        raise
    return services


def _wait_for_dag(services: AirflowServices, dag_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    token = ""
    while time.monotonic() < deadline:
        for p in services.procs:
            assert p.poll() is None, f"an Airflow process exited:\n{services.logs()}"
        try:
            if not token:
                r = httpx.post(
                    f"{services.url}/auth/token",
                    json={"username": services.username, "password": services.password},
                    timeout=5,
                )
                token = r.json()["access_token"] if r.status_code == 201 else ""
            if token:
                r = httpx.get(
                    f"{services.url}/api/v2/dags/{dag_id}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                if r.status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"Airflow did not serve DAG {dag_id} in {timeout} s:\n{services.logs()}")


@pytest.fixture(scope="module")
def airflow_services(airflow_home: AirflowHome) -> Iterator[AirflowServices]:
    services = start_airflow_services(airflow_home.path, migrated=airflow_home)
    yield services
    services.stop()
