"""Growable typed columns for the in-memory series index.

Strings are dictionary-encoded (a code per row, a vocabulary per column), so a facet
count is one ``bincount`` and a filter one ``isin`` over an int32 array.
"""

from __future__ import annotations

import numpy as np


class CodedColumn:
    """A string column stored as int32 codes into a vocabulary."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}
        self.data = np.zeros(0, np.int32)

    def code(self, value: str) -> int:
        c = self._codes.get(value)
        if c is None:
            c = len(self.values)
            self._codes[value] = c
            self.values.append(value)
        return c

    def extend(self, values: tuple[str | None, ...] | list[str | None]) -> None:
        """Append many rows at once (the bulk path of a full load)."""
        codes, vocab = self._codes, self.values
        out = []
        for v in values:
            key = v or ""
            c = codes.get(key)
            if c is None:
                c = codes[key] = len(vocab)
                vocab.append(key)
            out.append(c)
        self.data = np.concatenate([self.data, np.array(out, np.int32)])

    def lookup(self, value: str) -> int | None:
        return self._codes.get(value)

    def codes_for(self, values: tuple[str, ...]) -> np.ndarray:
        return np.array([c for v in values if (c := self._codes.get(v)) is not None], np.int32)

    def codes_matching(self, word: str) -> np.ndarray:
        """Codes of every vocabulary entry containing ``word`` (case-insensitive)."""
        w = word.lower()
        return np.array([i for i, v in enumerate(self.values) if w in v.lower()], np.int32)

    def rank(self) -> np.ndarray:
        """Sort rank of each code (alphabetical), for ordering rows by this column."""
        order = np.argsort(np.array(self.values, dtype=object), kind="stable")
        rank = np.empty(len(self.values), np.int32)
        rank[order] = np.arange(len(self.values), dtype=np.int32)
        return rank

    def value(self, row: int) -> str:
        return self.values[int(self.data[row])]


def grow(arr: np.ndarray, extra: list[object], dtype: type | np.dtype) -> np.ndarray:
    if not extra:
        return arr
    return np.concatenate([arr, np.array(extra, dtype=dtype)])
