"""The browse API and cohorts on a real PostgreSQL index (the production backend)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.config import Settings
from jip.runtime import Runtime
from tests.conftest import free_port, start_jip
from tests.servers import start_postgres
from tests.ui.conftest import ingest_archive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    server = start_postgres()
    try:
        yield server.create_database(f"jip_ui_{uuid.uuid4().hex[:8]}")
    finally:
        server.stop()


def test_browse_and_cohorts_on_postgres(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        http_port=free_port(),
        dicom_port=free_port(),
        database_url=pg_url,
        series_quiet_seconds=0.5,
    )
    rt = Runtime(settings)
    try:
        archive = ingest_archive(rt, slices=1)
        with TestClient(create_app(rt)) as c:
            body = c.get("/api/v1/series", params={"modality": "CT", "sort": "description"})
            assert [s["description"] for s in body.json()["items"]] == [
                "Abdomen", "Head plain", "Lung 1mm", "Lung 5mm"
            ]  # fmt: skip
            f = c.get("/api/v1/facets", params={"modality": "MR"}).json()
            assert f["total"] == 2 and f["study_date"]["buckets"][0]["key"] == "2021-07"
            assert c.get("/api/v1/studies", params={"q": "p2"}).json()["total"] == 1
            assert c.get("/api/v1/statistics").json()["series"] == 6
            p = c.get("/api/v1/patients/P1").json()
            assert [s["study"]["study_date"] for s in p["studies"]] == ["20200310", "20230601"]
            r = c.post("/api/v1/cohorts", json={"name": "mr", "filter": {"modality": ["MR"]}})
            cid = r.json()["id"]
            assert r.json()["size"] == 2
            uid = archive.series_uids["Abdomen"]
            assert (
                c.post(f"/api/v1/cohorts/{cid}/series", json={"series_uids": [uid]}).json()["size"]
                == 3
            )
            csv_text = c.get(f"/api/v1/cohorts/{cid}/export").text
            assert uid in csv_text and len(csv_text.strip().splitlines()) == 4
            assert c.delete(f"/api/v1/cohorts/{cid}").status_code == 204
    finally:
        rt.close()


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/v1/cohorts", {"json": {"name": "a\x00b"}}),
        ("GET", "/api/v1/studies", {"params": {"q": "a\x00"}}),
        ("GET", "/api/v1/patients/a%00", {}),
    ],
)
def test_a_nul_character_is_a_400_on_postgres(
    pg_url: str, tmp_path: Path, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """PostgreSQL text cannot hold NUL: a NUL in a cohort name, a search or an id in the
    URL made the database driver fail, a 500; the client's value is now named a 400."""
    jip = start_jip(tmp_path / "data", extra_env={"JIP_DATABASE_URL": pg_url})
    try:
        r = httpx.request(method, jip.url + path, timeout=30, **kwargs)
    finally:
        jip.stop()
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "InvalidInputError" and "NUL" in r.json()["detail"]
