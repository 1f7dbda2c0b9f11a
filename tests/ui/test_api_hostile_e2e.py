"""The REST API (/api/v1) of a real ``jip up`` given hostile and edge-case input: every
answer is a clear 4xx in JIP's error shape, never a 500, and filters mean what they say."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from PIL import Image

from jip.api.app import create_app
from jip.config import Settings
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.conftest import JipProcess, free_port, start_jip

#: (patient id, study key, study date, modality, description)
SERIES = [
    ("P1", "a", "20240115", "CT", "chest ct"),
    ("P1", "a", "20240115", "MR", "chest mr"),
    ("P2", "b", "", "MR", "undated mr"),
    ("AB/123", "c", "20230601", "CT", "slash ct"),
]
TOO_BIG = 2**63  # one above the largest integer SQLite (and BIGINT) holds


@dataclass
class Site:
    jip: JipProcess
    http: httpx.Client
    series: dict[str, str]  # description -> series UID


def _ingest(runtime: Runtime) -> dict[str, str]:
    studies: dict[str, str] = {}
    out: dict[str, str] = {}
    for n, (pid, key, date, mod, desc) in enumerate(SERIES):
        spec = SeriesSpec(
            modality=mod,
            slices=2,
            size=8,
            patient_id=pid,
            study_date=date,
            study_uid=studies.get(key, ""),
            series_number=n + 1,
            description=desc,
        )
        for ds in make_series(spec):
            runtime.ingestor.ingest(dataset_bytes(ds))
            studies[key] = str(ds.StudyInstanceUID)
            out[desc] = str(ds.SeriesInstanceUID)
    # slices without Instance Number, whose SOP UIDs sort in another order than their
    # positions; each slice one grey value (HU -100 ... 100 from foot to head)
    spec = SeriesSpec(modality="OT", slices=5, size=16, patient_id="P3", study_date="")
    base = f"2.25.{uuid.uuid4().int}"
    for ds, suffix in zip(make_series(spec), "31524", strict=True):
        del ds.InstanceNumber
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{base}.{suffix}"
        hu = -100 + 50 * round(ds.ImagePositionPatient[2] / spec.slice_thickness)
        ds.PixelData = np.full((spec.size, spec.size), hu, np.int16).tobytes()
        runtime.ingestor.ingest(dataset_bytes(ds))
        out["no numbers"] = str(ds.SeriesInstanceUID)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = Path(tmp_path_factory.mktemp("hostile")) / "data"
    rt = Runtime(Settings(data_dir=data, http_port=free_port(), dicom_port=free_port()))
    try:
        series = _ingest(rt)
    finally:
        rt.close()
    jip = start_jip(data)
    try:
        with httpx.Client(base_url=f"{jip.url}/api/v1", timeout=30) as http:
            yield Site(jip, http, series)
    finally:
        jip.stop()


def _is_error(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The response is one of ``statuses`` with JIP's error body; return the body."""
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert isinstance(body["error"], str) and isinstance(body["detail"], str), body
    return dict(body)


