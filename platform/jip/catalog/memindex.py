"""In-memory columnar index of all series: filters, facet counts and pages in a few ms.

Why not SQL: ten facet counts, each under "the filter minus its own facet", are ten
GROUP BY scans; over 100,000 series on SQLite that is too slow for a facet click
(see benchmarks/ui_bench.py). Here each is a numpy ``bincount`` over a masked array.

Kept in sync with ingest by polling the database: every read first pulls the series
rows whose ``last_received`` is newer than what it has seen (minus an overlap window,
since the writer commits batches after their timestamps were taken), and reloads in
full if the row count disagrees (series deleted). Any writer -- C-STORE, STOW, import,
a bulk insert -- is therefore seen, in this process or another.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, String, cast, func, select

from jip.catalog.columns import CodedColumn, grow
from jip.catalog.filters import CATEGORICAL_FACETS, SeriesFilter
from jip.index.models import Patient, Series, Study

CODED = (
    "study_uid",
    "modality",
    "body_part",
    "manufacturer",
    "model",
    "institution",
    "patient_sex",
    "description",
    "study_description",
    "patient_id",
    "patient_name",
)
#: coded columns read from the series table itself, and those that come from its study
SERIES_CODED = CODED[:8]
STUDY_CODED = CODED[8:]
NUMERIC: dict[str, Any] = {
    "study_date": np.int32,  # YYYYMMDD as a number, 0 when unknown
    "patient_age": np.float64,  # NaN when unknown
    "slice_thickness": np.float64,
    "num_instances": np.int32,
    "series_number": np.float64,
    "received": np.float64,  # epoch seconds of the last instance
}
SYNC_OVERLAP = timedelta(seconds=10)
#: how often the row count is compared (it only catches deleted series)
COUNT_CHECK_SECONDS = 2.0


@dataclass(slots=True)
class FacetCounts:
    total: int
    categorical: dict[str, list[tuple[str, int]]]
    distinct: dict[str, int]
    study_dates: np.ndarray  # YYYYMMDD of matching rows (under the filter minus dates)
    ages: np.ndarray
    thicknesses: np.ndarray


@dataclass(slots=True)
class Summary:
    patients: int
    studies: int
    series: int
    by_modality: list[tuple[str, int, int]]  # modality, series, instances
    by_body_part: list[tuple[str, int]]


def _row_query() -> Any:
    return (
        select(
            Series.series_uid,
            Series.study_uid,
            Series.modality,
            Series.body_part,
            Series.manufacturer,
            Series.model,
            Series.institution,
            Series.patient_sex,
            Series.description,
            Study.description,
            Patient.patient_id,
            Patient.patient_name,
            Series.study_date,
            Series.patient_age,
            Series.slice_thickness,
            Series.num_instances,
            Series.series_number,
            cast(Series.last_received, String),  # text: 10x cheaper to load than datetimes
        )
        .join(Study, Study.study_uid == Series.study_uid)
        .join(Patient, Patient.id == Study.patient_pk)
    )


def _date_num(value: str) -> int:
    return int(value) if len(value) == 8 and value.isdigit() else 0


def _num(value: float | int | None) -> float:
    return math.nan if value is None else float(value)


def _epoch(stamps: Sequence[str]) -> np.ndarray:
    """Timestamps as stored (ISO text, space or T) to epoch seconds."""
    iso = np.array([t.replace(" ", "T")[:26] if t else "NaT" for t in stamps], "datetime64[us]")
    return iso.astype(np.int64) / 1e6


class SeriesIndex:
    """All series, column-wise. Thread-safe: one lock around sync and reads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.RLock()
        self._reset()

    # ---- sync with the database -------------------------------------------------

    def _reset(self) -> None:
        self.uids: list[str] = []
        self.pos: dict[str, int] = {}
        self.coded = {name: CodedColumn() for name in CODED}
        self.numeric = {name: np.zeros(0, dt) for name, dt in NUMERIC.items()}
        self._watermark: datetime | None = None
        self._counted_at = 0.0

    def __len__(self) -> int:
        return len(self.uids)

    def sync(self) -> None:
        """Pull what changed since the last call (all of it the first time)."""
        with self._lock, self._engine.connect() as conn:
            if self._watermark is None:
                self._load_all(conn)
                return
            since = self._watermark - SYNC_OVERLAP
            rows = conn.execute(_row_query().where(Series.last_received >= since)).all()
            self._apply(rows)
            now = time.monotonic()
            if now - self._counted_at >= COUNT_CHECK_SECONDS:
                self._counted_at = now
                total = conn.execute(select(func.count()).select_from(Series)).scalar_one()
                if total != len(self.uids):
                    self._reset()
                    self._load_all(conn)

    def _load_all(self, conn: Any) -> None:
        """Column-wise bulk load: the series table alone (no join), then the few study
        and patient fields mapped through the study column's codes."""
        self._watermark = conn.execute(select(func.max(Series.last_received))).scalar_one()
        rows = conn.execute(
            select(
                Series.series_uid,
                *(getattr(Series, name) for name in SERIES_CODED),
                Series.study_date,
                Series.patient_age,
                Series.slice_thickness,
                Series.num_instances,
                Series.series_number,
                cast(Series.last_received, String),
            )
        ).all()
        self._counted_at = time.monotonic()
        if not rows:
            self._watermark = self._watermark or datetime(1970, 1, 1)
            return
        cols = list(zip(*rows, strict=True))
        self.uids = list(cols[0])
        self.pos = {u: i for i, u in enumerate(self.uids)}
        k = len(SERIES_CODED)
        for name, values in zip(SERIES_CODED, cols[1 : 1 + k], strict=True):
            self.coded[name].extend(values)
        self._load_study_fields(conn)
        num = self.numeric
        dates = np.array([v or "" for v in cols[1 + k]], "U8")
        ok = np.char.isdigit(dates) & (np.char.str_len(dates) == 8)
        num["study_date"] = np.where(ok, dates, "0").astype(np.int32)
        for name, values in (
            ("patient_age", cols[2 + k]),
            ("slice_thickness", cols[3 + k]),
            ("series_number", cols[5 + k]),
        ):
            num[name] = np.array([math.nan if v is None else v for v in values], np.float64)
        num["num_instances"] = np.array([v or 0 for v in cols[4 + k]], np.int32)
        num["received"] = _epoch(cols[6 + k])

    def _load_study_fields(self, conn: Any) -> None:
        """study description, patient id and name per series, via one row per study."""
        study = self.coded["study_uid"]
        per_study: dict[str, list[str]] = {n: [""] * len(study.values) for n in STUDY_CODED}
        q = select(Study.study_uid, Study.description, Patient.patient_id, Patient.patient_name)
        for uid, desc, pid, pname in conn.execute(
            q.join(Patient, Patient.id == Study.patient_pk)
        ):
            c = study.lookup(uid)
            if c is not None:
                for name, v in zip(STUDY_CODED, (desc, pid, pname), strict=True):
                    per_study[name][c] = v or ""
        for name, values in per_study.items():
            col = self.coded[name]
            codes = np.array([col.code(v) for v in values], np.int32)
            col.data = codes[study.data] if len(codes) else np.zeros(len(self.uids), np.int32)

    def _apply(self, rows: Sequence[Any]) -> None:
        """Insert or update a few rows (the incremental path)."""
        new_coded: dict[str, list[object]] = {n: [] for n in CODED}
        new_num: dict[str, list[object]] = {n: [] for n in NUMERIC}
        received = _epoch([r[17] for r in rows]) if rows else np.zeros(0)
        for r, rec in zip(rows, received.tolist(), strict=True):
            uid = r[0]
            coded_vals = r[1:12]
            num_vals = (
                _date_num(r[12] or ""),
                _num(r[13]),
                _num(r[14]),
                int(r[15] or 0),
                _num(r[16]),
                rec,
            )
            stamp = datetime.fromisoformat(r[17])
            if self._watermark is None or stamp > self._watermark:
                self._watermark = stamp
            at = self.pos.get(uid)
            if at is None:
                self.pos[uid] = len(self.uids)
                self.uids.append(uid)
                for name, v in zip(CODED, coded_vals, strict=True):
                    new_coded[name].append(self.coded[name].code(v or ""))
                for name, v in zip(NUMERIC, num_vals, strict=True):
                    new_num[name].append(v)
            else:
                for name, v in zip(CODED, coded_vals, strict=True):
                    self.coded[name].data[at] = self.coded[name].code(v or "")
                for name, v in zip(NUMERIC, num_vals, strict=True):
                    self.numeric[name][at] = v
        for name in CODED:
            col = self.coded[name]
            col.data = grow(col.data, new_coded[name], np.int32)
        for name, dt in NUMERIC.items():
            self.numeric[name] = grow(self.numeric[name], new_num[name], dt)

    # ---- reads ----------------------------------------------------------------------

    def _masks(self, f: SeriesFilter, members: Iterable[str] | None) -> dict[str, np.ndarray]:
        """One boolean mask per active condition, keyed by the facet it belongs to."""
        n = len(self.uids)
        masks: dict[str, np.ndarray] = {}
        for facet in CATEGORICAL_FACETS:
            wanted: tuple[str, ...] = getattr(f, facet)
            if wanted:
                col = self.coded[facet]
                masks[facet] = np.isin(col.data, col.codes_for(wanted))
        if f.date_from or f.date_to:
            d = self.numeric["study_date"]
            m = d > 0
            if f.date_from:
                m &= d >= int(f.date_from)
            if f.date_to:
                m &= d <= int(f.date_to)
            masks["study_date"] = m
        for facet, lo, hi in (
            ("patient_age", f.age_min, f.age_max),
            ("slice_thickness", f.thickness_min, f.thickness_max),
        ):
            if lo is not None or hi is not None:
                v = self.numeric[facet]
                m = ~np.isnan(v)
                if lo is not None:
                    m &= v >= lo - 1e-6
                if hi is not None:
                    m &= v <= hi + 1e-6
                masks[facet] = m
        words = f.q.split()
        if words:
            m = np.ones(n, bool)
            desc, sdesc = self.coded["description"], self.coded["study_description"]
            for w in words:
                m &= np.isin(desc.data, desc.codes_matching(w)) | np.isin(
                    sdesc.data, sdesc.codes_matching(w)
                )
            masks["q"] = m
        if members is not None:
            m = np.zeros(n, bool)
            idx = [p for u in members if (p := self.pos.get(u)) is not None]
            m[np.array(idx, np.int64)] = True
            masks["cohort"] = m
        return masks

    @staticmethod
    def _combine(masks: dict[str, np.ndarray], skip: str | None = None) -> np.ndarray | None:
        """AND of the masks (minus ``skip``); None when nothing restricts."""
        out: np.ndarray | None = None
        for name, m in masks.items():
            if name != skip:
                out = m.copy() if out is None else np.logical_and(out, m, out=out)
        return out

    def select(self, f: SeriesFilter, members: Iterable[str] | None = None) -> np.ndarray:
        """Row numbers matching the filter."""
        with self._lock:
            m = self._combine(self._masks(f, members))
            return np.arange(len(self.uids)) if m is None else np.flatnonzero(m)

    def page(
        self,
        f: SeriesFilter,
        *,
        sort: str,
        descending: bool,
        limit: int,
        offset: int,
        members: Iterable[str] | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matching, the rows of one page as dicts) in the requested order.
        Only the first ``offset + limit`` rows are ordered (partition, then sort)."""
        with self._lock:
            rows = self.select(f, members)
            key = self._sort_key(sort)[rows]
            if descending:
                key = -key
            key = np.where(np.isnan(key), np.inf, key)  # unknown values always last
            k = offset + limit
            if k < len(key):
                threshold = np.partition(key, k - 1)[k - 1]
                candidates = np.flatnonzero(key <= threshold)
            else:
                candidates = np.arange(len(key))
            # stable: ties keep index order (order of arrival)
            order = candidates[np.argsort(key[candidates], kind="stable")]
            chosen = rows[order[offset : offset + limit]]
            return len(rows), [self.row(int(i)) for i in chosen]

    def _sort_key(self, sort: str) -> np.ndarray:
        if sort in self.coded:
            col = self.coded[sort]
            key = col.rank()[col.data].astype(np.float64)
            empty = col.lookup("")
            if empty is not None:
                key[col.data == empty] = np.nan
            return key
        key = self.numeric[sort].astype(np.float64)
        if sort == "study_date":
            key[key == 0] = np.nan  # unknown (0), else it sorted first in ascending order
        return key

    def row(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {"series_uid": self.uids[i]}
        for name, col in self.coded.items():
            out[name] = col.value(i)
        d = int(self.numeric["study_date"][i])
        out["study_date"] = str(d) if d else ""
        for name in ("patient_age", "slice_thickness", "series_number"):
            v = float(self.numeric[name][i])
            out[name] = None if math.isnan(v) else v
        if out["series_number"] is not None:
            out["series_number"] = int(out["series_number"])
        if out["patient_age"] is not None:
            out["patient_age"] = int(out["patient_age"])
        out["num_instances"] = int(self.numeric["num_instances"][i])
        return out

    def facets(
        self, f: SeriesFilter, *, top: int = 50, members: Iterable[str] | None = None
    ) -> FacetCounts:
        """Counts per facet value, each facet under the filter without its own condition."""
        with self._lock:
            masks = self._masks(f, members)
            everything = self._combine(masks)

            def under(skip: str) -> np.ndarray | None:
                return self._combine(masks, skip) if skip in masks else everything

            def pick(values: np.ndarray, m: np.ndarray | None) -> np.ndarray:
                return values if m is None else values[m]

            categorical: dict[str, list[tuple[str, int]]] = {}
            distinct: dict[str, int] = {}
            for facet in CATEGORICAL_FACETS:
                col = self.coded[facet]
                counts = np.bincount(pick(col.data, under(facet)), minlength=len(col.values))
                nz = np.flatnonzero(counts)
                distinct[facet] = len(nz)
                best = nz[np.argsort(-counts[nz], kind="stable")][:top]
                categorical[facet] = [(col.values[c], int(counts[c])) for c in best]
            return FacetCounts(
                total=len(self.uids) if everything is None else int(everything.sum()),
                categorical=categorical,
                distinct=distinct,
                study_dates=pick(self.numeric["study_date"], under("study_date")),
                ages=pick(self.numeric["patient_age"], under("patient_age")),
                thicknesses=pick(self.numeric["slice_thickness"], under("slice_thickness")),
            )

    def summary(self) -> Summary:
        """Site totals without touching the database."""
        with self._lock:

            def used(name: str) -> int:
                col = self.coded[name]
                return int(np.count_nonzero(np.bincount(col.data, minlength=len(col.values))))

            mod = self.coded["modality"]
            n_series = np.bincount(mod.data, minlength=len(mod.values))
            n_inst = np.bincount(
                mod.data, weights=self.numeric["num_instances"], minlength=len(mod.values)
            )
            body = self.coded["body_part"]
            n_body = np.bincount(body.data, minlength=len(body.values))
            return Summary(
                patients=used("patient_id"),
                studies=used("study_uid"),
                series=len(self.uids),
                by_modality=[
                    (mod.values[c], int(n_series[c]), int(n_inst[c]))
                    for c in np.argsort(-n_series, kind="stable")
                    if n_series[c]
                ],
                by_body_part=[
                    (body.values[c], int(n_body[c]))
                    for c in np.argsort(-n_body, kind="stable")[:50]
                    if n_body[c]
                ],
            )
