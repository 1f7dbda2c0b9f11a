"""Finding the files a command was pointed at."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FoundFiles:
    files: list[Path] = field(default_factory=list)
    # named or found but not to be read: FIFOs, devices, sockets, DICOMDIRs
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # folders or paths that could not be read (no permission, I/O error)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def walk_files(paths: Iterable[Path]) -> FoundFiles:
    """Regular files named or under the folders named (recursively, sorted, hidden
    entries skipped). Anything else is reported, not returned: reading a FIFO waits
    forever and a device never ends. Raises ``FileNotFoundError`` for a path that
    does not exist."""
    found = FoundFiles()
    for p in paths:
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file or folder: {p}") from None
        except OSError as exc:  # e.g. a folder on the way without search permission
            found.unreadable.append((str(p), f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(mode):
            _walk(p, found)
        else:
            _add(p, mode, found)
    return found


def _walk(folder: Path, found: FoundFiles) -> None:
    def unreadable(exc: OSError) -> None:  # os.walk drops a folder it cannot list
        found.unreadable.append((str(exc.filename), f"cannot read folder: {exc.strerror}"))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            try:
                mode = path.stat().st_mode
            except OSError as exc:  # a dangling symbolic link, a file gone meanwhile
                found.unreadable.append((str(path), f"cannot read: {exc.strerror or exc}"))
                continue
            _add(path, mode, found)


def _add(path: Path, mode: int, found: FoundFiles) -> None:
    if not stat.S_ISREG(mode):
        found.skipped.append((str(path), "not a regular file"))
    elif path.name.upper() == "DICOMDIR":  # PS3.10 fixes the name; it indexes, holds no image
        found.skipped.append((str(path), "DICOMDIR (media directory)"))
    else:
        found.files.append(path)
