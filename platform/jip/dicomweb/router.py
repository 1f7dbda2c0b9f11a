"""Mounts the DICOMweb services under /dicomweb."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])

# QIDO-RS (search)
from jip.dicomweb import qido  # noqa: E402

router.include_router(qido.router)
