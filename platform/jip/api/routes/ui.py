"""The browser UI: the built frontend (frontend/dist) at /, with SPA fallback.

Served from the 404 handler rather than a catch-all route, so it can never shadow an
API route, whatever order routers are added in. Unknown /api and /dicomweb paths still
get the JSON 404 (in the API's error shape). Without a build a short page says how to
make one (never blank).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import jip
from jip.api.errors import http_error_response

_RESERVED = ("/api/", "/dicomweb/", "/docs", "/redoc", "/openapi.json", "/ohif/")
_NOT_BUILT = """<!doctype html><html><head><title>JIP</title></head><body>
<h1>JIP</h1><p>The browser UI is not built. Run <code>make ui</code> and reload.</p>
<p>REST API: <a href="/docs">/docs</a></p></body></html>"""


def default_ui_dir() -> Path:
    """frontend/dist of the source checkout JIP runs from."""
    return Path(jip.__file__).resolve().parents[2] / "frontend" / "dist"


def ui_response(root: Path, path: str) -> Response:
    """A file of the build, or index.html for any other path (client-side routes)."""
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    rel = path.lstrip("/")
    if rel:
        target = (root / rel).resolve()
        if target.is_file() and target.is_relative_to(root):
            immutable = rel.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(target, headers={"Cache-Control": cache})
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


def install_ui(app: FastAPI, ui_dir: Path | None = None) -> None:
    root = (ui_dir or default_ui_dir()).resolve()

    @app.exception_handler(StarletteHTTPException)
    async def _not_found_to_ui(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if (
            exc.status_code == 404
            and request.method in ("GET", "HEAD")
            and not path.startswith(_RESERVED)
            and path not in ("/api", "/dicomweb")
        ):
            return ui_response(root, path)
        return http_error_response(exc)
