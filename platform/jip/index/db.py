"""Engine creation and schema migration for both index backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: the largest integer SQLite (and a PostgreSQL BIGINT) holds: the API refuses larger ids
#: and offsets up front (422), else the driver's OverflowError is a 500
DB_INT_MAX = 2**63 - 1


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """SQLite runs in WAL mode; with synchronous=FULL a commit is on disk when it
    returns, with NORMAL it survives a crash of the process but an OS crash can take the
    last commits (the runtime picks NORMAL only where ``index.recovery`` restores them)."""
    if sqlite_synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"unknown SQLite synchronous mode {sqlite_synchronous!r}")
    check_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def check_database_url(url: str) -> None:
    """Raises ``ValueError`` unless ``url`` names SQLite or PostgreSQL (psycopg); the
    message never repeats the URL, which may hold a password."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError("not a database URL (sqlite:///path or postgresql://...)") from None
    if parsed.drivername not in _SUPPORTED:
        raise ValueError(
            f"database {parsed.drivername!r} is not supported: use sqlite:///path or "
            "postgresql://user:password@host/database"
        )


_SUPPORTED = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (features add their own)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
