"""Garbage-collector settings for the long-running server process.

CPython's full collection walks every tracked object of the process. ``jip up`` holds
~180,000 of them after start-up (FastAPI, pydantic, SQLAlchemy, pydicom, pynetdicom),
and a full collection of them paused whatever request triggered it for 150-250 ms
(measured on the QIDO-RS 1,000-row answer, about one request in a hundred). The
start-up objects live as long as the process, so they are moved out of the
collector's sight once (``gc.freeze``).

A young-generation collection starts after 700 more container objects were made than
freed. One 1,000-row QIDO-RS page holds ~2,500 of them (database rows) for a few
milliseconds, so each such request ran ~3 collections that found nothing to free
(~2 ms). With 10,000, requests run none; what is cyclic garbage waits for at most
10,000 more allocations (memory unchanged within noise).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default: 700


def freeze_startup_heap() -> None:
    """Collect once, exclude every object alive now from later collections, and
    collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
