"""Turn one frame of a DICOM image into a viewable PNG/JPEG/GIF.

Grey images pass the modality LUT (rescale slope/intercept), then a VOI window (from the
request, else the object's own window or VOI LUT, else the frame's min/max) per
PS3.3 C.11.2.1.2, then MONOCHROME1 inversion; colour images are converted to RGB.
The result is fitted into an optional viewport (PS3.18 8.3.5.1.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import UID

from jip.errors import InvalidInputError, NotAcceptableError

ImageFormat = Literal["jpeg", "png", "gif"]
MEDIA_TYPES: dict[ImageFormat, str] = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
_MAX_VIEWPORT = 8192


class NotRenderableError(NotAcceptableError):
    """The object has no pixel data JIP can turn into an image."""


@dataclass(frozen=True, slots=True)
class Window:
    center: float
    width: float
    function: str = "linear"  # linear | linear-exact | sigmoid


@dataclass(frozen=True, slots=True)
class Viewport:
    width: int
    height: int
    sx: int = 0
    sy: int = 0
    sw: int | None = None
    sh: int | None = None


def parse_window(text: str | None) -> Window | None:
    """``center,width[,function]`` -> Window; raises ``InvalidInputError`` if malformed."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        center, width = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise InvalidInputError(f"window must be center,width[,function]: {text!r}") from exc
    function = parts[2].lower() if len(parts) == 3 else "linear"
    if function not in ("linear", "linear-exact", "sigmoid"):
        raise InvalidInputError(
            f"window function must be linear, linear-exact or sigmoid: {text!r}"
        )
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise InvalidInputError(f"window width must be positive and finite: {text!r}")
    return Window(center, width, function)


