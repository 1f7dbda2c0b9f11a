"""Builds the FastAPI application around a Runtime."""

from __future__ import annotations

from fastapi import FastAPI

from jip import __version__
from jip.api.browse_deps import start_series_index
from jip.api.errors import document_validation_errors, install_error_handlers
from jip.api.routes import cohorts, facets, health, series, statistics, studies, ui
from jip.api.routes import pipelines as pipelines_routes
from jip.api.routes import segmentations as segmentations_routes
from jip.api.routes.gallery import router as gallery_router
from jip.api.routes.thumbnails import router as thumbnails_router
from jip.dicomweb.router import router as dicomweb_router
from jip.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="JIP - Joint Imaging Platform",
        version=__version__,
        description="REST API (/api/v1) and DICOMweb (/dicomweb) of a JIP site.",
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    document_validation_errors(app)
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(pipelines_routes.router, prefix="/api/v1")
    app.include_router(dicomweb_router)
    app.include_router(thumbnails_router, prefix="/api/v1")
    # browse API and UI (issue 4)
    for browse in (series.router, facets.router, studies.router, statistics.router):
        app.include_router(browse, prefix="/api/v1")
    app.include_router(cohorts.router, prefix="/api/v1")
    app.include_router(segmentations_routes.router, prefix="/api/v1")  # SEG overlays
    app.include_router(gallery_router, prefix="/api/v1")  # /series + /facets in one
    start_series_index(app, runtime)
    ui.install_ui(app, runtime.settings.ui_dir)
    return app
