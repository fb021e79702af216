"""Hash-based factorisation in numpy: no sort, no Python loop per value.

:func:`factorize_u64` assigns dense codes to 64-bit values with a vectorised
open-addressing hash table (linear probing; every round moves all unresolved
values one slot on, so the number of rounds is the longest probe sequence,
small at load ≤ 1/2). :func:`factorize_objects` factorises an object array
through Python's cached string hash (read by ``map(hash, …)`` in C, never a
Python-level loop) and checks every value against its representative, so a
hash collision can never merge two different values. Identity, leads, segments and
``autoops._tabular.factorize`` share it; identity keeps a growable table on top
(``autoops.identity._token_table``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._bits import count_before
from autoops._parallel import chunks, parallel_map

__all__ = [
    "Addresses",
    "factorize_objects",
    "factorize_u64",
    "few_objects",
    "sorted_codes",
    "spread",
    "unique_sorted",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def spread(x: U64) -> U64:
    """A cheap multiplicative bit mix (slot selection only, not a token)."""
    y: U64 = x * np.uint64(0x9E3779B97F4A7C15)
    y ^= y >> np.uint64(29)
    return y


def _probe(
    keys: U64, used: npt.NDArray[np.bool_], values: U64, insert: bool, guard: bool = False
) -> npt.NDArray[np.intp]:
    """Slot of each value in the table (inserting missing ones when *insert*); -1 if absent."""
    size = len(keys)
    mask = np.uint64(size - 1)
    m = len(values)
    out = np.full(m, -1, dtype=np.intp)
    slot = (spread(values) >> np.uint64(7) & mask).astype(np.intp)
    pending = np.arange(m, dtype=np.intp)
    hv = values
    filled = int(np.count_nonzero(used)) if guard else 0
    while len(pending):
        s = slot
        taken = used[s]
        if insert:
            free = ~taken
            if guard:
                # a cheap upper bound (colliding writes count twice); recount exactly
                # before giving up, so a table of twice the distinct values never fails
                filled += int(np.count_nonzero(free))
                if filled > size - size // 4:
                    filled = int(np.count_nonzero(used)) + len(np.unique(s[free]))
                    if filled > size - size // 4:
                        raise _TableFull
            if free.any():  # (np.compress: boolean indexing is slower on mixed masks)
                at = np.compress(free, s)
                keys[at] = np.compress(free, hv)
                used[at] = True
            # every slot probed is used now: a value is home when the slot holds it (of
            # several values written to one free slot, the last one written stays)
            hit = keys[s] == hv
            more = ~hit
        else:
            hit = taken & (keys[s] == hv)
            more = ~hit & taken
        if len(pending) == m:  # the first round: every value, in order
            np.copyto(out, s, where=hit)
        else:
            out[np.compress(hit, pending)] = np.compress(hit, s)
        pending = np.compress(more, pending)
        hv = np.compress(more, hv)
        slot = (np.compress(more, s) + 1) & (size - 1)
    return out


class _TableFull(Exception):
    """The table passed 3/4 load: start again with a larger one."""


def _size_for(m: int) -> int:
    return 1 << max(4, (2 * m).bit_length())


def factorize_u64(values: U64, expected: int | None = None) -> tuple[I64, U64]:
    """Dense codes ``0..k-1`` and the distinct values (in table order, not sorted).

    *expected*, a guess of the number of distinct values, sizes the table
    (smaller tables stay in cache); a wrong guess only costs a retry.

    Examples:
        >>> codes, uniq = factorize_u64(np.array([7, 3, 7, 9], dtype=np.uint64))
        >>> codes[0] == codes[2], uniq[codes].tolist() == [7, 3, 7, 9], len(uniq)
        (np.True_, True, 3)
    """
    values = np.asarray(values, dtype=np.uint64)
    guess = len(values) if expected is None else min(len(values), max(expected, 1))
    while True:
        size = _size_for(guess)
        keys = np.zeros(size, dtype=np.uint64)
        used = np.zeros(size, dtype=bool)
        try:
            slot = _probe(keys, used, values, insert=True, guard=True)
            break
        except _TableFull:
            guess = 4 * guess  # grows without bound, so the retry loop always ends
    # a value's code: the used slots before its own (no table-long array of numbers)
    return count_before(used, slot), keys[used]


#: use ``pandas.factorize`` (a C hash table on objects) when pandas is installed
USE_PANDAS = True


def _pandas_factorize(values: npt.NDArray[Any]) -> tuple[I64, npt.NDArray[Any]] | None:
    if not USE_PANDAS:
        return None
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is an optional extra
        return None
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniq, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    # pandas treats NaN (and pd.NA / NaT) as missing too; only None is missing here
    na = np.flatnonzero(codes < 0)
    if values[na].tolist().count(None) != len(na):  # identity test, 3x faster than ==
        # the others are values, grouped by their text as the hashing path groups them
        idx = np.array([i for i in na.tolist() if values[i] is not None], dtype=np.int64)
        _, first, inv = np.unique(values[idx].astype(str), return_index=True, return_inverse=True)
        codes[idx] = len(uniq) + inv.reshape(-1)
        uniq = np.concatenate([uniq, values[idx[first]]])
    return codes, uniq


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as a bool; identity for values whose equality has no truth value (pd.NA)."""
    try:
        return bool(a == b)
    except TypeError:
        return a is b


