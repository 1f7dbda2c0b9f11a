"""One index write transaction at a time across all of a site's processes.

Storage worker processes commit their own index rows, next to the site process's
index writer and a `jip import` that may run beside `jip up`. Every writer holds this
lock (``flock`` on a file in the data folder) from its first statement to its commit:

- SQLite would otherwise answer a deferred transaction that reads, then writes after
  another process committed, with SQLITE_BUSY_SNAPSHOT (not retried by its busy
  handler), and its busy handler sleeps in steps of milliseconds instead of waking
  the next writer when the lock is free, as the kernel does for ``flock``.
- PostgreSQL would let two first instances of one series both insert the series row,
  and one of them fail on the unique key.

The kernel drops the lock with the process, so a killed writer never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType


class IndexWriteLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # flock is held per open file, not per thread: threads queue here first
        self._threads = threading.Lock()

    def __enter__(self) -> IndexWriteLock:
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        os.close(self._fd)


def index_lock_path(data_dir: Path) -> Path:
    return data_dir / "index.lock"
