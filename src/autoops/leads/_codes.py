"""String columns to integer codes, once, at the edge (hash-based, no string sort).

Every lead function turns its string columns (phones, lead ids, dealer ids,
event names, cities) into dense ``int64`` codes here and works on integers
afterwards. Factorisation is hash-based
(:func:`autoops._factorize.factorize_objects`: ``pandas.factorize``
when pandas is installed, else a numpy hash table), so no string column is
ever sorted; only the (few) distinct values are sorted where an output order
is promised.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._factorize import factorize_objects, factorize_u64

__all__ = ["codes_of", "in_set", "index_of", "int_codes", "sorted_codes", "stable_order"]

I64 = npt.NDArray[np.int64]


def _references(arr: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """The object references of a C-contiguous object array, as integers (read, not copied)."""
    buf = (ctypes.c_uint64 * len(arr)).from_address(arr.ctypes.data)
    refs: npt.NDArray[np.uint64] = np.ctypeslib.as_array(buf).view(np.uint64)
    return refs


def codes_of(values: Any) -> tuple[I64, npt.NDArray[Any]]:
    """Dense codes (``-1`` for ``None``) and the distinct values, in first-seen order.

    Low-cardinality columns (event names, statuses, touchpoints) usually hold
    a few string objects repeated by reference; then the references are
    factorised as integers first (one row referring to the same object as
    another has the same value) and only the distinct objects are compared by
    value. Otherwise the values are factorised directly.
    """
    arr = np.ascontiguousarray(np.asarray(values, dtype=object).reshape(-1))
    n = len(arr)
    if n >= 4096 and np.dtype(np.uintp).itemsize == 8:
        refs = _references(arr)
        sample = refs[: 1 << 14]
        if len(np.unique(sample)) * 16 < len(sample):  # few distinct objects
            ref_codes, first = _factorize_refs(refs)
            codes, uniq = factorize_objects(arr[first])
            out: I64 = codes[ref_codes]
            return out, uniq
    return factorize_objects(arr)


def _factorize_refs(refs: npt.NDArray[np.uint64]) -> tuple[I64, npt.NDArray[np.int64]]:
    """Codes of integer references and the first row of each (hash-based)."""
    try:
        import pandas as pd

        raw_codes, _ = pd.factorize(refs)
        codes = np.asarray(raw_codes, dtype=np.int64)
        # pandas numbers values in order of first appearance: firsts are where the running max grows
        grows = np.empty(len(codes), dtype=bool)
        grows[0] = True
        running = np.maximum.accumulate(codes)
        np.greater(running[1:], running[:-1], out=grows[1:])
        return codes, np.flatnonzero(grows)
    except ImportError:  # pragma: no cover - pandas is an optional extra
        codes, uniq = factorize_u64(refs)
    first = np.full(len(uniq), len(refs), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(refs), dtype=np.int64))
    return codes, first


def int_codes(values: npt.NDArray[np.int64]) -> I64:
    """Dense codes of an integer array (hash-based with pandas, else by ``np.unique``)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is an optional extra
        return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return np.asarray(pd.factorize(values)[0], dtype=np.int64)


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


def stable_order(values: npt.NDArray[np.int64]) -> I64:
    """``np.argsort(values, kind="stable")``, faster: an unstable sort, then ties in input order.

    numpy's default (SIMD) sort is several times faster than its stable sort on
    64-bit integers; times rarely tie, and only the runs of equal values are
    re-ordered (by row) afterwards.

    Examples:
        >>> stable_order(np.array([5, 3, 5, 1, 3])).tolist()
        [3, 1, 4, 0, 2]
    """
    order: I64 = np.argsort(values).astype(np.int64, copy=False)
    if len(order) < 2:
        return order
    ordered = values[order]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        rows = np.flatnonzero(in_run)
        run = np.cumsum(np.concatenate(([True], ~tie)))[rows]
        order[rows] = order[rows][np.lexsort((order[rows], run))]
    return order
