"""The browse API and cohorts on a real PostgreSQL index (the production backend)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.config import Settings
from jip.runtime import Runtime
from tests.conftest import free_port
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
