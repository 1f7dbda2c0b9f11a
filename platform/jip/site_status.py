"""What a site holds and whether it is running, read straight from its index.

Used by ``jip status``: works whether or not ``jip up`` is running (it reads the index
the settings point at, read-only, and never creates or migrates anything). Whether this
folder's site runs is its site lock's answer; the HTTP health endpoint is asked only
then, to tell where it listens (another site may answer on the same port).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from jip.config import Settings
from jip.disk_space import disk_space
from jip.runtime import describe_backends
from jip.site_lock import serving_pid


@dataclass
class SiteStatus:
    data_dir: str
    backends: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    stored_bytes: int = 0
    index_error: str = ""
    running: bool = False
    pid: str = ""
    listening: dict[str, str] = field(default_factory=dict)
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
    disk_warning: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_status(settings: Settings, *, http_timeout: float = 2.0) -> SiteStatus:
    status = SiteStatus(
        data_dir=str(settings.data_dir.resolve()), backends=describe_backends(settings)
    )
    _read_index(settings, status)
    pid = serving_pid(settings.data_dir)
    if pid is not None:
        status.running, status.pid = True, pid
        _probe_server(settings, status, http_timeout)
    space = disk_space(settings.data_dir)
    if space is not None:
        status.disk_free_bytes, status.disk_total_bytes = space.free_bytes, space.total_bytes
        status.disk_warning = space.warning or ""
    return status


def _read_index(settings: Settings, status: SiteStatus) -> None:
    from jip.index.db import make_engine
    from jip.index.models import Instance, Patient, Series, Study

    models = {"patients": Patient, "studies": Study, "series": Series, "instances": Instance}
    status.counts = dict.fromkeys(models, 0)
    if not settings.database_url and not (settings.data_dir / "index.sqlite3").exists():
        return  # nothing received yet: do not create an empty index as a side effect
    if settings.database_url:
        engine = make_engine(settings.resolved_database_url)
    else:
        engine = _read_only_sqlite(settings.data_dir / "index.sqlite3")
    try:
        if not inspect(engine).has_table("instances"):
            return
        with engine.connect() as conn:
            for name, model in models.items():
                status.counts[name] = conn.scalar(select(func.count()).select_from(model)) or 0
            status.stored_bytes = int(conn.scalar(select(func.sum(Instance.size))) or 0)
    except SQLAlchemyError as exc:
        status.index_error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def _read_only_sqlite(path: Path) -> Engine:
    """The index opened read-only: status must work on a folder it may not write to.
    A WAL database needs its shared-memory file, which such a folder may lack and
    cannot get; then it is read as immutable (nothing of ours can be writing it)."""
    path = path.resolve()
    if os.access(path.parent, os.W_OK):
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true")


def _probe_server(settings: Settings, status: SiteStatus, timeout: float) -> None:
    import httpx

    host = settings.bind_host if settings.bind_host not in ("0.0.0.0", "::") else "127.0.0.1"
    base = f"http://{host}:{settings.http_port}"
    try:
        resp = httpx.get(f"{base}/api/v1/health", timeout=timeout)
        health = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        health = None
    if not isinstance(health, dict):
        return
    status.listening = {
        "http": f"{base}/",
        "dicom": f"{health.get('ae_title', settings.ae_title)}@{host}:"
        f"{health.get('dicom_port', settings.dicom_port)}",
    }
