"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text

from jip import __version__
from jip.api.deps import RuntimeDep
from jip.disk_space import disk_space

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    ae_title: str
    dicom_port: int
    store: str
    index: str
    data_free_bytes: int | None = Field(
        None, description="free space on the filesystem of the data folder"
    )
    data_total_bytes: int | None = None
    warnings: list[str] = Field(
        default_factory=list, description="what needs an admin soon (low disk space)"
    )


@router.get("/health", response_model=Health)
def health(runtime: RuntimeDep) -> Health:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    s = runtime.settings
    space = disk_space(s.data_dir)
    warning = space.warning if space else None
    return Health(
        status="ok",
        version=__version__,
        ae_title=s.ae_title,
        dicom_port=s.dicom_port,
        store=runtime.store.name,
        index=runtime.engine.dialect.name,
        data_free_bytes=space.free_bytes if space else None,
        data_total_bytes=space.total_bytes if space else None,
        warnings=[warning] if warning else [],
    )
