"""Cohorts CRUD, membership, export, and the gallery filtered by a cohort."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.ui.conftest import Archive


def test_cohort_from_filter_lifecycle(client: TestClient, archive: Archive) -> None:
    r = client.post(
        "/api/v1/cohorts",
        json={"name": "CT chest", "owner": "dr.x", "filter": {"modality": ["CT"]}},
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["size"] == 4 and c["filter"] == {"modality": ["CT"]} and c["owner"] == "dr.x"
    cid = c["id"]
    assert [x["name"] for x in client.get("/api/v1/cohorts").json()] == ["CT chest"]

    # the gallery and facets restricted to the cohort
    body = client.get("/api/v1/series", params={"cohort": cid, "body_part": "CHEST"}).json()
    assert body["total"] == 2
    assert client.get("/api/v1/facets", params={"cohort": cid}).json()["total"] == 4

    mr = archive.series_uids["T1 axial"]
    lung = archive.series_uids["Lung 1mm"]
    r = client.post(f"/api/v1/cohorts/{cid}/series", json={"series_uids": [mr, lung]})
    assert r.json() == {"cohort_id": cid, "changed": 1, "size": 5}
    r = client.post(f"/api/v1/cohorts/{cid}/series/remove", json={"series_uids": [lung]})
    assert r.json()["size"] == 4
    r = client.delete(f"/api/v1/cohorts/{cid}/series/{mr}")
    assert r.json() == {"cohort_id": cid, "changed": 1, "size": 3}

    r = client.patch(f"/api/v1/cohorts/{cid}", json={"name": "CT", "description": "d"})
    assert r.json()["name"] == "CT" and r.json()["description"] == "d"

    r = client.get(f"/api/v1/cohorts/{cid}/export", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and lung not in {x["series_uid"] for x in rows}
    assert set(rows[0]) == {
        "series_uid",
        "study_uid",
        "patient_id",
        "modality",
        "description",
        "study_date",
    }
    j = client.get(f"/api/v1/cohorts/{cid}/export", params={"format": "json"}).json()
    assert j["cohort"]["id"] == cid and len(j["series"]) == 3

    assert client.delete(f"/api/v1/cohorts/{cid}").status_code == 204
    assert client.get(f"/api/v1/cohorts/{cid}").status_code == 404
    assert client.get("/api/v1/cohorts").json() == []


def test_cohort_from_explicit_uids(client: TestClient, archive: Archive) -> None:
    uids = [archive.series_uids["T1 axial"], archive.series_uids["T1 axial"]]
    r = client.post("/api/v1/cohorts", json={"name": "one", "series_uids": uids})
    assert r.status_code == 201 and r.json()["size"] == 1


def test_cohort_bad_input(client: TestClient) -> None:
    assert client.post("/api/v1/cohorts", json={"name": ""}).status_code == 422
    r = client.post("/api/v1/cohorts", json={"name": "x", "series_uids": ["9.9.9"]})
    assert r.status_code == 400 and "unknown series" in r.json()["detail"]
    r = client.post("/api/v1/cohorts", json={"name": "x", "filter": {"date_from": "soon"}})
    assert r.status_code == 400
    assert (
        client.post("/api/v1/cohorts/999/series", json={"series_uids": ["1.2"]}).status_code == 404
    )
    assert client.get("/api/v1/cohorts/999/export").status_code == 404
    assert client.get("/api/v1/cohorts/1/export", params={"format": "xml"}).status_code == 422
    assert client.delete("/api/v1/cohorts/999").status_code == 404


def test_pipeline_resolver_reads_members(client: TestClient, archive: Archive, runtime) -> None:
    from jip.cohorts import series_uids_for_cohort
    from jip.errors import NotFoundError

    uid = archive.series_uids["Abdomen"]
    cid = client.post("/api/v1/cohorts", json={"name": "r", "series_uids": [uid]}).json()["id"]
    with runtime.sessions() as s:
        assert series_uids_for_cohort(s, str(cid)) == [uid]
        for bad in ("999", "x"):
            try:
                series_uids_for_cohort(s, bad)
            except NotFoundError:
                continue
            raise AssertionError(f"cohort {bad!r} should not resolve")
