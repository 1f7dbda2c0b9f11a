"""Small helpers the CLI commands share: settings, file lists, human output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import typer
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from jip.config import ConfigFileError, Settings

if TYPE_CHECKING:
    from jip.files import FoundFiles

console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and config file; a bad value ends the command
    with one line per setting (exit code 1) instead of pydantic's traceback. Values
    themselves are never printed (they may be passwords)."""
    try:
        return Settings(**overrides)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            name = f"JIP_{loc[0].upper()}" if loc else ""
            if len(loc) > 1:  # inside a mapping or list: JIP_PEERS (PACS.ae_title)
                name += f" ({'.'.join(loc[1:])})"
            message = str(err["msg"]).removeprefix("Value error, ")
            _setting_error(f"{name}: {message}" if name else message)
    except SettingsError as exc:  # a list or mapping setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        field = found.group(1) if found else ""
        example = _JSON_EXAMPLES.get(field, '["A", "B"]')
        _setting_error(f"JIP_{field.upper()}: must be JSON, e.g. {example}")
    except ConfigFileError as exc:
        _setting_error(f"JIP_CONFIG: {exc}")
    raise typer.Exit(1)


_JSON_EXAMPLES = {"peers": '{"PACS": {"ae_title": "PACS", "host": "pacs", "port": 104}}'}


def _setting_error(line: str) -> None:
    console.print(f"[red]invalid setting[/] {escape(line)}", highlight=False)


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, with ``--data-dir`` winning if given."""
    return load_settings(data_dir=data_dir) if data_dir is not None else load_settings()


def files_from(paths: list[Path]) -> FoundFiles:
    """All regular files under ``paths``, with what was skipped or could not be read;
    a missing path ends the command (exit code 2), finding no file at all exit code 1."""
    from jip.files import walk_files

    try:
        found = walk_files(paths)
    except FileNotFoundError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    if not found.files:
        print_rows("skipped", found.skipped)
        print_rows("failed", found.unreadable)
        console.print(f"[red]no files found[/] in {escape(' '.join(map(str, paths)))}")
        raise typer.Exit(1)
    return found


def print_rows(what: str, rows: list[tuple[str, str]], limit: int = 20) -> None:
    for path, why in rows[:limit]:  # escaped: a file may be called "[bold]x"
        console.print(f"  [yellow]{what}[/] {escape(path)}: {escape(why)}")
    if len(rows) > limit:
        console.print(f"  ... and {len(rows) - limit} more {what}")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
