"""Small helpers the CLI commands share: settings, file lists, human output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import typer
from rich.console import Console

from jip.config import Settings

console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and config file; a bad value ends the command
    with one line per setting (exit code 1) instead of pydantic's traceback."""
    try:
        return Settings(**overrides)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]).upper() if err["loc"] else ""
            name = f"JIP_{field}: " if field else ""
            message = str(err["msg"]).removeprefix("Value error, ")
            console.print(f"[red]invalid setting[/] {name}{message}", highlight=False)
        raise typer.Exit(1) from None


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, with ``--data-dir`` winning if given."""
    return load_settings(data_dir=data_dir) if data_dir is not None else load_settings()


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
