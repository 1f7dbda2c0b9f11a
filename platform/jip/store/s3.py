"""S3 object store (MinIO in production) through the ``minio`` client."""

from __future__ import annotations

import io
from collections.abc import Iterator

from minio import Minio
from minio.error import S3Error

from jip.errors import NotFoundError, StorageError
from jip.store.base import ObjectStore, check_key, content_key


class S3Store(ObjectStore):
    """A PUT to S3 is acknowledged only once the server has stored the object durably."""

    name = "s3"

    def __init__(
        self, *, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False
    ) -> None:
        self.bucket = bucket
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
        try:
            if not self.client.bucket_exists(bucket):
                self.client.make_bucket(bucket)
        except S3Error as exc:
            raise StorageError(f"cannot use bucket {bucket}: {exc.code}") from exc

    @staticmethod
    def _name(key: str) -> str:
        check_key(key)
        return f"objects/{key[:2]}/{key}"

    def put(self, data: bytes) -> str:
        key = content_key(data)
        try:
            self.client.put_object(
                self.bucket,
                self._name(key),
                io.BytesIO(data),
                length=len(data),
                content_type="application/dicom",
            )
        except S3Error as exc:
            raise StorageError(f"cannot write object {key}: {exc.code}", key=key) from exc
        return key

    def get(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise NotFoundError(f"object {key} not found", key=key) from exc
            raise StorageError(f"cannot read object {key}: {exc.code}", key=key) from exc
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, self._name(key))
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise StorageError(f"cannot stat object {key}: {exc.code}", key=key) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, self._name(key))
        except S3Error as exc:
            raise StorageError(f"cannot delete object {key}: {exc.code}", key=key) from exc

    def keys(self) -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix="objects/", recursive=True):
            if obj.object_name:
                yield obj.object_name.rsplit("/", 1)[-1]