@pytest.mark.parametrize(
    ("method", "path", "params", "json"),
    [
        ("GET", "/studies", {"offset": TOO_BIG}, None),
        ("GET", "/runs", {"offset": TOO_BIG}, None),
        ("GET", "/series", {"offset": TOO_BIG}, None),
        ("GET", "/series", {"cohort": TOO_BIG}, None),
        ("GET", "/facets", {"cohort": TOO_BIG}, None),
        ("GET", "/gallery", {"cohort": TOO_BIG}, None),
        ("GET", "/gallery", {"cohort": -TOO_BIG - 1}, None),
        ("GET", f"/cohorts/{TOO_BIG}", None, None),
        ("PATCH", f"/cohorts/{TOO_BIG}", None, {"name": "x"}),
        ("DELETE", f"/cohorts/{TOO_BIG}", None, None),
        ("GET", f"/cohorts/{TOO_BIG}/series", None, None),
        ("POST", f"/cohorts/{TOO_BIG}/series", None, {"series_uids": ["1.2"]}),
        ("POST", f"/cohorts/{TOO_BIG}/series/remove", None, {"series_uids": ["1.2"]}),
        ("DELETE", f"/cohorts/{TOO_BIG}/series/1.2", None, None),
        ("GET", f"/cohorts/{TOO_BIG}/export", None, None),
        ("POST", "/cohorts", None, {"name": "x", "filter": {"cohort": TOO_BIG}}),
        ("DELETE", f"/pipeline-triggers/{TOO_BIG}", None, None),
        ("GET", f"/runs/x/results/{TOO_BIG}", None, None),
    ],
)
def test_integers_beyond_64_bits_are_4xx_not_500(
    site: Site, method: str, path: str, params: dict[str, int] | None, json: object
) -> None:
    r = site.http.request(method, path, params=params, json=json)
    _is_error(r, 404, 422)


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/cohorts", b'{"name": "\\ud800"}'),
        ("POST", "/cohorts", b'{"name": NaN}'),
        ("PATCH", "/cohorts/1", b'{"name": "\\udc00", "owner": 1}'),
        ("POST", "/cohorts/1/series", b'{"series_uids": "\\ud800"}'),
        ("POST", "/runs", b'{"algorithm": NaN}'),
        ("POST", "/runs", b'{"algorithm": "\\ud800"}'),
        ("POST", "/pipeline-triggers", b'{"algorithm": "\\ud800", "series_filter": {}}'),
    ],
)
def test_unencodable_json_input_is_a_clear_4xx(
    site: Site, method: str, path: str, body: bytes
) -> None:
    """FastAPI's own 422 handler echoed the input and failed on a lone surrogate or NaN
    (500); the answer now names the problem without echoing what cannot be encoded."""
    _is_error(site.http.request(method, path, content=body, headers=JSON), 400, 404, 422)


def test_every_error_has_the_api_shape(site: Site) -> None:
    r = site.http.get("/no-such-route")
    assert _is_error(r, 404)["error"] == "NotFoundError"
    r = site.http.put("/cohorts")
    assert _is_error(r, 405)["error"] == "MethodNotAllowedError" and "allow" in r.headers
    body = _is_error(site.http.get("/series", params={"limit": 0, "offset": -1}), 422)
    assert body["error"] == "ValidationError"
    assert "query.limit" in body["detail"] and "query.offset" in body["detail"]
    assert [e["loc"] for e in body["errors"]] == [["query", "limit"], ["query", "offset"]]
    body = _is_error(site.http.get("/cohorts/999"), 404)
    assert body == {"error": "NotFoundError", "detail": "no cohort 999"}


