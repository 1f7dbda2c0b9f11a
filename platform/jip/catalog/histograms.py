"""Bucketing of the range facets (study date, patient age, slice thickness)."""

from __future__ import annotations

import calendar

import numpy as np

from jip.catalog.schemas import Bucket, DateHistogram, FacetValue


def date_histogram(dates: np.ndarray) -> DateHistogram:
    """Per year, or per month when the known dates span at most three years."""
    month = (dates // 100) % 100
    valid = (dates > 0) & (month >= 1) & (month <= 12)
    known = dates[valid]
    unknown = int((~valid).sum())
    if known.size == 0:
        return DateHistogram(interval="year", buckets=[], unknown=unknown, min="", max="")
    lo, hi = int(known.min()), int(known.max())
    by_month = hi // 10000 - lo // 10000 < 3
    if by_month:
        keys = known // 100  # YYYYMM
        uniq, counts = _counts(keys)
        buckets = [
            Bucket(
                key=f"{k // 100:04d}-{k % 100:02d}",
                start=f"{k}01",
                end=f"{k}{calendar.monthrange(k // 100, k % 100)[1]:02d}",
                count=int(c),
            )
            for k, c in zip(uniq.tolist(), counts.tolist(), strict=True)
        ]
    else:
        uniq, counts = _counts(known // 10000)
        buckets = [
            Bucket(key=f"{y:04d}", start=f"{y:04d}0101", end=f"{y:04d}1231", count=int(c))
            for y, c in zip(uniq.tolist(), counts.tolist(), strict=True)
        ]
    return DateHistogram(
        interval="month" if by_month else "year",
        buckets=buckets,
        unknown=unknown,
        min=str(lo),
        max=str(hi),
    )


def _counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_counts=True)`` for integer keys over a small range, by
    ``bincount`` (one pass instead of a sort: a facet click over 100,000 series)."""
    keys = keys.astype(np.int64, copy=False)
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo > 4 * keys.size + 1024:  # sparse keys: sorting is cheaper
        return np.unique(keys, return_counts=True)
    counts = np.bincount(keys - lo, minlength=hi - lo + 1)
    present = np.flatnonzero(counts)
    return present + lo, counts[present]


def age_histogram(ages: np.ndarray) -> list[Bucket]:
    """Decades: 0-9, 10-19, ... (ages in years)."""
    known = ages[~np.isnan(ages)]
    if known.size == 0:
        return []
    decades, counts = _counts((known // 10).astype(np.int64))
    return [
        Bucket(key=f"{d * 10}-{d * 10 + 9}", start=str(d * 10), end=str(d * 10 + 9), count=int(c))
        for d, c in zip(decades.tolist(), counts.tolist(), strict=True)
    ]


def value_counts(values: np.ndarray, top: int = 30) -> list[FacetValue]:
    """Distinct numeric values with their counts (slice thickness has few)."""
    known = np.round(values[~np.isnan(values)], 3)
    if known.size == 0:
        return []
    uniq, counts = np.unique(known, return_counts=True)
    order = np.argsort(uniq)[:top]
    return [FacetValue(value=f"{uniq[i]:g}", count=int(counts[i])) for i in order]
