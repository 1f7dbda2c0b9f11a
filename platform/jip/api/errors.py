"""One handler maps the JIPError tree to HTTP responses with a clear message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from jip.errors import JIPError

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JIPError)
    async def _jip_error(request: Request, exc: JIPError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return JSONResponse(
            status_code=exc.http_status,
            content={"error": type(exc).__name__, "detail": exc.message},
        )

    @app.exception_handler(OperationalError)
    async def _index_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """The index database is unreachable (server down, connection lost, locked):
        a temporary condition of the site, so 503 with one line, not a 500 traceback."""
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        message = f"the index is unavailable: {reason}"
        log.error("%s %s failed: %s", request.method, request.url.path, message)
        return JSONResponse(status_code=503, content={"error": "StorageError", "detail": message})
