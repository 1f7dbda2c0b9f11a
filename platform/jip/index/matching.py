"""DICOM attribute matching (PS3.4 C.2.2.2) as SQL conditions.

One key value becomes one SQLAlchemy condition on one column:
- empty, or ``*`` alone: universal matching (no condition);
- ``a\\b`` (or ``a,b`` for UIDs): list matching, any of the values;
- ``D1-D2``, ``D1-``, ``-D2`` for DA/TM: inclusive range matching, open ends allowed;
- ``*`` and ``?`` in text VRs: wildcard matching;
- otherwise single value matching.

Matching is case-sensitive except for PN (person names), as PS3.4 allows; trailing
spaces are not significant; fuzzy matching is not done. Values that are malformed for
their VR (a date that is no date, a UID with letters) raise ``InvalidInputError``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_

from jip.errors import InvalidInputError

# VRs where * and ? are wildcards (PS3.4 C.2.2.2.4); all others match them literally.
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
INT_VRS = frozenset({"IS", "SL", "SS", "UL", "US", "SV", "UV"})
FLOAT_VRS = frozenset({"DS", "FL", "FD"})
CASE_INSENSITIVE_VRS = frozenset({"PN"})

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_TM_RE = re.compile(r"^([01][0-9]|2[0-3])([0-5][0-9]([0-5][0-9](\.[0-9]{1,6})?)?)?$")
_MAX_LIST = 1000


def condition(
    column: Any, value: str, vr: str, *, dialect: str, what: str
) -> ColumnElement[bool] | None:
    """The condition for ``column`` matching the key ``value`` of ``vr``, or ``None`` for
    universal matching. ``what`` names the attribute in error messages."""
    text = value.strip()
    if text == "" or (text == "*" and (vr in WILDCARD_VRS or vr == "UI")):
        return None
    if vr == "UI":
        uids = [u.strip() for u in re.split(r"[\\,]", text) if u.strip()]
        if len(uids) > _MAX_LIST:
            raise InvalidInputError(f"{what}: more than {_MAX_LIST} UIDs in a list")
        for uid in uids:
            if len(uid) > 64 or not _UID_RE.match(uid):
                raise InvalidInputError(f"{what}: {uid!r} is not a valid UID")
        return column == uids[0] if len(uids) == 1 else column.in_(uids)
    parts = text.split("\\")
    if len(parts) > _MAX_LIST:
        raise InvalidInputError(f"{what}: more than {_MAX_LIST} values in a list")
    conds = [_one(column, p.strip(), vr, dialect=dialect, what=what) for p in parts]
    if any(c is None for c in conds):
        return None  # one universal alternative makes the whole list universal
    real = [c for c in conds if c is not None]
    return real[0] if len(real) == 1 else or_(*real)


def _one(column: Any, text: str, vr: str, *, dialect: str, what: str) -> Any:
    if vr in RANGE_VRS:
        return _date_time(column, text, vr, what)
    if vr in INT_VRS or vr in FLOAT_VRS:
        return _number(column, text, vr, what)
    if vr in WILDCARD_VRS and text.replace("*", "") == "":
        return None
    if vr in WILDCARD_VRS and ("*" in text or "?" in text):
        return _wildcard(column, text, ci=vr in CASE_INSENSITIVE_VRS, dialect=dialect)
    if vr in CASE_INSENSITIVE_VRS:
        return _wildcard(column, text, ci=True, dialect=dialect)
    return column == text


def _number(column: Any, text: str, vr: str, what: str) -> Any:
    try:
        number: float = int(text) if vr in INT_VRS else float(text)
    except ValueError:
        raise InvalidInputError(f"{what}: {text!r} is not a number") from None
    if isinstance(number, int) and not -(2**63) <= number < 2**63:  # no SQL integer
        raise InvalidInputError(f"{what}: {text!r} is out of range")
    return column == number


def _date_time(column: Any, text: str, vr: str, what: str) -> Any:
    if "-" not in text or vr == "DT" and re.fullmatch(r"[0-9.]+[+-][0-9]{4}", text):
        _check(text, vr, what)
        return column == text
    if text.count("-") != 1:
        fmt = {"DA": "YYYYMMDD", "TM": "HHMMSS"}.get(vr, "YYYYMMDDHHMMSS")
        raise InvalidInputError(f"{what}: {text!r} is not a valid range ({fmt}-{fmt})")
    low, high = (s.strip() for s in text.split("-"))
    if not low and not high:
        raise InvalidInputError(f"{what}: a range needs at least one end")
    conds = [column != ""]
    if low:
        _check(low, vr, what)
        conds.append(column >= low)
    if high:
        _check(high, vr, what)
        conds.append(column <= _upper(high, vr))
    if low and high and low > _upper(high, vr):
        return false()
    return and_(*conds)


def _upper(bound: str, vr: str) -> str:
    """An upper bound covers everything it is a prefix of: "1200" includes "120059.5"."""
    if vr == "DA":
        return bound
    return bound + "\uffff"


def _check(text: str, vr: str, what: str) -> None:
    if vr == "DA":
        try:
            if len(text) != 8 or not text.isdigit():
                raise ValueError
            dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise InvalidInputError(f"{what}: {text!r} is not a date (YYYYMMDD)") from None
    elif vr == "TM":
        if not _TM_RE.match(text):
            raise InvalidInputError(f"{what}: {text!r} is not a time (HHMMSS.FFFFFF)")
    elif not re.fullmatch(r"[0-9]{4,14}(\.[0-9]{1,6})?([+-][0-9]{4})?", text):
        raise InvalidInputError(f"{what}: {text!r} is not a date-time")


def _wildcard(column: Any, text: str, *, ci: bool, dialect: str) -> Any:
    """``*`` any run, ``?`` one character; everything else literal."""
    if dialect == "sqlite" and not ci:
        # GLOB is case-sensitive, uses * and ? natively and can use a BINARY index
        return column.op("GLOB")(text.replace("[", "[[]"))
    pattern = "".join(
        "%" if c == "*" else "_" if c == "?" else "\\" + c if c in "%_\\" else c for c in text
    )
    if not ci:
        return column.like(pattern, escape="\\")
    cond = column.ilike(pattern, escape="\\")
    prefix = re.split(r"[*?]", text, maxsplit=1)[0].lower()
    if dialect == "sqlite" and prefix and prefix.isascii():
        # a literal prefix as a range on lower(column): the expression index applies
        low = func.lower(column)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(low >= prefix, low < upper, cond)
    return cond
