"""Start-up and re-send recovery of the folder store after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jip.store.base import content_key
from jip.store.filesystem import FilesystemStore


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_files_of_dead_processes_are_removed_on_start(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    dead = tmp_path / ".tmp" / f"{_dead_pid()}-abc"
    dead.write_bytes(b"half")
    live = tmp_path / ".tmp" / f"{os.getpid()}-def"  # a writer that is still running
    live.write_bytes(b"in progress")
    again = FilesystemStore(tmp_path)
    assert not dead.exists() and live.exists()
    assert again.removed_temp_files == 1
    assert store.put(b"x") == content_key(b"x")


def test_torn_object_is_rewritten_by_the_next_put(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    data = os.urandom(100_000)
    key = store.put(data)
    path = store.path(key)
    path.write_bytes(data[:1000])  # as a crash before the acknowledgement can leave it
    assert store.put(data) == key
    assert path.read_bytes() == data
    assert store.put(data) == key  # intact copy: a no-op
    assert [p.name for p in (tmp_path / ".tmp").iterdir()] == []
