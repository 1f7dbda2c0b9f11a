"""Dependencies of the browse routes: the shared series index and the gallery filter."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request

from jip.api.deps import RuntimeDep
from jip.catalog.filters import SORT_KEYS, SeriesFilter, build_filter
from jip.catalog.memindex import SeriesIndex
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


def series_filter(
    modality: Annotated[list[str], Query(description="e.g. CT; repeat for OR")] = [],  # noqa: B006
    body_part: Annotated[list[str], Query()] = [],  # noqa: B006
    manufacturer: Annotated[list[str], Query()] = [],  # noqa: B006
    model: Annotated[list[str], Query(description="manufacturer model name")] = [],  # noqa: B006
    institution: Annotated[list[str], Query()] = [],  # noqa: B006
    patient_sex: Annotated[list[str], Query(description="M, F, O")] = [],  # noqa: B006
    description: Annotated[list[str], Query(description="exact series description")] = [],  # noqa: B006
    date_from: Annotated[str | None, Query(description="study date, YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, Query(description="study date, YYYY-MM-DD")] = None,
    age_min: Annotated[float | None, Query(ge=0, le=200)] = None,
    age_max: Annotated[float | None, Query(ge=0, le=200)] = None,
    thickness_min: Annotated[float | None, Query(ge=0, description="mm")] = None,
    thickness_max: Annotated[float | None, Query(ge=0, description="mm")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="words in series/study description")
    ] = None,
    cohort: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="only members of this cohort")
    ] = None,
) -> SeriesFilter:
    return build_filter(
        modality=modality,
        body_part=body_part,
        manufacturer=manufacturer,
        model=model,
        institution=institution,
        patient_sex=patient_sex,
        description=description,
        date_from=date_from,
        date_to=date_to,
        age_min=age_min,
        age_max=age_max,
        thickness_min=thickness_min,
        thickness_max=thickness_max,
        q=q,
        cohort=cohort,
    )


SeriesFilterDep = Annotated[SeriesFilter, Depends(series_filter)]
