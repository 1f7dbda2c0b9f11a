"""Group commit: one thread owns all index writes and commits them in batches.

Concurrent associations each wait for their own instance, but share one commit (one
fsync of the SQLite WAL or one PostgreSQL transaction) with whatever else arrived
meanwhile, so durability costs once per batch, not once per instance. A job may carry a
barrier (its object's flush): the batch runs its statements at once but commits only
after every barrier has passed, so the index work overlaps the disk's.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

Job = Callable[[Session], Any]
Barrier = Callable[[], None]
Item = tuple[Job, "Future[Any]", Barrier | None]
_MAX_BATCH = 256


class IndexWriter:
    _session: Session

    def __init__(
        self, sessions: sessionmaker[Session], lock: AbstractContextManager[Any] | None = None
    ) -> None:
        self._sessions = sessions
        # held around each transaction: other processes write the same index (write_lock)
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._queue: queue.Queue[Item | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="jip-index-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job, barrier: Barrier | None = None) -> Future[Any]:
        """Run ``job(session)`` in the writer; the future resolves after the commit,
        which waits for ``barrier()`` to return (if it raises, the job fails with it)."""
        fut: Future[Any] = Future()
        self._queue.put((job, fut, barrier))
        return fut

    def run(self, job: Job, timeout: float | None = 120) -> Any:
        return self.submit(job).result(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        # one session for the writer's life: creating and closing one per batch cost
        # about as much as the batch's statements
        self._session = self._sessions()
        try:
            self._serve()
        finally:
            self._session.close()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Item]) -> None:
        with self._lock:
            self._commit_locked(batch)

    def _commit_locked(self, batch: list[Item]) -> None:
        """One transaction for the batch; if any job fails, redo each job alone."""
        results: list[Any] = []
        session = self._session
        try:
            for job, _, _ in batch:
                results.append(job(session))
            for _, _, barrier in batch:
                if barrier is not None:
                    barrier()
            session.commit()
            session.expunge_all()
        except Exception:
            self._reset()
            if len(batch) == 1:
                self._commit_one(*batch[0])
                return
            log.warning("batch of %d failed; committing jobs one by one", len(batch))
            for item in batch:
                self._commit_one(*item)
            return
        for (_, fut, _), result in zip(batch, results, strict=True):
            fut.set_result(result)

    def _reset(self) -> None:
        """Roll back what failed; a session broken beyond that is replaced."""
        try:
            self._session.rollback()
        except Exception:
            log.exception("index writer session could not roll back; starting a new one")
            self._session.close()
            self._session = self._sessions()
        self._session.expunge_all()

    def _commit_one(self, job: Job, fut: Future[Any], barrier: Barrier | None) -> None:
        session = self._session
        try:
            result = job(session)
            if barrier is not None:
                barrier()
            session.commit()
        except BaseException as exc:
            self._reset()
            fut.set_exception(exc)
        else:
            fut.set_result(result)
