"""Free space where the site keeps its data.

A full disk makes the site answer C-STOREs with "out of resources" (0xA700) and STOW-RS
with failures; health and ``jip status`` say so before the senders find out.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

LOW_BYTES = 1 << 30  # below 1 GiB free (about 2,000 CT slices) health warns


@dataclass(frozen=True, slots=True)
class DiskSpace:
    folder: str
    free_bytes: int
    total_bytes: int

    @property
    def warning(self) -> str | None:
        """A line for people if space is low, else ``None``."""
        if self.free_bytes >= LOW_BYTES:
            return None
        return (
            f"data folder {self.folder}: only {self.free_bytes / 2**20:.0f} MB free "
            f"of {self.total_bytes / 2**20:.0f} MB; C-STOREs are refused once it is full"
        )


def disk_space(folder: Path) -> DiskSpace | None:
    """The filesystem holding ``folder``; ``None`` if it cannot be read."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    return DiskSpace(str(folder), usage.free, usage.total)
