"""Vectorised funnel kernels over rows sorted by (unit, ts, seq).

The ordered and strict engines run the dynamic programme of
``SEMANTICS.md`` as sorted passes: for step j, every row r matching step j
takes b(r), the latest chain start reachable through an admissible row q of
step j−1 (same unit, earlier in row order, no guarding exclusion strictly in
between, gap bounds, hold equality), and keeps r when ts(r) − ts(b) ≤ W.
A chain start is stored as its row index, which orders starts exactly as
their timestamps do within a unit. Admissible predecessors form a contiguous
run of a sorted "group" (segment between breaker rows × hold value), so the
best predecessor is a segmented running maximum — mostly the last
predecessor's value, as the encoded starts rarely decrease along a segment —
or a sparse-table range maximum when a gap has a maximum, never a Python
loop per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from autoops._bits import Rank, count_before
from autoops._factorize import unique_sorted
from autoops._parallel import parallel_map, running_count, thread_count

__all__ = [
    "HeldCodes",
    "Hold",
    "JoinedLevels",
    "Rows",
    "Transition",
    "canonical_chains",
    "depth_of",
    "first_ge",
    "ordered_dp",
    "ordered_dp_depth",
    "ranges",
    "unit_subset",
    "unordered_depth",
]

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.signedinteger[Any]]  # hold codes: int32 when they fit, else int64


class Hold(Protocol):
    """The hold codes of sorted rows, read a pair of row sets at a time (internal).

    A *lazy* hold reads the input column when asked; the DP freezes the codes that
    chains and trends may ask for later (:func:`_freeze`).
    """

    lazy: bool

    def pair(self, q_idx: I64, r_idx: I64) -> tuple[Codes, Codes]:
        """The codes of rows *q_idx* and of rows *r_idx*: equal codes, equal held values
        (-1: null, never equal). Codes of one pair compare with each other only."""
        ...

    def block(self, lo: int, hi: int) -> Hold:
        """The same for rows [lo, hi), counted from lo."""
        ...

    def subset(self, starts: I64, ends: I64) -> Hold:
        """The same for the rows of the ranges [starts[i], ends[i]) (each within one
        unit; they may overlap), counted by their place among those rows, one range
        after another."""
        ...


@attrs.frozen
class Transition:
    """What constrains the link from step j−1 to step j (0-based j ≥ 1)."""

    breakers: Bool | None  # rows that start a new segment besides unit starts (None: none)
    every_row_breaks: bool  # strict order, repeats break
    hold: Hold | None  # the held values' codes (None: no hold)
    min_gap: int | None
    max_gap: int | None


class HeldCodes:
    """The hold codes of the held rows (internal): ``codes[i]`` is sorted row ``rows[i]``'s.

    Only the rows of the steps a hold joins carry a code (-1 for a null); every
    other row reads -1. No full-length array is kept.

    >>> held = HeldCodes(np.array([1, 4]), np.array([7, -1], dtype=np.int32))
    >>> held[np.array([0, 1, 4, 5])].tolist()
    [-1, 7, -1, -1]
    >>> [c.tolist() for c in held.block(1, 5).pair(np.array([0]), np.array([2, 3]))]
    [[7], [-1, -1]]
    """

    lazy = False

    def __init__(self, rows: I64, codes: Codes) -> None:
        self.rows = rows  # ascending sorted-row positions
        self.codes = codes

    def __getitem__(self, idx: I64) -> Codes:
        """The codes of sorted rows *idx* (-1 for rows without one)."""
        if not len(self.rows):
            return np.full(len(idx), -1, dtype=self.codes.dtype)
        pos = np.searchsorted(self.rows, idx)
        np.minimum(pos, len(self.rows) - 1, out=pos)
        got: Codes = np.where(self.rows[pos] == idx, self.codes[pos], -1).astype(
            self.codes.dtype, copy=False
        )
        return got

    def pair(self, q_idx: I64, r_idx: I64) -> tuple[Codes, Codes]:
        """The codes of rows *q_idx* and of rows *r_idx* (see :class:`Hold`)."""
        return self[q_idx], self[r_idx]

    def block(self, lo: int, hi: int) -> HeldCodes:
        """The codes of sorted rows [lo, hi), counted from lo."""
        a, b = np.searchsorted(self.rows, [lo, hi]).tolist()
        return HeldCodes(self.rows[a:b] - lo, self.codes[a:b])

    def subset(self, starts: I64, ends: I64) -> HeldCodes:
        """The codes of the sorted rows of the ranges [starts[i], ends[i]) (each within
        one unit; they may overlap), counted by their place among those rows, one range
        after another: a binary search per range, not per held row.

        >>> held = HeldCodes(np.array([1, 4, 6]), np.array([7, 9, 5], dtype=np.int32))
        >>> held.subset(np.array([0, 4]), np.array([1, 7]))[np.arange(4)].tolist()
        [-1, 9, -1, 5]
        """
        lo = np.searchsorted(self.rows, starts)
        hi = np.searchsorted(self.rows, ends)
        at = ranges(lo, hi)
        before = np.cumsum(ends - starts) - (ends - starts)  # rows of the earlier ranges
        shift = np.repeat(before - starts, hi - lo)
        return HeldCodes(self.rows[at] + shift, self.codes[at])


class StepMasks:
    """The step masks of sorted rows, read from their match bits when asked (internal).

    ``masks[j]`` is ``bits & flags[j] != 0``. The DP reads each step of each block
    once, so no full-length mask is kept (one byte a row for all the steps instead
    of one a step).

    >>> masks = StepMasks(np.array([1, 2, 3], dtype=np.uint8), [1, 2])
    >>> len(masks), masks[0].tolist(), masks.slice(1, 3)[1].tolist()
    (2, [True, False, True], [True, True])
    """

    def __init__(self, bits: npt.NDArray[np.unsignedinteger[Any]], flags: list[int]) -> None:
        self.bits = bits
        self.flags = [bits.dtype.type(f) for f in flags]

    def __len__(self) -> int:
        return len(self.flags)

    def __getitem__(self, j: int) -> Bool:
        mask: Bool = np.bitwise_and(self.bits, self.flags[j]) != 0
        return mask

    def __iter__(self) -> Iterator[Bool]:
        return (self[j] for j in range(len(self)))

    def slice(self, lo: int, hi: int) -> StepMasks:
        """The masks of rows [lo, hi) (a view of the bits)."""
        return StepMasks(self.bits[lo:hi], [int(f) for f in self.flags])


@attrs.frozen
class Rows:
    """Rows sorted by (unit, ts, seq): unit codes, ts in µs, step masks."""

    unit: I64
    ts: I64
    steps: StepMasks
    entry: Bool  # rows whose ts lies in the entry range
    starts: Bool = attrs.field(default=None, eq=False, repr=False)  # first row of a unit
    distinct: I64 = attrs.field(default=None, eq=False, repr=False)  # unit codes, ascending
    # bitmaps of segment starts (units, or units cut by breaker rows), per breaker mask:
    # links guarded by the same exclusions share them
    segs: dict[int, tuple[Bool | None, Rank]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )
    _unit_rows: I64 | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.starts is None:
            starts = np.ones(self.n, dtype=bool)
            if self.n > 1:
                np.not_equal(self.unit[1:], self.unit[:-1], out=starts[1:])
            object.__setattr__(self, "starts", starts)

    @property
    def n(self) -> int:
        return len(self.unit)

    def units(self) -> I64:
        """The distinct unit codes, ascending (rows are sorted by unit)."""
        if self.distinct is None:
            object.__setattr__(self, "distinct", np.compress(self.starts, self.unit))
        return self.distinct

    def unit_of(self, at: I64) -> I64:
        """The place in :meth:`units` of the unit of each row *at* (-1 for -1), counted
        in a bitmap of the unit starts: no array as long as the rows (an int64 per row
        is 80 MB at 10M rows, mapped afresh at each call).

        >>> rows = Rows(np.array([4, 4, 7, 9]), np.zeros(4, np.int64), StepMasks(
        ...     np.zeros(4, np.uint8), []), np.ones(4, bool))
        >>> rows.unit_of(np.array([0, 1, 2, 3, -1])).tolist()
        [0, 0, 1, 2, -1]
        """
        return _segment_lookup(self, None)(at)

    def unit_rows(self) -> I64:
        """The first row of each unit, ascending (found once and kept: one number a unit)."""
        if self._unit_rows is None:
            object.__setattr__(self, "_unit_rows", np.flatnonzero(self.starts))
        assert self._unit_rows is not None
        return self._unit_rows

    def unit_ends(self) -> I64:
        """One past the last row of each unit, ascending.

        >>> Rows(np.array([3, 3, 5, 8, 8]), np.zeros(5, np.int64), StepMasks(
        ...     np.zeros(5, np.uint8), []), np.ones(5, bool)).unit_ends().tolist()
        [2, 3, 5]
        """
        return np.append(self.unit_rows()[1:], self.n)

    def first_row(self, at: I64) -> I64:
        """The first row of the unit of each row *at*."""
        first: I64 = self.unit_rows()[self.unit_of(at)]
        return first


def _segment_lookup(rows: Rows, breakers: Bool | None) -> Callable[[I64], I64]:
    """``positions -> segment ids`` (0, 1, … along the rows; -1 for position -1), where a
    segment starts at each unit start and each row of *breakers*: the segments' first
    rows counted up to each position in a bitmap (:class:`autoops._bits.Rank`, built
    once per breaker mask), instead of numbering every row."""
    key = -1 if breakers is None else id(breakers)
    hit = rows.segs.get(key)
    if hit is None or hit[0] is not breakers:
        hit = (breakers, Rank(rows.starts if breakers is None else rows.starts | breakers))
        rows.segs[key] = hit
    first = hit[1]

    def at(positions: I64) -> I64:
        out = first.before(positions + 1)
        out -= 1
        return out

    return at


def _segments_of(rows: Rows, tr: Transition) -> Callable[[I64], I64]:
    """``positions -> segment ids`` under *tr*: each row its own segment when every row
    breaks, else segments cut by unit starts and *tr*'s breaker rows."""
    if tr.every_row_breaks:
        return lambda at: np.array(at, dtype=np.int64)
    return _segment_lookup(rows, tr.breakers)


