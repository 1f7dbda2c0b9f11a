"""Per-instance DICOM JSON, cached on disk by object key.

Stored objects never change (their key is the SHA-256 of their bytes), so the cached
JSON of an object is never stale. It is kept with a placeholder for the instance URL,
which differs per client (host, proxy), and filled in on the way out.
"""

from __future__ import annotations

import json
from io import BytesIO

import pydicom

from jip import diskcache
from jip.dicomweb.dicomjson import to_json
from jip.dicomweb.locate import InstanceRef
from jip.runtime import Runtime
from jip.store.base import check_key

_PLACEHOLDER = "jip-instance-url:5f0c9e"


def instance_json(runtime: Runtime, ref: InstanceRef, instance_url: str) -> bytes:
    """The instance's DICOM JSON object (UTF-8 bytes) with BulkDataURIs under ``instance_url``."""
    key = check_key(ref.object_key)
    path = runtime.settings.data_dir / "metadata" / key[:2] / f"{key}.json"
    text = diskcache.read(path)
    if text is None:
        ds = pydicom.dcmread(BytesIO(runtime.store.get(key)))
        doc = to_json(ds, _PLACEHOLDER, ref.transfer_syntax_uid)
        text = json.dumps(doc, separators=(",", ":")).encode()
        diskcache.write_atomic(path, text)
    return text.replace(_PLACEHOLDER.encode(), instance_url.encode())
