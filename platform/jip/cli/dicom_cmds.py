"""CLI commands that act as a DICOM SCU or feed files into JIP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
pacs_app = typer.Typer(help="Query and retrieve from a site PACS into JIP.")

HostOpt = Annotated[str, typer.Option(help="peer host")]


def echo(
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option(help="peer port")] = 11112,
    aet: Annotated[str, typer.Option(help="called AE title")] = "JIP",
    calling: Annotated[str, typer.Option(help="calling AE title")] = "JIPCLI",
) -> None:
    """C-ECHO a DICOM node."""
    from jip.dicom.scu import echo as do_echo

    status = do_echo(host, port, called=aet, calling=calling)
    if status != 0:
        console.print(f"[red]C-ECHO failed[/] (status 0x{status:04X})")
        raise typer.Exit(1)
    console.print(f"[green]C-ECHO ok[/] {aet}@{host}:{port}")


def send(
    paths: Annotated[list[Path], typer.Argument(help="files or folders")],
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option(help="peer port")] = 11112,
    aet: Annotated[str, typer.Option(help="called AE title")] = "JIP",
    calling: Annotated[str, typer.Option(help="calling AE title")] = "JIPCLI",
) -> None:
    """C-STORE files to a DICOM node, with a progress bar."""
    from jip.dicom.scu import send_files

    files = list(_walk(paths))
    ok, failed = send_files(files, host, port, called=aet, calling=calling, console=console)
    console.print(f"sent {ok}, failed {failed}")
    if failed:
        raise typer.Exit(1)


def import_path(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (recursive)")],
    workers: Annotated[int, typer.Option(help="parallel workers")] = max(2, os.cpu_count() or 2),
) -> None:
    """Import DICOM files into the local data folder; skips and reports non-DICOM."""
    from jip.config import Settings
    from jip.importer import import_files
    from jip.runtime import Runtime

    runtime = Runtime(Settings())
    try:
        report = import_files(runtime, list(_walk(paths)), workers=workers, console=console)
    finally:
        runtime.close()
    console.print(
        f"imported {report.stored}, duplicates {report.duplicates}, skipped {len(report.skipped)}"
    )
    for path, why in report.skipped[:50]:
        console.print(f"  [yellow]skipped[/] {path}: {why}")


def status(
    url: Annotated[str, typer.Option(help="JIP base URL")] = "",
) -> None:
    """Show what a running JIP holds."""
    import httpx

    from jip.config import Settings

    base = url or f"http://127.0.0.1:{Settings().http_port}"
    try:
        health = httpx.get(f"{base}/api/v1/health", timeout=5).json()
        stats = httpx.get(f"{base}/api/v1/statistics", timeout=5)
    except httpx.HTTPError as exc:
        console.print(f"[red]JIP not reachable at {base}[/]: {exc}")
        raise typer.Exit(1) from exc
    console.print(health)
    if stats.status_code == 200:
        console.print(stats.json())


def _walk(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            console.print(f"[yellow]not found[/] {p}")
    return out
