"""Accept parsing and multipart bodies: the negotiation rules and malformed input."""

from __future__ import annotations

import pytest

from jip.dicomweb.frames import choose_frame_encoding, parse_frame_list
from jip.dicomweb.multipart import (
    parse_accept,
    parse_media_type,
    parse_multipart,
    stream_multipart,
)
from jip.dicomweb.transfer import choose_dicom
from jip.errors import InvalidInputError, NotAcceptableError, NotFoundError

EXPLICIT = "1.2.840.10008.1.2.1"
JPEG = "1.2.840.10008.1.2.4.50"


def test_accept_order_quotes_and_q() -> None:
    ranges = parse_accept(
        'image/png;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=*, '
        "text/html;q=0"
    )
    assert [r.mime for r in ranges] == ["multipart/related", "image/png"]
    assert ranges[0].params == {"type": "application/dicom", "transfer-syntax": "*"}
    assert parse_accept(None)[0].mime == "*/*"
    with pytest.raises(InvalidInputError):
        parse_accept("not a media type")
    with pytest.raises(InvalidInputError):
        parse_media_type("image/png; q=abc")


def test_roundtrip_and_preamble_epilogue() -> None:
    parts = [(b"\r\n--not-the-boundary\r\n", "application/dicom"), (b"", "application/dicom")]
    body = b"".join(stream_multipart(parts, "b0undary"))
    got = parse_multipart(b"preamble\r\n" + body + b"epilogue", "b0undary")
    assert [p.body for p in got] == [b"\r\n--not-the-boundary\r\n", b""]
    assert got[0].content_type == "application/dicom"
    assert parse_multipart(b"".join(stream_multipart([], "b")), "b") == []


@pytest.mark.parametrize(
    "body",
    [b"", b"--b\r\nContent-Type: x\r\n\r\nbody", b"--b\r\nno separator\r\n--b--", b"--bX"],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(InvalidInputError):
        parse_multipart(body, "b")


def test_choose_dicom() -> None:
    dicom = 'multipart/related; type="application/dicom"'
    assert choose_dicom(parse_accept(None), {JPEG}, 3).target is None
    assert choose_dicom(parse_accept(dicom), {JPEG}, 3).target is None
    assert choose_dicom(parse_accept(f"{dicom}; transfer-syntax={JPEG}"), {JPEG}, 1).target is None
    assert choose_dicom(parse_accept(f"{dicom}; transfer-syntax={EXPLICIT}"), {JPEG}, 1).target == (
        EXPLICIT
    )
    single = choose_dicom(parse_accept("application/dicom"), {JPEG}, 1)
    assert not single.multipart
    with pytest.raises(NotAcceptableError):
        choose_dicom(parse_accept("application/dicom"), {JPEG}, 2)
    with pytest.raises(NotAcceptableError):
        choose_dicom(parse_accept(f"{dicom}; transfer-syntax=1.2.840.10008.1.2.4.80"), {JPEG}, 1)
    # the client's second choice is taken when the first cannot be met
    two = f"{dicom}; transfer-syntax=1.2.840.10008.1.2.4.80, {dicom}; transfer-syntax=*"
    assert choose_dicom(parse_accept(two), {JPEG}, 1).target is None


def test_choose_frame_encoding_and_frame_lists() -> None:
    octet = 'multipart/related; type="application/octet-stream"'
    assert choose_frame_encoding(parse_accept(octet), JPEG) == "native"
    assert choose_frame_encoding(parse_accept(f"{octet}; transfer-syntax=*"), JPEG) == "stored"
    assert choose_frame_encoding(parse_accept('multipart/related; type="image/jpeg"'), JPEG) == (
        "stored"
    )
    assert choose_frame_encoding(parse_accept(None), JPEG) == "stored"
    with pytest.raises(NotAcceptableError):
        choose_frame_encoding(parse_accept('multipart/related; type="image/jp2"'), JPEG)
    assert parse_frame_list("1,3", 3) == [0, 2]
    for bad in ("0", "1,,2", "-1", "1;2", ""):
        with pytest.raises(InvalidInputError):
            parse_frame_list(bad, 3)
    with pytest.raises(NotFoundError):
        parse_frame_list("4", 3)
