"""Storage associations served by worker processes, one per association.

With every association a thread of the site process, four senders kept the threads
handing one interpreter lock to each other (about 160 futex calls per instance), and
ingest held the site process at one core, the lock's limit. A worker process per
association receives, parses, hashes, writes, flushes and indexes under its own
interpreter lock; the index write lock (``index.write_lock``) orders its commits with
every other writer's.

Workers are forked from a ``multiprocessing`` fork server that has the storage modules
imported (a worker starts in about 20 ms, and memory pages stay shared), never from the
threaded site process itself. While associations come in, one more worker waits ahead
with its store and index open, so the next association starts at once; it is retired a
second after the last association ends. A worker exits when its
connection to the site closes (``storage_worker``), so a killed site leaves none behind;
the site's thread for the association waits for its worker and reaps it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver, reduction
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from jip.config import Settings
from jip.dicom import upper_layer as ul
from jip.dicom.storage_association import Plan, send_quietly

log = logging.getLogger(__name__)

# imported by the fork server before it forks any worker: the worker's own module, and
# the console script's (multiprocessing runs the parent's main script again in each
# child unless its imports are already there)
_PRELOAD = ["__main__", "jip.cli.main", "jip.dicom.storage_worker"]
SPARE_LINGER = 1.0  # seconds a spare worker outlives the last association


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a worker needs besides its association (pickled to it)."""

    settings: Settings
    log_level: int
    network_timeout: float | None
    max_pdu_read: int


@dataclass(slots=True)
class Worker:
    process: BaseProcess
    conn: Connection


def supported() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()


class StorageProcesses:
    def __init__(
        self, settings: Settings, *, network_timeout: float | None, max_pdu_read: int
    ) -> None:
        self.config = WorkerConfig(
            settings=settings,
            log_level=logging.getLogger().getEffectiveLevel(),
            network_timeout=network_timeout,
            max_pdu_read=max_pdu_read,
        )
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._lock = threading.Lock()
        self._live: set[BaseProcess] = set()
        self._spare: Worker | None = None
        self._closed = False

    def start(self) -> None:
        """Start the fork server now: the first association should not wait for its
        imports (about a second)."""
        forkserver.ensure_running()

    def serve(
        self, sock: socket.socket, plan: Plan, on_end: Callable[[], None] = lambda: None
    ) -> None:
        """Serve an admitted association in a worker; returns when it has ended. The
        caller still owns (and closes) its copy of ``sock``. ``on_end`` runs as soon as
        the worker reports the association over, before the worker has exited (tens of
        milliseconds later): a peer may already be opening its next association."""
        worker = self._hand_over(sock, plan)
        process = worker.process
        try:
            self._keep_spare()
            if _reported_end(worker):
                on_end()
            process.join()
        finally:
            with self._lock:
                self._live.discard(process)
                idle = not self._live
            worker.conn.close()
            if idle:
                timer = threading.Timer(SPARE_LINGER, self._retire_spare_if_idle)
                timer.daemon = True
                timer.start()
        if process.exitcode != 0:
            log.error(
                "storage worker %s exited with %s; aborting its association",
                process.pid,
                process.exitcode,
                extra={"calling_ae": plan.calling_ae},
            )
            send_quietly(sock, ul.abort())
        with contextlib.suppress(ValueError):
            process.close()

    def _hand_over(self, sock: socket.socket, plan: Plan) -> Worker:
        """Give the association to the spare worker, or to a new one if there is none
        or the spare is gone: its plan, then the socket itself (SCM_RIGHTS)."""
        with self._lock:
            worker, self._spare = self._spare, None
        for _ in range(2):
            if worker is None:
                worker = self._start_worker()
            try:
                worker.conn.send(plan)
                reduction.send_handle(worker.conn, sock.fileno(), worker.process.pid)
            except OSError as exc:
                log.warning("storage worker %s unreachable: %s", worker.process.pid, exc)
                _stop(worker)
                worker = None
                continue
            with self._lock:
                self._live.add(worker.process)
            return worker
        raise RuntimeError("no storage worker took the association")

    def _keep_spare(self) -> None:
        """While associations come in, keep one worker started ahead, its store and
        index open: the next association is handed over in a millisecond instead of
        waiting about 25 ms for a fork and 15 ms for its store and index."""
        with self._lock:
            if self._spare is not None or self._closed:
                return
        try:
            worker: Worker | None = self._start_worker()
        except Exception:  # the association in hand goes on; the next one forks
            log.exception("could not start a spare storage worker")
            return
        with self._lock:
            if self._spare is None and not self._closed and self._live:
                self._spare, worker = worker, None
        if worker is not None:
            _stop(worker)

    def _retire_spare_if_idle(self) -> None:
        """No spare outlives a burst of associations by more than ``SPARE_LINGER``: a
        forked process's resident set counts every page it shares with the fork
        server, so an idle spare would add about 80 MB to the site's idle memory."""
        with self._lock:
            if self._live:
                return
            spare, self._spare = self._spare, None
        if spare is not None:
            _stop(spare)

    def _start_worker(self) -> Worker:
        from jip.dicom.storage_worker import run_worker

        site_end, worker_end = self._context.Pipe()
        process = self._context.Process(
            target=run_worker,
            args=(worker_end, self.config),
            name="jip-storage-worker",
            daemon=True,  # terminated when the site exits
        )
        try:
            process.start()
        finally:
            worker_end.close()
        return Worker(process, site_end)

    def shutdown(self) -> None:
        """Stop every worker (their unanswered instances were never acknowledged)."""
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
            live = list(self._live)
        if spare is not None:
            _stop(spare)
        for process in live:
            with contextlib.suppress(Exception):
                process.terminate()


def _reported_end(worker: Worker) -> bool:
    """Wait until the worker reports its association over (``True``) or exits without
    saying so (``False``)."""
    from jip.dicom.storage_worker import ENDED

    wait([worker.conn, worker.process.sentinel])
    try:
        return worker.conn.poll() and worker.conn.recv_bytes() == ENDED
    except (EOFError, OSError):
        return False


def _stop(worker: Worker) -> None:
    worker.conn.close()  # a waiting worker exits when its connection closes
    worker.process.join(5)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(5)