def parse_viewport(text: str | None) -> Viewport | None:
    """``vw,vh[,sx,sy,sw,sh]``; empty source values mean "to the image edge"."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) not in (2, 4, 6):
            raise ValueError
        vw, vh = int(parts[0]), int(parts[1])
        rest = [int(p) if p else None for p in parts[2:]] + [None] * (6 - len(parts))
    except ValueError as exc:
        raise InvalidInputError(f"viewport must be vw,vh[,sx,sy,sw,sh] integers: {text!r}") from exc
    if not (0 < vw <= _MAX_VIEWPORT and 0 < vh <= _MAX_VIEWPORT):
        raise InvalidInputError(f"viewport size must be 1..{_MAX_VIEWPORT}: {text!r}")
    sx, sy, sw, sh = rest
    return Viewport(vw, vh, sx or 0, sy or 0, sw, sh)


def parse_quality(text: str | None) -> int:
    if not text:
        return 90
    try:
        q = int(text)
    except ValueError as exc:
        raise InvalidInputError(f"quality must be an integer 1..100: {text!r}") from exc
    if not 1 <= q <= 100:
        raise InvalidInputError(f"quality must be 1..100: {text!r}")
    return q


def render(
    ds: Dataset,
    index: int = 0,
    *,
    fmt: ImageFormat = "jpeg",
    window: Window | None = None,
    viewport: Viewport | None = None,
    quality: int = 90,
) -> bytes:
    """Encoded image of frame ``index`` (0-based). Raises ``NotRenderableError``."""
    image = frame_image(ds, index, window)
    if viewport is not None:
        image = apply_viewport(image, viewport)
    return encode(image, fmt, quality)


def encode(image: Image.Image, fmt: ImageFormat, quality: int = 90) -> bytes:
    buf = BytesIO()
    if fmt == "jpeg":
        image.save(buf, "JPEG", quality=quality)
    elif fmt == "png":
        image.save(buf, "PNG", compress_level=6)
    else:
        image.save(buf, "GIF")
    return buf.getvalue()


def frame_image(ds: Dataset, index: int = 0, window: Window | None = None) -> Image.Image:
    """8-bit PIL image (L or RGB) of one frame."""
    if "PixelData" not in ds:
        raise NotRenderableError("object has no pixel data to render")
    tsuid = UID(str(ds.file_meta.TransferSyntaxUID))
    try:
        arr, _ = get_decoder(tsuid).as_array(ds, index=index)
    except Exception as exc:
        raise NotRenderableError(f"cannot decode {tsuid.name} pixel data: {exc}") from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return Image.fromarray(_to_uint8_color(rgb, 16 if rgb.dtype != np.uint8 else 8), "RGB")
    if arr.ndim == 3:
        bits = int(ds.get("BitsStored", 8) or 8)
        return Image.fromarray(_to_uint8_color(arr, bits), "RGB")
    grey = _window_grey(arr, ds, index, window)
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return Image.fromarray(grey, "L")


def _window_grey(arr: np.ndarray, ds: Dataset, index: int, window: Window | None) -> np.ndarray:
    values = apply_modality_lut(arr, _frame_view(ds, index)).astype(np.float32)
    if window is None:
        window = _own_window(ds, index)
        if window is None and "VOILUTSequence" in ds:
            values = apply_voi_lut(values, ds, prefer_lut=True).astype(np.float32)
    if window is None:
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        window = Window((lo + hi) / 2, max(hi - lo, 1.0), "linear-exact")
    return apply_window(values, window)


def apply_window(values: np.ndarray, w: Window) -> np.ndarray:
    """Map values through the VOI function of PS3.3 C.11.2.1.2 to 0..255 (uint8)."""
    c, width = w.center, w.width
    if w.function == "sigmoid":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - c) / width))
    elif w.function == "linear-exact":
        out = ((values - c) / width + 0.5) * 255.0
    else:
        if width <= 1:
            out = np.where(values <= c - 0.5, 0.0, 255.0)
        else:
            out = ((values - (c - 0.5)) / (width - 1) + 0.5) * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _to_uint8_color(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    shift = max(0, bits - 8)
    return np.clip(arr.astype(np.int64) >> shift, 0, 255).astype(np.uint8)


def _first(value: Any) -> float | None:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _own_window(ds: Dataset, index: int) -> Window | None:
    """The object's first window: top level, else (enhanced objects) the frame's own."""
    for source in (ds, *_functional_group(ds, index, "FrameVOILUTSequence")):
        center, width = _first(source.get("WindowCenter")), _first(source.get("WindowWidth"))
        if center is not None and width is not None and width > 0:
            function = str(source.get("VOILUTFunction", "LINEAR")).lower().replace("_", "-")
            return Window(center, width, function)
    return None


def _frame_view(ds: Dataset, index: int) -> Dataset:
    """Rescale values for the frame: top level, else the enhanced per-frame/shared ones."""
    if "RescaleSlope" in ds or "ModalityLUTSequence" in ds:
        return ds
    for item in _functional_group(ds, index, "PixelValueTransformationSequence"):
        if "RescaleSlope" in item:
            view = Dataset()
            view.RescaleSlope = item.RescaleSlope
            view.RescaleIntercept = item.get("RescaleIntercept", 0)
            return view
    return ds


def _functional_group(ds: Dataset, index: int, name: str) -> list[Dataset]:
    found: list[Dataset] = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and index < len(per_frame):
        found.extend(per_frame[index].get(name) or [])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        found.extend(shared[0].get(name) or [])
    return found


def apply_viewport(image: Image.Image, vp: Viewport) -> Image.Image:
    """Crop the source region (negative sw/sh flip it) and fit it into vw x vh,
    keeping the aspect ratio."""
    w, h = image.size
    sw = vp.sw if vp.sw is not None else w - vp.sx
    sh = vp.sh if vp.sh is not None else h - vp.sy
    x0, x1 = sorted((vp.sx, vp.sx + sw))
    y0, y1 = sorted((vp.sy, vp.sy + sh))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        raise InvalidInputError("viewport source region lies outside the image")
    if (x0, y0, x1, y1) != (0, 0, w, h):
        image = image.crop((x0, y0, x1, y1))
    if sw < 0:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if sh < 0:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    cw, ch = image.size
    scale = min(vp.width / cw, vp.height / ch)
    size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image
