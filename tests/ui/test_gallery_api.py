"""GET /api/v1/gallery answers exactly what /series and /facets answer, in one request."""

from __future__ import annotations

from fastapi.testclient import TestClient

QUERIES = [
    {},
    {"modality": "CT"},
    {"modality": ["CT", "MR"], "body_part": "HEAD", "sort": "description", "limit": 2},
    {"date_from": "2021-01-01", "q": "lung", "offset": 1, "limit": 1, "top": 1},
]


def test_gallery_equals_series_and_facets(client: TestClient) -> None:
    for params in QUERIES:
        g = client.get("/api/v1/gallery", params=params)
        assert g.status_code == 200, g.text
        facet_params = {k: v for k, v in params.items() if k not in ("sort", "limit", "offset")}
        series_params = {k: v for k, v in params.items() if k != "top"}
        assert g.json()["series"] == client.get("/api/v1/series", params=series_params).json()
        assert g.json()["facets"] == client.get("/api/v1/facets", params=facet_params).json()
    assert client.get("/api/v1/gallery", params={"modality": "CT"}).json()["series"]["total"] == 4


def test_gallery_bad_parameters_are_4xx(client: TestClient) -> None:
    assert client.get("/api/v1/gallery", params={"sort": "nope"}).status_code == 400
    assert client.get("/api/v1/gallery", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/gallery", params={"age_min": -1}).status_code == 422
