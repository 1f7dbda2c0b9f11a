"""The URLs DICOMweb answers carry (QIDO-RS RetrieveURL, metadata BulkDataURI, STOW-RS
RetrieveURL) all start at the same base: ``JIP_DICOMWEB_PUBLIC_URL`` when set (a site
behind a proxy), else the URL the client used. In process, no ``jip up``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.config import Settings
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series

PUBLIC = "https://site.example/pacs/dicomweb"
BOUNDARY = "b0undary"


def _client(settings: Settings) -> Iterator[tuple[TestClient, bytes]]:
    runtime = Runtime(settings)
    try:
        (ds,) = make_series(SeriesSpec(slices=1, size=8))
        runtime.ingestor.ingest(dataset_bytes(ds))
        (other,) = make_series(SeriesSpec(slices=1, size=8, patient_id="OTHER"))
        # the test client's server is jip.local:18080, as uvicorn's would be
        with TestClient(create_app(runtime), base_url="http://jip.local:18080") as client:
            yield client, dataset_bytes(other)
    finally:
        runtime.close()


@pytest.fixture
def public(settings: Settings) -> Iterator[tuple[TestClient, bytes]]:
    yield from _client(settings.model_copy(update={"dicomweb_public_url": PUBLIC + "/"}))


@pytest.fixture
def direct(settings: Settings) -> Iterator[tuple[TestClient, bytes]]:
    yield from _client(settings)


def _urls(client: TestClient, stow_part: bytes, headers: dict[str, str]) -> list[str]:
    """RetrieveURL of a QIDO-RS study and instance, the pixel BulkDataURI of the
    instance metadata, the STOW-RS study RetrieveURL."""
    (study,) = client.get("/dicomweb/studies", headers=headers).json()
    (inst,) = client.get("/dicomweb/instances", headers=headers).json()
    url = inst["00081190"]["Value"][0]
    path = url[url.index("/studies/") :]
    (meta,) = client.get(f"/dicomweb{path}/metadata", headers=headers).json()
    body = (
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + stow_part
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    headers = {**headers, "Content-Type": ctype}
    stored = client.post("/dicomweb/studies", content=body, headers=headers)
    assert stored.status_code == 200, stored.text
    return [
        study["00081190"]["Value"][0],
        url,
        meta["7FE00010"]["BulkDataURI"],
        stored.json()["00081190"]["Value"][0],
    ]


def test_public_url_is_the_base_of_every_url(public: tuple[TestClient, bytes]) -> None:
    urls = _urls(*public, headers={})
    assert all(u.startswith(PUBLIC + "/studies/") for u in urls), urls


def test_without_public_url_the_client_url_is_the_base(direct: tuple[TestClient, bytes]) -> None:
    urls = _urls(*direct, headers={})
    assert all(u.startswith("http://jip.local:18080/dicomweb/studies/") for u in urls), urls


def test_host_without_port_gets_the_listening_port(direct: tuple[TestClient, bytes]) -> None:
    """dicomweb-client (requests) sends ``Host: name`` without the port."""
    urls = _urls(*direct, headers={"Host": "jip.local"})
    assert all(u.startswith("http://jip.local:18080/dicomweb/") for u in urls), urls


def test_a_forwarded_request_keeps_its_host(direct: tuple[TestClient, bytes]) -> None:
    """Behind a proxy the listening port is not the client's."""
    headers = {"Host": "proxy.example", "X-Forwarded-Host": "proxy.example"}
    urls = _urls(*direct, headers=headers)
    assert all(u.startswith("http://proxy.example/dicomweb/") for u in urls), urls
