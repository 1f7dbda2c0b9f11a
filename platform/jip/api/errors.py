"""One handler maps the JIPError tree to HTTP responses with a clear message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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