def factorize_objects(values: npt.NDArray[Any]) -> tuple[I64, npt.NDArray[Any]]:
    """Codes (``-1`` for ``None``) and distinct values of an object array.

    With pandas installed this is ``pandas.factorize``. Without it, values are
    grouped by Python ``hash`` and then compared with their group's
    representative; a value that differs from it (a collision, or NaN) gets a
    group of its own keyed by ``str(value)``. Either way values that compare
    equal (``1`` and ``1.0``) share a group.

    NaN, ``pd.NA`` and ``NaT`` are values (grouped by their text), not missing.

    Examples:
        >>> codes, uniq = factorize_objects(np.array(["a", None, "b", "a"], dtype=object))
        >>> codes.tolist(), uniq[codes[[0, 2]]].tolist()
        ([0, -1, 1, 0], ['a', 'b'])
        >>> factorize_objects(np.array([float("nan"), "a", None, float("nan")], dtype=object))[0].tolist()
        [1, 0, -1, 1]
    """
    values = np.asarray(values, dtype=object)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    fast = _pandas_factorize(values)
    if fast is not None:
        return fast
    h = np.fromiter(map(hash, values), dtype=np.int64, count=n).view(np.uint64)
    c, uniq_h = factorize_u64(h)
    first = np.full(len(uniq_h), n, dtype=np.int64)
    np.minimum.at(first, c, np.arange(n, dtype=np.int64))
    uniq = values[first]
    try:
        same = np.asarray(np.equal(values, uniq[c]), dtype=bool)
    except TypeError:  # (pd.NA == x has no truth value): value by value
        same = np.frompyfunc(_equal, 2, 1)(values, uniq[c]).astype(bool)
    if not same.all():
        bad = np.flatnonzero(~same)
        text = values[bad].astype(str)
        extra, inv = np.unique(text, return_inverse=True)
        c = c.copy()
        c[bad] = len(uniq) + inv.reshape(-1)
        firsts = np.full(len(extra), len(bad), dtype=np.int64)
        np.minimum.at(firsts, inv.reshape(-1), np.arange(len(bad), dtype=np.int64))
        uniq = np.concatenate([uniq, values[bad[firsts]]])
        used = np.bincount(c, minlength=len(uniq)) > 0
        if not used.all():  # a group whose members all moved (NaN is not equal to itself)
            c = (np.cumsum(used) - 1)[c]
            uniq = uniq[used]
    none = np.flatnonzero(np.equal(uniq, None))  # type: ignore[call-overload]
    if len(none):
        # None holds one group: drop it and shift the codes above it
        g = int(none[0])
        c = np.where(c == g, -1, c - (c > g))
        uniq = np.delete(uniq, g)
    return c, uniq


