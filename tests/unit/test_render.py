"""Rendering, frame decoding and transcoding on pydicom's test files (every common
transfer syntax, decoded by pylibjpeg / Pillow / pydicom's RLE)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from jip.dicomweb.dicomjson import find_bulk_element, to_json
from jip.dicomweb.frames import frame_count, frame_parts, native_frame
from jip.dicomweb.transfer import can_decode, transcode
from jip.errors import InvalidInputError, NotFoundError
from jip.render import (
    NotRenderableError,
    Viewport,
    Window,
    apply_viewport,
    apply_window,
    parse_viewport,
    parse_window,
    render,
)

FILES = [
    "CT_small.dcm",  # explicit VR little endian
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "JPEG-LL.dcm",  # JPEG lossless (pylibjpeg-libjpeg)
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline YBR
    "JPEG2000.dcm",
    "emri_small_jpeg_2k_lossless.dcm",  # 10 frames
    "SC_rgb_rle.dcm",
    "rtdose.dcm",  # 15 frames, implicit
]


def load(name: str) -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file(name))


@pytest.mark.parametrize("name", FILES)
def test_native_frames_match_pydicom_decode(name: str) -> None:
    ds = load(name)
    assert can_decode(str(ds.file_meta.TransferSyntaxUID))
    n = frame_count(ds)
    expected = ds.pixel_array if n > 1 else ds.pixel_array[None]
    for i in {0, n - 1}:
        want = expected[i]
        assert native_frame(ds, i) == want.astype(want.dtype.newbyteorder("<")).tobytes()


@pytest.mark.parametrize("name", FILES)
def test_every_file_renders(name: str) -> None:
    ds = load(name)
    png = Image.open(BytesIO(render(ds, frame_count(ds) - 1, fmt="png")))
    assert png.size == (ds.Columns, ds.Rows)
    assert png.mode == ("RGB" if ds.SamplesPerPixel == 3 else "L")


@pytest.mark.parametrize("name", ["JPEG-LL.dcm", "SC_rgb_rle.dcm", "MR_small_bigendian.dcm"])
def test_transcode_to_explicit_little_endian_keeps_uid_and_pixels(name: str) -> None:
    path = get_testdata_file(name)
    with open(path, "rb") as fh:
        out = pydicom.dcmread(BytesIO(transcode(fh.read(), "1.2.840.10008.1.2.1")))
    original = pydicom.dcmread(path)
    assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert out.SOPInstanceUID == original.SOPInstanceUID
    assert np.array_equal(out.pixel_array, original.pixel_array)


def test_stored_frames_are_the_encapsulated_bitstreams() -> None:
    ds = load("emri_small_jpeg_2k_lossless.dcm")
    parts = list(frame_parts(ds, [0, 9], "stored"))
    assert all(c == "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90" for _, c in parts)
    assert all(b.startswith(b"\xff\x4f\xff\x51") for b, _ in parts)  # J2K codestream


def test_window_functions() -> None:
    values = np.array([-1000.0, 0.0, 39.5, 40.0, 240.0, 1000.0])
    lin = apply_window(values, Window(40, 400))
    assert lin[0] == 0 and lin[-1] == 255 and 120 < lin[3] < 135
    exact = apply_window(np.array([-160.0, 40.0, 240.0]), Window(40, 400, "linear-exact"))
    assert list(exact) == [0, 128, 255]
    sig = apply_window(np.array([40.0]), Window(40, 400, "sigmoid"))
    assert sig[0] == 128


def test_monochrome1_is_inverted() -> None:
    ds = load("CT_small.dcm")
    normal = np.asarray(Image.open(BytesIO(render(ds, fmt="png"))))
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = np.asarray(Image.open(BytesIO(render(ds, fmt="png"))))
    assert np.array_equal(inverted, 255 - normal)


def test_viewport_fit_crop_flip() -> None:
    img = Image.fromarray(np.arange(200, dtype=np.uint8).reshape(10, 20), "L")
    assert apply_viewport(img, Viewport(10, 10)).size == (10, 5)
    cropped = apply_viewport(img, Viewport(20, 10, 5, 0, 5, 10))
    assert cropped.size == (10, 20) or cropped.size[1] == 10
    flipped = apply_viewport(img, Viewport(20, 10, 20, 0, -20, 10))
    assert np.asarray(flipped)[0, 0] == 19
    with pytest.raises(InvalidInputError):
        apply_viewport(img, Viewport(10, 10, 100, 100))


@pytest.mark.parametrize("text", ["1", "a,b", "1,0", "1,2,cubic", "nan,3"])
def test_bad_window(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_window(text)


@pytest.mark.parametrize("text", ["1", "0,10", "10,x", "99999,10", "1,2,3"])
def test_bad_viewport(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_viewport(text)


def test_no_pixel_data_is_not_renderable() -> None:
    ds = load("CT_small.dcm")
    del ds.PixelData
    with pytest.raises(NotRenderableError):
        render(ds)


def test_metadata_bulk_uris_and_lookup() -> None:
    ds = load("rtdose.dcm")  # has nested sequences
    doc = to_json(ds, "http://x/i", "1.2.840.10008.1.2")
    assert doc["7FE00010"] == {"vr": "OW", "BulkDataURI": "http://x/i/bulkdata/7FE00010"}
    assert doc["00083002"]["Value"] == ["1.2.840.10008.1.2"]
    assert find_bulk_element(ds, "7FE00010").tag == 0x7FE00010
    with pytest.raises(InvalidInputError):
        find_bulk_element(ds, "../etc")
    with pytest.raises(NotFoundError):
        find_bulk_element(ds, "300C0002/99/00081155")
