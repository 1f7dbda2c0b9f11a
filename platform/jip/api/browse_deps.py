"""Dependencies of the browse routes: the shared series index and the gallery filter."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request

from jip.api.deps import RuntimeDep
from jip.catalog.filters import SORT_KEYS, SeriesFilter
from jip.catalog.memindex import SeriesIndex
from jip.catalog.schemas import FilterParams
from jip.errors import InvalidInputError
from jip.index.db import DB_INT_MAX
from jip.runtime import Runtime

log = logging.getLogger(__name__)

_create_lock = threading.Lock()


def _index_of(app: FastAPI, runtime: Runtime) -> SeriesIndex:
    index: SeriesIndex | None = getattr(app.state, "series_index", None)
    if index is None:
        with _create_lock:
            index = getattr(app.state, "series_index", None)
            if index is None:
                index = SeriesIndex(runtime.engine)
                app.state.series_index = index
    return index


def start_series_index(app: FastAPI, runtime: Runtime) -> None:
    """Load the index in the background at start-up, so the first gallery page does not
    pay for it (requests meanwhile wait for the load, then see complete results)."""

    def _load() -> None:
        try:
            _index_of(app, runtime).sync()
        except Exception:  # the first request will retry and report the error
            log.warning("series index warm-up failed", exc_info=True)

    threading.Thread(target=_load, name="jip-series-index-warmup", daemon=True).start()


def get_series_index(request: Request, runtime: RuntimeDep) -> SeriesIndex:
    """One index per app, synced with the database on every request."""
    index = _index_of(request.app, runtime)
    index.sync()
    return index


SeriesIndexDep = Annotated[SeriesIndex, Depends(get_series_index)]

# the paging and sorting parameters every browse listing shares
PageLimit = Annotated[int, Query(ge=1, le=500)]
PageOffset = Annotated[int, Query(ge=0, le=DB_INT_MAX)]
SeriesSort = Annotated[str, Query(description=f"one of {', '.join(SORT_KEYS)}; '-' = descending")]
FacetTop = Annotated[int, Query(ge=1, le=500, description="values per facet")]


def series_filter(params: Annotated[FilterParams, Query()]) -> SeriesFilter:
    return params.to_filter()


def only_params(*route_params: str) -> Any:
    """Dependency refusing query parameters a filtered listing does not take: ignored,
    a misspelt filter (``?modalty=CT``) would silently select every series."""
    known = set(FilterParams.model_fields) | set(route_params)

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown query parameter {', '.join(map(repr, unknown))}; "
                f"this route takes {', '.join(sorted(known))}"
            )

    return Depends(check)


SeriesFilterDep = Annotated[SeriesFilter, Depends(series_filter)]
