"""WADO-RS against a real ``jip up``: dicomweb-client for the conformance view, raw
httpx for headers, byte identity and bad input."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.conftest import object_files
from tests.dicomweb.conftest import Site
from tests.dicomweb.parts import split_multipart

pytestmark = pytest.mark.slow  # a real jip up per module

DICOM_TS = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def uids(path: Path) -> tuple[str, str, str]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def stored_object(site: Site, sop: str) -> bytes:
    for p in object_files(site.jip.data_dir):
        if pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID == sop:
            return p.read_bytes()
    raise AssertionError(f"{sop} not in the store")


def test_retrieve_study_series_instance_with_dicomweb_client(site: Site) -> None:
    study, series, sop = uids(site.ct[0])
    assert len(site.client.retrieve_study(study)) == 5
    got = site.client.retrieve_series(study, series)
    assert sorted(d.SOPInstanceUID for d in got) == sorted(uids(p)[2] for p in site.ct)
    one = site.client.retrieve_instance(study, series, sop)
    assert one.SOPInstanceUID == sop
    assert one.PixelData == pydicom.dcmread(site.ct[0]).PixelData


@pytest.mark.parametrize("name", ["ct", "JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_rle.dcm"])
def test_retrieved_bytes_identical_to_what_storescu_sent(site: Site, name: str) -> None:
    path = site.ct[2] if name == "ct" else site.compressed[name]
    study, series, sop = uids(path)
    r = site.http.get(
        f"{site.dicomweb}/studies/{study}/series/{series}/instances/{sop}",
        headers={"Accept": DICOM_TS},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith('multipart/related; type="application/dicom"')
    ((ctype, body),) = split_multipart(r)
    tsuid = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
    assert ctype == f"application/dicom; transfer-syntax={tsuid}"
    assert body == stored_object(site, sop)  # exactly the stored bytes
    assert dataset_bytes_of_bytes(body) == site.on_the_wire[sop]  # = what storescu sent


def dataset_bytes_of_bytes(data: bytes) -> bytes:
    ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
    return data[132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength) :]


def test_study_is_streamed_as_multipart_with_one_part_per_instance(site: Site) -> None:
    study = uids(site.ct[0])[0]
    r = site.http.get(f"{site.dicomweb}/studies/{study}")  # no Accept: as stored
    assert r.status_code == 200
    parts = split_multipart(r)
    assert len(parts) == 5
    assert all(c.startswith("application/dicom; transfer-syntax=") for c, _ in parts)


def test_transcode_jpeg_to_explicit_little_endian_on_request(site: Site) -> None:
    path = site.compressed["SC_rgb_jpeg_dcmtk.dcm"]
    study, series, sop = uids(path)
    got = site.client.retrieve_instance(
        study, series, sop, media_types=(("application/dicom", "1.2.840.10008.1.2.1"),)
    )
    assert got.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert got.SOPInstanceUID == sop
    original = pydicom.dcmread(path)
    assert np.array_equal(got.pixel_array, original.pixel_array)


def test_unsupported_transfer_syntax_or_media_type_is_406(site: Site) -> None:
    study, series, sop = uids(site.compressed["SC_rgb_jpeg_dcmtk.dcm"])
    url = f"{site.dicomweb}/studies/{study}/series/{series}/instances/{sop}"
    jpegls = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80'
    assert site.http.get(url, headers={"Accept": jpegls}).status_code == 406
    assert site.http.get(url, headers={"Accept": "application/pdf"}).status_code == 406
    assert (
        site.http.get(url + "/metadata", headers={"Accept": "application/dicom+xml"}).status_code
        == 406
    )


def test_metadata_with_bulkdata_uris(site: Site) -> None:
    study, series, sop = uids(site.ct[1])
    meta = site.client.retrieve_series_metadata(study, series)
    assert len(meta) == 5
    item = next(m for m in meta if m["00080018"]["Value"][0] == sop)
    assert item["00100020"]["Value"] == ["SYN0001"]
    assert item["00083002"]["Value"] == ["1.2.840.10008.1.2.1"]
    pixel = item["7FE00010"]
    assert "Value" not in pixel and "InlineBinary" not in pixel
    assert pixel["BulkDataURI"].startswith(f"{site.dicomweb}/studies/{study}/")
    # the URI resolves to the pixel data, read with the client
    (data,) = site.client.retrieve_bulkdata(pixel["BulkDataURI"])
    assert data == pydicom.dcmread(site.ct[1]).PixelData
    ds = pydicom.Dataset.from_json(item)  # and the rest is valid DICOM JSON
    assert ds.SeriesInstanceUID == series
    r = site.http.get(f"{site.dicomweb}/studies/{study}/metadata")
    assert r.headers["content-type"] == "application/dicom+json"
    assert len(r.json()) == 5
    # served again from the per-object cache: same document, URIs for this client's host
    assert len(list((site.jip.data_dir / "metadata").rglob("*.json"))) >= 5
    again = site.http.get(f"{site.dicomweb}/studies/{study}/metadata")
    assert again.content == r.content
    proxied = site.http.get(
        f"{site.dicomweb}/studies/{study}/metadata", headers={"Host": "viewer.example:8443"}
    ).json()
    assert proxied[0]["7FE00010"]["BulkDataURI"].startswith("http://viewer.example:8443/dicomweb/")


def test_frames_native_compressed_and_multiframe(site: Site) -> None:
    study, series, sop = uids(site.ct[0])
    (frame,) = site.client.retrieve_instance_frames(study, series, sop, [1])
    assert frame == pydicom.dcmread(site.ct[0]).PixelData
    for name in ("JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_rle.dcm"):
        study, series, sop = uids(site.compressed[name])
        (frame,) = site.client.retrieve_instance_frames(
            study, series, sop, [1], media_types=("application/octet-stream",)
        )
        expected = pydicom.dcmread(site.compressed[name]).pixel_array
        assert frame == expected.astype(expected.dtype.newbyteorder("<")).tobytes(), name
    # multi-frame JPEG 2000: decoded frames 2 and 5, and frame 3 as stored
    path = site.compressed["emri_small_jpeg_2k_lossless.dcm"]
    study, series, sop = uids(path)
    original = pydicom.dcmread(path)
    frames = site.client.retrieve_instance_frames(
        study, series, sop, [2, 5], media_types=("application/octet-stream",)
    )
    assert [
        f == original.pixel_array[i].tobytes() for f, i in zip(frames, (1, 4), strict=True)
    ] == [
        True,
        True,
    ]
    r = site.http.get(
        f"{site.dicomweb}/studies/{study}/series/{series}/instances/{sop}/frames/3",
        headers={"Accept": 'multipart/related; type="image/jp2"'},
    )
    assert r.status_code == 200
    ((ctype, body),) = split_multipart(r)
    assert ctype == "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"
    assert body.rstrip(b"\x00") == pydicom.encaps.get_frame(
        original.PixelData, 2, number_of_frames=10
    ).rstrip(b"\x00")


def test_viewer_style_frame_requests(site: Site) -> None:
    """What OHIF-like viewers send: unquoted type, transfer-syntax=*, lists of choices."""
    path = site.compressed["SC_rgb_jpeg_dcmtk.dcm"]
    study, series, sop = uids(path)
    url = f"{site.dicomweb}/studies/{study}/series/{series}/instances/{sop}/frames/1"
    r = site.http.get(
        url,
        headers={"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"},
    )
    ((ctype, body),) = split_multipart(r)
    assert ctype == "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"
    assert body.startswith(b"\xff\xd8")  # the stored JPEG bitstream, not decoded
    jls_then_raw = (
        'multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.80, '
        'multipart/related; type="application/octet-stream"'
    )
    ((ctype, body),) = split_multipart(site.http.get(url, headers={"Accept": jls_then_raw}))
    assert ctype == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert len(body) == 100 * 100 * 3
    only_jls = 'multipart/related; type="image/jls"'
    assert site.http.get(url, headers={"Accept": only_jls}).status_code == 406


def _png(data: bytes) -> Image.Image:
    img = Image.open(BytesIO(data))
    img.load()
    return img


def test_rendered_instance_frame_series_with_window_and_viewport(site: Site) -> None:
    study, series, sop = uids(site.ct[2])
    c = site.client
    png = _png(c.retrieve_instance_rendered(study, series, sop, media_types=("image/png",)))
    assert png.format == "PNG" and png.size == (32, 32) and png.mode == "L"
    jpeg = _png(c.retrieve_instance_rendered(study, series, sop))
    assert jpeg.format == "JPEG"
    # window from the object (40/400): air black, body mid-grey, lesion brighter
    arr = np.asarray(png)
    assert arr[0, 0] == 0 and 100 < arr[16, 4] < 200
    # a narrow window from the query makes the body white
    narrow = _png(
        c.retrieve_instance_rendered(
            study, series, sop, media_types=("image/png",), params={"window": "-500,10"}
        )
    )
    assert np.asarray(narrow)[16, 4] == 255
    small = _png(
        c.retrieve_instance_rendered(
            study, series, sop, media_types=("image/png",), params={"viewport": "16,8"}
        )
    )
    assert small.size == (8, 8)
    frame = _png(
        c.retrieve_instance_frames_rendered(study, series, sop, [1], media_types=("image/png",))
    )
    assert frame.size == (32, 32)
    assert _png(c.retrieve_series_rendered(study, series, media_types=("image/png",))).size == (
        32,
        32,
    )
    # colour (JPEG baseline YBR) renders as RGB
    study, series, sop = uids(site.compressed["SC_rgb_jpeg_dcmtk.dcm"])
    rgb = _png(c.retrieve_instance_rendered(study, series, sop, media_types=("image/png",)))
    assert rgb.mode == "RGB" and rgb.size == (100, 100)


def test_rendered_multipart_has_one_image_per_instance(site: Site) -> None:
    study, series, _ = uids(site.ct[0])
    r = site.http.get(
        f"{site.dicomweb}/studies/{study}/series/{series}/rendered",
        headers={"Accept": 'multipart/related; type="image/png"'},
    )
    parts = split_multipart(r)
    assert len(parts) == 5 and all(c == "image/png" for c, _ in parts)
    study_png = site.http.get(
        f"{site.dicomweb}/studies/{study}/rendered", headers={"Accept": "image/png"}
    )
    assert study_png.headers["content-type"] == "image/png"
    assert _png(study_png.content).size == (32, 32)


def test_thumbnails_study_series_instance_and_rest(site: Site) -> None:
    study, series, sop = uids(site.ct[0])
    base = f"{site.dicomweb}/studies/{study}"
    for url in (
        f"{base}/thumbnail",
        f"{base}/series/{series}/instances/{sop}/frames/1/thumbnail",
        f"{base}/series/{series}/thumbnail",
        f"{base}/series/{series}/instances/{sop}/thumbnail",
    ):
        r = site.http.get(url, headers={"Accept": "image/png"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", url
        assert _png(r.content).size == (128, 128)  # settings.thumbnail_size
    r = site.http.get(f"{base}/series/{series}/thumbnail", params={"viewport": "64,64"})
    assert r.headers["content-type"] == "image/jpeg" and _png(r.content).size == (64, 64)
    # a viewport that is not square: the (square) image fits inside it
    for url in (f"{base}/thumbnail", f"{base}/series/{series}/instances/{sop}/thumbnail"):
        r = site.http.get(url, params={"viewport": "64,16"})
        assert _png(r.content).size == (16, 16), url

    rest = site.http.get(f"{site.jip.url}/api/v1/series/{series}/thumbnail")
    assert rest.status_code == 200 and rest.headers["content-type"] == "image/png"
    img = _png(rest.content)
    assert img.size == (128, 128)
    # middle slice (instance 3 of 5) is the one with the largest lesion: compare renderings
    middle = next(p for p in site.ct if pydicom.dcmread(p).InstanceNumber == 3)
    s, se, mid = uids(middle)
    direct = site.http.get(
        f"{site.dicomweb}/studies/{s}/series/{se}/instances/{mid}/thumbnail",
        headers={"Accept": "image/png"},
    )
    assert direct.content == rest.content
    cached = list((site.jip.data_dir / "thumbnails").rglob(f"{series}-128-*.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == rest.content
    jpeg = site.http.get(
        f"{site.jip.url}/api/v1/series/{series}/thumbnail", params={"format": "jpeg"}
    )
    assert jpeg.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/studies/not-a-uid", 400),
        ("/studies/1.2.3;rm", 400),
        ("/studies/1.2.3.4.5.6.7.8.9", 404),
        ("/studies/..%2F..%2Fetc", 404),  # never reaches a handler as one segment
        ("/studies/%2e%2e", 400),
        ("/studies/{study}/series/9.9.9", 404),
        ("/studies/{study}/series/{series}/instances/1.2.3.4", 404),
        ("/studies/{study}/series/{series}/instances/{sop}/frames/0", 400),
        ("/studies/{study}/series/{series}/instances/{sop}/frames/1,x", 400),
        ("/studies/{study}/series/{series}/instances/{sop}/frames/2", 404),
        ("/studies/{study}/series/{series}/instances/{sop}/bulkdata/..%2Fetc", 400),
        ("/studies/{study}/series/{series}/instances/{sop}/bulkdata/00100010/0/00100020", 404),
        ("/studies/{study}/series/{series}/instances/{sop}/rendered?window=1", 400),
        ("/studies/{study}/series/{series}/instances/{sop}/rendered?viewport=0,0", 400),
        ("/studies/{study}/series/{series}/instances/{sop}/rendered?quality=500", 400),
    ],
)
def test_bad_requests_get_clear_4xx(site: Site, path: str, status: int) -> None:
    study, series, sop = uids(site.ct[0])
    url = site.dicomweb + path.format(study=study, series=series, sop=sop)
    r = site.http.get(url)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["detail"]
    assert site.http.get(f"{site.jip.url}/api/v1/health").status_code == 200


def test_thumbnail_prerendered_when_series_completes(site: Site) -> None:
    series = uids(site.compressed["SC_rgb_rle.dcm"])[1]  # no test asks for this one
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if list((site.jip.data_dir / "thumbnails").rglob(f"{series}-128-*.png")):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no thumbnail rendered on series complete")


def test_rest_thumbnail_errors(site: Site) -> None:
    base = f"{site.jip.url}/api/v1/series"
    assert site.http.get(f"{base}/1.2.3.999/thumbnail").status_code == 404
    assert site.http.get(f"{base}/abc/thumbnail").status_code == 400
    assert site.http.get(f"{base}/{uids(site.ct[0])[1]}/thumbnail?format=bmp").status_code == 422
