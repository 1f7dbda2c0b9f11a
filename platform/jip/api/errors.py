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
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from jip.errors import JIPError
from jip.outage import reason

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="kind of error, e.g. NotFoundError, ValidationError")
    detail: str = Field(description="what is wrong, in words")


class ValidationErrorOut(ErrorOut):
    """The body of a 422: the request does not fit the route's parameters or body."""

    errors: list[dict[str, Any]] = Field(
        description="one {loc, msg, type} per problem; loc is e.g. ['query', 'limit']"
    )


_MEANING = {
    400: "Invalid input (a filter, date, UID or request the server cannot use)",
    404: "Not found",
    406: "Not acceptable (e.g. a series without images for a thumbnail)",
    409: "Conflict with the current state",
    503: "A backend (object store, workflow engine) is unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer these error codes (OpenAPI)."""
    return {code: {"model": ErrorOut, "description": _MEANING[code]} for code in codes}


def _safe(text: object) -> str:
    """``text`` as a string that always encodes (a lone surrogate sent in JSON would
    make the error response itself fail)."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


RETRY_AFTER = {"Retry-After": "5"}
"""Sent with every 503: the site's store or index is down, try again shortly."""


def error_response(
    status: int, error: str, detail: object, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    if status == 503:
        headers = {**RETRY_AFTER, **(headers or {})}
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

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # the database refused a value the client sent (PostgreSQL: a NUL in text)
        return error_response(
            400, "InvalidInputError", f"the index cannot take a value: {reason(exc)}"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug: the traceback goes to the log with the request, the client gets no internals
        log.error(
            "%s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
        )
        return error_response(500, "InternalError", "internal error; see the server log")

    @app.exception_handler(OperationalError)
    async def _index_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """The index database is unreachable (server down, connection lost, locked):
        a temporary condition of the site, so 503 with one line, not a 500 traceback."""
        message = f"the index is unavailable: {reason(exc)}"
        log.error("%s %s failed: %s", request.method, request.url.path, message)
        return error_response(503, "StorageError", message)


def document_validation_errors(app: FastAPI) -> None:
    """Make the OpenAPI schema of every 422 the one ``_invalid`` answers with, not
    FastAPI's default (which the API no longer sends)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = ValidationErrorOut.model_json_schema()
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
