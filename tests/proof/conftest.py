"""Fixtures of the proof suites: one ``jip up`` with short network timeouts per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import JipProcess, start_jip

SHORT_TIMEOUTS = {
    "JIP_NETWORK_TIMEOUT": "3",
    "JIP_ACSE_TIMEOUT": "3",
    "JIP_DIMSE_TIMEOUT": "3",
}


@pytest.fixture(scope="module")
def hostile_jip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JipProcess]:
    """A running platform whose associations time out after 3 s (for stalled peers)."""
    jip = start_jip(Path(tmp_path_factory.mktemp("hostile")) / "data", extra_env=SHORT_TIMEOUTS)
    yield jip
    jip.stop()
