"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from jip import __version__
from jip.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    ae_title: str
    dicom_port: int
    store: str
    index: str


@router.get("/health", response_model=Health)
def health(runtime: RuntimeDep) -> Health:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    s = runtime.settings
    return Health(
        status="ok",
        version=__version__,
        ae_title=s.ae_title,
        dicom_port=s.dicom_port,
        store=runtime.store.name,
        index=runtime.engine.dialect.name,
    )