class Addresses:
    """An object array's references as 64-bit integers (its buffer read as ``uint64``):
    ``np.asarray(Addresses(values))``, no copy. Equal addresses are the same object.

    >>> a, b = "x", "y"
    >>> refs = np.asarray(Addresses(np.array([a, b, a], dtype=object)))
    >>> refs.dtype, bool(refs[0] == refs[2]), bool(refs[0] == refs[1])
    (dtype('uint64'), True, False)
    """

    def __init__(self, values: npt.NDArray[np.object_]) -> None:
        self.keep = values  # the objects stay alive (and unmoved) while the view is read
        self.__array_interface__ = {
            "shape": values.shape,
            "typestr": "<u8",
            "data": (values.ctypes.data, True),
            "strides": values.strides,
            "version": 3,
        }


#: the most distinct objects :func:`few_objects` numbers
FEW_OBJECTS = 1 << 12
#: rows below which :func:`few_objects` leaves a column to the hash of its values
_FEW_MIN_ROWS = 1 << 16
#: references sampled to find a column's objects
_FEW_SAMPLE = 1 << 16
#: rows a thread numbers at a time (their temporaries stay in the cache)
_FEW_SPAN = 1 << 18


def few_objects(
    values: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.object_], I64] | None:
    """(the place of each row's object among the distinct objects, the distinct objects,
    the first row holding each) of an object array holding at most :data:`FEW_OBJECTS`
    distinct objects, or None.

    A column of a few values repeated over many rows (event names, channels, a
    pandas column made from a categorical or read from CSV) often holds each value
    as one object many times. Its rows are then numbered by their objects'
    addresses, compared as integers without the GIL, instead of hashing and
    comparing a Python string a row: the objects of an evenly spaced sample go into
    a small table (a multiplicative hash of the address, sized so that they do not
    collide), every row reads its slot and checks the address found there, and the
    objects of the rows that miss join the table for one more round. The objects
    are identities, not values: two equal strings may be two objects (callers
    factorise the few objects' values, in the order of their first rows, as a hash
    of every row would meet them). Small arrays, and arrays of many objects, give
    None.

    >>> values = np.array(["a", "b", None] * 30_000, dtype=object)
    >>> at, objects, first = few_objects(values)
    >>> objects[at[:4]].tolist(), sorted(first.tolist())
    (['a', 'b', None, 'a'], [0, 1, 2])
    """
    n = len(values)
    if n < _FEW_MIN_ROWS or values.ndim != 1:
        return None
    refs = np.asarray(Addresses(values))
    found = np.unique(refs[:: max(1, n // _FEW_SAMPLE)])
    out = np.empty(n, dtype=np.int32)
    spans = chunks(n, max(1, -(-n // _FEW_SPAN)))
    for _ in range(2):
        if len(found) > FEW_OBJECTS:
            return None
        bits = max(2 * len(found), 64).bit_length() + 1
        slots = spread(found) >> np.uint64(64 - bits)
        while len(np.unique(slots)) < len(found):  # (more slots until no two share one)
            bits += 1
            slots = spread(found) >> np.uint64(64 - bits)
        table = np.full(1 << bits, len(found), dtype=np.int32)  # (len(found): no object)
        table[slots] = np.arange(len(found), dtype=np.int32)
        known = np.append(found, np.uint64(0))  # (no object lives at address 0)
        shift = np.uint64(64 - bits)

        def number(
            span: tuple[int, int],
            table: npt.NDArray[np.int32] = table,
            known: U64 = known,
            shift: Any = shift,
        ) -> I64:
            a, b = span
            r = refs[a:b]
            at = table[spread(r) >> shift]
            out[a:b] = at
            missed: I64 = np.flatnonzero(known[at] != r)
            missed += a
            return missed

        missed = np.concatenate(parallel_map(number, spans))
        if len(missed) == 0:
            first = _first_rows(out, len(found))
            return out, values[first], first
        found = np.concatenate([found, np.unique(refs[missed])])
    return None


def _first_rows(codes: npt.NDArray[np.signedinteger[Any]], k: int) -> I64:
    """The first row holding each of the codes 0..k-1 (every one occurs), read span by
    span until all are met (a column's few values usually all occur early).

    >>> _first_rows(np.array([2, 0, 2, 1, 0]), 3).tolist()
    [1, 3, 0]
    """
    first = np.full(k, len(codes), dtype=np.int64)
    left = k
    for a in range(0, len(codes), _FEW_SPAN):
        met, at = np.unique(codes[a : a + _FEW_SPAN], return_index=True)
        new = first[met] == len(codes)
        first[met[new]] = at[new] + a
        left -= int(new.sum())
        if not left:
            break
    return first


def unique_sorted(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct values (``np.sort`` plus a neighbour test; faster than ``np.unique``).

    Values in order already are not sorted again, and integers spanning no more
    numbers than there are values are counted (``np.bincount``) instead: numpy's sort
    of 64-bit integers takes as long on sorted input as on any other (63 ns a value
    on the Zen 4 machine, where a check that they are in order takes 0.5).

    Examples:
        >>> unique_sorted(np.array([3, 1, 3])).tolist()
        [1, 3]
        >>> unique_sorted(np.array([2**40, 5, 2**40])).tolist()  # (a wide span: sorted)
        [5, 1099511627776]
    """
    if len(values) < 2:
        return np.sort(values)
    kind = values.dtype.kind
    if kind == "i" or (kind == "u" and values.dtype.itemsize < 8):
        low, high = int(values.min()), int(values.max())
        if high - low <= len(values):
            present = np.flatnonzero(np.bincount(np.subtract(values, low, dtype=np.int64)))
            present += low
            return present.astype(values.dtype)
    in_order = kind in "biufmM" and bool(np.all(values[1:] >= values[:-1]))
    s = values if in_order else np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def sorted_codes(values: npt.NDArray[np.integer[Any]]) -> tuple[I64, I64]:
    """Dense codes of integers in increasing order of value, and the sorted distinct values.

    One ``np.sort`` of 64-bit keys, each value less the minimum with its position in
    the low bits (numpy's vectorised sort: an ``argsort``, as in ``np.unique(...,
    return_inverse=True)``, is several times slower); ``np.unique`` when value span
    and positions do not fit 64 bits together.

    Examples:
        >>> codes, distinct = sorted_codes(np.array([7, -3, 7, 9]))
        >>> codes.tolist(), distinct.tolist()
        ([1, 0, 1, 2], [-3, 7, 9])
    """
    v = np.asarray(values, dtype=np.int64)
    m = len(v)
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = int(v.min()), int(v.max())
    row_bits = max(1, (m - 1).bit_length())
    if (hi - lo).bit_length() + row_bits > 64:
        distinct, inverse = np.unique(v, return_inverse=True)
        return inverse.reshape(m).astype(np.int64), distinct
    key = (v - lo).view(np.uint64)  # the span is below 2**63: no overflow
    key <<= np.uint64(row_bits)
    key |= np.arange(m, dtype=np.uint64)
    key.sort()
    at = (key & np.uint64((1 << row_bits) - 1)).astype(np.int64)
    key >>= np.uint64(row_bits)
    start = np.empty(m, dtype=bool)
    start[0] = True
    np.not_equal(key[1:], key[:-1], out=start[1:])
    group = np.cumsum(start, dtype=np.int64)
    group -= 1
    codes = np.empty(m, dtype=np.int64)
    codes[at] = group
    distinct = np.compress(start, key).view(np.int64)
    distinct += lo
    return codes, distinct
