"""GET /studies, /studies/{uid}, /patients/{id}, /statistics and the UI fallback."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.runtime import Runtime
from tests.ui.conftest import Archive


def test_studies_list_and_detail(client: TestClient, archive: Archive) -> None:
    body = client.get("/api/v1/studies").json()
    assert body["total"] == 4
    assert [s["study_date"] for s in body["items"]] == [
        "20230601",
        "20220101",
        "20210704",
        "20200310",
    ]
    assert client.get("/api/v1/studies", params={"modality": "MR"}).json()["total"] == 1
    assert client.get("/api/v1/studies", params={"q": "test^p1"}).json()["total"] == 2
    st = archive.study_uids["Lung 1mm"]
    d = client.get(f"/api/v1/studies/{st}").json()
    assert d["study"]["modalities"] == ["CT"] and d["study"]["num_series"] == 2
    assert [s["description"] for s in d["series"]] == ["Lung 1mm", "Lung 5mm"]
    assert client.get("/api/v1/studies/1.2.3").status_code == 404


def test_patient_timeline(client: TestClient) -> None:
    p = client.get("/api/v1/patients/P1").json()
    assert p["sex"] == "F"
    assert [s["study"]["study_date"] for s in p["studies"]] == ["20200310", "20230601"]
    assert [len(s["series"]) for s in p["studies"]] == [2, 1]
    assert client.get("/api/v1/patients/NOPE").status_code == 404


def test_statistics(client: TestClient) -> None:
    s = client.get("/api/v1/statistics").json()
    assert (s["patients"], s["studies"], s["series"], s["instances"]) == (3, 4, 6, 12)
    assert s["bytes"] > 0
    assert {m["modality"]: m["series"] for m in s["by_modality"]} == {"CT": 4, "MR": 2}


def test_ui_fallback_and_json_404(runtime: Runtime, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>JIP UI</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    runtime.settings.ui_dir = dist
    with TestClient(create_app(runtime)) as c:
        assert "JIP UI" in c.get("/").text
        assert "JIP UI" in c.get("/cohorts/3").text  # client-side route
        assert c.get("/assets/app.js").headers["cache-control"].startswith("public")
        assert "JIP UI" in c.get("/../../etc/passwd").text
        r = c.get("/api/v1/nothing")
        assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    runtime.settings.ui_dir = tmp_path / "missing"
    with TestClient(create_app(runtime)) as c:
        r = c.get("/")
        assert r.status_code == 503 and "make ui" in r.text
