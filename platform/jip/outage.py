"""Backend outages seen by background loops: one line when one starts and one when it
ends, and a growing delay between retries, not a traceback several times a second."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from jip.errors import StorageError

OUTAGE_ERRORS = (OperationalError, StorageError)
"""What an unreachable index (database) or object store raises."""


def reason(exc: BaseException) -> str:
    """The first line of what went wrong (the driver's message, not SQLAlchemy's wrapper)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class Outage:
    """Whether the backends of ``what`` (a loop, shared by its threads) are down."""

    def __init__(self, log: logging.Logger, what: str, retry: float, longest: float = 5.0) -> None:
        self.log = log
        self.what = what
        self.retry = retry
        self.longest = max(retry, longest)
        self._delay: float | None = None
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> float:
        """Log the outage if it is new; returns the seconds to wait before retrying."""
        with self._lock:
            if self._delay is None:
                self._delay = self.retry
                self.log.warning(
                    "%s paused: a backend is unavailable: %s; retrying until it is back",
                    self.what,
                    reason(exc),
                )
            else:
                self._delay = min(self._delay * 2, self.longest)
            return self._delay

    def ok(self) -> None:
        """The backends answered: log the end of an outage, if there was one."""
        if self._delay is None:
            return
        with self._lock:
            if self._delay is not None:
                self._delay = None
                self.log.warning("%s resumed: its backends are available again", self.what)
