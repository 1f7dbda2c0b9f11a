"""Every error answer of the API has one shape, ``{"error": name, "detail": message}``:
the JIPError tree, HTTP errors of the framework (unknown route, wrong method), invalid
requests (422, plus ``errors``: where and what) and unexpected exceptions (500)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jip.errors import JIPError

log = logging.getLogger(__name__)


def _safe(text: object) -> str:
    """``text`` as a string that always encodes (a lone surrogate sent in JSON would
    make the error response itself fail)."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status: int, error: str, detail: object, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": error, "detail": _safe(detail), **extra},
        headers=headers,
    )


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error of the framework (404 unknown route, 405...) in the API's shape."""
    name = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    return error_response(exc.status_code, f"{name}Error", exc.detail, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JIPError)
    async def _jip_error(request: Request, exc: JIPError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return error_response(exc.http_status, type(exc).__name__, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # never echo the input: it may not even be encodable (NaN, lone surrogates)
        errors = [
            {"loc": [_safe(x) for x in e["loc"]], "msg": _safe(e["msg"]), "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return error_response(422, "ValidationError", detail, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug: the traceback goes to the log with the request, the client gets no internals
        log.error(
            "%s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
        )
        return error_response(500, "InternalError", "internal error; see the server log")