def _prev_segment(rows: Rows, seg_at: Callable[[I64], I64], r_idx: I64) -> I64:
    """The segment of row r−1 when it belongs to r's unit, else -1."""
    out = seg_at(r_idx - 1)  # r = 0 is a unit start: overwritten next
    out[rows.starts[r_idx]] = -1
    return out


def first_ge(ts: I64, lo: I64, hi: I64, bound: I64) -> I64:
    """For each i: the smallest p in [lo[i], hi[i]) with ``ts[p] >= bound[i]``, else
    hi[i] (*ts* ascending on each range).

    A binary search of all the ranges together, each round over the ranges not yet
    settled only (short ranges settle in a few rounds, long ones go on alone).

    >>> ts = np.array([1, 3, 3, 7, 2, 9])
    >>> first_ge(ts, np.array([0, 0, 4, 2]), np.array([4, 4, 6, 2]), np.array([3, 8, 5, 0])).tolist()
    [1, 4, 5, 2]
    """
    lo = lo.copy()
    hi = hi.copy()
    open_ = np.flatnonzero(lo < hi)
    while len(open_):
        low, high = lo[open_], hi[open_]
        mid = low + high
        mid >>= 1
        right = ts[mid] < bound[open_]
        lo[open_] = np.where(right, mid + 1, low)
        hi[open_] = np.where(right, high, mid)
        open_ = np.compress(lo[open_] < hi[open_], open_)
    return lo


