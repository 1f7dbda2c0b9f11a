"""One ``jip up`` per data folder.

Two sites on one folder would each run start-up recovery, the series-complete monitor
and the workflow engine over the same index and objects. ``jip import`` and the other
commands may still run beside the site: they share the index through its write lock
(``index.write_lock``); only a site takes this one. The kernel drops an ``flock`` with
its process, so a killed site never leaves its folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from jip.config import unusable_data_folder
from jip.errors import JIPError

LOCK_FILE = "site.lock"


class SiteBusyError(JIPError):
    """Another ``jip up`` serves this data folder."""

    http_status = 409


class SiteLock:
    """Held from construction (raises ``SiteBusyError`` if another site holds it, or
    ``StorageError`` if the folder cannot be used) until ``release`` or exit."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        try:
            # close-on-exec: the storage workers' fork server and containers must not
            # inherit it (a lock shared with a child outlives the site)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise unusable_data_folder(data_dir, exc) from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = _holder(self._fd)
            os.close(self._fd)
            raise SiteBusyError(
                f"the data folder {data_dir} is already served by another `jip up` "
                f"(pid {holder}); stop it, or choose another JIP_DATA_DIR",
                pid=holder,
            ) from exc
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing drops the lock


def serving_pid(data_dir: Path) -> str | None:
    """The pid of the `jip up` serving ``data_dir`` (``"?"`` if it wrote none), or
    ``None``. Probes the lock with a shared, non-blocking ``flock`` released at once: a
    site never waits for it, and only a site starting in that same instant could see
    it taken."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # never served (or unreadable: nothing to say about it)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """The pid the holding site wrote into the lock file (``"?"`` if none yet)."""
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
