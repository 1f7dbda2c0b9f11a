"""STOW-RS against a real ``jip up``: dicomweb-client's store_instances and raw bodies
with bad parts, wrong studies, duplicates and oversize requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.conftest import JipProcess, start_jip
from tests.dicomweb.parts import split_multipart

pytestmark = pytest.mark.slow  # a real jip up per module

MAX_BYTES = 400_000
BOUNDARY = "jip-test-boundary"
CTYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


@pytest.fixture(scope="module")
def jip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JipProcess]:
    p = start_jip(
        tmp_path_factory.mktemp("stow") / "data", extra_env={"JIP_STOW_MAX_BYTES": str(MAX_BYTES)}
    )
    yield p
    p.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


def body(*parts: bytes, content_type: str = "application/dicom") -> bytes:
    out = b""
    for p in parts:
        out += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + p + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def series(n: int = 3, **kw: object) -> list[Dataset]:
    return list(make_series(SeriesSpec(slices=n, size=16, **kw)))  # type: ignore[arg-type]


def instance_url(jip: JipProcess, ds: Dataset) -> str:
    return (
        f"{jip.url}/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )


def seq(doc: dict, tag: str) -> list[dict]:  # type: ignore[type-arg]
    return list(doc.get(tag, {}).get("Value", []))


def test_store_instances_with_dicomweb_client_then_retrieve(jip: JipProcess) -> None:
    client = DICOMwebClient(url=f"{jip.url}/dicomweb")
    datasets = series(3)
    result = client.store_instances(datasets)
    assert len(result.ReferencedSOPSequence) == 3
    assert "FailedSOPSequence" not in result or not result.FailedSOPSequence
    study, series_uid = datasets[0].StudyInstanceUID, datasets[0].SeriesInstanceUID
    assert result.RetrieveURL.endswith(f"/dicomweb/studies/{study}")
    for item in result.ReferencedSOPSequence:
        assert item.RetrieveURL.endswith(
            f"/series/{series_uid}/instances/{item.ReferencedSOPInstanceUID}"
        )
    back = client.retrieve_series(study, series_uid)
    assert sorted(d.SOPInstanceUID for d in back) == sorted(d.SOPInstanceUID for d in datasets)
    # compressed instances are stored as sent
    jpeg = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    client.store_instances([jpeg])
    got = client.retrieve_instance(
        jpeg.StudyInstanceUID, jpeg.SeriesInstanceUID, jpeg.SOPInstanceUID
    )
    assert got.file_meta.TransferSyntaxUID == jpeg.file_meta.TransferSyntaxUID
    assert got.PixelData == jpeg.PixelData


def test_stored_bytes_are_the_posted_bytes(jip: JipProcess, http: httpx.Client) -> None:
    ds = series(1)[0]
    data = dataset_bytes(ds)
    r = http.post(
        f"{jip.url}/dicomweb/studies", content=body(data), headers={"Content-Type": CTYPE}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/dicom+json"
    url = instance_url(jip, ds)
    ((_, got),) = split_multipart(http.get(url))
    assert got == data


def test_bad_parts_fail_alone_with_202(jip: JipProcess, http: httpx.Client) -> None:
    good = series(2)
    truncated = dataset_bytes(series(1)[0])[:300]
    no_uid = series(1)[0]
    del no_uid.SOPInstanceUID
    payload = body(
        dataset_bytes(good[0]),
        b"this is not DICOM",
        truncated,
        dataset_bytes(good[1]),
        dataset_bytes(no_uid),
    )
    r = http.post(f"{jip.url}/dicomweb/studies", content=payload, headers={"Content-Type": CTYPE})
    assert r.status_code == 202, r.text
    doc = r.json()
    ok = {i["00081155"]["Value"][0] for i in seq(doc, "00081199")}
    assert ok == {good[0].SOPInstanceUID, good[1].SOPInstanceUID}
    failed = seq(doc, "00081198")
    assert len(failed) == 3
    assert all(i["00081197"]["Value"] == [0xC000] for i in failed)
    assert http.get(f"{jip.url}/api/v1/health").status_code == 200


def test_all_failed_is_409_and_study_mismatch_is_a900(jip: JipProcess, http: httpx.Client) -> None:
    ds = series(1)[0]
    other_study = "1.2.826.0.1.3680043.8.498.1"
    r = http.post(
        f"{jip.url}/dicomweb/studies/{other_study}",
        content=body(dataset_bytes(ds)),
        headers={"Content-Type": CTYPE},
    )
    assert r.status_code == 409
    (item,) = seq(r.json(), "00081198")
    assert item["00081197"]["Value"] == [0xA900]
    assert item["00081155"]["Value"] == [ds.SOPInstanceUID]
    # Retrieve URL is Type 2: present, empty, since no study holds what was sent
    assert r.json()["00081190"] == {"vr": "UR"}
    # not stored
    url = f"{jip.url}/dicomweb/studies/{ds.StudyInstanceUID}"
    assert http.get(url).status_code == 404
    # into its own study: stored
    r = http.post(url, content=body(dataset_bytes(ds)), headers={"Content-Type": CTYPE})
    assert r.status_code == 200
    assert r.json()["00081190"]["Value"] == [url]


def test_duplicates_follow_the_c_store_rule(jip: JipProcess, http: httpx.Client) -> None:
    ds = series(1)[0]
    first = dataset_bytes(ds)
    post = lambda data: http.post(  # noqa: E731
        f"{jip.url}/dicomweb/studies", content=body(data), headers={"Content-Type": CTYPE}
    )
    assert post(first).status_code == 200
    assert post(first).status_code == 200  # identical bytes: a no-op success
    ds.PatientName = "Changed^Name"
    r = post(dataset_bytes(ds))  # same UID, other bytes: first copy kept, with a warning
    assert r.status_code == 202
    (item,) = seq(r.json(), "00081199")
    assert item["00081196"]["Value"] == [0xB006]
    url = instance_url(jip, ds)
    ((_, got),) = split_multipart(http.get(url))
    assert got == first


@pytest.mark.parametrize(
    ("content_type", "payload", "status"),
    [
        ("application/dicom", b"DICM", 415),
        ('multipart/related; type="application/dicom+json"; boundary=x', b"--x--", 415),
        ('multipart/related; type="application/dicom"', b"--x--", 400),  # no boundary
        (CTYPE, f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nabc".encode(), 400),
        (CTYPE, b"no boundary in here", 400),
        (CTYPE, f"--{BOUNDARY}--\r\n".encode(), 400),  # no parts
        (CTYPE, body(b"x" * (MAX_BYTES + 1)), 413),
    ],
)
def test_malformed_requests(
    jip: JipProcess, http: httpx.Client, content_type: str, payload: bytes, status: int
) -> None:
    r = http.post(
        f"{jip.url}/dicomweb/studies", content=payload, headers={"Content-Type": content_type}
    )
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_part_with_other_media_type_fails_alone(jip: JipProcess, http: httpx.Client) -> None:
    ds = series(1)[0]
    payload = body(dataset_bytes(ds)).replace(f"\r\n--{BOUNDARY}--\r\n".encode(), b"")
    payload += b"\r\n"
    payload += f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--{BOUNDARY}--".encode(
        "latin-1"
    )
    r = http.post(f"{jip.url}/dicomweb/studies", content=payload, headers={"Content-Type": CTYPE})
    assert r.status_code == 202
    assert len(seq(r.json(), "00081198")) == 1 and len(seq(r.json(), "00081199")) == 1


def test_bad_study_uid_in_url(jip: JipProcess, http: httpx.Client, tmp_path: Path) -> None:
    r = http.post(
        f"{jip.url}/dicomweb/studies/1.2.x", content=body(b""), headers={"Content-Type": CTYPE}
    )
    assert r.status_code == 400
