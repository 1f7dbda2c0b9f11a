"""Request dependencies: routes get the runtime and a session, never build them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from jip.index.db import DB_INT_MAX
from jip.runtime import Runtime

#: the integer id of a row (cohort, trigger, result) in a URL path
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