def _last_le(ts: I64, lo: I64, hi: I64, bound: I64) -> I64:
    """Largest p in [lo, hi) with ts[p] <= bound, else lo − 1 (ts sorted on each range)."""
    return first_ge(ts, lo, hi, bound + 1) - 1


def _range_max(values: I64, lo: I64, hi: I64) -> I64:
    """max(values[lo..hi]) inclusive for each query (lo <= hi), via a sparse table."""
    out = np.full(len(lo), -1, dtype=np.int64)
    if len(values) == 0 or len(lo) == 0:
        return out
    table = [values]
    span = 1
    while span * 2 <= len(values):
        prev = table[-1]
        table.append(np.maximum(prev[:-span], prev[span:]))
        span *= 2
    length = hi - lo + 1
    level = np.zeros(len(lo), dtype=np.int64)
    ok = length > 0
    level[ok] = np.floor(np.log2(length[ok])).astype(np.int64)
    for lv in np.unique(level[ok]):
        sel = ok & (level == lv)
        t = table[int(lv)]
        width = 1 << int(lv)
        out[sel] = np.maximum(t[lo[sel]], t[hi[sel] - width + 1])
    return out


@attrs.frozen
class _Groups:
    q_order: I64  # positions into the q arrays, sorted by (group, idx)
    q_key: I64  # group_rank * N + idx, sorted
    q_group: I64  # group rank per sorted q
    r_group: I64  # group rank per r (-1: no admissible group)


def _groups(
    rows: Rows, tr: Transition, q_idx: I64, r_idx: I64, extra_q: I64 | None, extra_r: I64 | None
) -> _Groups:
    """Rank the admissibility groups of q rows and map r rows onto them."""
    seg_at = _segments_of(rows, tr)
    gq = seg_at(q_idx)
    gr = _prev_segment(rows, seg_at, r_idx)
    keep_q = np.ones(len(q_idx), dtype=bool)
    parts_q = [gq]
    parts_r = [gr]
    if tr.hold is not None:
        hq, hr = (c.astype(np.int64, copy=False) for c in tr.hold.pair(q_idx, r_idx))
        keep_q &= hq >= 0
        gr = np.where(hr >= 0, gr, -1)
        parts_q.append(hq)
        parts_r.append(hr)
    if extra_q is not None and extra_r is not None:
        parts_q.append(extra_q)
        parts_r.append(extra_r)
    n1 = rows.n + 1
    if len(parts_q) == 1:
        # segment ids grow with the row index: q is already in (group, idx) order
        order = np.nonzero(keep_q)[0]
        q_group = gq[order]
        r_group = gr
    else:
        rank_q = np.where(keep_q, parts_q[0], -1)
        rank_r = parts_r[0]
        for pq, pr in zip(parts_q[1:], parts_r[1:], strict=True):
            rank_q, rank_r = _rank_pair(rank_q, rank_r, pq, pr)
        sel = np.nonzero(rank_q >= 0)[0]
        order = sel[np.lexsort((q_idx[sel], rank_q[sel]))]
        q_group = rank_q[order]
        r_group = rank_r
    q_key = q_group * n1 + q_idx[order]
    return _Groups(order, q_key, q_group, r_group)


def _rank_pair(rank_q: I64, rank_r: I64, pq: I64, pr: I64) -> tuple[I64, I64]:
    """Dense ranks of the pairs (rank, p) over q, and r mapped onto them (-1: absent)."""
    width = np.int64(max(int(pq.max(initial=0)), int(pr.max(initial=0))) + 1)
    keep = (rank_q >= 0) & (pq >= 0)
    cq = rank_q * width + pq
    uq, inv = np.unique(cq[keep], return_inverse=True)
    new_q = np.full(len(rank_q), -1, dtype=np.int64)
    new_q[keep] = inv
    valid_r = (rank_r >= 0) & (pr >= 0)
    cr = np.where(valid_r, rank_r * width + pr, -1)
    new_r = np.full(len(rank_r), -1, dtype=np.int64)
    if len(uq):
        pos = np.minimum(np.searchsorted(uq, cr), len(uq) - 1)
        hit = valid_r & (uq[pos] == cr)
        new_r[hit] = pos[hit]
    return new_q, new_r


def _hi_bound(rows: Rows, tr: Transition, r_idx: I64) -> I64:
    """Last row index a predecessor of r may have (r−1, or earlier under a min gap)."""
    hi = r_idx - 1
    if tr.min_gap is not None:
        bound = rows.ts[r_idx] - tr.min_gap
        first = rows.first_row(r_idx)
        hi = np.minimum(hi, _last_le(rows.ts, first, r_idx, bound))
    return hi


