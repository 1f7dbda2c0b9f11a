"""Hierarchical search over the index: one level, key matches, return keys, paging.

QIDO-RS and C-FIND translate their requests into a ``SearchRequest`` and get plain
rows back (``{keyword: value}``); encoding to DICOM JSON or datasets is theirs.

Query shape: one SELECT over the level's table joined upwards by primary keys
(instance -> series -> study -> patient), ordered by the level's primary key so that
``limit``/``offset`` pages are stable. Attributes the index has no column for are
matched on the flattened instance tags and returned from a representative instance
(the one with the smallest SOP Instance UID of the series or study).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Select,
    Table,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, aliased

from jip.errors import InvalidInputError
from jip.index.attributes import ATTRIBUTES, SERVICE_ATTRIBUTES, UNIQUE_KEY, Level, vr_of
from jip.index.matching import FLOAT_VRS, INT_VRS, condition
from jip.index.models import Instance, Patient, Series, Study
from jip.index.prepared import page_rows

_TABLES: dict[str, Any] = {
    "patients": Patient,
    "studies": Study,
    "series": Series,
    "instances": Instance,
}
_ROW_KEY = {  # the column that identifies a row of each level (and orders results)
    Level.PATIENT: Patient.id,
    Level.STUDY: Study.study_uid,
    Level.SERIES: Series.series_uid,
    Level.IMAGE: Instance.sop_instance_uid,
}
_CHUNK = 500


@dataclass
class SearchRequest:
    """What to look for. ``matches`` maps keywords to DICOM key values (PS3.4 rules);
    ``returns`` lists keywords to answer with; ``all_tags`` adds every flattened tag
    of the instance (image level) or of a representative instance."""

    level: Level
    matches: dict[str, str] = field(default_factory=dict)
    returns: list[str] = field(default_factory=list)
    all_tags: bool = False
    limit: int | None = None
    offset: int = 0


@dataclass
class SearchPlan:
    statement: Select[Any]
    returns: list[str]
    unsupported: list[str]
    needs_tags: bool  # rows need tags from a representative instance, or all tags
    tag_keywords: list[str] = field(default_factory=list)  # returned, without a column
    # labels not selected because another label selects the same column: {label: that one}
    aliases: dict[str, str] = field(default_factory=dict)
    # filled by jip.index.prepared on the first run: the driver's SQL text and parameters,
    # and whether the driver's values need no result processing
    prepared: tuple[str, Any] | None = None
    plain_columns: bool | None = None


def cached_plan(request: SearchRequest, *, dialect: str) -> SearchPlan:
    """``plan`` for ``request``, the same plan object for the same request (keys,
    values, returns, paging): it is built once and its SQL runs without SQLAlchemy's
    execution layer (``jip.index.prepared``). Callers must not change it."""
    key = (
        request.level,
        tuple(request.matches.items()),
        tuple(request.returns),
        request.all_tags,
        request.limit,
        request.offset,
        dialect,
    )
    return _plan_for(key)


@lru_cache(maxsize=256)
def _plan_for(key: tuple[Any, ...]) -> SearchPlan:
    level, matches, returns, all_tags, limit, offset, dialect = key
    request = SearchRequest(level, dict(matches), list(returns), all_tags, limit, offset)
    return plan(request, dialect=dialect)


def column_of(keyword: str, level: Level | None = None) -> Any:
    """The column holding ``keyword``; searched at ``level``, values the level's own
    table carries (parent UIDs, the denormalised study date) are read from it, so no
    join is needed and the level's indexes apply."""
    if level is Level.SERIES and keyword == "StudyInstanceUID":
        return Series.study_uid
    if level is Level.SERIES and keyword == "StudyDate":
        return Series.study_date
    if level is Level.IMAGE and keyword == "StudyInstanceUID":
        return Instance.study_uid
    if level is Level.IMAGE and keyword == "SeriesInstanceUID":
        return Instance.series_uid
    attr = ATTRIBUTES[keyword]
    assert attr.column is not None
    table, col = attr.column.split(".")
    return getattr(_TABLES[table], col)


