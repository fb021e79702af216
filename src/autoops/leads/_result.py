"""Shared display helpers for lead results (masked repr and HTML)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_value
from autoops._tabular import Tabular
from autoops.leads._codes import _references

__all__ = ["ResultBase", "group_first", "is_none", "rank_in_group"]

#: columns that may carry personal data and are masked when displayed
_MASKED = {"phone", "e164", "name", "device_id", "ip", "key"}


class ResultBase(Tabular):
    """``__repr__`` from ``summary()`` and ``_repr_html_`` from the first rows."""

    __slots__ = ()
    _title = "result"

    def summary(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return short_repr(type(self).__name__, **self.summary())

    def _repr_html_(self) -> str:
        cols = self._columns()
        names = list(cols)
        rows = []
        n = len(self)
        for i in range(min(n, 10)):
            row = []
            for name in names:
                value = cols[name][i]
                if name in _MASKED and value is not None:
                    value = mask_value(value)
                elif isinstance(value, np.datetime64):
                    value = str(value)[:19] if not np.isnat(value) else ""
                row.append(value)
            rows.append(row)
        head = html_table(
            f"{type(self).__name__}", ["figure", "value"], self.summary().items(), limit=20
        )
        return head + html_table(self._title, names, rows, limit=10)


def is_none(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Elementwise ``value is None`` for an object array.

    ``None`` is a singleton, so on 64-bit builds this compares the stored
    references with ``id(None)`` (no Python-level comparison per element).

    Examples:
        >>> is_none(np.array(["a", None, 0], dtype=object)).tolist()
        [False, True, False]
    """
    arr = np.ascontiguousarray(np.asarray(values, dtype=object).reshape(-1))
    if np.dtype(np.uintp).itemsize != 8:  # pragma: no cover - 32-bit builds
        return np.asarray(arr == None, dtype=bool)  # noqa: E711
    out: npt.NDArray[np.bool_] = _references(arr) == np.uint64(id(None))
    return out.reshape(np.shape(values))


def group_first(sorted_groups: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True at the first row of each run of equal values in a sorted array."""
    first = np.ones(len(sorted_groups), dtype=bool)
    if len(sorted_groups) > 1:
        first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return first


def rank_in_group(sorted_groups: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """0-based position of each row within its run of equal values (sorted input)."""
    n = len(sorted_groups)
    pos = np.arange(n, dtype=np.int64)
    start = np.where(group_first(sorted_groups), pos, 0)
    return pos - np.maximum.accumulate(start) if n else pos
