"""The object store seam: every backend keeps bytes under their SHA-256 key."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

_KEY = re.compile(r"^[0-9a-f]{64}$")


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Keys are hex digests only, so no key can ever name a path outside the store."""
    if not _KEY.match(key):
        raise ValueError(f"invalid object key {key!r}")
    return key


class ObjectStore(ABC):
    """Durable, content-addressed bytes. ``put`` returns only once the bytes are durable."""

    name: str = "abstract"

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its key; storing the same bytes twice is a no-op."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the bytes; raises ``NotFoundError`` if absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def keys(self) -> Iterator[str]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
