"""``jip pacs query`` and ``jip pacs retrieve``: look into the site PACS and pull
studies/series into JIP. Adapters only: the DICOM work is in ``jip.dicom.pacs``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from jip.cli.options import ae_title_option
from jip.errors import JIPError

pacs_app = typer.Typer(help="Query and retrieve from a site PACS into JIP.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

PeerOpt = Annotated[
    str, typer.Option(help="PACS: its name or AE title in settings.peers (default: the only peer)")
]
PatientIdOpt = Annotated[str, typer.Option(help="Patient ID (wildcards * ?)")]
PatientNameOpt = Annotated[str, typer.Option(help="Patient name, e.g. 'DOE^*'")]
StudyDateOpt = Annotated[str, typer.Option(help="YYYYMMDD or range YYYYMMDD-YYYYMMDD")]
AccessionOpt = Annotated[str, typer.Option(help="accession number")]
ModalityOpt = Annotated[str, typer.Option(help="modality, e.g. CT")]
DescriptionOpt = Annotated[str, typer.Option(help="study description (wildcards)")]

_COLUMNS = {
    "STUDY": [
        ("PatientID", "patient"),
        ("PatientName", "name"),
        ("StudyDate", "date"),
        ("ModalitiesInStudy", "mod"),
        ("StudyDescription", "description"),
        ("NumberOfStudyRelatedSeries", "series"),
        ("NumberOfStudyRelatedInstances", "inst"),
        ("StudyInstanceUID", "study UID"),
    ],
    "SERIES": [
        ("PatientID", "patient"),
        ("SeriesNumber", "#"),
        ("Modality", "mod"),
        ("SeriesDescription", "description"),
        ("NumberOfSeriesRelatedInstances", "inst"),
        ("StudyInstanceUID", "study UID"),
        ("SeriesInstanceUID", "series UID"),
    ],
}


def _filters(**given: str) -> dict[str, str]:
    from jip.dicom.pacs import FILTER_KEYWORDS

    return {FILTER_KEYWORDS[k]: v for k, v in given.items() if v}


@pacs_app.command("query")
def query(
    peer: PeerOpt = "",
    level: Annotated[str, typer.Option(help="study or series")] = "study",
    patient_id: PatientIdOpt = "",
    patient_name: PatientNameOpt = "",
    study_date: StudyDateOpt = "",
    accession: AccessionOpt = "",
    modality: ModalityOpt = "",
    description: DescriptionOpt = "",
    study_uid: Annotated[str, typer.Option(help="Study Instance UID")] = "",
    series_uid: Annotated[str, typer.Option(help="Series Instance UID (series level)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """C-FIND studies or series on the PACS and show them as a table."""
    from jip.cli.common import load_settings
    from jip.dicom.pacs import find, resolve_peer

    lvl = level.upper()
    if lvl not in ("STUDY", "SERIES"):
        console.print(f"[red]--level must be study or series[/] (got {level!r})")
        raise typer.Exit(2)
    filters = _filters(
        patient_id=patient_id, patient_name=patient_name, study_date=study_date,
        accession=accession, modality=modality, description=description,
        study_uid=study_uid, series_uid=series_uid,
    )
    try:
        settings = load_settings()
        pacs = resolve_peer(settings, peer or None)
        matches = find(pacs, lvl, filters, calling=settings.ae_title)  # type: ignore[arg-type]
    except JIPError as exc:
        console.print(f"[red]query failed:[/] {exc.message}")
        raise typer.Exit(2) from exc
    if as_json:
        for m in matches:
            out.print_json(json.dumps(m.values), indent=None)
        return
    table = Table(title=f"{pacs.ae_title}: {len(matches)} {lvl.lower()} match(es)")
    for _, header in _COLUMNS[lvl]:
        table.add_column(header, overflow="fold")
    for m in matches:
        table.add_row(*(m.values.get(kw, "") for kw, _ in _COLUMNS[lvl]))
    out.print(table)


@pacs_app.command("retrieve")
def retrieve(
    study: Annotated[list[str] | None, typer.Option(help="Study Instance UID (repeat)")] = None,
    series: Annotated[
        list[str] | None, typer.Option(help="Series Instance UID (repeat)")
    ] = None,
    peer: PeerOpt = "",
    patient_id: PatientIdOpt = "",
    patient_name: PatientNameOpt = "",
    study_date: StudyDateOpt = "",
    accession: AccessionOpt = "",
    modality: ModalityOpt = "",
    description: DescriptionOpt = "",
    destination: Annotated[
        str | None,
        typer.Option(
            callback=ae_title_option, help="move destination AE (default: JIP's own AE title)"
        ),
    ] = None,
) -> None:
    """C-MOVE studies/series from the PACS into the running JIP (known to the PACS as a
    move destination). Select by UIDs or by the query filters."""
    from jip.cli.common import load_settings
    from jip.dicom.pacs import (
        MoveCancelled,
        MoveProgress,
        MoveTarget,
        find,
        move,
        resolve_peer,
        series_targets,
    )

    filters = _filters(
        patient_id=patient_id, patient_name=patient_name, study_date=study_date,
        accession=accession, modality=modality, description=description,
    )
    if not (study or series or filters):
        console.print("[red]nothing selected:[/] give --study/--series UIDs or query filters")
        raise typer.Exit(2)
    try:
        settings = load_settings()
        pacs = resolve_peer(settings, peer or None)
        calling = settings.ae_title
        targets = [MoveTarget(uid) for uid in study or []]
        targets += series_targets(pacs, list(series or []), calling=calling)
        if filters:
            targets += [
                MoveTarget(m.study_uid) for m in find(pacs, "STUDY", filters, calling=calling)
            ]
        targets = list(dict.fromkeys(targets))
        if not targets:
            console.print("no matching studies on the PACS")
            return
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console,
        ) as progress:
            tasks: dict[MoveTarget, TaskID] = {}

            def show(p: MoveProgress) -> None:
                if p.target not in tasks:
                    uid = p.target.series_uid or p.target.study_uid
                    label = f"{p.target.level.lower()} …{uid[-12:]}"
                    tasks[p.target] = progress.add_task(label, total=None)
                progress.update(
                    tasks[p.target], total=p.total or None,
                    completed=p.completed + p.failed + p.warning,
                )

            report = move(
                pacs, targets, destination=destination or settings.ae_title,
                calling=calling, on_progress=show,
            )
    except MoveCancelled as exc:
        console.print(
            f"[yellow]cancelled[/]: {exc.report.completed} instance(s) had arrived; "
            "the PACS was sent a C-CANCEL"
        )
        raise typer.Exit(130) from exc
    except JIPError as exc:
        console.print(f"[red]retrieve failed:[/] {exc.message}")
        raise typer.Exit(2) from exc
    console.print(
        f"moved {report.completed} instance(s) of {len(targets)} target(s) into "
        f"{destination or settings.ae_title}; failed {report.failed}, warning {report.warning}"
    )
    for m in report.moves:
        if m.status != 0:
            console.print(f"  [yellow]{m.target}[/]: status 0x{m.status:04X}")
    if not report.ok or report.failed:
        raise typer.Exit(1)
