"""``jip pacs`` against dcmtk's dcmqrscp, a PACS that supports only the required keys:
it ignores ModalitiesInStudy (neither matches nor returns it)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import BIN
from tests.dimse.conftest import Corpus, QRSite
from tests.dimse.test_pacs_orthanc import _indexed, _wait_indexed

pytestmark = pytest.mark.slow


def _jip_cli(site: QRSite, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(site.jip.env, COLUMNS="250", TCP_NODELAY="1")
    return subprocess.run([str(BIN / "jip"), "pacs", *args, "--peer", "QR"], env=env,
                          capture_output=True, text=True, timeout=180)


def test_modality_filter_holds_where_the_pacs_ignores_modalities_in_study(
    qr_site: QRSite, corpus: Corpus
) -> None:
    r = _jip_cli(qr_site, "query", "--modality", "MR", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert [row["StudyInstanceUID"] for row in rows] == [corpus.p1_study]
    assert rows[0]["PatientName"] == "Synthetic^Patient"

    r = _jip_cli(qr_site, "retrieve", "--modality", "MR")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "moved 5 instance(s) of 1 target(s)" in r.stderr, r.stderr
    assert _wait_indexed(qr_site.jip, corpus.p1_study, 5) == 5
    assert _indexed(qr_site.jip, corpus.p2_study) == 0  # a CT-only study: not pulled
