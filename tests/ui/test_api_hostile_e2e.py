"""The REST API (/api/v1) of a real ``jip up`` given hostile and edge-case input: every
answer is a clear 4xx in JIP's error shape, never a 500, and filters mean what they say."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


def _is_error(r: httpx.Response, *statuses: int) -> dict[str, object]:
    """The response is one of ``statuses`` with a JSON body; return the body."""
    assert r.status_code in statuses, (r.status_code, r.text)
    return dict(r.json())


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
