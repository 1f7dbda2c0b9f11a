"""GET /series, /facets, /series/{uid}: filters, facet counts, paging, bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.ui.conftest import Archive


def _descs(body: dict) -> list[str]:
    return [s["description"] for s in body["items"]]


def test_list_all_sorted_newest_first(client: TestClient) -> None:
    body = client.get("/api/v1/series").json()
    assert body["total"] == 6
    dates = [s["study_date"] for s in body["items"]]
    assert dates == sorted(dates, reverse=True)
    first = body["items"][0]
    assert first["thumbnail_url"] == f"/api/v1/series/{first['series_uid']}/thumbnail"
    assert first["patient_id"] == "P1" and first["study_description"]


def test_filters_combine(client: TestClient) -> None:
    get = client.get
    assert get("/api/v1/series", params={"modality": "CT"}).json()["total"] == 4
    assert get("/api/v1/series", params={"modality": ["CT", "MR"]}).json()["total"] == 6
    body = get("/api/v1/series", params={"modality": "CT", "body_part": "HEAD"}).json()
    assert _descs(body) == ["Head plain"]
    r = get("/api/v1/series", params={"date_from": "2021-01-01", "date_to": "20211231"})
    assert r.json()["total"] == 2
    r = get("/api/v1/series", params={"thickness_min": 2, "thickness_max": 3})
    assert sorted(_descs(r.json())) == ["Abdomen", "T1 axial", "T2 flair"]
    r = get("/api/v1/series", params={"age_min": 60})  # P1 (60 in 2020, 63) and P3 (72)
    assert r.json()["total"] == 4
    assert get("/api/v1/series", params={"patient_sex": "M"}).json()["total"] == 3
    assert (
        get("/api/v1/series", params={"manufacturer": "GE", "model": "Revolution"}).json()["total"]
        == 2
    )
    assert _descs(get("/api/v1/series", params={"q": "lung 5"}).json()) == ["Lung 5mm"]
    assert get("/api/v1/series", params={"modality": "XA"}).json()["total"] == 0


def test_sort_and_paging(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"sort": "description", "limit": 2, "offset": 1})
    body = r.json()
    assert body["total"] == 6 and _descs(body) == ["Head plain", "Lung 1mm"]
    r = client.get("/api/v1/series", params={"sort": "-slice_thickness", "limit": 1})
    assert r.json()["items"][0]["slice_thickness"] == 5.0


def test_facets_exclude_their_own_condition(client: TestClient) -> None:
    body = client.get("/api/v1/facets", params={"modality": "CT", "body_part": "CHEST"}).json()
    assert body["total"] == 2
    mods = {v["value"]: v["count"] for v in body["facets"]["modality"]}
    assert mods == {"CT": 2}  # MR has no CHEST series
    parts = {v["value"]: v["count"] for v in body["facets"]["body_part"]}
    assert parts == {"CHEST": 2, "HEAD": 1, "ABDOMEN": 1}  # CT only, not CHEST only
    assert body["study_date"]["interval"] == "month"  # one year only: per month
    assert [b["key"] for b in body["study_date"]["buckets"]] == ["2020-03"]
    assert {v["value"] for v in body["slice_thickness"]} == {"1", "5"}


def test_facets_histograms_unfiltered(client: TestClient) -> None:
    body = client.get("/api/v1/facets").json()
    years = {b["key"]: b["count"] for b in body["study_date"]["buckets"]}
    assert years == {"2020": 2, "2021": 2, "2022": 1, "2023": 1}
    ages = {b["key"]: b["count"] for b in body["patient_age"]}
    assert ages == {"30-39": 2, "60-69": 3, "70-79": 1}
    assert body["distinct"]["manufacturer"] == 3


def test_new_ingest_is_seen_by_next_request(client: TestClient, runtime: Runtime) -> None:
    assert client.get("/api/v1/series", params={"modality": "MR"}).json()["total"] == 2
    for ds in make_series(SeriesSpec(modality="MR", slices=1, size=8, patient_id="P9")):
        runtime.ingestor.ingest(dataset_bytes(ds))
    assert client.get("/api/v1/series", params={"modality": "MR"}).json()["total"] == 3
    assert client.get("/api/v1/facets").json()["total"] == 7


def test_bad_parameters_are_400(client: TestClient) -> None:
    for params in (
        {"date_from": "yesterday"},
        {"date_from": "2022-01-01", "date_to": "2021-01-01"},
        {"sort": "password"},
        {"age_min": 50, "age_max": 10},
        {"limit": 0},
        {"thickness_min": "thick"},
    ):
        r = client.get("/api/v1/series", params=params)
        assert 400 <= r.status_code < 500, params
        assert "detail" in r.json()


def test_series_detail_and_tags(client: TestClient, archive: Archive) -> None:
    uid = archive.series_uids["Lung 1mm"]
    body = client.get(f"/api/v1/series/{uid}").json()
    assert body["series"]["description"] == "Lung 1mm"
    assert [i["instance_number"] for i in body["instances"]] == [1, 2]
    sop = body["instances"][0]["sop_instance_uid"]
    tags = client.get(f"/api/v1/series/{uid}/instances/{sop}/tags").json()
    assert tags["Modality"] == "CT" and tags["SeriesInstanceUID"] == uid
    assert client.get("/api/v1/series/1.2.3.4").status_code == 404
    assert client.get(f"/api/v1/series/{uid}/instances/1.2.3/tags").status_code == 404


def test_index_updates_in_place_and_notices_deletions(
    client: TestClient, runtime: Runtime, monkeypatch
) -> None:
    from sqlalchemy import delete

    from jip.catalog import memindex
    from jip.cohorts.models import CohortSeries
    from jip.index.models import Instance, Series

    datasets = list(make_series(SeriesSpec(modality="US", slices=3, size=8, patient_id="P7")))
    runtime.ingestor.ingest(dataset_bytes(datasets[0]))
    item = client.get("/api/v1/series", params={"modality": "US"}).json()["items"][0]
    assert item["num_instances"] == 1
    for ds in datasets[1:]:
        runtime.ingestor.ingest(dataset_bytes(ds))
    item = client.get("/api/v1/series", params={"modality": "US"}).json()["items"][0]
    assert item["num_instances"] == 3  # the same row, updated

    uid = item["series_uid"]
    with runtime.sessions() as s:
        s.execute(delete(CohortSeries).where(CohortSeries.series_uid == uid))
        s.execute(delete(Instance).where(Instance.series_uid == uid))
        s.execute(delete(Series).where(Series.series_uid == uid))
        s.commit()
    monkeypatch.setattr(memindex, "COUNT_CHECK_SECONDS", 0.0)
    assert client.get("/api/v1/series", params={"modality": "US"}).json()["total"] == 0
    assert client.get("/api/v1/facets").json()["total"] == 6
