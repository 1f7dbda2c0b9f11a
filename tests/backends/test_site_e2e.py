"""The core end-to-end path on each backend combo: ``jip up`` on filesystem+SQLite and on
S3 (SeaweedFS) + PostgreSQL, fed by dcmtk's storescu."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pydicom

from tests.backends.conftest import Site
from tests.conftest import tool_env

STORESCU = shutil.which("storescu") or "storescu"


def storescu(site: Site, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STORESCU, "-R", "-aec", "JIP", "127.0.0.1", str(site.jip.dicom_port), *map(str, files)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def dataset_part(data: bytes) -> bytes:
    """The bytes after the file meta group (which the receiver writes itself)."""
    assert data[128:132] == b"DICM"
    return data[132 + 12 + int.from_bytes(data[140:144], "little") :]


def test_ingest_index_retrieve_and_duplicates(combo_site: Site, ct_series: list[Path]) -> None:
    site = combo_site
    health = httpx.get(f"{site.jip.url}/api/v1/health").json()
    assert (health["store"], health["index"]) == (
        site.settings.store_backend,
        site.engine.dialect.name,
    )

    r = storescu(site, *ct_series)
    assert r.returncode == 0, r.stderr
    assert site.counts() == {"patients": 1, "studies": 1, "series": 1, "instances": 5}

    sent = {pydicom.dcmread(p).SOPInstanceUID: p.read_bytes() for p in ct_series}
    rows = site.instances()
    assert {row.sop_instance_uid for row in rows} == set(sent)
    for row in rows:
        stored = site.store.get(row.object_key)
        assert dataset_part(stored) == dataset_part(sent[row.sop_instance_uid])
        assert row.size == len(stored)
        assert row.transfer_syntax_uid == "1.2.840.10008.1.2.1"
        assert row.tags["PatientID"] == "SYN0001"

    # the same instances again: success, stored once
    r = storescu(site, *ct_series)
    assert r.returncode == 0, r.stderr
    assert site.counts()["instances"] == 5
    assert len(list(site.store.keys())) == 5
    _check_banner(site)


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
