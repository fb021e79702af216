"""String columns to integer codes, once, at the edge (hash-based, no string sort).

Every lead function turns its string columns (phones, lead ids, dealer ids,
event names, cities) into dense ``int64`` codes here and works on integers
afterwards. Factorisation is hash-based
(:func:`autoops.identity._factorize.factorize_objects`: ``pandas.factorize``
when pandas is installed, else a numpy hash table), so no string column is
ever sorted; only the (few) distinct values are sorted where an output order
is promised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

# the lead engineer will move this into a shared module; import it from one place
from autoops.identity._factorize import factorize_objects

__all__ = ["codes_of", "in_set", "index_of", "sorted_codes"]

I64 = npt.NDArray[np.int64]


def codes_of(values: Any) -> tuple[I64, npt.NDArray[Any]]:
    """Dense codes (``-1`` for ``None``) and the distinct values, in first-seen order."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return factorize_objects(arr)


def sorted_codes(values: Any) -> tuple[I64, npt.NDArray[Any]]:
    """Like :func:`codes_of`, but the distinct values sorted (as text) and codes to match."""
    codes, uniq = codes_of(values)
    if len(uniq) < 2:
        return codes, uniq
    order = np.argsort(uniq.astype(str), kind="stable")
    rank = np.empty(len(uniq) + 1, dtype=np.int64)
    rank[order] = np.arange(len(uniq), dtype=np.int64)
    rank[-1] = -1  # code -1 (None) stays -1
    out: I64 = rank[codes]
    return out, uniq[order]


def in_set(values: Any, names: Iterable[Any]) -> npt.NDArray[np.bool_]:
    """Elementwise ``value in names`` via the distinct values (``None`` is never in)."""
    codes, uniq = codes_of(values)
    wanted = np.array([str(x) for x in names], dtype=str)
    table = np.zeros(len(uniq) + 1, dtype=bool)
    if len(uniq):
        table[:-1] = np.isin(uniq.astype(str), wanted)
    out: npt.NDArray[np.bool_] = table[codes]  # code -1 reads the trailing False
    return out


def index_of(keys: npt.NDArray[Any], values: npt.NDArray[Any]) -> I64:
    """Row of each value in *keys* (unique), -1 when absent or ``None``.

    Both columns are factorised together, so no string is compared twice.
    """
    n = len(keys)
    both = np.concatenate((np.asarray(keys, dtype=object), np.asarray(values, dtype=object)))
    codes, uniq = codes_of(both)
    row = np.full(len(uniq) + 1, -1, dtype=np.int64)
    key_codes = codes[:n]
    ok = key_codes >= 0
    row[key_codes[ok]] = np.flatnonzero(ok)
    out: I64 = row[codes[n:]]
    return out
