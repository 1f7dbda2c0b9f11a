"""QIDO-RS (PS3.18 10.6): search for studies, series and instances.

Translates HTTP into a ``SearchRequest`` and rows into DICOM JSON; the matching lives
in ``jip.index``. No match: 204 No Content. Results cut at the server's maximum: a
``Warning: 299`` header says more can be requested with ``offset``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from jip.api.deps import get_runtime
from jip.dicomweb import column_json, search_json
from jip.dicomweb.qido_params import QidoQuery, parse_query
from jip.dicomweb.wado import base_url
from jip.errors import NotAcceptableError
from jip.index.attributes import Level
from jip.index.search import cached_plan, page_of, plan, rows_of
from jip.runtime import Runtime

router = APIRouter()

MEDIA_TYPE = "application/dicom+json"
_ACCEPTABLE = ("application/dicom+json", "application/json", "application/*", "*/*")


async def _search(request: Request, level: Level, scope: dict[str, str]) -> Response:
    """Parse on the event loop, then one hop to a worker thread for the database and
    the encoding. (Session/runtime dependencies would each cost a thread hop of their
    own, which under load adds more latency than the query itself.)"""
    runtime = get_runtime(request)
    _check_accept(request.headers.get("accept", ""))
    max_results = runtime.settings.qido_max_results
    query = parse_query(
        list(request.query_params.multi_items()), level, scope, max_results=max_results
    )
    base = base_url(request)  # JIP_DICOMWEB_PUBLIC_URL, or as the client reached us
    return await run_in_threadpool(_answer, runtime, query, level, base)


def _answer(runtime: Runtime, query: QidoQuery, level: Level, base: str) -> Response:
    with runtime.sessions() as session:
        return _answer_in(session, query, level, base, runtime.settings.qido_max_results)


def _answer_in(
    session: Session, query: QidoQuery, level: Level, base: str, max_results: int
) -> Response:
    request = query.request
    dialect = session.get_bind().dialect.name
    # pages: the same request reuses its plan and SQL (jip.index.prepared)
    make = plan if request.all_tags else cached_plan
    p = make(request, dialect=dialect)
    warnings = list(query.warnings)
    if p.unsupported:
        warnings.append(
            "The following attributes are not supported for matching: " + ", ".join(p.unsupported)
        )
    assert request.limit is not None
    wanted = request.limit - 1  # one row more than asked for tells whether there are more
    # matched attributes are returned too (PS3.18 10.6.3.3): p.returns has them
    if request.all_tags:  # image level, every tag of each instance: row by row
        encoder = search_json.RowEncoder(p.returns)
        out: list[str] = []
        more = False
        for row in rows_of(session, p, level):
            if len(out) == wanted:
                more = True
                break
            out.append(_encode(encoder, row, level, base, all_tags=True))
        count = len(out)
        text = "[" + ",".join(out) + "]"
    else:  # the whole page at once, column by column
        page = page_of(session, p, level)
        more = len(page.rows) > wanted
        rows = page.rows[:wanted]
        tags = page.tags[:wanted] if page.tags is not None else None
        count = len(rows)
        text = column_json.encode_array(
            page.keys, rows, p.returns, level, base, tags=tags, aliases=page.aliases
        )
    if more and (query.client_limit is None or query.client_limit > max_results):
        warnings.append("There are additional results that can be requested")
    headers = {"Warning": ", ".join(f'299 jip: "{w}"' for w in warnings)} if warnings else {}
    if not count:
        return Response(status_code=204, headers=headers)
    body = text.encode()
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _encode(
    encoder: search_json.RowEncoder,
    row: dict[str, Any],
    level: Level,
    base: str,
    *,
    all_tags: bool,
) -> str:
    if "InstanceAvailability" in row:
        row["InstanceAvailability"] = "ONLINE"
    if "RetrieveURL" in row:
        url = f"{base}/studies/{row['__StudyInstanceUID']}"
        if level >= Level.SERIES:
            url += f"/series/{row['__SeriesInstanceUID']}"
        if level is Level.IMAGE:
            url += f"/instances/{row['__SOPInstanceUID']}"
        row["RetrieveURL"] = url
    return encoder.encode(row, row.get("__tags") if all_tags else None)


def _check_accept(accept: str) -> None:
    if not accept.strip():
        return
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPTABLE:
            return
    raise NotAcceptableError(
        f"QIDO-RS answers with {MEDIA_TYPE}; the Accept header {accept!r} excludes it"
    )


@router.get("/studies", summary="QIDO-RS: search for studies")
async def search_studies(request: Request) -> Response:
    return await _search(request, Level.STUDY, {})


@router.get("/series", summary="QIDO-RS: search for series")
async def search_series(request: Request) -> Response:
    return await _search(request, Level.SERIES, {})


@router.get("/studies/{study}/series", summary="QIDO-RS: search for series of a study")
async def search_study_series(study: str, request: Request) -> Response:
    return await _search(request, Level.SERIES, {"StudyInstanceUID": study})


@router.get("/instances", summary="QIDO-RS: search for instances")
async def search_instances(request: Request) -> Response:
    return await _search(request, Level.IMAGE, {})


@router.get("/studies/{study}/instances", summary="QIDO-RS: search for instances of a study")
async def search_study_instances(study: str, request: Request) -> Response:
    return await _search(request, Level.IMAGE, {"StudyInstanceUID": study})


@router.get(
    "/studies/{study}/series/{series}/instances",
    summary="QIDO-RS: search for instances of a series",
)
async def search_series_instances(study: str, series: str, request: Request) -> Response:
    scope = {"StudyInstanceUID": study, "SeriesInstanceUID": series}
    return await _search(request, Level.IMAGE, scope)
