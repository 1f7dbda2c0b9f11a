"""Bulk import of files from disk, in parallel, reporting what is not DICOM."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from jip.errors import JIPError
from jip.index.records import StoreOutcome
from jip.runtime import Runtime


@dataclass
class ImportReport:
    stored: int = 0
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def import_files(
    runtime: Runtime, files: list[Path], *, workers: int = 4, console: Console | None = None
) -> ImportReport:
    report = ImportReport()

    def one(path: Path) -> tuple[Path, StoreOutcome | None, str]:
        try:
            data = path.read_bytes()
            return path, runtime.ingestor.ingest(data).outcome, ""
        except JIPError as exc:
            return path, None, exc.message
        except OSError as exc:
            return path, None, str(exc)

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("importing", total=len(files))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for path, outcome, why in pool.map(one, files):
                if outcome is None:
                    report.skipped.append((str(path), why))
                elif outcome is StoreOutcome.STORED:
                    report.stored += 1
                else:
                    report.duplicates += 1
                progress.advance(task)
    return report
