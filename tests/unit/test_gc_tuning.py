"""jip up's garbage-collector settings: start-up objects frozen, fewer young collections."""

from __future__ import annotations

import gc

from jip.gc_tuning import YOUNG_THRESHOLD, freeze_startup_heap


def test_freeze_startup_heap() -> None:
    before = gc.get_threshold()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
