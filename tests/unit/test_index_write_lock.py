"""The index write lock orders writers across processes, and a killed holder frees it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jip.index.write_lock import IndexWriteLock, index_lock_path

_HOLDER = """
import sys, time
from pathlib import Path
from jip.index.write_lock import IndexWriteLock
lock = IndexWriteLock(Path(sys.argv[1]))
with lock:
    print("held", flush=True)
    sys.stdin.readline()  # hold until told (or killed)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _acquire_in_thread(lock: IndexWriteLock) -> threading.Event:
    got = threading.Event()

    def take() -> None:
        with lock:
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return got


@pytest.mark.parametrize("let_go", ["commit", "killed"])
def test_a_second_process_waits_until_the_holder_lets_go(tmp_path: Path, let_go: str) -> None:
    """Woken as soon as the holder releases the lock, or dies holding it (the kernel
    drops a dead process's locks): no polling interval, never stuck."""
    path = index_lock_path(tmp_path)
    holder = _holder(path)
    lock = IndexWriteLock(path)
    try:
        got = _acquire_in_thread(lock)
        assert not got.wait(0.5)  # the other process holds it
        if let_go == "commit":
            assert holder.stdin is not None
            holder.stdin.write("release\n")
            holder.stdin.flush()
        else:
            holder.kill()
        assert got.wait(10)
        holder.wait(10)
    finally:
        holder.kill()
        lock.close()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = IndexWriteLock(index_lock_path(tmp_path))
    inside: list[int] = []
    overlaps: list[int] = []

    def work(n: int) -> None:
        for _ in range(20):
            with lock:
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(n)
                time.sleep(0.001)
                inside.remove(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lock.close()
    assert overlaps == []
