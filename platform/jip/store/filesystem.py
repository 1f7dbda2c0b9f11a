"""A folder as object store: the embedded default, durable with fsync.

Durability in one round: the bytes go to a temp file, are renamed into place, and then
the file and every directory whose entries changed are fsynced. The file's fsync
commits the filesystem journal transaction that also holds the rename and the new
directory entries, so the directory fsyncs after it find nothing left to write: a put
costs one flush, not a chain of four. (Running them concurrently in a thread pool saved
no flush and cost the GIL hand-offs of a pool per object.) ``put`` returns only after
all of them. A crash before that can leave a torn file under its final name, but
nothing was acknowledged for it: a later ``put`` of the same key checks the stored
bytes against the key and rewrites a torn copy.

Temp files carry the writer's pid; on start-up those of dead processes (half-written
when a process died) are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from jip.errors import NotFoundError, StorageError
from jip.processes import pid_alive
from jip.store.base import ObjectStore, check_key, content_key

log = logging.getLogger(__name__)


class FilesystemStore(ObjectStore):
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        self.removed_temp_files = remove_stale_temp_files(self._tmp)

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        dest = self.path(key)
        try:
            if dest.exists():
                if _holds(dest, key):
                    return key
                log.warning("object %s was torn (crash before it was acknowledged): rewriting", key)
            self._write(dest, data)
        except OSError as exc:
            raise StorageError(f"cannot write object {key}: {exc}", key=key) from exc
        return key

    def _write(self, dest: Path, data: bytes) -> None:
        changed_dirs = _make_dirs(self.root, dest.parent)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=f"{os.getpid()}-")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.replace(tmp, dest)
            os.fsync(fd)
            for d in changed_dirs:
                _fsync_dir(d)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"object {key} not found", key=key) from exc

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def keys(self) -> Iterator[str]:
        for p in self.root.glob("??/??/*"):
            if p.is_file():
                yield p.name


def _make_dirs(root: Path, leaf: Path) -> list[Path]:
    """Create ``leaf`` (two levels under ``root``) and return every directory whose
    entries must be fsynced for the object to survive a power loss."""
    changed = [leaf]
    for d in (leaf.parent, leaf):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        changed.append(d.parent)
    return list(dict.fromkeys(changed))


def _holds(path: Path, key: str) -> bool:
    """True if the file's bytes hash to ``key`` (a complete, untorn copy)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest() == key


def remove_stale_temp_files(tmp: Path) -> int:
    """Delete temp files whose writing process is gone; returns how many."""
    removed = 0
    for p in tmp.iterdir():
        pid_text = p.name.split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed += 1
    if removed:
        log.warning("removed %d half-written temp files from %s", removed, tmp)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
