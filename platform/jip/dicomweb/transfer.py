"""Transfer syntaxes for WADO-RS: what a client accepts, what we can produce, and the
transcoding that turns a stored object into an uncompressed one when it asks for that.

The default answer is the object exactly as it was received (its stored bytes); only an
explicit ``transfer-syntax=<uid>`` other than the stored one costs a decode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO

import pydicom
from pydicom.pixels import get_decoder
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from jip.dicomweb.multipart import MediaRange
from jip.errors import NotAcceptableError, StorageError

NATIVE = frozenset(
    {
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    }
)
TRANSCODE_TARGETS = frozenset({ExplicitVRLittleEndian, ImplicitVRLittleEndian})


def can_decode(tsuid: str) -> bool:
    """True if pixel data in ``tsuid`` can be decoded here (pylibjpeg/Pillow/pydicom)."""
    if tsuid in NATIVE:
        return True
    try:
        return bool(get_decoder(UID(tsuid)).is_available)
    except Exception:
        return False


def can_transcode(src: str, dst: str) -> bool:
    return src == dst or (dst in TRANSCODE_TARGETS and can_decode(src))


@dataclass(frozen=True, slots=True)
class DicomChoice:
    """How to answer an application/dicom retrieve: ``target`` None means as stored."""

    multipart: bool
    target: str | None


def choose_dicom(accept: list[MediaRange], stored: Iterable[str], count: int) -> DicomChoice:
    """Pick the first acceptable representation in the client's order of preference.

    ``multipart/related; type="application/dicom"`` (any transfer-syntax we can make),
    ``*/*`` and ``multipart/*`` are served; bare ``application/dicom`` only for one
    instance. Raises ``NotAcceptableError`` (406) if nothing the client accepts fits."""
    syntaxes = set(stored)
    for r in accept:
        if r.mime == "multipart/related":
            part_type = r.params.get("type", "application/dicom").lower()
            if not MediaRange(part_type).matches("application/dicom"):
                continue
            multipart = True
        elif r.mime in ("*/*", "multipart/*"):
            return DicomChoice(True, None)
        elif r.mime in ("application/dicom", "application/*"):
            if count != 1:
                continue
            multipart = False
        else:
            continue
        ts = r.params.get("transfer-syntax")
        if ts is None or ts == "*" or syntaxes == {ts}:
            return DicomChoice(multipart, None)
        if all(can_transcode(s, ts) for s in syntaxes):
            return DicomChoice(multipart, ts)
    wanted = ", ".join(_show(r) for r in accept)
    raise NotAcceptableError(
        f"cannot provide any of [{wanted}]; stored as {sorted(syntaxes)}, "
        f"transcoding only to {sorted(TRANSCODE_TARGETS)}"
    )


def _show(r: MediaRange) -> str:
    params = "".join(f"; {k}={v}" for k, v in r.params.items())
    return r.mime + params


def transcode(data: bytes, target: str) -> bytes:
    """Re-encode a Part 10 object in an uncompressed ``target`` syntax, same SOP UID.

    Raises ``NotAcceptableError`` if the pixel data cannot be decoded here."""
    ds = pydicom.dcmread(BytesIO(data))
    src = ds.file_meta.TransferSyntaxUID
    if src == target:
        return data
    try:
        if src.is_encapsulated:
            ds.decompress(as_rgb=True, generate_instance_uid=False)
        elif src == ExplicitVRBigEndian and "PixelData" in ds and ds.BitsAllocated > 8:
            arr = ds.pixel_array
            ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
            if ds.get("SamplesPerPixel", 1) > 1:
                ds.PlanarConfiguration = 0
    except Exception as exc:
        raise NotAcceptableError(f"cannot decode {src.name} pixel data: {exc}") from exc
    ds.file_meta.TransferSyntaxUID = UID(target)
    buf = BytesIO()
    try:
        pydicom.dcmwrite(
            buf,
            ds,
            # big endian -> little needs force_encoding, which pydicom only allows
            # without enforce_file_format (ds was read from a file: preamble and meta stay)
            enforce_file_format=src != ExplicitVRBigEndian,
            implicit_vr=target == ImplicitVRLittleEndian,
            little_endian=True,
            force_encoding=src == ExplicitVRBigEndian,
        )
    except Exception as exc:
        raise StorageError(f"cannot re-encode object as {target}: {exc}") from exc
    return buf.getvalue()