@lru_cache(maxsize=1024)
def _home(keyword: str, level: Level) -> Level:
    """The level whose table a condition on ``keyword`` (searched at ``level``) reads."""
    attr = ATTRIBUTES.get(keyword)
    if attr is None or attr.column is None:
        return level  # tag EXISTS / ModalitiesInStudy EXISTS correlate to the own table
    table = column_of(keyword, level).table
    return next(lv for lv in Level if _TABLES[_table_of(lv)].__table__ is table)


def plan(request: SearchRequest, *, dialect: str) -> SearchPlan:
    """Build the SELECT for ``request``; raises ``InvalidInputError`` on bad key values
    and on keys of a level below the one searched.

    Conditions on parent levels become ``fk IN (SELECT pk FROM parent WHERE ...)``, so
    a selective parent filter (a patient name) drives the search through the foreign
    key indexes instead of a scan of the level's table."""
    level = request.level
    conds: dict[Level, list[ColumnElement[bool]]] = {lv: [] for lv in Level}
    unsupported: list[str] = []
    for kw, value in request.matches.items():
        if kw in SERVICE_ATTRIBUTES:
            continue
        attr = ATTRIBUTES.get(kw)
        if attr is not None and attr.level > level:
            raise InvalidInputError(
                f"{kw} is a {attr.level.name.lower()}-level attribute: it cannot be "
                f"matched in a {level.name.lower()}-level search"
            )
        cond = _condition(kw, value, level, dialect)
        if cond is _UNSUPPORTED:
            unsupported.append(kw)
        elif cond is not None:
            conds[_home(kw, level)].append(cond)

    returns = list(dict.fromkeys([*request.returns, *request.matches]))
    columns: list[Any] = [_ROW_KEY[level].label("__key")]
    needed = {level}
    tag_keywords = [kw for kw in returns if kw not in ATTRIBUTES and kw not in SERVICE_ATTRIBUTES]
    # instance level: each tag one extracted JSON element, not the whole tags document
    needs_tags = request.all_tags or (bool(tag_keywords) and level is not Level.IMAGE)
    for kw in returns:
        attr = ATTRIBUTES.get(kw)
        if attr is None:
            if kw in tag_keywords and level is Level.IMAGE and not request.all_tags:
                columns.append(_tag_label(kw))
            continue
        if attr.level > level:
            continue
        needed.add(attr.level if attr.column is None else _home(kw, level))
        columns.append(_return_label(kw, level))
    for lv in Level:  # unique keys of every level searched, for URLs and tag lookups
        if lv <= level and lv is not Level.PATIENT:
            kw = UNIQUE_KEY[lv]
            columns.append(_key_label(kw, level))
    if needs_tags and level is Level.IMAGE:
        columns.append(Instance.tags.label("__tags"))

    columns, aliases = _distinct(columns)
    table = _TABLES[_table_of(level)]
    where = [*conds[level], *_parent_filters(level, conds)]
    parents = any(conds[lv] for lv in Level if lv < level)
    late = min(needed) < level and request.limit is not None and (request.offset or parents)
    stmt = _join_up(select(*columns).select_from(table), level, min(needed))
    if late:
        # Late row lookup: page through the level's own table (its indexes give the
        # order), then join the parents for the page only - not for every row an
        # offset skips or a sort has to see.
        key = _row_id(level, dialect)
        page = select(key).select_from(table).where(*where).order_by(*_ORDER[level])
        stmt = stmt.where(key.in_(_paged(page, request))).order_by(*_ORDER[level])
    else:
        stmt = _paged(stmt.where(*where).order_by(*_ORDER[level]), request)
    return SearchPlan(stmt, returns, unsupported, needs_tags, tag_keywords, aliases)


