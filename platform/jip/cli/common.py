"""Small helpers the CLI commands share: settings, file lists, human output."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from jip.config import Settings

console = Console(stderr=True)


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, with ``--data-dir`` winning if given."""
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def files_from(paths: list[Path]) -> list[Path]:
    """All files under ``paths``; a missing path ends the command (exit code 2)."""
    from jip.files import walk_files

    try:
        return list(walk_files(paths))
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc


def print_rows(what: str, rows: list[tuple[str, str]], limit: int = 20) -> None:
    for path, why in rows[:limit]:
        console.print(f"  [yellow]{what}[/] {path}: {why}")
    if len(rows) > limit:
        console.print(f"  ... and {len(rows) - limit} more {what}")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
