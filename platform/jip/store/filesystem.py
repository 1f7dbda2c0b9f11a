"""A folder as object store: the embedded default, durable with fsync.

Durability in one round: the bytes go to an anonymous file (``O_TMPFILE``) in the
object's folder, are linked into place under their name, and then the file and every
directory whose entries changed are fsynced. (An anonymous file needs no temp name and
no rename, and vanishes by itself if the process dies first; concurrent associations
creating temp files in one shared folder queued on that folder's lock. Where the
filesystem has no ``O_TMPFILE`` a named temp file and a rename do the same.) The
file's fsync commits the filesystem journal transaction that also holds the link and
the new directory entries, so the directory fsyncs after it find nothing left to write:
a put costs one flush, not a chain of four. ``stage`` splits that round in two: the object is
complete under its name when it returns (the disk already writing it back), durable once
``Staged.flush`` returns, so ingest can index it meanwhile. A crash before that can
leave a torn file under its final name, but nothing was acknowledged or indexed for it:
a later ``put`` of the same key checks the stored bytes against the key and rewrites a
torn copy.

Named temp files carry the writer's pid; on start-up those of dead processes
(half-written when a process died) are removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jip.errors import NotFoundError, StorageError
from jip.processes import pid_alive
from jip.store.base import ObjectStore, Staged, check_key, content_key

log = logging.getLogger(__name__)


class FilesystemStore(ObjectStore):
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        self._ready: set[Path] = set()  # nested leaf folders known to exist
        self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        recorded = _recorded_layout(self.root)
        self.nested = _is_nested(self.root) if recorded is None else recorded == _NESTED
        if not self.nested:
            _make_flat_folders(self.root, self._root_fd, recorded is None)
        if recorded is None:  # only now: a recorded flat layout has its folders durable
            _record_layout(self.root, self._root_fd, self.nested)
        self._anonymous = _links_anonymous_files(self.root, self._root_fd)
        self.removed_temp_files = remove_stale_temp_files(self._tmp)

    def path(self, key: str) -> Path:
        check_key(key)
        if self.nested:
            return self.root / key[:2] / key[2:4] / key
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        staged = self.stage(data)
        staged.flush()
        return staged.key

    def stage(self, data: bytes) -> Staged:
        key = content_key(data)
        dest = self.path(key)
        try:
            dirs = self._leaf_dir(dest.parent)
            if self._anonymous:
                linked = self._link_new(dest, data, dirs)
                if linked is not None:
                    return Staged(key, linked)
            elif not dest.exists():
                return Staged(key, self._write_named(dest, data, dirs))
            if _holds(dest, key):
                # stored before, or a moment ago by a concurrent put still flushing it
                # (a file gets its name only once written): make that copy durable
                return Staged(key, functools.partial(_make_path_durable, dest, dirs))
            log.warning("object %s was torn (crash before it was acknowledged): rewriting", key)
            return Staged(key, self._write_named(dest, data, dirs))
        except OSError as exc:
            raise StorageError(f"cannot write object {key}: {exc}", key=key) from exc

    def _link_new(
        self, dest: Path, data: bytes, dirs: list[Path]
    ) -> functools.partial[None] | None:
        """Write an anonymous file and link it in as ``dest``; ``None`` if that name
        exists already (nothing written then). Returns what makes it durable."""
        fd = os.open(dest.parent, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
        try:
            _write_all(fd, data)
            _start_writeback(fd)
            _link_fd(fd, dest, self._root_fd)
        except FileExistsError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return functools.partial(_make_durable, fd, dirs)

    def _write_named(self, dest: Path, data: bytes, dirs: list[Path]) -> functools.partial[None]:
        """Write a named temp file and rename it over ``dest`` (which may hold a torn
        copy); returns what makes it durable."""
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=f"{os.getpid()}-")
        try:
            _write_all(fd, data)
            _start_writeback(fd)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.close(fd)
            raise
        return functools.partial(_make_durable, fd, dirs)

    def _leaf_dir(self, leaf: Path) -> list[Path]:
        """Create ``leaf`` (of the nested layout: two levels under the root) if needed;
        returns the directories whose entries must be fsynced for a new object in it to
        survive a power loss: the leaf, and the parent of each folder created now. A
        leaf this process finds already there is fsynced with its parents once (its
        creator may still be flushing them); after that only the leaf. (The flat
        layout's folders are all made, and made durable, when the store opens.)"""
        if not self.nested or leaf in self._ready:
            return [leaf]
        changed = [leaf]
        for d in (leaf.parent, leaf):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            changed.append(d.parent)
        if len(changed) == 1:
            changed += [leaf.parent, self.root]
        self._ready.add(leaf)
        return list(dict.fromkeys(changed))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._root_fd)

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
        for path in self.files_since(0.0):
            yield path.name

    def files_since(self, cutoff: float) -> Iterator[Path]:
        """Object files modified at or after ``cutoff`` (a Unix time); a folder that
        gained no entry since then is skipped by its own modification time."""
        tops = _key_dirs(self.root)
        leaves = [leaf for top in tops for leaf in _key_dirs(top)] if self.nested else tops
        for leaf in leaves:
            if leaf.stat().st_mtime < cutoff:
                continue
            with os.scandir(leaf) as entries:
                for entry in entries:
                    if entry.is_file() and entry.stat().st_mtime >= cutoff:
                        yield Path(entry.path)


