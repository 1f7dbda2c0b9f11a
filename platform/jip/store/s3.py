"""S3 object store (MinIO in production, any S3 server) through the ``minio`` client.

Durability: ``put`` returns only after the server answered the PUT with success, and
the SigV4 payload hash makes the server reject bytes damaged in transit. Every
failure of the server or the network surfaces as ``StorageError`` (never a raw
``urllib3``/``minio`` exception), so callers answer with a proper status.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TypeVar

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.helpers import check_bucket_name
from urllib3.exceptions import HTTPError as Urllib3Error

from jip.errors import NotFoundError, StorageError
from jip.store.base import ObjectStore, check_key, content_key

T = TypeVar("T")
_MISSING = ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound")


def _http_client(timeout: float, pool_size: int) -> urllib3.PoolManager:
    """Short timeouts and few retries: a C-STORE must fail in seconds, not minutes,
    when the object store is down (minio's default waits 5 min and retries 5x)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        maxsize=pool_size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        retries=urllib3.Retry(
            total=2, connect=2, read=1, backoff_factor=0.1, status_forcelist=[502, 503, 504]
        ),
    )


class S3Store(ObjectStore):
    """Objects under ``objects/<k[:2]>/<key>`` in one bucket (created if missing)."""

    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        timeout: float = 30.0,
        pool_size: int = 32,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self._http = _http_client(timeout, pool_size)
        try:
            self.client = Minio(
                endpoint,
                access_key=access_key or None,
                secret_key=secret_key or None,
                secure=secure,
                http_client=self._http,
            )
        except ValueError as exc:
            raise StorageError(
                f"invalid JIP_S3_ENDPOINT {endpoint!r}: {exc} (host:port or "
                "http(s)://host:port, without a path)"
            ) from exc
        try:
            check_bucket_name(bucket)
        except ValueError as exc:
            raise StorageError(f"invalid JIP_S3_BUCKET {bucket!r}: {exc}") from exc

        def ensure_bucket() -> None:
            if not self.client.bucket_exists(bucket):
                self.client.make_bucket(bucket)

        self._call(ensure_bucket, f"cannot use bucket {bucket!r} at {endpoint}")

    @staticmethod
    def _name(key: str) -> str:
        check_key(key)
        return f"objects/{key[:2]}/{key}"

    def _call(self, fn: Callable[[], T], what: str, key: str = "") -> T:
        """Run one client call, translating every client/network error."""
        try:
            return fn()
        except S3Error as exc:
            if key and exc.code in _MISSING:
                raise NotFoundError(f"object {key} not found", key=key) from exc
            raise StorageError(f"{what}: S3 {exc.code}: {exc.message}", key=key) from exc
        except (MinioException, Urllib3Error, OSError) as exc:
            raise StorageError(f"{what}: {type(exc).__name__}: {exc}", key=key) from exc

    def put(self, data: bytes) -> str:
        key = content_key(data)
        name = self._name(key)
        self._call(
            lambda: self.client.put_object(
                self.bucket,
                name,
                io.BytesIO(data),
                length=len(data),
                content_type="application/dicom",
            ),
            f"cannot write object {key}",
        )
        return key

    def get(self, key: str) -> bytes:
        name = self._name(key)

        def read() -> bytes:
            resp = self.client.get_object(self.bucket, name)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call(read, f"cannot read object {key}", key=key)

    def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            self._call(lambda: self.client.stat_object(self.bucket, name), "stat", key=key)
        except NotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._call(
            lambda: self.client.remove_object(self.bucket, name), f"cannot delete object {key}"
        )

    def keys(self) -> Iterator[str]:
        listing = self._call(
            lambda: iter(self.client.list_objects(self.bucket, prefix="objects/", recursive=True)),
            "cannot list objects",
        )
        while True:
            obj = self._call(lambda: next(listing, None), "cannot list objects")
            if obj is None:
                return
            name = (obj.object_name or "").rsplit("/", 1)[-1]
            if len(name) == 64:
                yield name

    def close(self) -> None:
        self._http.clear()
