"""SIGKILL in the middle of a 4-association ingest loses nothing that was acknowledged.

Four pynetdicom SCUs send one series each and record every C-STORE that got a success
status. The ``jip up`` process is killed with SIGKILL once part of them are
acknowledged, restarted on the same data folder, and then: every acknowledged instance
is indexed and stored byte-identical to what was sent; half-written temp files are
gone; re-sending everything completes the set with no duplicate rows or objects.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, start_jip
from tests.proof.helpers import (
    SendLog,
    dataset_part,
    index_rows,
    object_files,
    object_path,
    send_series,
    sop_uid,
)

SERIES, SLICES, SIZE = 4, 30, 64
KILL_AFTER = 40  # acknowledged instances before the SIGKILL


@pytest.fixture
def series(tmp_path: Path) -> list[list[Path]]:
    return [
        write_series(
            SeriesSpec(slices=SLICES, size=SIZE, patient_id=f"CRASH{n}", series_number=n + 1),
            tmp_path / f"s{n}",
        )
        for n in range(SERIES)
    ]


def _send_all(port: int, series: list[list[Path]]) -> list[SendLog]:
    logs = [SendLog() for _ in series]
    threads = [
        threading.Thread(target=send_series, args=(port, files, log), daemon=True)
        for files, log in zip(series, logs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return logs


@pytest.mark.slow
def test_sigkill_mid_ingest_keeps_every_acknowledged_instance(
    tmp_path: Path, series: list[list[Path]]
) -> None:
    data_dir = tmp_path / "jipdata"
    jip = start_jip(data_dir)
    logs = [SendLog() for _ in series]
    threads = [
        threading.Thread(target=send_series, args=(jip.dicom_port, files, log), daemon=True)
        for files, log in zip(series, logs, strict=True)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while sum(len(log.acked) for log in logs) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(jip.proc.pid, signal.SIGKILL)
    jip.proc.wait(10)
    for t in threads:
        t.join(60)
    acked = [uid for log in logs for uid in log.acked]
    total = SERIES * SLICES
    assert KILL_AFTER <= len(acked) < total, "the kill must land mid-ingest"
    assert all(log.error or len(log.acked) == SLICES for log in logs)

    # a half-written temp file of the dead process, as a crash leaves it
    stale = data_dir / "objects" / ".tmp" / f"{jip.proc.pid}-torn"
    stale.write_bytes(b"half written")

    again = start_jip(data_dir, http_port=jip.http_port, dicom_port=jip.dicom_port)
    try:
        _check_acknowledged(again, series, acked)
        assert not stale.exists(), "temp files of the dead process are removed on start-up"

        resent = _send_all(again.dicom_port, series)
        assert all(not log.error and not log.failed for log in resent), resent
        _check_complete(again, series)
    finally:
        again.stop()


def _check_acknowledged(jip: JipProcess, series: list[list[Path]], acked: list[str]) -> None:
    by_uid = {sop_uid(p): p for files in series for p in files}
    rows = index_rows(jip)
    missing = [uid for uid in acked if uid not in rows]
    assert not missing, f"{len(missing)} acknowledged instances lost from the index"
    for uid in acked:
        stored = object_path(jip, rows[uid]).read_bytes()
        assert dataset_part(stored) == dataset_part(by_uid[uid]), f"{uid} differs"


def _check_complete(jip: JipProcess, series: list[list[Path]]) -> None:
    total = SERIES * SLICES
    rows = index_rows(jip)
    assert len(rows) == total
    objects = object_files(jip)
    assert len(objects) == total, "no duplicate or orphan objects"
    by_uid = {sop_uid(p): p for files in series for p in files}
    assert set(rows) == set(by_uid)
    for uid, key in rows.items():
        assert dataset_part(object_path(jip, key).read_bytes()) == dataset_part(by_uid[uid])
    con = sqlite3.connect(f"file:{jip.data_dir / 'index.sqlite3'}?mode=ro", uri=True)
    try:
        counts = [n for (n,) in con.execute("SELECT num_instances FROM series")]
        study_counts = [n for (n,) in con.execute("SELECT num_instances FROM studies")]
    finally:
        con.close()
    assert counts == [SLICES] * SERIES
    assert study_counts == [SLICES] * SERIES