def _distinct(labels: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """Each table column selected once: a series search names the series UID three
    times (row key, returned attribute, URL key), and every selected value costs SQLite
    and Python the same again (~15% of a 1,000-row page)."""
    chosen: dict[tuple[str, str], str] = {}
    selected: list[Any] = []
    aliases: dict[str, str] = {}
    for label in labels:
        element = label.element
        if isinstance(element, Column) and isinstance(element.table, Table):
            column = (element.table.name, element.key)
            if column in chosen:
                aliases[label.name] = chosen[column]
                continue
            chosen[column] = label.name
        selected.append(label)
    return selected, aliases


def _paged(stmt: Select[Any], request: SearchRequest) -> Select[Any]:
    if request.offset:
        stmt = stmt.offset(request.offset)
    if request.limit is not None:
        stmt = stmt.limit(request.limit)
    return stmt


def _row_id(level: Level, dialect: str) -> Any:
    """What identifies a row of the level's table: SQLite's rowid (one b-tree step
    back to the row), else the primary key."""
    if dialect == "sqlite":
        return literal_column(f"{_table_of(level)}.rowid")
    return _ROW_KEY[level]


# Newest first for studies and series; the trailing primary key makes pages stable.
# Indexes (study_date, pk) and (modality, study_date, pk) give this order for free.
_ORDER: dict[Level, list[Any]] = {
    Level.PATIENT: [Patient.id],
    Level.STUDY: [Study.study_date.desc(), Study.study_uid.desc()],
    Level.SERIES: [Series.study_date.desc(), Series.series_uid.desc()],
    Level.IMAGE: [Instance.sop_instance_uid],
}


def _parent_filters(
    level: Level, conds: dict[Level, list[ColumnElement[bool]]]
) -> list[ColumnElement[bool]]:
    """Conditions of the levels above ``level`` as nested ``IN`` subqueries."""
    out: list[ColumnElement[bool]] = []
    if level <= Level.PATIENT:
        return out
    patient = conds[Level.PATIENT]
    study = list(conds[Level.STUDY]) if level > Level.STUDY else []
    if patient:
        patients = select(Patient.id).where(*patient)
        if level is Level.STUDY:
            out.append(Study.patient_pk.in_(patients))
        else:
            study.append(Study.patient_pk.in_(patients))
    if level is Level.STUDY:
        return out
    series = list(conds[Level.SERIES]) if level > Level.SERIES else []
    if study:
        studies = select(Study.study_uid).where(*study)
        if level is Level.SERIES:
            out.append(Series.study_uid.in_(studies))
        else:
            out.append(Instance.study_uid.in_(studies))
    if series:
        out.append(Instance.series_uid.in_(select(Series.series_uid).where(*series)))
    return out


def search(session: Session, request: SearchRequest) -> tuple[Iterator[dict[str, Any]], list[str]]:
    """Rows matching ``request`` (lazily, in chunks) and the keys that could not be
    used for matching (so the caller can warn). Raises ``InvalidInputError``."""
    dialect = session.get_bind().dialect.name
    p = plan(request, dialect=dialect)
    return rows_of(session, p, request.level), p.unsupported


@dataclass
class Page:
    """Rows as the database returns them (``keys`` names the tuple positions,
    ``aliases`` more names for some of them) and, when the plan needs instance tags,
    each row's tags (its own at image level, a representative instance's above)."""

    keys: list[str]
    rows: list[Sequence[Any]]
    tags: list[dict[str, Any]] | None
    aliases: dict[str, str] = field(default_factory=dict)


def page_of(session: Session, p: SearchPlan, level: Level) -> Page:
    """All rows of a plan (``p.statement`` carries the limit) without per-row Python
    work, for callers that encode column-wise (QIDO-RS pages)."""
    keys, rows = page_rows(session.connection(), p)
    tags: list[dict[str, Any]] | None = None
    if p.needs_tags and level is Level.IMAGE:
        i = keys.index("__tags")
        tags = [r[i] or {} for r in rows]
    elif p.needs_tags:
        found = _representative_tags(session, [r[0] for r in rows], level, p.tag_keywords)
        tags = [found.get(r[0]) or {} for r in rows]
    return Page(keys, rows, tags, p.aliases)


def rows_of(session: Session, p: SearchPlan, level: Level) -> Iterator[dict[str, Any]]:
    """Rows of a plan as ``{keyword: value}``, tag-sourced attributes filled in."""
    result = session.connection().execute(p.statement)  # Core rows: no ORM overhead
    keys = list(result.keys())
    aliases = list(p.aliases.items())
    selected = set(keys) | set(p.aliases)
    from_tags = [kw for kw in p.returns if kw not in selected and kw not in SERVICE_ATTRIBUTES]
    service = [kw for kw in p.returns if kw in SERVICE_ATTRIBUTES]
    split = "ModalitiesInStudy" in selected
    while True:
        chunk = result.fetchmany(_CHUNK)
        if not chunk:
            return
        rows = [dict(zip(keys, r, strict=True)) for r in chunk]
        for row in rows:
            for alias, name in aliases:
                row[alias] = row[name]
        if p.needs_tags and level is not Level.IMAGE:
            _attach_representative_tags(session, rows, level, p.tag_keywords)
        for row in rows:
            tags = row.get("__tags") or {}
            for kw in from_tags:
                row[kw] = tags.get(kw)
            for kw in service:  # URLs, availability: the caller's to fill
                row[kw] = None
            if split:
                row["ModalitiesInStudy"] = [
                    m for m in (row["ModalitiesInStudy"] or "").split("\\") if m
                ]
            yield row


def _attach_representative_tags(
    session: Session, rows: list[dict[str, Any]], level: Level, keywords: list[str]
) -> None:
    found = _representative_tags(session, [r["__key"] for r in rows], level, keywords)
    for r in rows:
        r["__tags"] = found.get(r["__key"]) or {}


def _representative_tags(
    session: Session, keys: list[Any], level: Level, keywords: list[str]
) -> dict[str, dict[str, Any]]:
    """``{series or study UID: {keyword: value}}`` from each one's representative
    instance (the smallest SOP Instance UID: one index seek per key on (uid,
    sop_instance_uid)); only ``keywords`` are extracted from its tags."""
    if level is Level.PATIENT or not keys or not keywords:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        return _representative_tags_sqlite(session, keys, level, keywords)
    stmt = _representative_statement(level, tuple(keywords))
    return {
        key: dict(zip(keywords, values, strict=True))
        for key, *values in session.connection().execute(stmt, {"keys": keys})
    }


def _representative_tags_sqlite(
    session: Session, keys: list[Any], level: Level, keywords: list[str]
) -> dict[str, dict[str, Any]]:
    """The same in one SQLite statement that answers one JSON document: the keys go in
    as one JSON array and the values come out as one (binding a hundred keys and
    decoding each value on its own cost more than the index seeks)."""
    owner = "series_uid" if level is Level.SERIES else "study_uid"
    values = ", ".join("json_extract(i.tags, ?)" for _ in keywords)
    sql = (
        f"SELECT json_group_array(json_array(i.{owner}, {values})) FROM instances AS i "
        "WHERE i.sop_instance_uid IN (SELECT (SELECT min(j.sop_instance_uid) FROM "
        f"instances AS j WHERE j.{owner} = k.value) FROM json_each(?) AS k)"
    )
    paths = tuple('$."' + kw + '"' for kw in keywords)  # keywords: letters/hex digits only
    text = session.connection().exec_driver_sql(sql, (*paths, json.dumps(keys))).scalar()
    return {
        key: dict(zip(keywords, vals, strict=True)) for key, *vals in json.loads(text or "[]")
    }


@lru_cache(maxsize=256)
def _representative_statement(level: Level, keywords: tuple[str, ...]) -> Select[Any]:
    """Built once per (level, keywords): constructing it costs more than running it."""
    owner = Series.series_uid if level is Level.SERIES else Study.study_uid
    inner = aliased(Instance)
    inner_key = inner.series_uid if level is Level.SERIES else inner.study_uid
    first = select(func.min(inner.sop_instance_uid)).where(inner_key == owner).scalar_subquery()
    firsts = select(first).where(owner.in_(bindparam("keys", expanding=True)))
    key_col = Instance.series_uid if level is Level.SERIES else Instance.study_uid
    return select(key_col, *(Instance.tags[kw] for kw in keywords)).where(
        Instance.sop_instance_uid.in_(firsts)
    )


_UNSUPPORTED: Any = object()


def _condition(kw: str, value: str, level: Level, dialect: str) -> Any:
    vr = vr_of(kw)
    what = kw
    if kw == "ModalitiesInStudy":
        other = aliased(Series)
        cond = condition(other.modality, value, "CS", dialect=dialect, what=what)
        if cond is None:
            return None
        return exists().where(other.study_uid == _study_uid_at(level), cond)
    attr = ATTRIBUTES.get(kw)
    if attr is not None:
        if attr.column is None:
            return _UNSUPPORTED  # computed counts: return keys only
        return condition(column_of(kw, level), value, vr, dialect=dialect, what=what)
    if vr in ("SQ", "UN") or vr.startswith("O"):
        return _UNSUPPORTED
    # not a column: match the flattened tags of the instance(s), value by value
    values, col = _tag_values(kw, dialect)
    if vr in INT_VRS or vr in FLOAT_VRS:
        col = cast(col, Float)
    value_cond = condition(col, value, vr, dialect=dialect, what=what)
    if value_cond is None:
        return None
    cond = exists(select(literal_column("1")).select_from(values).where(value_cond))
    if level is Level.IMAGE:
        return cond
    if level is Level.PATIENT:
        return _UNSUPPORTED
    owner = Series.series_uid if level is Level.SERIES else Study.study_uid
    inner = Instance.series_uid if level is Level.SERIES else Instance.study_uid
    return exists().where(inner == owner, cond)


def _tag_values(kw: str, dialect: str) -> tuple[Any, Any]:
    """A table of the values of one flattened tag of an instance and its value column:
    the elements of a multi-valued one (a JSON array), else the value itself; a
    multi-valued attribute matches if any of its values does (PS3.4 C.2.2.2)."""
    if dialect == "sqlite":
        each = func.json_each(Instance.tags, f'$."{kw}"').table_valued("value")
        return each, each.c.value
    doc = Instance.tags[kw]
    array = case((func.json_typeof(doc) == "array", doc), else_=func.json_build_array(doc))
    each = func.json_array_elements_text(array).table_valued("value")
    return each, each.c.value


def _study_uid_at(level: Level) -> Any:
    return {
        Level.PATIENT: Study.study_uid,
        Level.STUDY: Study.study_uid,
        Level.SERIES: Series.study_uid,
        Level.IMAGE: Instance.study_uid,
    }[level]


_PATIENT_COUNTS: dict[str, Any] = {
    "NumberOfPatientRelatedStudies": lambda st: func.count(),
    "NumberOfPatientRelatedSeries": lambda st: func.sum(st.num_series),
    "NumberOfPatientRelatedInstances": lambda st: func.sum(st.num_instances),
}


def _return_column(kw: str, level: Level) -> Any:
    if kw == "ModalitiesInStudy":
        return Study.modalities
    if kw in _PATIENT_COUNTS:
        other = aliased(Study)  # the patient's studies, not the row's own study
        return (
            select(func.coalesce(_PATIENT_COUNTS[kw](other), 0))
            .where(other.patient_pk == Patient.id)
            .correlate(Patient)
            .scalar_subquery()
        )
    return column_of(kw, level)


def _table_of(level: Level) -> str:
    return {
        Level.PATIENT: "patients",
        Level.STUDY: "studies",
        Level.SERIES: "series",
        Level.IMAGE: "instances",
    }[level]


def _join_up(stmt: Select[Any], level: Level, top: Level) -> Select[Any]:
    """Join from ``level`` up to ``top`` by primary keys (each join hits one row)."""
    on = _join_clauses()
    if level is Level.IMAGE and top <= Level.SERIES:
        stmt = stmt.join(Series, on["series-instance"])
    if level >= Level.SERIES and top <= Level.STUDY:
        stmt = stmt.join(Study, on["study-series" if level is Level.SERIES else "study-instance"])
    if level >= Level.STUDY and top <= Level.PATIENT:
        stmt = stmt.join(Patient, on["patient-study"])
    return stmt


# SQL expressions are immutable: the parts every plan needs are built once, not per
# request (building them was most of a plan's cost).


@lru_cache(maxsize=1)
def _join_clauses() -> dict[str, Any]:
    return {
        "series-instance": Series.series_uid == Instance.series_uid,
        "study-series": Study.study_uid == Series.study_uid,
        "study-instance": Study.study_uid == Instance.study_uid,
        "patient-study": Patient.id == Study.patient_pk,
    }


@lru_cache(maxsize=1024)
def _return_label(kw: str, level: Level) -> Any:
    return _return_column(kw, level).label(kw)


@lru_cache(maxsize=64)
def _key_label(kw: str, level: Level) -> Any:
    return column_of(kw, level).label(f"__{kw}")


@lru_cache(maxsize=1024)
def _tag_label(kw: str) -> Any:
    return Instance.tags[kw].label(kw)


def check_level(value: str) -> Level:
    try:
        return Level[value.strip().upper()]
    except KeyError:
        raise InvalidInputError(
            f"unknown query level {value!r} (PATIENT, STUDY, SERIES or IMAGE)"
        ) from None
