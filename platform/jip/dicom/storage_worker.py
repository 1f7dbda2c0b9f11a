"""The body of a storage worker process (see ``storage_processes``).

Imported by the fork server before any worker exists: everything a worker needs is
imported here, at module level, so a worker starts without importing anything. A
worker opens its store and index in a second thread as soon as it starts, while its
association is handed over and negotiated (a spare: while it waits for one), so its
first instance does not wait for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from sqlalchemy import create_engine

from jip.dicom.storage_association import Plan, StorageAssociation
from jip.index.records import prepare_statements
from jip.index.write_lock import IndexWriteLock, index_lock_path
from jip.ingest import InlineIngestor
from jip.logs import setup_logging
from jip.runtime import make_index_engine
from jip.store import make_store

if TYPE_CHECKING:
    from jip.dicom.storage_processes import WorkerConfig

log = logging.getLogger(__name__)


ENDED = b"ended"  # worker -> site: the association is over, this worker exits next


def run_worker(conn: Connection, config: WorkerConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the site's to handle
    setup_logging(logging.getLevelName(config.log_level))
    settings = config.settings
    lock = IndexWriteLock(index_lock_path(settings.data_dir))
    opened: list[InlineIngestor] = []

    def open_ingestor() -> InlineIngestor:
        return InlineIngestor(make_store(settings), make_index_engine(settings), lock)

    def open_ahead() -> None:
        try:
            ingestor = open_ingestor()
        except Exception as exc:  # the first C-STORE reports it, as in any worker
            log.warning("storage worker could not open its store or index: %s", exc)
            return
        try:
            ingestor.prepare()
        except Exception as exc:
            log.warning("storage worker could not open its index: %s", exc)
            ingestor.close()
            return
        opened.append(ingestor)

    ahead = threading.Thread(target=open_ahead, name="jip-open-ahead", daemon=True)
    ahead.start()  # while the association is handed over and negotiated

    def ingestor() -> InlineIngestor:  # by the first C-STORE
        ahead.join()
        if not opened:
            opened.append(open_ingestor())  # raises what failed ahead, aborting the association
        return opened[0]

    try:
        try:
            plan: Plan = conn.recv()
            fd = reduction.recv_handle(conn)
        except (EOFError, OSError):
            return  # the site stopped before handing the association over
        sock = socket.socket(fileno=fd)
        _exit_with_site(conn)
        try:
            StorageAssociation(
                sock,
                ingestor,
                plan,
                network_timeout=config.network_timeout,
                max_pdu_read=config.max_pdu_read,
            ).serve()
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(OSError):
            conn.send_bytes(ENDED)  # the site frees the association's slot now
    finally:
        conn.close()
        ahead.join()
        for used in opened:
            used.close()
        lock.close()


def _exit_with_site(conn: Connection) -> None:
    """End this worker when the site process ends, however it ends. The site writes
    nothing after the handover and holds its end of ``conn`` until this worker has
    exited, so end-of-file on it means the site is gone. (The fork server would not
    tell: each of its children holds it alive.) Its instances in flight were never
    acknowledged; the sender sees the connection close."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv_bytes()
        os._exit(1)

    threading.Thread(target=watch, name="jip-site-watch", daemon=True).start()


def _warm_sqlalchemy() -> None:
    """Import the SQLite dialect, build an engine once and compile the per-instance
    statements, here in the fork server: the first engine of a process costs about
    18 ms, every later one 1.4 ms."""
    engine = create_engine("sqlite://")
    prepare_statements(engine.dialect)
    engine.dispose()


_warm_sqlalchemy()
