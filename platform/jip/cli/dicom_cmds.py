"""CLI commands that act as a DICOM SCU or feed files into JIP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jip.cli.options import ae_title_option
from jip.cli.pacs_cmds import pacs_app  # noqa: F401 - registered by jip.cli.main

console = Console(stderr=True)

HostOpt = Annotated[str, typer.Option(help="peer host")]
PortOpt = Annotated[
    int | None, typer.Option(min=1, max=65535, help="peer port (default: JIP_DICOM_PORT)")
]
AetOpt = Annotated[
    str | None,
    typer.Option(callback=ae_title_option, help="called AE title (default: JIP_AE_TITLE)"),
]
CallingOpt = Annotated[str, typer.Option(callback=ae_title_option, help="calling AE title")]


def _peer(port: int | None, aet: str | None) -> tuple[int, str]:
    """Port and called AE title, those not given from the settings (this site's own)."""
    if port is not None and aet is not None:
        return port, aet
    from jip.cli.common import load_settings

    settings = load_settings()
    return port or settings.dicom_port, aet or settings.ae_title


def echo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = None,
    aet: AetOpt = None,
    calling: CallingOpt = "JIPCLI",
) -> None:
    """C-ECHO a DICOM node (exit code 0 only if it answered success)."""
    from jip.dicom.scu import AssociationFailed
    from jip.dicom.scu import echo as do_echo

    port, aet = _peer(port, aet)
    try:
        status = do_echo(host, port, called=aet, calling=calling)
    except AssociationFailed as exc:
        console.print(f"[red]C-ECHO failed[/]: {exc.message}")
        raise typer.Exit(1) from exc
    if status != 0:
        console.print(f"[red]C-ECHO failed[/] (status 0x{status:04X})")
        raise typer.Exit(1)
    console.print(f"[green]C-ECHO ok[/] {aet}@{host}:{port}")


def send(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (recursive)")],
    host: HostOpt = "127.0.0.1",
    port: PortOpt = None,
    aet: AetOpt = None,
    calling: CallingOpt = "JIPCLI",
) -> None:
    """C-STORE files to a DICOM node, bytes unchanged, with a progress bar.
    Non-DICOM files are skipped and listed; exit code 1 if any file was refused."""
    from jip.cli.common import files_from, print_rows
    from jip.dicom.scu import AssociationFailed
    from jip.dicom.scu import send as do_send

    port, aet = _peer(port, aet)
    found = files_from(paths)
    try:
        report = do_send(found.files, host, port, called=aet, calling=calling, console=console)
    except AssociationFailed as exc:
        console.print(f"[red]send failed[/]: {escape(exc.message)}")
        raise typer.Exit(1) from exc
    report.skipped[:0] = found.skipped
    report.failed[:0] = found.unreadable  # a folder not read is a failure, not a skip
    console.print(
        f"sent [green]{report.sent}[/], skipped {len(report.skipped)} (not DICOM), "
        f"failed [red]{len(report.failed)}[/]  -> {aet}@{host}:{port}"
    )
    print_rows("skipped", report.skipped)
    print_rows("failed", report.failed)
    if report.failed:
        raise typer.Exit(1)


DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data folder (default: JIP_DATA_DIR)")
]


def import_path(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (recursive)")],
    workers: Annotated[int, typer.Option(min=1, help="parallel workers")] = max(
        2, os.cpu_count() or 2
    ),
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import DICOM files into this site's store and index (as if received).
    Non-DICOM and broken files are skipped and reported; exit code 1 if the store or
    index failed, or a file or folder could not be read."""
    from jip.cli.common import files_from, human_size, print_rows, settings_for
    from jip.errors import JIPError
    from jip.importer import import_files
    from jip.runtime import Runtime

    found = files_from(paths)
    try:
        runtime = Runtime(settings_for(data_dir))
    except JIPError as exc:
        console.print(f"[red]cannot open the site[/]: {escape(exc.message)}")
        raise typer.Exit(1) from exc
    try:
        report = import_files(runtime, found.files, workers=workers, console=console)
    finally:
        runtime.close()
    report.skipped[:0] = found.skipped
    report.failed[:0] = found.unreadable
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    console.print(
        f"imported [green]{report.stored}[/] ({human_size(report.bytes_stored)}), "
        f"duplicates {report.duplicates}, conflicts {report.conflicts}, "
        f"skipped [yellow]{len(report.skipped)}[/], failed [red]{len(report.failed)}[/] "
        f"of {report.total} files"
    )
    print_rows("skipped", report.skipped)
    print_rows("failed", report.failed)
    if report.failed:
        raise typer.Exit(1)


def status(
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """What this site holds (from its index) and, if it is up, where it listens."""
    from rich.table import Table

    from jip.cli.common import human_size, settings_for
    from jip.site_status import collect_status

    settings = settings_for(data_dir)
    if not settings.data_dir.is_dir():  # a typo or another working folder: not "empty"
        what = "is not a folder" if settings.data_dir.exists() else "does not exist"
        console.print(
            f"[red]no JIP site here[/]: {escape(str(settings.data_dir))} {what} "
            "(JIP_DATA_DIR or --data-dir)",
            highlight=False,
        )
        raise typer.Exit(1)
    st = collect_status(settings)
    if json_out:
        typer.echo(json.dumps(st.as_dict(), indent=2))
        raise typer.Exit(1 if st.index_error else 0)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("data", escape(st.data_dir))
    table.add_row("object store", escape(st.backends["store"]))
    table.add_row("index", escape(st.backends["index"]))
    if st.index_error:
        table.add_row("index error", f"[red]{escape(st.index_error)}[/]")
    for name, n in st.counts.items():
        table.add_row(name, f"{n:,}")
    table.add_row("stored", human_size(st.stored_bytes))
    if st.disk_free_bytes is not None and st.disk_total_bytes is not None:
        free = f"{human_size(st.disk_free_bytes)} of {human_size(st.disk_total_bytes)}"
        table.add_row("disk free", f"[red]{free}[/]" if st.disk_warning else free)
    if st.running:
        table.add_row("running", f"[green]yes[/] (pid {escape(st.pid)})")
        for name, where in st.listening.items():
            table.add_row(f"  {name}", where)
    else:
        table.add_row("running", "no")
    Console().print(table)
    if st.index_error:
        raise typer.Exit(1)
