"""Fixtures for the backend suites: one SeaweedFS and one PostgreSQL per test session,
a fresh bucket / database per test, and the backend combos the e2e tests run over."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from jip.config import Settings
from jip.index.db import make_engine, make_sessionmaker
from jip.index.models import Instance, Patient, Series, Study
from jip.runtime import Runtime
from jip.store import ObjectStore, make_store
from tests.conftest import JipProcess, free_port, start_jip
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


@dataclass
class Site:
    """A running ``jip up`` on some backends, plus direct access to what it stored."""

    jip: JipProcess
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore

    def counts(self) -> dict[str, int]:
        with self.sessions() as s:
            return {
                m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Patient, Study, Series, Instance)
            }

    def instances(self) -> list[Instance]:
        with self.sessions() as s:
            return list(s.scalars(select(Instance)))


@pytest.fixture(scope="session", params=COMBOS)
def combo_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``jip up`` started against the combo's backends, one per combo for the whole
    session (starting it is the slow part): tests using it check relative changes."""
    env = backend_env(request.param, request)
    data_dir = tmp_path_factory.mktemp("site") / "jipdata"
    jip = start_jip(data_dir, extra_env=env)
    settings = settings_from_env(env, data_dir)
    engine = make_engine(settings.resolved_database_url)
    store = make_store(settings)
    try:
        yield Site(jip, settings, engine, make_sessionmaker(engine), store)
    finally:
        jip.stop()
        store.close()
        engine.dispose()
