"""Bulk import of files from disk, in parallel, reporting what is not DICOM.

Every file goes through the same ``Ingestor`` as a C-STORE, so an imported object is
exactly as durable and as validated as a received one. Files that are not DICOM (or
are broken DICOM) are skipped with the reason; store/index failures and files that
cannot be read are counted apart, because the site or the disk has a problem, not the
file's content.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from jip.errors import DicomError, JIPError
from jip.index.records import StoreOutcome
from jip.runtime import Runtime


@dataclass
class ImportReport:
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bytes_stored: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not (valid) DICOM
    failed: list[tuple[str, str]] = field(default_factory=list)  # store/index/read errors

    @property
    def total(self) -> int:
        return self.stored + self.duplicates + self.conflicts + len(self.skipped) + len(self.failed)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.total,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "bytes_stored": self.bytes_stored,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
        }


def _read_if_dicom(path: Path) -> bytes:
    """Read a Part 10 file; anything without the ``DICM`` prefix is refused after
    132 bytes, so a folder of large non-DICOM files costs almost nothing."""
    with path.open("rb") as fh:
        head = fh.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            raise DicomError("not a DICOM Part 10 file (no DICM prefix)")
        return head + fh.read()


def import_files(
    runtime: Runtime, files: list[Path], *, workers: int = 4, console: Console | None = None
) -> ImportReport:
    """Ingest ``files`` with ``workers`` threads, showing a progress bar on ``console``."""
    report = ImportReport()

    def one(path: Path) -> tuple[Path, StoreOutcome | str, str, int]:
        """(path, outcome or "skipped"/"failed", reason, bytes stored)"""
        try:
            data = _read_if_dicom(path)
            return path, runtime.ingestor.ingest(data).outcome, "", len(data)
        except DicomError as exc:
            return path, "skipped", exc.message, 0
        except OSError as exc:
            return path, "failed", f"cannot read: {exc.strerror or exc}", 0
        except JIPError as exc:
            return path, "failed", exc.message, 0

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, console=console, transient=True) as progress,
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
    ):
        task = progress.add_task("importing", total=len(files))
        for path, outcome, why, size in pool.map(one, files):
            if outcome is StoreOutcome.STORED:
                report.stored += 1
                report.bytes_stored += size
            elif outcome is StoreOutcome.DUPLICATE:
                report.duplicates += 1
            elif outcome is StoreOutcome.CONFLICT:
                report.conflicts += 1
            elif outcome == "failed":
                report.failed.append((str(path), why))
            else:
                report.skipped.append((str(path), why))
            progress.advance(task)
    return report
