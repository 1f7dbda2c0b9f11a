"""``jip pacs query`` / ``jip pacs retrieve`` against the real Debian Orthanc as site
PACS, pulling into a running ``jip up``: instances arrive byte-identical and indexed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

import httpx
import pytest

from tests.conftest import BIN, JipProcess
from tests.dimse.conftest import Corpus, Site, dataset_bytes, stored_objects
from tests.orthanc import OrthancServer

pytestmark = pytest.mark.slow


def _jip_cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(site.jip.env, COLUMNS="250", TCP_NODELAY="1")
    return subprocess.run([str(BIN / "jip"), "pacs", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def _orthanc_datasets(orthanc: OrthancServer) -> dict[str, bytes]:
    """SOP Instance UID -> data set bytes as Orthanc stores them."""
    out = {}
    for oid in httpx.get(f"{orthanc.url}/instances", timeout=10).json():
        tags = httpx.get(f"{orthanc.url}/instances/{oid}/simplified-tags", timeout=10).json()
        data = httpx.get(f"{orthanc.url}/instances/{oid}/file", timeout=10).content
        out[tags["SOPInstanceUID"]] = dataset_bytes(data)
    return out


def _indexed(jip: JipProcess, study_uid: str) -> int:
    with sqlite3.connect(jip.data_dir / "index.sqlite3") as db:
        row = db.execute("select count(*) from instances where study_uid = ?",
                         (study_uid,)).fetchone()
    return int(row[0])


def _wait_indexed(jip: JipProcess, study_uid: str, n: int) -> int:
    deadline = time.monotonic() + 20
    while (got := _indexed(jip, study_uid)) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def test_pacs_query_studies_and_series(site: Site, corpus: Corpus) -> None:
    r = _jip_cli(site, "query", "--patient-id", "DIMSEP1")
    assert r.returncode == 0, r.stderr
    assert "DIMSEP1" in r.stdout and corpus.p1_study in r.stdout
    assert "DIMSEP2" not in r.stdout
    assert "Synthetic^Patient" in r.stdout  # a person name, not its characters joined by \\

    r = _jip_cli(site, "query", "--patient-id", "DIMSEP*", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_study = {row["StudyInstanceUID"]: row for row in rows}
    assert set(by_study) == {corpus.p1_study, corpus.p2_study}
    assert by_study[corpus.p1_study]["NumberOfStudyRelatedInstances"] == "5"
    assert by_study[corpus.p1_study]["PatientName"] == "Synthetic^Patient"
    assert set(by_study[corpus.p1_study]["ModalitiesInStudy"].split("\\")) == {"CT", "MR"}

    r = _jip_cli(site, "query", "--level", "series", "--study-uid", corpus.p1_study,
                 "--modality", "MR", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert [row["SeriesInstanceUID"] for row in rows] == [corpus.p1_series[1]]


def test_pacs_retrieve_study_arrives_byte_identical_and_indexed(
    site: Site, corpus: Corpus
) -> None:
    r = _jip_cli(site, "retrieve", "--study", corpus.p1_study)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "moved 5 instance(s)" in r.stderr
    assert _wait_indexed(site.jip, corpus.p1_study, 5) == 5
    stored = stored_objects(site.jip.data_dir)
    in_orthanc = _orthanc_datasets(site.orthanc)
    for uid in corpus.uids_of(StudyInstanceUID=corpus.p1_study):
        assert stored[uid] == in_orthanc[uid], f"{uid} changed between Orthanc and JIP"
        assert stored[uid] == dataset_bytes(corpus.files[uid].read_bytes())


def test_pacs_retrieve_by_series_uid_and_by_filter(site: Site, corpus: Corpus) -> None:
    # the J2K object's series, by UID only: the study UID is looked up on the PACS
    import pydicom

    j2k = pydicom.dcmread(corpus.files[corpus.j2k_uid], stop_before_pixels=True)
    r = _jip_cli(site, "retrieve", "--series", str(j2k.SeriesInstanceUID))
    assert r.returncode == 0, r.stdout + r.stderr
    assert _wait_indexed(site.jip, str(j2k.StudyInstanceUID), 1) == 1
    assert stored_objects(site.jip.data_dir)[corpus.j2k_uid] == \
        _orthanc_datasets(site.orthanc)[corpus.j2k_uid]
    # by query filter: every study of patient DIMSEP2
    r = _jip_cli(site, "retrieve", "--patient-id", "DIMSEP2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert _wait_indexed(site.jip, corpus.p2_study, 2) == 2


def test_pacs_cli_refuses_unclear_requests(site: Site) -> None:
    r = _jip_cli(site, "retrieve")
    assert r.returncode == 2 and "nothing selected" in r.stderr
    r = _jip_cli(site, "query", "--peer", "NOSUCHPACS")
    assert r.returncode == 2 and "NOSUCHPACS" in r.stderr
    r = _jip_cli(site, "retrieve", "--study", "1.2.3.4.5.6.7")
    # Orthanc refuses an unknown study (0xC000): reported with its status, exit 1
    assert r.returncode == 1 and "status 0x" in r.stderr, r.stderr
