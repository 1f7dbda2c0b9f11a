"""Storage associations in worker processes: one per association (and one spare while
associations come in), gone when it ends or when the site goes, a killed worker costs
only its own association, a worker that cannot open the index answers failures until
it can, and workers, the site's own writer (STOW-RS) and a `jip import` beside `jip up`
share the index."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pynetdicom import AE
from pynetdicom.association import Association

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import BIN, JipProcess, start_jip, tool_env

CT = "1.2.840.10008.5.1.4.1.1.2"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def workers(site_pid: int) -> list[int]:
    """The site's storage workers: children of its fork server (its grandchildren)."""
    return [w for child in _children(site_pid) for w in _children(child)]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def indexed(jip: JipProcess, series_uid: str) -> int:
    r = httpx.get(
        f"{jip.url}/dicomweb/instances", params={"SeriesInstanceUID": series_uid}, timeout=30
    )
    r.raise_for_status()
    return len(r.json()) if r.status_code == 200 else 0


@pytest.fixture
def site(tmp_path: Path) -> Iterator[JipProcess]:
    jip = start_jip(tmp_path / "jip")
    yield jip
    jip.stop()


def _associate(jip: JipProcess) -> Association:
    ae = AE(ae_title="SCU")
    ae.add_requested_context(CT)
    assoc = ae.associate("127.0.0.1", jip.dicom_port, ae_title="JIP")
    assert assoc.is_established
    return assoc


def test_an_association_is_served_by_its_own_worker_until_it_ends(
    site: JipProcess, tmp_path: Path
) -> None:
    files = write_series(SeriesSpec(slices=3, size=32), tmp_path / "ct")
    assert wait_until(lambda: workers(site.proc.pid) == [])  # none waits idle
    first, second = _associate(site), _associate(site)
    try:
        # one worker each, and one spare started ahead for the next association
        assert wait_until(lambda: len(workers(site.proc.pid)) == 3)
        for i, f in enumerate(files):
            status = (first if i % 2 else second).send_c_store(pydicom.dcmread(f))
            assert status.Status == 0x0000
    finally:
        first.release()
        second.release()
    # both workers exit with their associations, the spare a second later
    assert wait_until(lambda: workers(site.proc.pid) == [])
    series_uid = str(pydicom.dcmread(files[0]).SeriesInstanceUID)
    assert indexed(site, series_uid) == 3


def test_a_killed_worker_costs_only_its_own_association(
    site: JipProcess, tmp_path: Path
) -> None:
    files = write_series(SeriesSpec(slices=4, size=32), tmp_path / "ct")
    assoc = _associate(site)
    assert assoc.send_c_store(pydicom.dcmread(files[0])).Status == 0x0000
    assert wait_until(lambda: len(workers(site.proc.pid)) == 2)  # its worker and a spare
    for worker in workers(site.proc.pid):
        os.kill(worker, signal.SIGKILL)
    assert wait_until(lambda: not assoc.is_established)
    assert assoc.is_aborted  # the site aborted it for the dead worker
    # the site goes on (without the dead spare): a new association stores the rest
    r = subprocess.run(
        ["storescu", "-aec", "JIP", "127.0.0.1", str(site.dicom_port), *map(str, files[1:])],
        env=tool_env(), capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    series_uid = str(pydicom.dcmread(files[0]).SeriesInstanceUID)
    assert indexed(site, series_uid) == 4  # the acknowledged one survived the kill


def test_a_killed_site_takes_its_workers_along(tmp_path: Path) -> None:
    jip = start_jip(tmp_path / "jip")
    try:
        assoc = _associate(jip)
        assert wait_until(lambda: len(workers(jip.proc.pid)) == 2)  # its worker and a spare
        started = workers(jip.proc.pid)
        jip.proc.kill()  # no shutdown code runs
        jip.proc.wait(10)
        assert wait_until(lambda: not any(map(alive, started))), "a worker outlived its site"
        assoc.abort()
    finally:
        jip.stop()


def test_workers_the_site_and_an_import_write_one_index_together(
    site: JipProcess, tmp_path: Path
) -> None:
    by_store = [
        write_series(SeriesSpec(slices=12, size=64), tmp_path / f"dimse{i}") for i in range(3)
    ]
    by_stow = write_series(SeriesSpec(slices=12, size=64), tmp_path / "stow")
    by_import = write_series(SeriesSpec(slices=12, size=64), tmp_path / "import")
    errors: list[str] = []

    def storescu(files: list[Path]) -> None:
        r = subprocess.run(
            ["storescu", "-aec", "JIP", "127.0.0.1", str(site.dicom_port), *map(str, files)],
            env=tool_env(), capture_output=True, text=True, timeout=120,
        )
        if r.returncode:
            errors.append(r.stderr)

    def stow() -> None:
        client = DICOMwebClient(url=f"{site.url}/dicomweb")
        for f in by_stow:
            client.store_instances([pydicom.dcmread(f)])

    def jip_import() -> None:
        r = subprocess.run(
            [str(BIN / "jip"), "import", str(tmp_path / "import")],
            env=site.env, capture_output=True, text=True, timeout=120,
        )
        if r.returncode:
            errors.append(r.stdout + r.stderr)

    threads = [threading.Thread(target=storescu, args=(files,)) for files in by_store]
    threads += [threading.Thread(target=stow), threading.Thread(target=jip_import)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert errors == []
    for files in [*by_store, by_stow, by_import]:
        assert indexed(site, str(pydicom.dcmread(files[0]).SeriesInstanceUID)) == 12
    assert "database is locked" not in site.log.read_text()


def test_a_worker_without_its_index_answers_a_failure_and_recovers(
    site: JipProcess, tmp_path: Path
) -> None:
    """A worker opens the index as soon as it starts; if that fails, its C-STOREs are
    answered with a failure status (nothing acknowledged), the site keeps serving, and
    the same association stores once the index can be opened again."""
    files = write_series(SeriesSpec(slices=2, size=32), tmp_path / "ct")
    index = site.data_dir / "index.sqlite3"
    away = index.with_name("index.sqlite3.away")
    assert wait_until(lambda: workers(site.proc.pid) == [])
    index.rename(away)  # the site keeps its open connections; a new one finds a folder
    index.mkdir()
    try:
        assoc = _associate(site)
        try:
            assert assoc.send_c_store(pydicom.dcmread(files[0])).Status == 0xA700
            assert httpx.get(f"{site.url}/api/v1/health", timeout=10).status_code == 200
            index.rmdir()
            away.rename(index)
            assert assoc.send_c_store(pydicom.dcmread(files[0])).Status == 0x0000
            assert assoc.send_c_store(pydicom.dcmread(files[1])).Status == 0x0000
        finally:
            assoc.release()
    finally:
        if index.is_dir():
            index.rmdir()
            away.rename(index)
    assert "could not open its index" in site.log.read_text()
    series_uid = str(pydicom.dcmread(files[0]).SeriesInstanceUID)
    assert indexed(site, series_uid) == 2
