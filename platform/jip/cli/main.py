"""The ``jip`` command line: start the platform and talk to DICOM nodes."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

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
    from jip.config import Settings
    from jip.dicom.server import start_dicom_server
    from jip.logs import setup_logging
    from jip.runtime import Runtime

    overrides: dict[str, Any] = {
        k: v
        for k, v in {"data_dir": data_dir, "http_port": http_port, "dicom_port": dicom_port}.items()
        if v is not None
    }
    settings = Settings(**overrides)
    setup_logging()
    from jip.errors import JIPError

    try:
        runtime = Runtime(settings)
    except JIPError as exc:  # store or index unreachable / misconfigured
        console.print(f"[red]JIP cannot start[/]: {exc.message}")
        raise typer.Exit(1) from exc
    dicom = start_dicom_server(runtime)
    runtime.start_background()
    host = settings.bind_host
    url = f"http://{host}:{settings.http_port}/"
    console.print(f"[bold green]JIP is up[/]  data: {settings.data_dir.resolve()}")
    console.print(f"  browser UI   {url}")
    console.print(f"  REST API     {url}api/v1  (OpenAPI: {url}docs)")
    console.print(f"  DICOMweb     {url}dicomweb")
    console.print(f"  DICOM        {settings.ae_title}@{host}:{settings.dicom_port}")
    backends = runtime.describe_backends()
    console.print(f"  object store {backends['store']}")
    console.print(f"  index        {backends['index']}")
    console.print(f"  auth         {settings.auth}")
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
        server.run()
    finally:
        dicom.shutdown()
        runtime.close()
        console.print("JIP stopped.")


if __name__ == "__main__":
    app()
