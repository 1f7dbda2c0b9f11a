"""The workflow-engine seam and the embedded ``local`` engine.

An engine only schedules: it decides when the three operator functions of each job
run (``jip.pipelines.operators``). All state is in the database, so the engine itself
keeps nothing that a restart could lose.

Contract for other engines (e.g. ``jip.pipelines.airflow_engine.AirflowEngine``):
a class built as ``Engine(runtime)`` with a ``name``, ``submit(run_id)`` (schedule the
run's queued jobs), ``cancel(run_id)`` (called after the run and its jobs were marked
cancelled in the database; stop what still runs) and optional ``start()``/``stop()``.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from jip.outage import OUTAGE_ERRORS, Outage
from jip.pipelines import state
from jip.pipelines.operators import JobCancelledError, JobFailedError, run_job

if TYPE_CHECKING:
    from jip.runtime import Runtime

log = logging.getLogger(__name__)


class WorkflowEngine(ABC):
    name: str = "abstract"

    @abstractmethod
    def submit(self, run_id: str) -> None:
        """Schedule every queued job of the run (returns at once)."""

    @abstractmethod
    def cancel(self, run_id: str) -> None:
        """The run is already marked cancelled in the database; stop its running jobs."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Begin background work (worker threads, pollers)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """End background work; running jobs may be left to the next start."""


class LocalEngine(WorkflowEngine):
    """A pool of worker threads that claim queued jobs from the database and run the
    operator functions in this process.

    On start, jobs of this engine left in an active state by a crash go back to the
    queue; workers poll the database, so runs created by another process (the CLI)
    are picked up too, and ``submit`` only wakes them early.
    """

    name = "local"

    def __init__(self, runtime: Runtime, workers: int | None = None) -> None:
        self.runtime = runtime
        self.workers = workers or runtime.settings.pipeline_workers
        self.poll = runtime.settings.pipeline_poll_seconds
        self._wake = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._claim_lock = threading.Lock()
        self._outage = Outage(log, "pipeline workers", self.poll)

    def start(self) -> None:
        if self._threads:
            return
        requeued = state.requeue_interrupted(self.runtime.sessions, self.name)
        if requeued:
            log.warning("re-queued %d job(s) interrupted by a restart", len(requeued))
        self._stop.clear()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"jip-pipeline-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    def submit(self, run_id: str) -> None:
        with self._wake:
            self._pending += 1
            self._wake.notify_all()

    def cancel(self, run_id: str) -> None:
        # running operators poll their job's status and kill their container themselves
        with self._wake:
            self._wake.notify_all()

    def run_pending(self) -> int:
        """Run queued jobs in the calling thread until none is left (CLI, tests)."""
        done = 0
        while (job_id := self._claim()) is not None:
            self._execute(job_id)
            done += 1
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._claim()
            except OUTAGE_ERRORS as exc:  # a locked or unreachable database
                self._stop.wait(self._outage.failed(exc))
                continue
            except Exception:  # a bug must not end the worker either
                log.exception("claiming a job failed; retrying")
                self._stop.wait(self.poll)
                continue
            self._outage.ok()
            if job_id is None:
                with self._wake:
                    if self._pending == 0:
                        self._wake.wait(self.poll)
                    self._pending = max(0, self._pending - 1)
                continue
            self._execute(job_id)

    def _claim(self) -> str | None:
        sessions = self.runtime.sessions
        with self._claim_lock:
            for job_id in state.next_queued_jobs(sessions, self.name, limit=self.workers + 1):
                if state.claim_job(sessions, job_id, threading.current_thread().name):
                    return job_id
        return None

    def _execute(self, job_id: str) -> None:
        try:
            run_job(self.runtime, job_id)
        except (JobFailedError, JobCancelledError) as exc:
            log.info("job %s ended: %s", job_id, exc.message, extra={"job_id": job_id})
        except Exception:
            log.exception("job %s crashed the worker", job_id)


def make_workflow_engine(runtime: Runtime) -> WorkflowEngine:
    if runtime.settings.workflow_engine == "airflow":
        from jip.pipelines.airflow_engine import AirflowEngine  # type: ignore[import-not-found]

        engine: WorkflowEngine = AirflowEngine(runtime)
        return engine
    return LocalEngine(runtime)
