"""Rows of a search plan, fast when the same plan runs again.

Executing a plan through SQLAlchemy (a cache key over the whole statement, result
metadata, a ``Row`` object per row) cost ~2 ms of a 1,000-row QIDO-RS page on the
loaded test machine. The first run of a plan records the SQL text and parameters the
driver received; a later run of the same plan (``search.cached_plan`` hands out the
same plan for the same request) sends them as they are. Where no selected column
needs a result processor (text and integers: no JSON), the driver's row tuples are
taken as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from jip.index.search import SearchPlan


def page_rows(conn: Connection, p: SearchPlan) -> tuple[list[str], list[Sequence[Any]]]:
    """``(column labels, rows)`` of all rows of ``p`` (its statement carries the limit)."""
    if p.prepared is not None:
        sql, parameters = p.prepared
        result = conn.exec_driver_sql(sql, parameters)
        keys = list(result.keys())
        rows = list(result.cursor.fetchall())
        result.close()
        return keys, rows
    result = conn.execute(p.statement)
    keys = list(result.keys())
    if not _plain_columns(p, conn):
        return keys, list(result.fetchall())
    rows = list(result.cursor.fetchall())
    context = result.context
    result.close()
    if len(context.parameters) == 1:  # one parameter set: what the driver ran
        p.prepared = (context.statement, context.parameters[0])
    return keys, rows


def _plain_columns(p: SearchPlan, conn: Connection) -> bool:
    """True when the driver's values are the results: no column has a processor."""
    if p.plain_columns is None:
        dialect = conn.dialect
        p.plain_columns = all(
            column.type.result_processor(dialect, None) is None
            for column in p.statement.selected_columns
        )
    return p.plain_columns
