"""Frames of an instance's pixel data: as stored (compressed bitstreams) or uncompressed.

Uncompressed frames are little-endian, colour interleaved (what Explicit VR Little Endian
would hold); compressed stored frames are decoded with pydicom's plugins (pylibjpeg,
Pillow, RLE). Native little-endian data is sliced, never decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Literal

from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from jip.dicomweb.multipart import MediaRange
from jip.dicomweb.transfer import can_decode
from jip.errors import InvalidInputError, NotAcceptableError, NotFoundError

OCTET = "application/octet-stream"
_FRAME_LIST = re.compile(r"^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8}){0,9999}$")

# PS3.18 Table 8.7.3-4: media types of compressed frame bitstreams per transfer syntax
_PREFIX_MEDIA = {
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
}
_NATIVE_LE = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}

Encoding = Literal["native", "stored"]


def media_type_of(tsuid: str) -> str:
    """Media type of one frame stored in ``tsuid`` (octet-stream for uncompressed)."""
    return _PREFIX_MEDIA.get(tsuid, OCTET)


def is_encapsulated(tsuid: str) -> bool:
    return UID(tsuid).is_encapsulated


def frame_count(ds: Dataset) -> int:
    if "PixelData" not in ds:
        return 0
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def parse_frame_list(text: str, count: int) -> list[int]:
    """``"1,3,5"`` -> zero-based indices; 400 if malformed, 404 past the last frame."""
    if not _FRAME_LIST.match(text):
        raise InvalidInputError(f"frame list must be 1-based numbers separated by commas: {text!r}")
    numbers = [int(n) for n in text.split(",")]
    if count == 0:
        raise NotFoundError("instance has no pixel data frames")
    bad = [n for n in numbers if n > count]
    if bad:
        raise NotFoundError(f"frame(s) {bad} out of range: instance has {count} frame(s)")
    return [n - 1 for n in numbers]


def choose_frame_encoding(accept: list[MediaRange], stored_ts: str) -> Encoding:
    """Native (uncompressed octet-stream) or stored bitstream, in the client's preference.

    ``transfer-syntax=*``, ``*/*`` or the stored syntax's own media type get the stored
    bitstream; octet-stream without a syntax (or 1.2.840.10008.1.2.1) gets decoded
    frames. Raises ``NotAcceptableError`` when neither is acceptable."""
    compressed = is_encapsulated(stored_ts)
    own = media_type_of(stored_ts)
    for r in accept:
        if r.mime == "multipart/related":
            mime = r.params.get("type", OCTET).lower()
        elif r.mime in ("*/*", "multipart/*", OCTET):
            mime = r.mime
        else:
            continue
        ts = r.params.get("transfer-syntax")
        if mime == OCTET:
            if ts in (None, ExplicitVRLittleEndian):
                if compressed and not can_decode(stored_ts):
                    continue
                return "native"
            if ts == "*" or ts == stored_ts:
                return "stored"
            continue
        if mime in ("*/*", "multipart/*"):
            return "stored" if ts in (None, "*", stored_ts) else _native_if(ts, stored_ts)
        if compressed and MediaRange(mime).matches(own) and ts in (None, "*", stored_ts):
            return "stored"
    raise NotAcceptableError(
        f"frames are stored as {stored_ts} ({own}); acceptable: application/octet-stream "
        f"(uncompressed) or {own} with transfer-syntax={stored_ts} or *"
    )


def _native_if(ts: str, stored_ts: str) -> Encoding:
    if ts == ExplicitVRLittleEndian and can_decode(stored_ts):
        return "native"
    raise NotAcceptableError(f"cannot provide frames in transfer syntax {ts}")


def frame_parts(
    ds: Dataset, indices: Sequence[int], encoding: Encoding
) -> Iterator[tuple[bytes, str]]:
    """``(frame bytes, part Content-Type)`` for each index, computed lazily."""
    tsuid = str(ds.file_meta.TransferSyntaxUID)
    if encoding == "stored" and is_encapsulated(tsuid):
        n = frame_count(ds)
        ctype = f"{media_type_of(tsuid)}; transfer-syntax={tsuid}"
        for i in indices:
            yield get_frame(ds.PixelData, i, number_of_frames=n), ctype
        return
    ctype = f"{OCTET}; transfer-syntax={ExplicitVRLittleEndian}"
    for i in indices:
        yield native_frame(ds, i), ctype


def native_frame(ds: Dataset, index: int) -> bytes:
    """One uncompressed frame, little-endian, colour by pixel (planar configuration 0)."""
    tsuid = UID(str(ds.file_meta.TransferSyntaxUID))
    bits = int(ds.get("BitsAllocated", 0) or 0)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    simple = (
        tsuid in _NATIVE_LE
        and bits in (8, 16, 32, 64)
        and (spp == 1 or int(ds.get("PlanarConfiguration", 0) or 0) == 0)
        and not str(ds.get("PhotometricInterpretation", "")).endswith("_422")
    )
    if simple:
        size = int(ds.Rows) * int(ds.Columns) * spp * bits // 8
        data = ds.PixelData
        if len(data) >= (index + 1) * size:
            return bytes(data[index * size : (index + 1) * size])
    try:
        arr, _ = get_decoder(tsuid).as_array(ds, index=index)
    except Exception as exc:
        raise NotAcceptableError(f"cannot decode {tsuid.name} frame {index + 1}: {exc}") from exc
    return bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
