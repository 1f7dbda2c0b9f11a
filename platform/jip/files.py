"""Finding the files a command was pointed at."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def walk_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named or under the folders named (recursively, sorted, hidden entries
    skipped); raises ``FileNotFoundError`` for a path that does not exist."""
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        elif p.is_file():
            yield p
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