_LAYOUT_FILE = ".layout"
_FLAT, _NESTED = "flat", "nested"


def _recorded_layout(root: Path) -> str | None:
    """Which folder layout this store has: ``ab/<key>`` (flat, for every new store) or
    ``ab/cd/<key>`` (nested, stores written before 2026-11-28, read and written as
    they are), as recorded in ``.layout``; ``None`` for a store not yet recorded. Why
    flat: with 65,536 leaf folders nearly every object of a young store created two
    folders, each a new inode, a directory block and a parent to flush: ingest was 11%
    faster without."""
    with contextlib.suppress(FileNotFoundError):
        recorded = (root / _LAYOUT_FILE).read_text().strip()
        if recorded in (_FLAT, _NESTED):
            return recorded
    return None


def _is_nested(root: Path) -> bool:
    return any(_key_dirs(top) for top in _key_dirs(root))


def _record_layout(root: Path, root_fd: int, nested: bool) -> None:
    fd = os.open(root / _LAYOUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        _write_all(fd, (_NESTED if nested else _FLAT).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.fsync(root_fd)


def _make_flat_folders(root: Path, root_fd: int, new_store: bool) -> None:
    """The flat layout's 256 folders, made once, so no object ever waits for a folder
    to be created, and no process (each storage worker opens the store anew) flushes a
    folder's parent for its first object in it. The root is flushed if this process
    made a folder, or if the store is new (another process may be making them right
    now); a store whose layout is recorded had its folders flushed before the record
    was written, so a storage worker opening it flushes nothing."""
    missing = {f"{i:02x}" for i in range(256)} - set(os.listdir(root_fd))
    for name in missing:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=root_fd)
    if missing or new_store:
        os.fsync(root_fd)


def _key_dirs(folder: Path) -> list[Path]:
    """The two-hex-digit folders of a key level (not ``.tmp`` or other entries)."""
    with os.scandir(folder) as entries:
        return sorted(
            Path(e.path) for e in entries if e.is_dir() and len(e.name) == 2 and e.name[0] != "."
        )


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


def _make_durable(fd: int, dirs: list[Path]) -> None:
    try:
        os.fsync(fd)
        for d in dirs:
            _fsync_dir(d)
    finally:
        os.close(fd)


def _make_path_durable(path: Path, dirs: list[Path]) -> None:
    _make_durable(os.open(path, os.O_RDONLY), dirs)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _link_fd(fd: int, dest: Path, root_fd: int) -> None:
    """Give the anonymous file ``fd`` the name ``dest``: linkat(2) with
    AT_SYMLINK_FOLLOW on its /proc entry. (Python calls linkat, rather than link, which
    would link the /proc symlink itself, only when a directory fd is passed; the
    absolute source path ignores it.)"""
    os.link(f"/proc/self/fd/{fd}", dest, src_dir_fd=root_fd, follow_symlinks=True)


def _links_anonymous_files(root: Path, root_fd: int) -> bool:
    """True if ``root``'s filesystem creates ``O_TMPFILE`` files and /proc can link
    them (Linux 3.11+, ext4/xfs/btrfs/tmpfs); probed once with a real file."""
    probe = root / ".tmp" / f"{os.getpid()}-probe"
    try:
        fd = os.open(root, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
    except (AttributeError, OSError):
        return False
    try:
        _link_fd(fd, probe, root_fd)
        probe.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _load_sync_file_range() -> Any:
    name = ctypes.util.find_library("c")
    try:
        func = ctypes.CDLL(name, use_errno=True).sync_file_range
    except (OSError, AttributeError, TypeError):
        return None  # not Linux: the fsync does all the writing
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_SYNC_FILE_RANGE = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def _start_writeback(fd: int) -> None:
    """Let the disk start writing the file now (asynchronously), so the later fsync
    mostly finds it written: the flush overlaps the index work instead of following it.
    Only a hint; errors surface at the fsync."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
