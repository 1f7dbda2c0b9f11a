"""The core end-to-end path on each backend combo: ``jip up`` on filesystem+SQLite and on
S3 (SeaweedFS) + PostgreSQL, fed by dcmtk's storescu."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from sqlalchemy import text

from jip.index.db import make_engine
from jip.synthetic import SeriesSpec, dataset_bytes, make_series, write_series
from tests.backends.conftest import Site, unique
from tests.conftest import start_jip, tool_env
from tests.servers import PostgresServer, start_postgres, start_seaweedfs

STORESCU = shutil.which("storescu") or "storescu"


def storescu(site: Site, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STORESCU, "-R", "-aec", "JIP", "127.0.0.1", str(site.jip.dicom_port), *map(str, files)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


STOW = {"Content-Type": 'multipart/related; type="application/dicom"; boundary=b0undary'}


def stow_body(*parts: bytes) -> bytes:
    out = b"".join(
        b"--b0undary\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts
    )
    return out + b"--b0undary--\r\n"


def dataset_part(data: bytes) -> bytes:
    """The bytes after the file meta group (which the receiver writes itself)."""
    assert data[128:132] == b"DICM"
    return data[132 + 12 + int.from_bytes(data[140:144], "little") :]


def test_ingest_index_retrieve_and_duplicates(combo_site: Site, tmp_path: Path) -> None:
    site = combo_site
    ct_series = write_series(SeriesSpec(slices=5, size=32, patient_id=unique("E2E")), tmp_path)
    before, keys_before = site.counts(), set(site.store.keys())
    health = httpx.get(f"{site.jip.url}/api/v1/health").json()
    assert (health["store"], health["index"]) == (
        site.settings.store_backend,
        site.engine.dialect.name,
    )

    r = storescu(site, *ct_series)
    assert r.returncode == 0, r.stderr
    added = {k: site.counts()[k] - before[k] for k in before}
    assert added == {"patients": 1, "studies": 1, "series": 1, "instances": 5}

    sent = {pydicom.dcmread(p).SOPInstanceUID: p.read_bytes() for p in ct_series}
    rows = [row for row in site.instances() if row.sop_instance_uid in sent]
    assert len(rows) == len(sent)
    for row in rows:
        stored = site.store.get(row.object_key)
        assert dataset_part(stored) == dataset_part(sent[row.sop_instance_uid])
        assert row.size == len(stored)
        assert row.transfer_syntax_uid == "1.2.840.10008.1.2.1"
        assert row.tags["PatientID"].startswith("E2E")

    # the same instances again: success, stored once
    r = storescu(site, *ct_series)
    assert r.returncode == 0, r.stderr
    assert site.counts()["instances"] - before["instances"] == 5
    assert len(set(site.store.keys()) - keys_before) == 5
    _check_banner(site)


@pytest.mark.slow
def test_no_success_when_the_object_store_is_down(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    """Durability: with its S3 server gone, JIP answers C-STORE with a failure (0xA700)
    within seconds and indexes nothing; it serves again once the store is back."""
    s3 = start_seaweedfs()
    env = s3.env(unique("jip-"))
    env["JIP_DATABASE_URL"] = pg_server.create_database(unique("jip_"))
    jip = start_jip(tmp_path / "jipdata", extra_env=env)
    engine = make_engine(env["JIP_DATABASE_URL"])
    try:
        ae = AE(ae_title="DURABLE")
        ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
        first, second = make_series(SeriesSpec(slices=2, size=16))
        assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
        assert assoc.is_established
        try:
            assert assoc.send_c_store(first).Status == 0x0000
            s3.stop()
            t0 = time.monotonic()
            assert assoc.send_c_store(second).Status == 0xA700
            assert time.monotonic() - t0 < 30
        finally:
            assoc.release()
        with engine.connect() as conn:
            uids = set(conn.scalars(text("SELECT sop_instance_uid FROM instances")))
        assert uids == {first.SOPInstanceUID}
        assert httpx.get(f"{jip.url}/api/v1/health").status_code == 200
        # STOW-RS: every part failed for the store: 503 (a temporary condition of the
        # server), still listing the failures; a part with bad data makes it a 409
        stow = f"{jip.url}/dicomweb/studies"
        r = httpx.post(stow, content=stow_body(dataset_bytes(second)), headers=STOW, timeout=60)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        failed = r.json()["00081198"]["Value"]
        assert [f["00081197"]["Value"] for f in failed] == [[0xA700]]
        assert failed[0]["00081155"]["Value"] == [second.SOPInstanceUID]
        mixed = stow_body(dataset_bytes(second), b"not DICOM")
        r = httpx.post(stow, content=mixed, headers=STOW, timeout=60)
        assert r.status_code == 409, r.text
        # the stored instance cannot be read: a 503 before any byte, not a cut stream
        r = httpx.get(f"{jip.url}/dicomweb/studies/{first.StudyInstanceUID}", timeout=60)
        assert r.status_code == 503 and "cannot read object" in r.json()["detail"], r.text
        assert r.headers["retry-after"] == "5"
        # the series completes and its thumbnail cannot be pre-rendered: one line, no traceback
        _wait_for(lambda: "thumbnail pre-rendering paused" in jip.log.read_text())
        assert "Traceback" not in jip.log.read_text()
    finally:
        jip.stop()
        engine.dispose()
        s3.stop()


def _check_banner(site: Site) -> None:
    """``jip up`` prints what it started and where (with no secret in it)."""
    banner = site.jip.log.read_text()
    s = site.settings
    assert "JIP is up" in banner
    assert f"http://127.0.0.1:{site.jip.http_port}/" in banner
    assert f"JIP@127.0.0.1:{site.jip.dicom_port}" in banner
    assert str(s.data_dir.resolve()) in banner
    if s.store_backend == "s3":
        assert f"s3 http://{s.s3_endpoint}/{s.s3_bucket}" in banner
        assert "postgresql" in banner and s.s3_secret_key not in banner
        assert "***" in banner  # the database password is masked
    else:
        assert "filesystem" in banner and "sqlite" in banner


@pytest.mark.slow
def test_index_outage_fails_stores_answers_503_and_recovers(tmp_path: Path) -> None:
    """With PostgreSQL gone, C-STORE is answered 0xA700 and HTTP reads 503 with a
    clear message (not a 500 with a traceback); once it is back the site serves
    again without a restart, and its password never reaches the log."""
    pg = start_postgres()
    env = {"JIP_DATABASE_URL": pg.create_database("jip")}
    jip = start_jip(tmp_path / "jipdata", extra_env=env)
    try:
        ae = AE(ae_title="OUTAGE")
        ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
        first, second, third = make_series(SeriesSpec(slices=3, size=16))
        assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
        assert assoc.is_established
        try:
            assert assoc.send_c_store(first).Status == 0x0000
            pg.pause()
            assert assoc.send_c_store(second).Status == 0xA700
        finally:
            assoc.release()
        for path in ("/api/v1/health", "/dicomweb/studies", "/api/v1/statistics"):
            r = httpx.get(f"{jip.url}{path}")
            assert r.status_code == 503, (path, r.text)
            assert "index" in r.json()["detail"], r.text
            assert r.headers["retry-after"] == "5"  # a temporary condition: when to retry

        pg.resume()
        assert httpx.get(f"{jip.url}/api/v1/health").status_code == 200
        assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
        try:
            assert assoc.send_c_store(second).Status == 0x0000
            assert assoc.send_c_store(third).Status == 0x0000
        finally:
            assoc.release()
        found = httpx.get(f"{jip.url}/dicomweb/instances").json()
        assert len(found) == 3
    finally:
        jip.stop()
        pg.stop()
    assert pg.password not in jip.log.read_text()


def _wait_for(check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_background_loops_log_an_index_outage_once_and_work_after_it(tmp_path: Path) -> None:
    """The pipeline workers and the series-completion monitor poll the index: with it down
    they log the outage once each (one line, no traceback), not a traceback several times a
    second, and they work again once it is back (a series completes, a job is run)."""
    pg = start_postgres()
    env = {"JIP_DATABASE_URL": pg.create_database("jip"), "JIP_PIPELINE_POLL_SECONDS": "0.2"}
    jip = start_jip(tmp_path / "jipdata", extra_env=env)
    engine = make_engine(env["JIP_DATABASE_URL"])
    try:
        before = len(jip.log.read_text().splitlines())
        pg.pause()
        time.sleep(5)  # the outage whose logging is measured
        pg.resume()
        lines = jip.log.read_text().splitlines()[before:]
        outage = [line for line in lines if "unavailable" in line or "failed" in line]
        assert "Traceback" not in "\n".join(lines), "\n".join(line[:300] for line in lines)
        assert 1 <= len(outage) <= 6, "\n".join(line[:300] for line in lines)

        series = list(make_series(SeriesSpec(slices=2, size=16)))
        ae = AE(ae_title="AFTER")
        ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
        assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
        try:
            assert all(assoc.send_c_store(ds).Status == 0x0000 for ds in series)
        finally:
            assoc.release()
        uid = series[0].SeriesInstanceUID

        def completed() -> bool:
            with engine.connect() as conn:
                sql = text("SELECT completed_at FROM series WHERE series_uid = :u")
                return conn.scalar(sql, {"u": uid}) is not None

        _wait_for(completed)
        r = httpx.post(
            f"{jip.url}/api/v1/runs", json={"algorithm": "dicom-qa", "series_uids": [uid]}
        )
        assert r.status_code == 201, r.text
        run_url = f"{jip.url}/api/v1/runs/{r.json()['id']}"
        # claimed and run (it fails here only if this box has no container runtime)
        done = ("succeeded", "failed")
        _wait_for(lambda: httpx.get(run_url).json()["status"] in done, timeout=60)
        log = jip.log.read_text()
        assert "pipeline workers resumed" in log and "completion monitor resumed" in log
    finally:
        jip.stop()
        engine.dispose()
        pg.stop()
