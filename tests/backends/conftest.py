"""Fixtures for the backend suites: one SeaweedFS and one PostgreSQL per test session,
a fresh bucket / database per test, and the backend combos the e2e tests run over."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jip.config import Settings
from jip.runtime import Runtime
from tests.conftest import free_port
from tests.servers import PostgresServer, S3Server, start_postgres, start_seaweedfs

COMBOS = ["filesystem+sqlite", "s3+postgresql"]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_seaweedfs()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return pg_server.create_database(unique("jip_"))


def backend_env(combo: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """``JIP_*`` variables selecting the combo's backends (fresh bucket and database)."""
    if combo == "filesystem+sqlite":
        return {"JIP_STORE_BACKEND": "filesystem"}
    assert combo == "s3+postgresql", combo
    s3: S3Server = request.getfixturevalue("s3_server")
    pg: PostgresServer = request.getfixturevalue("pg_server")
    env = s3.env(unique("jip-"))
    env["JIP_DATABASE_URL"] = pg.create_database(unique("jip_"))
    return env


@pytest.fixture(params=COMBOS)
def combo_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return backend_env(request.param, request)


def settings_from_env(env: dict[str, str], data_dir: Path) -> Settings:
    """The Settings a ``jip`` process would build from ``env`` (for in-process checks)."""
    fields = {k[len("JIP_") :].lower(): v for k, v in env.items() if k.startswith("JIP_")}
    fields.update(
        data_dir=data_dir, http_port=free_port(), dicom_port=free_port(), series_quiet_seconds=0.5
    )
    return Settings(**fields)


@pytest.fixture
def combo_runtime(combo_env: dict[str, str], tmp_path: Path) -> Iterator[Runtime]:
    """An in-process Runtime on the combo's backends."""
    rt = Runtime(settings_from_env(combo_env, tmp_path / "data"))
    yield rt
    rt.close()
