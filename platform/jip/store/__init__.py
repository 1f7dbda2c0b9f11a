"""Object store: DICOM bytes, content-addressed by SHA-256."""

from __future__ import annotations

from jip.config import Settings
from jip.store.base import ObjectStore


def make_store(settings: Settings) -> ObjectStore:
    """Build the configured object store backend."""
    if settings.store_backend == "s3":
        from jip.store.s3 import S3Store

        return S3Store(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
        )
    from jip.store.filesystem import FilesystemStore

    return FilesystemStore(settings.data_dir / "objects")


__all__ = ["ObjectStore", "make_store"]