def test_an_unexpected_exception_is_a_json_500_logged_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a route: the client gets the API's error shape, no internals; the log
    gets the traceback with the request. Served by uvicorn over real HTTP."""
    settings = Settings(data_dir=tmp_path / "data", http_port=free_port(), dicom_port=free_port())
    rt = Runtime(settings)
    app = create_app(rt)

    @app.get("/api/v1/broken")
    def broken() -> None:
        raise RuntimeError("secret internals")

    server = uvicorn.Server(uvicorn.Config(app, port=settings.http_port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{settings.http_port}/api/v1/broken"
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        r = httpx.get(url, timeout=10)
    finally:
        server.should_exit = True
        thread.join(10)
        rt.close()
    body = _is_error(r, 500)
    assert body["error"] == "InternalError" and "secret" not in r.text
    logged = [x for x in caplog.records if x.name == "jip.api.errors"]
    assert logged and "GET /api/v1/broken" in logged[0].getMessage()
    assert logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_unknown_fields_and_parameters_are_refused(site: Site) -> None:
    """A misspelt filter was ignored: the cohort took every series of the site."""
    r = site.http.post("/cohorts", json={"name": "typo", "filter": {"modalty": ["CT"]}})
    assert "modalty" in _is_error(r, 422)["detail"]
    assert "typo" not in {c["name"] for c in site.http.get("/cohorts").json()}
    r = site.http.post("/cohorts", json={"name": "typo", "serie_uids": ["1.2"]})
    assert "serie_uids" in _is_error(r, 422)["detail"]
    r = site.http.post("/runs", json={"algorithm": "x", "cohort": "1"})
    assert "cohort" in _is_error(r, 422)["detail"]
    for path in ("/series", "/facets", "/gallery"):
        r = site.http.get(path, params={"modalty": "CT", "modality": "CT"})
        assert "'modalty'" in _is_error(r, 400)["detail"], path
    # what the UI sends is still taken
    params = {"modality": "CT", "sort": "-study_date", "limit": 48, "offset": 0}
    assert site.http.get("/gallery", params=params).json()["series"]["total"] == 2


@pytest.mark.parametrize(
    ("field", "json_value", "url_value"),
    [
        ("thickness_min", "NaN", "nan"),
        ("thickness_max", "1e999", "1e999"),
        ("age_min", "-5", "-5"),
        ("age_max", "201", "201"),
        ("q", '"' + "x" * 5000 + '"', "x" * 5000),
        ("cohort", "0", "0"),
    ],
)
def test_json_filter_has_the_limits_of_the_url_filter(
    site: Site, field: str, json_value: str, url_value: str
) -> None:
    """The JSON filter took NaN and 1e999 (stored as null), age -5, and cut a long q
    to 200 characters, where the same value in the URL is a 422."""
    _is_error(site.http.get("/series", params={field: url_value}), 422)
    body = f'{{"name": "limits", "filter": {{"{field}": {json_value}}}}}'.encode()
    r = site.http.post("/cohorts", content=body, headers=JSON)
    assert field in _is_error(r, 422)["detail"]


def _study_patients(site: Site, **params: str) -> list[str]:
    r = site.http.get("/studies", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return sorted(s["patient_id"] for s in body["items"])


def test_studies_filters_match_exactly(site: Site) -> None:
    """modality=T matched the CT\\MR study (substring), q=% and q=_ every study (LIKE
    wildcards), date_to included undated studies (which /series leaves out)."""
    assert _study_patients(site, modality="CT") == ["AB/123", "P1"]
    assert _study_patients(site, modality="MR") == ["P1", "P2"]
    assert _study_patients(site, modality="T") == []
    assert _study_patients(site, modality="C") == []
    assert _study_patients(site, q="%") == []
    assert _study_patients(site, q="_") == []
    assert _study_patients(site, q="b/1") == ["AB/123"]
    assert _study_patients(site, date_to="2023-12-31") == ["AB/123"]
    assert _study_patients(site, date_from="2020-01-01") == ["AB/123", "P1"]
    undated = site.http.get("/series", params={"date_to": "2023-12-31"}).json()["items"]
    assert [s["patient_id"] for s in undated] == ["AB/123"]


def test_patient_id_with_a_slash(site: Site) -> None:
    """/patients/AB%2F123 was a route-level 404: the path parameter stopped at "/"."""
    r = site.http.get("/patients/AB%2F123")
    assert r.status_code == 200, r.text
    assert r.json()["patient_id"] == "AB/123" and len(r.json()["studies"]) == 1
    assert _is_error(site.http.get("/patients/AB%2F999"), 404)["detail"] == "no patient 'AB/999'"


def _grey(png: bytes) -> int:
    values = np.unique(np.asarray(Image.open(io.BytesIO(png)).convert("L")))
    assert len(values) == 1, values  # each slice is one grey value
    return int(values[0])


def test_thumbnail_without_instance_numbers_is_the_middle_slice_by_position(
    site: Site,
) -> None:
    """Without Instance Number the "middle slice" was the middle SOP UID (arbitrary);
    it is now the middle along the slice axis (Image Position on the slice normal)."""
    series = site.series["no numbers"]
    detail = site.http.get(f"/series/{series}").json()
    study = detail["series"]["study_uid"]
    base = f"{site.jip.url}/dicomweb/studies/{study}/series/{series}/instances"
    greys = {}
    for inst in detail["instances"]:
        sop = inst["sop_instance_uid"]
        r = httpx.get(f"{base}/{sop}/rendered", headers={"Accept": "image/png"}, timeout=30)
        greys[sop[-1]] = _grey(r.content)
    assert len(set(greys.values())) == 5
    r = site.http.get(f"/series/{series}/thumbnail")
    assert r.status_code == 200, r.text
    # positions 0..4 carry UID suffixes 3 1 5 2 4: the middle position is suffix 5
    # (the middle UID, suffix 3, is the first slice)
    assert _grey(r.content) == greys["5"], (_grey(r.content), greys)


@pytest.mark.parametrize("sort", ["study_date", "-study_date"])
def test_undated_series_sort_last_both_ways(site: Site, sort: str) -> None:
    """Ascending by study date listed the undated series first."""
    items = site.http.get("/series", params={"sort": sort}).json()["items"]
    dates = [s["study_date"] for s in items]
    known = [d for d in dates if d]
    assert dates == known + ["", ""], dates
    assert known == sorted(known, reverse=sort.startswith("-"))


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/series", {"date_from": "2024-02-31"}, "not a valid date"),
        ("/studies", {"date_to": "2023-04-31"}, "not a valid date"),
        (
            "/series",
            {"date_from": "\u0662\u0660\u0662\u0664\u0660\u0661\u0660\u0661"},
            "YYYY-MM-DD",
        ),
        (
            "/studies",
            {"date_from": "\u0662\u0660\u0662\u0664\u0660\u0661\u0660\u0661"},
            "YYYY-MM-DD",
        ),
        ("/series", {"sort": "--study_date"}, "unknown sort key '--study_date'"),
        ("/gallery", {"sort": "+-study_date"}, "unknown sort key"),
    ],
)
def test_impossible_dates_and_sort_keys_are_refused(
    site: Site, path: str, params: dict[str, str], message: str
) -> None:
    """2024-02-31 and dates in Arabic-Indic digits were taken, and so was --study_date."""
    assert message in _is_error(site.http.get(path, params=params), 400)["detail"]


def test_valid_dates_and_sort_keys_still_work(site: Site) -> None:
    for sort in ("study_date", "+study_date", "-study_date"):
        assert site.http.get("/series", params={"sort": sort}).status_code == 200, sort
    r = site.http.get("/series", params={"date_from": "2024-01-15", "date_to": "20240229"})
    assert r.json()["total"] == 2


def test_openapi_documents_the_error_answers(site: Site) -> None:
    """Every route documented only 200 and FastAPI's default 422 (a shape the API does
    not send); the real error codes are listed now, each with the error model."""
    spec = site.http.get(f"{site.jip.url}/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def documented(path: str, method: str) -> dict[str, str]:
        out = {}
        for code, r in spec["paths"][f"/api/v1{path}"][method]["responses"].items():
            ref = r.get("content", {}).get("application/json", {}).get("schema", {})
            out[code] = ref.get("$ref", "").rsplit("/", 1)[-1]
        return out

    expected = {
        ("/series", "get"): {"400", "404", "422"},
        ("/studies", "get"): {"400", "422"},
        ("/cohorts/{cohort_id}", "get"): {"404", "422"},
        ("/cohorts", "post"): {"400", "404", "422"},
        ("/series/{series_uid}/thumbnail", "get"): {"400", "404", "406", "503"},
        ("/runs/{run_id}/cancel", "post"): {"404", "409", "503"},
        ("/runs/{run_id}/results/{result_id}", "get"): {"404", "503"},
    }
    for (path, method), codes in expected.items():
        got = documented(path, method)
        assert codes <= set(got), (path, got)
        for code in codes:
            assert schemas[got[code]]["required"][:2] == ["error", "detail"], (path, code)
    assert "errors" in schemas[documented("/series", "get")["422"]]["properties"]