def _count_through(n: int, q_idx: I64, hi: I64) -> npt.NDArray[np.signedinteger[Any]]:
    """For each bound in *hi* (at least -1): how many of the rows *q_idx* (ascending,
    below *n*) lie at or before it.

    The q rows are flagged in a bitmap and counted by :func:`autoops._bits.count_before`:
    2-4 times faster than a cumulative sum over the n rows (a scalar loop in numpy) or
    a binary search per bound, except when the bounds are very few, which take the
    binary search.

    >>> _count_through(200, np.array([3, 64, 130]), np.array([-1, 3, 63, 64, 199])).tolist()
    [0, 1, 1, 2, 3]
    """
    if 64 * len(hi) < n:
        return np.searchsorted(q_idx, hi, side="right")
    flags = np.zeros(-(-(n + 1) // 64) * 64, dtype=bool)  # (whole words: no padded copy)
    flags[q_idx] = True
    return count_before(flags, hi + 1)


def _max_through(n: int, q_idx: I64, enc: I64, hi: I64, none: int = 0) -> I64:
    """For each bound in *hi*: the maximum of *enc* over the q rows at or before it
    (*none*, below every value, when there is none; *q_idx* ascending, rows below *n*).

    The DP's encoded starts rarely decrease along the q rows: a later row of a
    segment has at least the earlier rows' predecessors, unless a hold on the
    step before chose them by value (another order's chain may start earlier).
    When they do not decrease, the maximum is the value of the last q row at or
    before the bound (found by :func:`_count_through`); otherwise a running
    maximum over the q rows is taken first.
    """
    if len(enc) > 1 and not bool(np.all(enc[1:] >= enc[:-1])):
        enc = np.maximum.accumulate(enc)
    last = _count_through(n, q_idx, hi)
    # the value of the last q row (the one in front stands for "none")
    run = np.empty(len(enc) + 1, dtype=np.int64)
    run[0] = none
    run[1:] = enc
    out: I64 = run[last]
    return out


def _or_none(val: I64, ok: Bool) -> I64:
    """*val* where *ok*, else -1, without branches: ``(ok − 1) | val``. ``np.where``
    branches per element and costs up to 7 times as much on a mixed mask.

    >>> _or_none(np.array([5, 6, 7]), np.array([True, False, True])).tolist()
    [5, -1, 7]
    """
    out = ok.astype(np.int64)
    out -= 1
    out |= val
    return out


def _best_start_scan(
    rows: Rows, tr: Transition, q_idx: I64, q_b: I64, r_idx: I64
) -> tuple[I64, Bool]:
    """``best_start`` without hold or maximum gap: the maximum over the q rows so far.

    Each q row holds ``segment · (n+1) + start + 1``; each r row reads the
    maximum of these up to its last q row at or before its bound
    (:func:`_max_through`: usually that row's own value, as the values rarely decrease).
    Segment ids never decrease along the rows, so that maximum is the latest
    start of the row's own segment when that segment has a q row so far, and
    smaller than ``segment · (n+1)`` otherwise: no per-segment reset, and no
    pass over the rows of other steps. When the segments are the units, the
    start alone does (-1 for none): a chain start lies in its own unit, so starts
    of earlier units fall before r's unit's first row and starts of r's unit do not.
    """
    hi = _hi_bound(rows, tr, r_idx)
    if tr.breakers is None and not tr.every_row_breaks:
        val = _max_through(rows.n, q_idx, q_b, hi, none=-1)
        # the start lies in r's unit when it is a row of r's unit (start rows precede r)
        ok = val >= 0
        ok &= rows.unit[val] == rows.unit[r_idx]
        return val, ok  # (val is -1 or a row where not ok)
    seg_at = _segments_of(rows, tr)
    n1 = rows.n + 1
    enc = seg_at(q_idx)
    enc *= n1
    enc += q_b
    enc += 1
    gr = _prev_segment(rows, seg_at, r_idx)
    val = _max_through(rows.n, q_idx, enc, hi) - gr * n1 - 1
    ok = (gr >= 0) & (val >= 0)
    return _or_none(val, ok), ok


def _best_start_held(
    rows: Rows,
    tr: Transition,
    hold: Hold,
    q_idx: I64,
    q_b: I64,
    r_idx: I64,
) -> tuple[I64, Bool]:
    """``best_start`` with a hold and no maximum gap: one sort of the q rows by
    (hold code, row) — packed with their position into one 64-bit key — and
    one running maximum over (hold, segment) runs; each r row finds its last
    candidate by one binary search. Hold codes are below 2**32 (offsets of
    compact integers, else dense ranks), so the key fits below 2**62 rows.
    """
    # (codes may be int32: keys need 64 bits)
    hq, hr = (c.astype(np.int64, copy=False) for c in hold.pair(q_idx, r_idx))
    pos_bits = len(q_idx).bit_length()
    top = max(int(hq.max(initial=0)), int(hr.max(initial=0)))
    assert top.bit_length() + pos_bits <= 62, "hold codes exceed the packed key"
    seg_at = _segments_of(rows, tr)
    n1 = rows.n + 1
    held = np.flatnonzero(hq >= 0)
    if len(held) == 0:
        return np.full(len(r_idx), -1, dtype=np.int64), np.zeros(len(r_idx), dtype=bool)
    key = hq[held]
    key <<= pos_bits
    key |= held
    key.sort()  # by hold code, then row (q positions grow with the row)
    at = key & ((1 << pos_bits) - 1)
    code = key >> pos_bits
    q_seg = seg_at(q_idx[at])
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = (code[1:] != code[:-1]) | (q_seg[1:] != q_seg[:-1])
    group = running_count(starts)
    enc = group * n1
    enc += q_b[at]
    enc += 1
    np.maximum.accumulate(enc, out=enc)
    # the last q row at or before r's bound, as a position into q_idx (-1: none)
    last = _count_through(rows.n, q_idx, _hi_bound(rows, tr, r_idx)) - 1
    pos = np.searchsorted(key, (hr << pos_bits) + last, side="right") - 1
    pos_c = np.maximum(pos, 0)
    gr = _prev_segment(rows, seg_at, r_idx)
    ok = (pos >= 0) & (hr >= 0) & (gr >= 0) & (code[pos_c] == hr) & (q_seg[pos_c] == gr)
    return enc[pos_c] - group[pos_c] * n1 - 1, ok  # (a q row's start where not ok)


def best_start(rows: Rows, tr: Transition, q_idx: I64, q_b: I64, r_idx: I64) -> tuple[I64, Bool]:
    """For each row r of step j: (the latest chain start over admissible q, whether
    there is one). Where there is none the start is -1 or some row: a valid index.

    Without a maximum gap the work is proportional to the q and r rows, not to
    all rows (binary searches among the q rows and the segments' first rows).
    """
    out = np.full(len(r_idx), -1, dtype=np.int64)
    if len(q_idx) == 0 or len(r_idx) == 0:
        return out, out >= 0
    if tr.hold is None and tr.max_gap is None:
        return _best_start_scan(rows, tr, q_idx, q_b, r_idx)
    if tr.hold is not None and tr.max_gap is None:
        return _best_start_held(rows, tr, tr.hold, q_idx, q_b, r_idx)
    g = _groups(rows, tr, q_idx, r_idx, None, None)
    if len(g.q_key) == 0:
        return out, out >= 0
    n1 = rows.n + 1
    hi = _hi_bound(rows, tr, r_idx)
    ok = (g.r_group >= 0) & (hi >= 0)
    pos_hi = np.searchsorted(g.q_key, g.r_group * n1 + np.maximum(hi, 0), side="right") - 1
    pos_c = np.maximum(pos_hi, 0)
    ok &= (pos_hi >= 0) & (g.q_group[pos_c] == g.r_group)
    qb = q_b[g.q_order]
    if tr.max_gap is None:
        enc = np.maximum.accumulate(g.q_group * n1 + qb + 1)
        val = enc[pos_c] - g.q_group[pos_c] * n1 - 1
        out[ok] = val[ok]
        return out, ok
    lo_idx = first_ge(rows.ts, rows.first_row(r_idx), r_idx, rows.ts[r_idx] - tr.max_gap)
    pos_lo = np.searchsorted(g.q_key, g.r_group * n1 + lo_idx, side="left")
    ok &= pos_lo <= pos_hi
    sel = np.nonzero(ok)[0]
    out[sel] = _range_max(qb, pos_lo[sel], pos_hi[sel])
    return out, out >= 0


#: rows per block of the DP: the scratch arrays of a block (4 MiB of int64) are
#: recycled by the allocator instead of being mapped anew, and the blocks are few
#: enough that numpy's cost per call (Python, which holds the GIL) stays small: 512K
#: rows took 8% less time than 256K on two threads (10M events), 1M rows 5% more
DP_BLOCK_ROWS = 1 << 19

Levels = list[tuple[I64, I64]]


#: rows per block of an unordered funnel: a block keeps about 110 bytes a row of work
#: arrays at six steps (a step's next row at each row is 8 bytes); 128K rows kept them
#: recycled by the allocator, where blocks of 512K rows mapped them afresh (10M events:
#: 0.08-0.13 s of system time a call against 0.46-0.80 s)
UNORDERED_BLOCK_ROWS = 1 << 17


def _block_edges(rows: Rows, block_rows: int) -> list[int]:
    """Row offsets cutting *rows* into blocks of whole units of at most about
    *block_rows* rows, as many blocks as a multiple of the threads (no thread left
    alone with the last block)."""
    threads = thread_count()
    per = -(-rows.n // (-(-rows.n // (block_rows * threads)) * threads))
    edges = [0]
    for target in range(per, rows.n, per):
        if target <= edges[-1]:
            continue
        tail = rows.starts[target:]
        at = int(np.argmax(tail))  # the first unit start at or after target
        if not tail[at]:
            break
        edges.append(target + at)
    edges.append(rows.n)
    return edges


def _block_rows(rows: Rows, lo: int, hi: int) -> tuple[Rows, int]:
    """Rows [lo, hi) (whole units, ``lo < hi``) as rows of their own, and the place of
    their first unit among ``rows.units()``."""
    units = rows.units()
    first, last = np.searchsorted(units, [rows.unit[lo], rows.unit[hi - 1]]).tolist()
    block = Rows(
        unit=rows.unit[lo:hi],
        ts=rows.ts[lo:hi],
        steps=rows.steps.slice(lo, hi),
        entry=rows.entry[lo:hi],
        starts=rows.starts[lo:hi],
        distinct=units[first : last + 1],
    )
    return block, first


def _block(
    rows: Rows, transitions: list[Transition], lo: int, hi: int
) -> tuple[Rows, list[Transition]]:
    block, _ = _block_rows(rows, lo, hi)
    return block, _cut(transitions, lambda a: a[lo:hi], lambda h: h.block(lo, hi))


def ranges(starts: I64, ends: I64) -> I64:
    """The integers of the ranges [starts[i], ends[i]), one range after another.

    >>> ranges(np.array([0, 5]), np.array([2, 8])).tolist()
    [0, 1, 5, 6, 7]
    """
    lengths = ends - starts
    out = np.arange(int(lengths.sum()), dtype=np.int64)
    out += np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return out


def unit_subset(
    rows: Rows, transitions: list[Transition], starts: I64, ends: I64, entry_at: I64
) -> tuple[Rows, list[Transition]]:
    """The rows of the ranges [starts[i], ends[i]) (each within one unit; they may
    overlap), one range after another, as rows of their own: range i is unit i, the
    rows at positions *entry_at* among them the only entry rows, and *transitions*
    cut to them.

    Units never interact, a chain from an entry row uses no row before it, and a row
    depends on none after it: when each range starts at or before its entry rows, the
    DP over a range is the DP over its unit with those entry rows, for the rows kept
    (trends run it per unit and entry period, each range from the unit's first entry
    row in the period to its last row within the window of its last one).

    >>> rows = Rows(np.array([5, 5, 5, 8]), np.array([1, 2, 3, 1]), StepMasks(
    ...     np.zeros(4, np.uint8), []), np.ones(4, bool))
    >>> sub, _ = unit_subset(rows, [], np.array([0, 1, 3]), np.array([2, 3, 4]), np.array([0, 2]))
    >>> sub.unit.tolist(), sub.ts.tolist(), sub.entry.tolist()
    ([0, 0, 1, 1, 2], [1, 2, 2, 3, 1], [True, False, True, False, False])
    """
    idx = ranges(starts, ends)
    entry = np.zeros(len(idx), dtype=bool)
    entry[entry_at] = True
    unit_type = np.int32 if len(starts) < 2**31 else np.int64
    sub = Rows(
        unit=np.repeat(np.arange(len(starts), dtype=unit_type), ends - starts),
        ts=rows.ts[idx],
        steps=StepMasks(rows.steps.bits[idx], [int(f) for f in rows.steps.flags]),
        entry=entry,
    )
    return sub, _cut(transitions, lambda a: a[idx], lambda h: h.subset(starts, ends))


def _cut(
    transitions: list[Transition],
    cut_array: Callable[[Bool], Bool],
    cut_hold: Callable[[Hold], Hold],
) -> list[Transition]:
    """*transitions* with their breakers and holds cut to some rows: one cut per shared
    array, so that the rows' segment cache (keyed by the breaker mask) serves every
    transition guarded by the same exclusions."""
    views: dict[int, Any] = {}

    def view(a: Any) -> Any:
        if a is None:
            return None
        if id(a) not in views:
            views[id(a)] = cut_array(a) if isinstance(a, np.ndarray) else cut_hold(a)
        return views[id(a)]

    return [attrs.evolve(tr, breakers=view(tr.breakers), hold=view(tr.hold)) for tr in transitions]


def _freeze(
    levels: Levels, transitions: list[Transition], ran: list[Transition]
) -> dict[int, tuple[I64, Codes]]:
    """For each lazy hold of *transitions* (by id): the rows of the levels its
    transitions join, ascending, and their codes read now (*ran*: the same
    transitions as the DP ran them, on a block's rows).

    The chains compare rows of those levels only, and only within a unit, so codes
    made block by block serve them. A trend's DP over fewer entry rows compares
    previous-step rows of its own levels, which lie in these (fewer entries never
    make more rows valid), and step rows outside these levels, which were not valid
    with every entry row and are not with fewer either: their -1 matches nothing,
    which gives them the same outcome.
    """
    parts: dict[int, tuple[Hold, list[I64]]] = {}
    for t, (tr, block_tr) in enumerate(zip(transitions, ran, strict=True)):
        if tr.hold is not None and block_tr.hold is not None and tr.hold.lazy:
            parts.setdefault(id(tr.hold), (block_tr.hold, []))[1].extend(
                [levels[t][0], levels[t + 1][0]]
            )
    frozen = {}
    for key, (hold, idx) in parts.items():
        rows = unique_sorted(np.concatenate(idx))
        frozen[key] = (rows, hold.pair(rows, rows[:0])[0])
    return frozen


class JoinedLevels:
    """The DP's levels, each joined from the blocks' when first asked for (internal):
    ``levels[j]`` is one level, ``levels()`` all of them.

    >>> levels = JoinedLevels(lambda j: (np.array([j]), np.array([j])), 2)
    >>> levels[1][0].tolist(), len(levels())
    ([1], 2)
    """

    def __init__(self, join: Callable[[int], tuple[I64, I64]], count: int) -> None:
        self._join = join
        self._count = count
        self._joined: dict[int, tuple[I64, I64]] = {}

    def __getitem__(self, j: int) -> tuple[I64, I64]:
        if j not in self._joined:
            self._joined[j] = self._join(j)
        return self._joined[j]

    def __call__(self) -> Levels:
        return [self[j] for j in range(self._count)]


def ordered_dp_depth(
    rows: Rows, transitions: list[Transition], window: int, entry_first: bool
) -> tuple[JoinedLevels, I64, dict[int, HeldCodes]]:
    """The DP's levels (each joined when first asked for), the depth per unit, and the
    codes of each lazy hold frozen for the rows chains and trends compare (by the
    hold's id; see :func:`_freeze`).

    Units never interact, so long inputs run as blocks of whole units of about
    :data:`DP_BLOCK_ROWS` rows each — on several threads
    (:func:`autoops._parallel.parallel_map`) — and each block also finds the
    depth of its own units. The result does not depend on the blocks or the
    threads.
    """
    if rows.n <= 2 * DP_BLOCK_ROWS:
        whole = _ordered_dp(rows, transitions, window, entry_first)
        frozen = {k: HeldCodes(*v) for k, v in _freeze(whole, transitions, transitions).items()}
        return JoinedLevels(whole.__getitem__, len(whole)), _depth(rows, whole), frozen
    edges = _block_edges(rows, DP_BLOCK_ROWS)

    def run(span: tuple[int, int]) -> tuple[list[tuple[Any, Any]], I64, dict[int, Any]]:
        lo, hi = span
        block, cut = _block(rows, transitions, lo, hi)
        levels = _ordered_dp(block, cut, window, entry_first)
        depth = _depth(block, levels)
        held = _freeze(levels, transitions, cut)
        if block.n >= 2**31:
            return list(levels), depth, held
        # kept until the chains are asked for: block positions fit 32 bits (half the
        # memory); a level whose starts are its rows (the first) is kept once
        narrow = [
            (i32, i32 if b is idx else b.astype(np.int32))
            for idx, b in levels
            for i32 in [idx.astype(np.int32)]
        ]
        return narrow, depth, held

    spans = list(itertools.pairwise(edges))
    parts = parallel_map(run, spans)
    depth = np.concatenate([d for _, d, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
    frozen = {
        key: HeldCodes(
            np.concatenate([h[key][0] + lo for (*_, h), (lo, _) in zip(parts, spans, strict=True)]),
            np.concatenate([h[key][1] for *_, h in parts]),
        )
        for key in (parts[0][2] if parts else {})
    }

    def level(j: int) -> tuple[I64, I64]:
        at = [(lv[j], lo) for (lv, _, _), (lo, _) in zip(parts, spans, strict=True)]
        return (
            np.concatenate([np.add(idx, lo, dtype=np.int64) for (idx, _), lo in at]),
            np.concatenate([np.add(b, lo, dtype=np.int64) for (_, b), lo in at]),
        )

    return JoinedLevels(level, len(transitions) + 1), depth, frozen


def ordered_dp(rows: Rows, transitions: list[Transition], window: int, entry_first: bool) -> Levels:
    """The DP: per step, (row indices with a valid chain, latest start row index).

    Long inputs run in blocks of whole units (see :func:`ordered_dp_depth`).
    """
    return ordered_dp_depth(rows, transitions, window, entry_first)[0]()


def _code_range(rows: Rows) -> tuple[int, int]:
    """(the least unit code, the number of codes up to the greatest) of non-empty *rows*:
    arrays over this range are indexed by ``unit − least`` (no running count of the units)."""
    low = int(rows.unit[0])
    return low, int(rows.unit[-1]) - low + 1


def _depth(rows: Rows, levels: Levels) -> I64:
    """The last step at which each unit (of ``rows.units()``) has a valid row (0: none)."""
    if not rows.n:
        return np.zeros(0, dtype=np.int64)
    low, span = _code_range(rows)
    by_code = np.zeros(span, dtype=np.int64)
    for j, (idx, _) in enumerate(levels):
        by_code[np.subtract(rows.unit[idx], low, dtype=np.intp)] = j + 1
    return by_code[np.subtract(rows.units(), low, dtype=np.intp)]


def _ordered_dp(
    rows: Rows, transitions: list[Transition], window: int, entry_first: bool
) -> list[tuple[I64, I64]]:
    first = rows.steps[0]
    if rows.entry.strides != (0,):  # (no entry range: a read-only view of True)
        first &= rows.entry
    s1 = np.flatnonzero(first)
    if entry_first and len(s1):
        keep = np.ones(len(s1), dtype=bool)
        keep[1:] = rows.unit[s1[1:]] != rows.unit[s1[:-1]]
        s1 = s1[keep]
    levels = [(s1, s1)]  # the first step's chains start at their own rows (read only)
    for j, tr in enumerate(transitions, start=1):
        q_idx, q_b = levels[-1]
        r_idx = np.flatnonzero(rows.steps[j])
        if len(q_idx) * 4 < len(r_idx):
            # few units went on: drop the rows of units without a chain to extend
            # (their start would be -1; every other row's start depends on q alone)
            low, span = _code_range(rows)
            has_q = np.zeros(span, dtype=bool)
            has_q[np.subtract(rows.unit[q_idx], low, dtype=np.intp)] = True
            r_idx = np.compress(has_q[np.subtract(rows.unit[r_idx], low, dtype=np.intp)], r_idx)
        b, valid = best_start(rows, tr, q_idx, q_b, r_idx)
        valid &= rows.ts[r_idx] - rows.ts[b] <= window
        levels.append((np.compress(valid, r_idx), np.compress(valid, b)))
    return levels


def depth_of(rows: Rows, levels: list[tuple[I64, I64]]) -> tuple[I64, I64]:
    """(unit codes, depth): the last step at which each unit has a valid row."""
    return rows.units(), _depth(rows, levels)


def canonical_chains(
    rows: Rows, transitions: list[Transition], levels: list[tuple[I64, I64]]
) -> tuple[I64, I64, I64]:
    """Depth per unit code and the canonical chain rows (units × steps, -1 unused).

    The canonical chain has the maximal depth, then the earliest final row,
    then the latest start, then (walking back) the latest row at each step.

    Returns:
        (unit codes present, depth, chain) for every unit with a row.
    """
    units = rows.units()
    k = len(levels)
    depth = np.zeros(len(units), dtype=np.int64)
    final = np.full(len(units), -1, dtype=np.int64)
    start = np.full(len(units), -1, dtype=np.int64)
    for j, (idx, b) in enumerate(levels):
        if len(idx) == 0:
            continue
        u = rows.unit_of(idx)
        first = np.ones(len(idx), dtype=bool)
        first[1:] = u[1:] != u[:-1]
        uu = u[first]
        depth[uu] = j + 1
        final[uu] = idx[first]
        start[uu] = b[first]
    chain = np.full((len(units), k), -1, dtype=np.int64)
    has = depth > 0
    chain[has, depth[has] - 1] = final[has]
    for j in range(k - 2, -1, -1):
        need = np.nonzero(depth > j + 1)[0]
        if len(need) == 0:
            continue
        tr = transitions[j]
        r = chain[need, j + 1]
        s = start[need]
        q_idx, q_b = levels[j]
        n1 = rows.n + 1
        hi = _hi_bound(rows, tr, r)
        if tr.hold is None and tr.breakers is None and not tr.every_row_breaks:
            # the admissible q rows of r are those of its unit with its start: a start is
            # a row of one unit, so (start, row) keys alone group them (no segments)
            key = q_b * n1
            key += q_idx
            # (in order already unless a hold chose the starts by value: a stable sort
            # takes the runs as they come, in one pass when there is one)
            key.sort(kind="stable")
            pos = np.searchsorted(key, s * n1 + hi, side="right") - 1
            got = key[np.maximum(pos, 0)]
            ok = (pos >= 0) & (got // n1 == s)
            found = got % n1
        else:
            g = _groups(rows, tr, q_idx, r, q_b, s)
            pos = np.searchsorted(g.q_key, g.r_group * n1 + hi, side="right") - 1
            pos_c = np.maximum(pos, 0)
            ok = (g.r_group >= 0) & (pos >= 0) & (g.q_group[pos_c] == g.r_group)
            found = q_idx[g.q_order[pos_c]]
        if not ok.all():  # pragma: no cover - a broken invariant, not a data condition
            raise AssertionError("canonical chain backtrack lost its predecessor")
        chain[need, j] = found
    return units, depth, chain


def unordered_depth(rows: Rows, window: int, in_range: Bool) -> tuple[I64, I64, I64]:
    """Unordered funnels: depth = max over anchor rows t (any step, in range) of
    the number of steps with a row in [t.ts, t.ts + W].

    Returns (unit codes, depth, chain) where the chain holds, for the best
    anchor (earliest among the deepest), the first row of each step in the
    window, ordered as the steps are reached (-1 for steps not reached).

    Units never interact, so long inputs run as blocks of whole units of about
    :data:`UNORDERED_BLOCK_ROWS` rows (:func:`_block_edges`, as the ordered DP) on
    the threads, each writing its units' depth and chains: a block's work arrays are
    recycled by the allocator, where the whole input's (4 bytes a row a step for the
    running counts of the steps alone) were fresh memory at every call.
    """
    units = rows.units()
    k = len(rows.steps)
    depth = np.zeros(len(units), dtype=np.int64)
    chain = np.full((len(units), k), -1, dtype=np.int64)

    def run(block: Rows, lo: int, hi: int, at: slice) -> None:
        _unordered_block(block, window, in_range[lo:hi], depth[at], chain[at], lo)

    _by_unit_blocks(rows, UNORDERED_BLOCK_ROWS, run)
    return units, depth, chain


def _by_unit_blocks(
    rows: Rows, block_rows: int, run: Callable[[Rows, int, int, slice], None]
) -> None:
    """``run(block, lo, hi, at)`` for blocks of whole units of about *block_rows* rows
    (on the threads; the rows whole when they are at most two blocks): *block* holds
    rows [lo, hi) and the units ``rows.units()[at]``."""
    if rows.n <= 2 * block_rows:
        run(rows, 0, rows.n, slice(None))
        return

    def one(span: tuple[int, int]) -> None:
        lo, hi = span
        block, first = _block_rows(rows, lo, hi)
        run(block, lo, hi, slice(first, first + len(block.units())))

    parallel_map(one, list(itertools.pairwise(_block_edges(rows, block_rows))))


def _unordered_block(
    rows: Rows, window: int, in_range: Bool, depth: I64, chain: I64, offset: int
) -> None:
    """Write :func:`unordered_depth`'s depth and chains of the units of *rows* into
    *depth* and *chain* (one row per unit of ``rows.units()``), the chains' rows
    counted from *offset*.

    Each step's first row at or after an anchor's tie group (same unit and ts) is read
    from the step's next row at each row (one number a row a step); it counts when it
    lies before the end of the anchor's unit and within its window. The best anchor of
    each unit comes from its run of anchors: linear passes, no sort, and the step rows
    of the best anchors only are kept.
    """
    n = rows.n
    k = len(rows.steps)
    masks = list(rows.steps)
    any_step = np.zeros(n, dtype=bool)
    for m in masks:
        any_step |= m
    anchors = np.flatnonzero(any_step & in_range)
    del any_step
    if len(anchors) == 0:
        return
    # the first row of each anchor's tie group: the start of the group holding it
    tie_start = rows.starts.copy()
    if n > 1:
        tie_start[1:] |= rows.ts[1:] != rows.ts[:-1]
    a0 = np.flatnonzero(tie_start)[count_before(tie_start, anchors + 1) - 1]
    del tie_start
    # per anchor its unit's place, the end of its unit's rows and of its window
    u = rows.unit_of(anchors)
    a_stop = rows.unit_ends()[u]
    a_end = rows.ts[anchors]
    a_end += window
    ts = np.append(rows.ts, 0)  # (row n: a step's next row when it has none)
    # per step (on the threads when the input is one block): its next row at each row
    nexts = [nxt for nxt in parallel_map(_next_true, masks) if nxt[0] < n]

    def step_rows(nxt: I64, sel: slice | I64) -> Bool:
        """Whether the step's first row at or after the tie group of anchors *sel* lies
        in their unit and window; the row is ``nxt[a0[sel]]``."""
        cand = nxt[a0[sel]]
        ok: Bool = cand < a_stop[sel]
        ok &= ts[cand] <= a_end[sel]
        return ok

    count = np.zeros(len(anchors), dtype=np.int8 if len(nexts) < 128 else np.int64)
    for nxt in nexts:
        count += step_rows(nxt, slice(None))
    # the anchors come by unit: per unit its deepest count, and its first anchor with it
    run = np.ones(len(anchors), dtype=bool)
    run[1:] = u[1:] != u[:-1]
    run_at = np.flatnonzero(run)
    deepest = np.maximum.reduceat(count, run_at)
    best = np.flatnonzero(count == np.repeat(deepest, np.diff(np.append(run_at, len(anchors)))))
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = u[best[1:]] != u[best[:-1]]
    best = np.compress(keep, best)
    depth[u[run_at]] = deepest
    # the best anchors' step rows, ordered by position: chain[:, i] = i-th step reached
    none = np.iinfo(np.int64).max
    key = np.full((len(best), k), none, dtype=np.int64)
    first = a0[best]
    for s, nxt in enumerate(nexts):
        key[:, s] = np.where(step_rows(nxt, best), nxt[first] + offset, none)
    key.sort(axis=1)
    key[key == none] = -1
    chain[u[best]] = key


def _next_true(mask: Bool) -> I64:
    """The first position at or after each position where *mask* is true (``len(mask)``
    past the last): each true position repeated over the run it ends.

    >>> _next_true(np.array([False, True, False, False, True, False])).tolist()
    [1, 1, 4, 4, 4, 6]
    """
    n = len(mask)
    pos = np.flatnonzero(mask)
    lengths = np.diff(pos, prepend=-1, append=n - 1)
    return np.repeat(np.append(pos, n), lengths)


def open_reached(rows: Rows, in_open_range: Bool) -> tuple[I64, npt.NDArray[np.bool_], I64]:
    """Open funnels: each step counted independently; first matching row per step
    (in blocks of whole units on the threads, as :func:`unordered_depth`)."""
    units = rows.units()
    k = len(rows.steps)
    reached = np.zeros((len(units), k), dtype=bool)
    chain = np.full((len(units), k), -1, dtype=np.int64)

    def run(block: Rows, lo: int, hi: int, at: slice) -> None:
        in_range = in_open_range[lo:hi]
        for s, m in enumerate(block.steps):
            idx = np.flatnonzero(m & in_range)
            if len(idx) == 0:
                continue
            u = block.unit_of(idx)
            first = np.ones(len(idx), dtype=bool)
            first[1:] = u[1:] != u[:-1]
            u = np.compress(first, u)
            reached[at][u, s] = True
            chain[at][u, s] = np.compress(first, idx) + lo

    _by_unit_blocks(rows, UNORDERED_BLOCK_ROWS, run)
    return units, reached, chain
