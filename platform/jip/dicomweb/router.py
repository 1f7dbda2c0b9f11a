"""Mounts the DICOMweb services under /dicomweb."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])

# QIDO-RS (search)
from jip.dicomweb import qido  # noqa: E402

router.include_router(qido.router)
# WADO-RS retrieve, rendered/thumbnails and STOW-RS (wado.py, rendered.py, stow.py)
from jip.dicomweb import rendered, stow, wado  # noqa: E402

router.include_router(wado.router)
router.include_router(rendered.router)
router.include_router(stow.router)
