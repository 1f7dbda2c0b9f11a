"""Decoded SEGs, cached in memory (a few) and on disk (all), keyed by the object key.

Stored objects are content-addressed and never change, so a decoded SEG stays valid as
long as its object exists; the disk copy is a rebuildable cache (``jip.diskcache``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

from jip import diskcache
from jip.segmentations.decode import DecodedSeg, decode_seg
from jip.store.base import ObjectStore

_MEMORY_ENTRIES = 16
# bump when DecodedSeg's shape or the decoding changes: old cache files are ignored
_FORMAT = 1


class DecodedSegCache:
    def __init__(self, folder: Path, store: ObjectStore) -> None:
        self.folder = folder
        self.store = store
        self._memory: OrderedDict[str, DecodedSeg] = OrderedDict()
        self._lock = threading.Lock()
        self._decode_lock = threading.Lock()  # one decode at a time: 2 cores, big SEGs

    def get(self, object_key: str) -> DecodedSeg:
        """The decoded SEG; ``DicomError`` if the object is no decodable SEG."""
        hit = self._from_memory(object_key)
        if hit is not None:
            return hit
        with self._decode_lock:
            hit = self._from_memory(object_key)
            if hit is not None:
                return hit
            path = self.folder / object_key[:2] / f"{object_key}.v{_FORMAT}.json"
            decoded = self._from_disk(path)
            if decoded is None:
                decoded = decode_seg(self.store.get(object_key))
                diskcache.write_atomic(path, json.dumps(decoded.to_json()).encode())
            with self._lock:
                self._memory[object_key] = decoded
                while len(self._memory) > _MEMORY_ENTRIES:
                    self._memory.popitem(last=False)
            return decoded

    def _from_memory(self, object_key: str) -> DecodedSeg | None:
        with self._lock:
            hit = self._memory.get(object_key)
            if hit is not None:
                self._memory.move_to_end(object_key)
            return hit

    @staticmethod
    def _from_disk(path: Path) -> DecodedSeg | None:
        raw = diskcache.read(path)
        if raw is None:
            return None
        try:
            return DecodedSeg.from_json(json.loads(raw))
        except (ValueError, TypeError, KeyError):
            return None  # damaged or foreign cache file: decode again
