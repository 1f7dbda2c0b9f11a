"""The object store seam: every backend keeps bytes under their SHA-256 key."""

from __future__ import annotations

import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

from jip.errors import StorageError

_KEY = re.compile(r"^[0-9a-f]{64}$")


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Keys are hex digests only, so no key can ever name a path outside the store."""
    if not _KEY.match(key):
        raise ValueError(f"invalid object key {key!r}")
    return key


class Staged:
    """An object whose bytes are in place but perhaps not yet durable.

    Ingest runs the index work for an object while the disk flushes it; the index
    commit waits for ``wait_durable`` (so no row ever references bytes a crash could
    lose), and the caller runs ``flush`` in its own thread, so flushes of concurrent
    associations overlap each other and the index work."""

    __slots__ = ("key", "_flush", "_done", "_error")

    def __init__(self, key: str, flush: Callable[[], None] | None = None) -> None:
        self.key = key
        self._flush = flush
        self._done = threading.Event()
        self._error: BaseException | None = None
        if flush is None:
            self._done.set()

    def flush(self) -> None:
        """Make the bytes durable (once); raises ``StorageError`` if that failed."""
        flush, self._flush = self._flush, None
        if flush is not None:
            try:
                flush()
            except BaseException as exc:
                self._error = exc
            finally:
                self._done.set()
        self._raise_if_failed()

    def wait_durable(self, timeout: float | None = 120.0) -> None:
        """Block until ``flush`` has finished in whichever thread runs it."""
        if not self._done.wait(timeout):
            raise StorageError(f"object {self.key} not durable within {timeout} s", key=self.key)
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StorageError(
                f"cannot make object {self.key} durable: {self._error}", key=self.key
            ) from self._error


class ObjectStore(ABC):
    """Durable, content-addressed bytes. ``put`` returns only once the bytes are durable."""

    name: str = "abstract"

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its key; storing the same bytes twice is a no-op."""

    def stage(self, data: bytes) -> Staged:
        """Start storing ``data``: the object is complete once this returns and durable
        once ``flush`` has returned. Backends without a cheaper split store it whole."""
        return Staged(self.put(data))

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
