"""The "series complete" event: a series is complete once it has been quiet for a while.

The state lives in the index (``series.completed_at``), so the event survives a
restart: a series that went quiet while JIP was down fires when it comes back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jip.index.models import Series
from jip.index.writer import IndexWriter
from jip.outage import OUTAGE_ERRORS, Outage

log = logging.getLogger(__name__)

SeriesListener = Callable[[str], None]


class SeriesCompletionMonitor:
    def __init__(self, writer: IndexWriter, quiet_seconds: float, poll: float = 1.0) -> None:
        self.writer = writer
        self.quiet = timedelta(seconds=quiet_seconds)
        self.poll = poll
        self.listeners: list[SeriesListener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, listener: SeriesListener) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="jip-series-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def check_now(self) -> list[str]:
        """Mark every quiet series complete and notify listeners; returns their UIDs."""
        cutoff = datetime.now(UTC).replace(tzinfo=None) - self.quiet
        uids: list[str] = self.writer.run(lambda s: _mark_complete(s, cutoff))
        for uid in uids:
            log.info("series complete", extra={"series_uid": uid})
            for listener in self.listeners:
                try:
                    listener(uid)
                except Exception:
                    log.exception("series-complete listener failed for %s", uid)
        return uids

    def _loop(self) -> None:
        outage = Outage(log, "series completion monitor", self.poll)
        delay = self.poll
        while not self._stop.wait(delay):
            delay = self.poll
            try:
                self.check_now()
            except OUTAGE_ERRORS as exc:
                delay = outage.failed(exc)
                continue
            except Exception:
                log.exception("series completion check failed")
            outage.ok()


def _mark_complete(session: Session, cutoff: datetime) -> list[str]:
    uids = list(
        session.scalars(
            select(Series.series_uid)
            .where(Series.completed_at.is_(None), Series.last_received <= cutoff)
            .limit(1000)
        )
    )
    if uids:
        now = datetime.now(UTC).replace(tzinfo=None)
        session.execute(update(Series).where(Series.series_uid.in_(uids)).values(completed_at=now))
    return uids
