"""Bounded load: 8 storescu senders and 50 concurrent query clients at once; no store
may fail and no query may answer 5xx (the 60 s run is benchmarks/load_bench.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.loadgen import run_load
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess
from tests.proof.helpers import index_rows


@pytest.mark.slow
def test_eight_senders_and_fifty_query_clients(jip: JipProcess, tmp_path: Path) -> None:
    files = [
        write_series(
            SeriesSpec(slices=10, size=32, patient_id=f"LOAD{n}", series_number=n),
            tmp_path / f"s{n}",
        )
        for n in range(8)
    ]
    result = run_load(jip.url, jip.dicom_port, files, http_clients=50, seconds=8, senders_once=True)
    print(result.summary())
    assert result.store_failures == 0, result.failure_messages
    assert result.instances_sent == 80
    assert result.server_errors == 0 and result.client_errors == 0
    assert len(result.latencies_ms) > 0
    assert len(index_rows(jip)) == 80
