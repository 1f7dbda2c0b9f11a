"""Derived files cached under the data folder (thumbnails, DICOM JSON metadata).

A cache file is never fsynced (it can always be rebuilt) but never seen half-written:
it is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def read(path: Path) -> bytes | None:
    with contextlib.suppress(OSError):
        return path.read_bytes()
    return None


def write_atomic(path: Path, data: bytes) -> None:
    """Best effort: an unwritable cache only costs the next request a rebuild."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass
