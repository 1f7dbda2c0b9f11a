"""The ``jip`` command line: start the platform and talk to DICOM nodes."""

from __future__ import annotations

import errno
import signal
import socket
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from jip.cli import dicom_cmds, pipeline_cmds

app = typer.Typer(help="JIP - the Joint Imaging Platform", no_args_is_help=True)
app.add_typer(dicom_cmds.pacs_app, name="pacs")
app.command("echo")(dicom_cmds.echo)
app.command("send")(dicom_cmds.send)
app.command("import")(dicom_cmds.import_path)
app.command("status")(dicom_cmds.status)
# pipelines (issue 5)
app.add_typer(pipeline_cmds.algorithms_app, name="algorithms")
app.add_typer(pipeline_cmds.runs_app, name="runs")
app.add_typer(pipeline_cmds.triggers_app, name="triggers")
app.add_typer(pipeline_cmds.pipeline_app, name="pipeline")
app.command("run")(pipeline_cmds.run)

console = Console(stderr=True)


@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="data folder (JIP_DATA_DIR)")] = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP port (JIP_HTTP_PORT)")] = None,
    dicom_port: Annotated[int | None, typer.Option(help="DICOM port (JIP_DICOM_PORT)")] = None,
) -> None:
    """Start the embedded platform: REST API, DICOMweb, UI and the DICOM listener."""
    import uvicorn

    from jip.api.app import create_app
    from jip.cli.common import load_settings
    from jip.dicom.server import start_dicom_server
    from jip.logs import setup_logging
    from jip.runtime import Runtime
    from jip.site_lock import SiteLock

    overrides: dict[str, Any] = {
        k: v
        for k, v in {"data_dir": data_dir, "http_port": http_port, "dicom_port": dicom_port}.items()
        if v is not None
    }
    settings = load_settings(**overrides)
    setup_logging()
    from jip.errors import JIPError

    try:
        settings.ensure_dirs()
        site_lock = SiteLock(settings.data_dir)  # one site per data folder
    except JIPError as exc:
        console.print(f"[red]JIP cannot start[/]: {escape(exc.message)}")
        raise typer.Exit(1) from exc
    host = settings.bind_host
    # both ports are taken before anything starts or "JIP is up" is printed: a port in
    # use is the commonest way a first start fails (another PACS on 11112, a dev server
    # on 8080), and it deserves one clear line, not a traceback after the banner
    http_socket = _listen_or_exit(host, settings.http_port, "HTTP", "JIP_HTTP_PORT")
    try:
        runtime = Runtime(settings)
    except JIPError as exc:  # store or index unreachable / misconfigured
        http_socket.close()
        console.print(f"[red]JIP cannot start[/]: {escape(exc.message)}")
        raise typer.Exit(1) from exc
    try:
        dicom = start_dicom_server(runtime)
    except OSError as exc:
        http_socket.close()
        runtime.close()
        _exit_port_in_use(exc, host, settings.dicom_port, "DICOM", "JIP_DICOM_PORT")
    runtime.start_background()
    url = f"http://{host}:{settings.http_port}/"
    console.print(f"[bold green]JIP is up[/]  data: {escape(str(settings.data_dir.resolve()))}")
    console.print(f"  browser UI   {url}")
    console.print(f"  REST API     {url}api/v1  (OpenAPI: {url}docs)")
    console.print(f"  DICOMweb     {url}dicomweb")
    console.print(f"  DICOM        {settings.ae_title}@{host}:{settings.dicom_port}")
    backends = runtime.describe_backends()
    console.print(f"  object store {escape(backends['store'])}")
    console.print(f"  index        {escape(backends['index'])}")
    console.print("  auth         off (no login yet, so loopback only)")
    config = uvicorn.Config(
        create_app(runtime), host=host, port=settings.http_port, log_config=None, workers=1
    )
    server = uvicorn.Server(config)
    stop = threading.Event()

    def _term(*_: object) -> None:
        server.should_exit = True
        stop.set()

    signal.signal(signal.SIGTERM, _term)
    from jip.gc_tuning import freeze_startup_heap

    freeze_startup_heap()  # no full collection walks the start-up objects again
    try:
        server.run(sockets=[http_socket])
    finally:
        dicom.shutdown()
        runtime.close()
        site_lock.release()
        console.print("JIP stopped.")


def _listen_or_exit(host: str, port: int, what: str, variable: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` (as uvicorn would open it), or exit 1
    with one line naming the setting to change."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        console.print(f"[red]JIP cannot start[/]: {what} address {host}:{port}: {exc}")
        raise typer.Exit(1) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        _exit_port_in_use(exc, host, port, what, variable)
    return sock


def _exit_port_in_use(exc: OSError, host: str, port: int, what: str, variable: str) -> NoReturn:
    if exc.errno == errno.EADDRINUSE:
        reason = "is already in use by another program"
    elif exc.errno == errno.EACCES:
        reason = "is privileged: listening on it needs root"
    else:
        reason = f"cannot be opened ({exc.strerror or exc})"
    console.print(
        f"[red]JIP cannot start[/]: {what} port {port} on {host} {reason}; "
        f"choose another with {variable} or --{what.lower()}-port"
    )
    raise typer.Exit(1) from exc


if __name__ == "__main__":
    app()
