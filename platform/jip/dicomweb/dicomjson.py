"""DICOM JSON (PS3.18 F.2) for WADO-RS metadata, with bulk data replaced by BulkDataURIs.

A bulk element is named by its tag path inside the instance, e.g. ``7FE00010`` or
``00400275/0/00420011`` (sequence tag / item index / tag), so the bulkdata route can
find it again without any state kept between the two requests.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from jip.errors import InvalidInputError, NotFoundError

log = logging.getLogger(__name__)

BULK_THRESHOLD = 1024  # binary values longer than this are served by URI, not inline
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_TAG_PATH = re.compile(r"^[0-9A-Fa-f]{8}(/[0-9]{1,6}/[0-9A-Fa-f]{8}){0,8}$")


def to_json(ds: Dataset, instance_url: str, transfer_syntax: str = "") -> dict[str, Any]:
    """The instance as DICOM JSON; bulk and pixel data become BulkDataURIs under
    ``{instance_url}/bulkdata/...``. Adds AvailableTransferSyntaxUID (0008,3002)."""
    out = _dataset(ds, f"{instance_url}/bulkdata", "")
    if transfer_syntax and "00083002" not in out:
        out["00083002"] = {"vr": "UI", "Value": [transfer_syntax]}
    return dict(sorted(out.items()))


def _dataset(ds: Dataset, base: str, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for elem in ds:
        key = f"{elem.tag:08X}"
        if elem.tag.group == 0x0002:
            continue
        path = f"{prefix}{key}"
        try:
            out[key] = _element(elem, base, path)
        except Exception as exc:  # one unreadable value must not sink the whole answer
            log.debug("metadata: element %s not convertible: %s", key, exc)
            out[key] = {"vr": elem.VR}
    return out


def _element(elem: DataElement, base: str, path: str) -> dict[str, Any]:
    if elem.VR == "SQ":
        items = [_dataset(item, base, f"{path}/{i}/") for i, item in enumerate(elem.value or [])]
        return {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
    if int(elem.tag) in _PIXEL_TAGS or (
        elem.VR in _BINARY_VRS and elem.value is not None and len(elem.value) > BULK_THRESHOLD
    ):
        return {"vr": elem.VR, "BulkDataURI": f"{base}/{path}"}
    result: dict[str, Any] = elem.to_json_dict(None, BULK_THRESHOLD)
    return result


def find_bulk_element(ds: Dataset, tag_path: str) -> DataElement:
    """The element a bulkdata URI names; 400 for a malformed path, 404 if absent."""
    if not _TAG_PATH.match(tag_path):
        raise InvalidInputError(f"malformed bulk data path {tag_path!r}")
    steps = tag_path.split("/")
    current = ds
    for depth in range(0, len(steps) - 1, 2):
        seq_tag, index = Tag(int(steps[depth], 16)), int(steps[depth + 1])
        elem = current.get(seq_tag)
        if elem is None or elem.VR != "SQ" or index >= len(elem.value or []):
            raise NotFoundError(f"no bulk data at {tag_path}")
        current = elem.value[index]
    elem = current.get(Tag(int(steps[-1], 16)))
    if elem is None or elem.VR == "SQ":
        raise NotFoundError(f"no bulk data at {tag_path}")
    return elem
