"""Series thumbnails: the middle slice, windowed, fitted into a square, cached on disk.

The cache file name carries the series' instance count and last-received time, so a
series that grows gets a fresh thumbnail and stale ones are never served.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
from sqlalchemy import select
from sqlalchemy.orm import Session

from jip import diskcache
from jip.dicom.parse import check_uid
from jip.dicomweb.locate import InstanceRef, find_instances, middle
from jip.errors import NotFoundError
from jip.index.models import Instance, Series
from jip.outage import OUTAGE_ERRORS, Outage
from jip.render import ImageFormat, NotRenderableError, Viewport, render
from jip.runtime import Runtime

log = logging.getLogger(__name__)
_EXT: dict[ImageFormat, str] = {"png": "png", "jpeg": "jpg", "gif": "gif"}


def representative(session: Session, refs: list[InstanceRef]) -> InstanceRef:
    """Middle instance among those with pixels (rows indexed); 406 if there are none.
    Without instance numbers the middle is taken along the slice axis (see
    ``slice_positions``) rather than in SOP UID order."""
    images = [r for r in refs if r.rows]
    if not images:
        raise NotRenderableError("series has no image instances")
    pos = slice_positions(session, images)  # empty (no query) when all are numbered
    if pos:
        images.sort(
            key=lambda r: (
                r.instance_number is None,
                r.instance_number or 0,
                r.sop_instance_uid not in pos,
                pos.get(r.sop_instance_uid, 0.0),
                r.sop_instance_uid,
            )
        )
        return images[len(images) // 2]
    return middle(images)


def slice_positions(session: Session, refs: list[InstanceRef]) -> dict[str, float]:
    """Place of each slice without an instance number along the slice axis: Image
    Position (Patient) projected on the normal of Image Orientation (Patient), else its
    z, else Slice Location. Read from the indexed tags, and only when needed."""
    missing = [r.sop_instance_uid for r in refs if r.rows and r.instance_number is None]
    if not missing:
        return {}
    out: dict[str, float] = {}
    rows = session.execute(
        select(Instance.sop_instance_uid, Instance.tags).where(
            Instance.sop_instance_uid.in_(missing)
        )
    )
    for uid, tags in rows:
        place = _place(tags or {})
        if place is not None:
            out[uid] = place
    return out


def _place(tags: Mapping[str, Any]) -> float | None:
    try:
        ipp = [float(v) for v in tags.get("ImagePositionPatient") or ()]
        iop = [float(v) for v in tags.get("ImageOrientationPatient") or ()]
        if len(ipp) == 3 and len(iop) == 6:
            (a, b, c), (d, e, f) = iop[:3], iop[3:]
            normal = (b * f - c * e, c * d - a * f, a * e - b * d)
            return sum(p * n for p, n in zip(ipp, normal, strict=True))
        if len(ipp) == 3:
            return ipp[2]
        location = tags.get("SliceLocation")
        return float(location) if location is not None else None
    except (TypeError, ValueError):
        return None


def render_thumbnail(
    runtime: Runtime,
    ref: InstanceRef,
    *,
    viewport: Viewport,
    fmt: ImageFormat,
    frame: int | None = None,
) -> bytes:
    """Thumbnail of one instance, fitted into ``viewport`` (``Viewport(n, n)`` for an
    n-pixel square): its middle frame unless ``frame`` (0-based) is given."""
    ds = pydicom.dcmread(BytesIO(runtime.store.get(ref.object_key)))
    frames = max(1, int(ds.get("NumberOfFrames") or 1)) if "PixelData" in ds else 1
    index = frames // 2 if frame is None else frame
    return render(ds, index, fmt=fmt, viewport=viewport, quality=85)


def series_thumbnail(
    runtime: Runtime, series_uid: str, *, fmt: ImageFormat = "png", size: int | None = None
) -> bytes:
    """Cached thumbnail of a series. Raises ``NotFoundError`` for an unknown series,
    ``InvalidInputError`` for a malformed UID, ``NotRenderableError`` without images."""
    check_uid(series_uid, "Series Instance UID")
    size = size or runtime.settings.thumbnail_size
    with runtime.sessions() as session:
        series = session.get(Series, series_uid)
        if series is None:
            raise NotFoundError(f"series {series_uid} not found")
        stamp = f"{series.num_instances}-{int(series.last_received.timestamp() * 1000)}"
        path = cache_dir(runtime) / series_uid[-2:] / f"{series_uid}-{size}-{stamp}.{_EXT[fmt]}"
        cached = diskcache.read(path)
        if cached is not None:
            return cached
        refs = find_instances(session, study=series.study_uid, series=series_uid)
        ref = representative(session, refs)
    data = render_thumbnail(runtime, ref, viewport=Viewport(size, size), fmt=fmt)
    _replace_cached(path, data)
    return data


def cache_dir(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "thumbnails"


def _replace_cached(path: Path, data: bytes) -> None:
    """Write the new thumbnail and drop the same series' stale ones of that size."""
    uid, size, _ = path.name.split("-", 2)
    for old in path.parent.glob(f"{uid}-{size}-*{path.suffix}") if path.parent.exists() else []:
        with contextlib.suppress(OSError):
            old.unlink()
    diskcache.write_atomic(path, data)


def prerender_on_complete(runtime: Runtime) -> None:
    """Render each series' default thumbnail when its "series complete" event fires, on a
    thread of its own so pipeline triggers on the same event never wait for it."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jip-thumbnails")
    outage = Outage(log, "thumbnail pre-rendering", 0)

    def render_one(series_uid: str) -> None:
        try:
            series_thumbnail(runtime, series_uid)
        except (NotRenderableError, NotFoundError):
            pass  # no images (SR, SEG without pixels...) or already gone
        except OUTAGE_ERRORS as exc:  # rendered on first request instead
            outage.failed(exc)
            return
        except Exception:
            log.exception("thumbnail pre-render failed for %s", series_uid)
        outage.ok()

    def listener(series_uid: str) -> None:
        with contextlib.suppress(RuntimeError):  # pool shut down at interpreter exit
            pool.submit(render_one, series_uid)

    runtime.series_events.subscribe(listener)
