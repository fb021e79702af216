"""The rows a funnel reads, ordered by (unit, time), built on several threads.

Units never interact, so the sorted rows split into parts of whole units
(contiguous ranges of unit codes: runs of whole buckets, below, or cut at
quantiles of a sample of the codes on the general path); each part is
sorted and gathered on its own thread (numpy releases the GIL) and writes its
slice of the shared output arrays. The output does not depend on the number
of parts: rows are ordered by (unit, ts, tie, input row) — by
:func:`~autoops.funnel._columns.sort_rows` when the keys do not fit 64 bits —
and every part computes exactly what the one-part path computes on its
slice.

Each kept row becomes one 64-bit key ``unit · row · match bits`` (bit
fields, most significant first), and the keys are ordered by a two-pass
radix sort that numpy's stable sorts of 8- and 16-bit integers do for us (a
counting sort, linear in the rows; numpy's sort of 64-bit keys is several
times slower on some CPUs). The first pass splits each span of rows by
bucket (the high bits of the unit code, a few thousand units each) and
writes it after the earlier spans' keys of the same buckets
(:class:`~autoops._parallel.SpanGroups`), so every bucket holds its rows in
input order; the second orders each bucket, small enough for the L2 cache,
by the low bits of the unit code. Stable passes keep the rows of a unit in
input order, and the unit, the input row and the match bits come back out of
the sorted keys by shifts. Parts are runs of whole buckets. The timestamps
travel with the keys through both passes (read in input order and moved in
the cache, rather than gathered row by row from all over the input
afterwards). An append-only log is in time order already; a log in another
order, or with a tie column, has each bucket ordered by (ts, tie, row) before
its unit pass. Rows already ordered by (unit, ts), as in an export sorted by
person, are taken as they lie.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops import _parallel
from autoops._parallel import SpanGroups, chunks, parallel_map, take, take_into, thread_count
from autoops.funnel._columns import _radix, sort_rows

__all__ = ["SortedRows", "order_rows"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bool = npt.NDArray[np.bool_]
Bits = npt.NDArray[np.unsignedinteger[Any]]

SCAN_ROWS = 1 << 17
"""Rows per span of the first passes: a span's temporaries (keys, times, the order and
slots of its rows: about 50 bytes a row) are recycled by the allocator, and its gathers
stay in the L2 cache more than with spans of 256K rows (the bucket pass at 10M events
took 0.094 s against 0.102-0.104 s on two threads)."""

_SAMPLE = 1 << 16
"""Unit codes sampled to place the cuts between parts."""

BUCKET_ROWS = 1 << 16
"""Rows a bucket of the radix ordering aims at: 512 KiB of keys, sorted in the L2 cache."""


@attrs.frozen
class SortedRows:
    """Rows ordered by (unit, ts, tie, input row) and their columns (internal)."""

    src: I64  # sorted row -> input row
    unit: npt.NDArray[np.signedinteger[Any]]  # unit code per sorted row (int32 when they fit)
    ts: I64
    bits: Bits  # the match bits of each sorted row
    starts: Bool  # first row of a unit
    distinct: npt.NDArray[np.signedinteger[Any]]  # the distinct unit codes, ascending
    entry: Bool  # ts in [entry_lo, entry_hi)
    held: list[I64]  # per hold bit mask: sorted positions of rows with any of its bits
    latest: int  # the latest time of a sorted row (0 when there is none)


def _parts(n: int) -> int:
    return 1 if n < _parallel.MIN_ROWS else thread_count()


def _bucket_shift(n: int, n_units: int) -> int:
    """log2 of the unit codes a bucket spans: about :data:`BUCKET_ROWS` of *n* rows, and
    few enough buckets that their numbers and the spare number of the rows left out fit
    one byte (numpy's radix argsort of 16-bit keys makes two passes), at most 2**16 codes.

    >>> _bucket_shift(10_000_000, 1_000_000)  # 245 buckets of 4096 units
    12
    >>> _bucket_shift(100_000_000, 256)  # 128 buckets: 256 would leave no spare number
    1
    """
    codes = BUCKET_ROWS * max(n_units, 1) // max(n, 1)
    one_byte = (max(n_units - 1, 0) // 255).bit_length()
    return min(16, max(max(codes, 1).bit_length() - 1, one_byte))


def _unit_cuts(unit: I64, n_units: int, parts: int) -> list[int]:
    """Unit codes cutting the code range into *parts* ranges of about equal row counts."""
    if parts == 1 or len(unit) == 0:
        return [0, n_units]
    step = max(1, len(unit) // _SAMPLE)
    sample = np.sort(unit[::step])
    inner = [int(sample[len(sample) * p // parts]) for p in range(1, parts)]
    return [0, *inner, n_units]


def order_rows(
    unit: I64,
    ts: I64,
    bits: Bits,
    n_units: int,
    *,
    n_bits: int,
    all_rows: bool,
    tie: npt.NDArray[Any] | None,
    entry: tuple[int, int] | None,
    hold_masks: list[int],
) -> SortedRows:
    """Order the rows with a nonzero match bit (*all_rows*: every row) by (unit, ts, tie, row).

    *unit* holds codes below *n_units*; *bits* the match bits (``n_bits`` of
    them); *entry* the half-open time range of entry rows (None: every row).
    ``bits`` holds the match bits of the sorted rows; ``held[h]`` the sorted
    positions of rows with a bit of ``hold_masks[h]`` set.
    """
    n = len(unit)
    n_parts = _parts(n)
    pos_bits = max(n - 1, 1).bit_length()
    unit_bits = max(n_units - 1, 1).bit_length()
    shift = _bucket_shift(n, n_units)
    n_buckets = ((max(n_units, 1) - 1) >> shift) + 1
    packed = unit_bits + pos_bits + n_bits <= 64 and n_buckets < 1 << 16
    low = np.uint64(pos_bits + n_bits)
    little = sys.byteorder == "little"
    low_byte = little and bits.dtype == np.uint8
    # the sorted unit codes as int32 when they fit (half the memory of a full-length column)
    unit_type = np.int32 if n_units <= 2**31 else np.int64
    # (a spare number above the buckets' marks the rows left out)
    bucket_type = np.uint8 if n_buckets < 1 << 8 else np.uint16

    def in_order(span: tuple[int, int]) -> bool:
        """Whether the span's times, and the next span's first, never decrease."""
        t = ts[span[0] : span[1] + 1]
        return bool(np.all(t[1:] >= t[:-1]))

    def per_bucket(span: tuple[int, int]) -> tuple[Bits, I64]:
        """The bucket of each of the span's rows (the type's largest number for a row
        left out: no compacting pass) and its kept rows per bucket."""
        a, b = span
        bucket = (unit[a:b] >> shift).astype(bucket_type)
        if not all_rows:  # (−1 is the largest number: 0 − 1 wraps around)
            left_out = (bits[a:b] == 0).view(np.uint8).astype(bucket_type, copy=False)
            bucket |= np.negative(left_out)
        return bucket, np.bincount(bucket, minlength=n_buckets)[:n_buckets]

    def in_unit_order(span: tuple[int, int]) -> bool:
        """Whether the span's rows, and the next span's first, are in (unit, ts) order."""
        a, b = span
        u, t = unit[a : b + 1], ts[a : b + 1]
        same = u[1:] == u[:-1]
        same &= t[1:] < t[:-1]  # a unit's time going back
        return not same.any() and bool(np.all(u[1:] >= u[:-1]))

    # a span's row numbers, in place in the keys (the offset of the span is added)
    row_bits = np.arange(min(n, SCAN_ROWS), dtype=np.uint64) << np.uint64(n_bits)

    # spans of at most SCAN_ROWS rows: their temporaries stay in the cache and are
    # recycled by the allocator; no full-length temporary besides the output
    spans = chunks(n, max(1, -(-n // SCAN_ROWS)))
    ordered = all(parallel_map(in_order, spans))
    # an export sorted by person is already in order: no sort at all
    as_they_lie = tie is None and not ordered and all(parallel_map(in_unit_order, spans))
    radix = packed and not as_they_lie
    # the radix passes also order each bucket by time (and tie) when the log is not
    timed = radix and (not ordered or tie is not None)
    if radix:
        counted = parallel_map(per_bucket, spans)
        groups = SpanGroups(np.array([c for _, c in counted]).reshape(len(spans), n_buckets))
        bucket_at = groups.bounds
        m = int(bucket_at[-1])
        src = np.empty(m, dtype=np.int64)
        keys = src.view(np.uint64)
        out_ts = np.empty(m, dtype=np.int64)

        def place(i: int) -> None:
            """Key span i's rows, order the kept ones by bucket (stable, in the cache), and
            write each bucket's keys after the earlier spans' keys of that bucket."""
            a, b = spans[i]
            # (codes >= 0; a view, not a casting copy: numpy holds the GIL through those)
            key = np.left_shift(unit[a:b].view(np.uint64), low)
            key |= row_bits[: b - a]
            key += np.uint64(a << n_bits)  # row a + i in bits n_bits.. of key i
            if n_bits:
                key |= bits[a:b]
            groups.place(i, counted[i][0], (key, keys), (ts[a:b], out_ts))

        parallel_map(place, list(range(len(spans))))
        # parts of whole buckets with about equal row counts, one per thread
        first = np.searchsorted(bucket_at, [m * p // n_parts for p in range(n_parts)]).tolist()
        part_buckets = list(itertools.pairwise([*first, n_buckets]))
        off = [int(bucket_at[f]) for f in first] + [m]
        off[0] = 0
        out_unit = np.empty(m, dtype=unit_type)
        out_bits = np.empty(m, dtype=bits.dtype)
        unit_mask = np.uint64((1 << shift) - 1)
        pos_mask = np.uint64((1 << pos_bits) - 1)
        bit_mask = np.uint64((1 << n_bits) - 1)

        def permute(a: npt.NDArray[Any], order: I64, scratch: U64) -> None:
            """``a[...] = a[order]`` through *scratch* (a bucket's keys or timestamps)."""
            buf = scratch[: len(a)].view(a.dtype)
            take_into(a, order, buf)
            a[...] = buf

        def order_bucket(s: int, e: int, scratch: U64) -> U64:
            """Order bucket [s, e) by (unit, ts, tie, row) (its keys are in row order);
            its sorted keys (in *scratch*, or in place)."""
            kb = keys[s:e]
            tb = out_ts[s:e]
            if timed:  # by (ts, tie, row) first, in the cache
                if tie is None:
                    by_time = _radix(None, tb - tb.min())
                else:
                    rows = ((kb >> np.uint64(n_bits)) & pos_mask).view(np.int64)
                    by_time = np.lexsort((tie[rows], tb))
                permute(kb, by_time, scratch)
                permute(tb, by_time, scratch)
            if not shift:
                return kb
            # several units: by unit (stable: each unit's rows stay in time order)
            by_unit = np.argsort(((kb >> low) & unit_mask).astype(np.uint16), kind="stable")
            permute(tb, by_unit, scratch)
            out = scratch[: e - s]
            take_into(kb, by_unit, out)
            return out

        def unpack(s: int, e: int, k: U64) -> None:
            """Write the unit codes, match bits and input rows of sorted rows [s, e)
            out of their keys *k* (a bucket's, still in the cache)."""
            if out_unit.dtype == np.int64:
                np.right_shift(k, low, out=out_unit[s:e].view(np.uint64))
            else:  # int32 codes: the low halves of the shifted keys (no casting copy)
                shifted = k >> low
                out_unit[s:e] = shifted.view(np.int32)[int(not little) :: 2]
            if low_byte:  # the match bits are the low bits of each key's first byte
                np.bitwise_and(k.view(np.uint8)[::8], bit_mask.astype(np.uint8), out=out_bits[s:e])
            else:
                out_bits[s:e] = k & bit_mask
            np.right_shift(k, np.uint64(n_bits), out=keys[s:e])
            keys[s:e] &= pos_mask

        def sort(p: int) -> None:
            b0, b1 = part_buckets[p]
            width = int(np.diff(bucket_at[b0 : b1 + 1]).max(initial=0))
            scratch = np.empty(width if shift or timed else 0, dtype=np.uint64)
            for s, e in itertools.pairwise(bucket_at[b0 : b1 + 1].tolist()):
                if e > s:
                    unpack(s, e, order_bucket(s, e, scratch) if e - s > 1 else keys[s:e])

        parallel_map(sort, list(range(n_parts)))
    else:
        cuts = _unit_cuts(unit, n_units, n_parts)
        keep = np.arange(n, dtype=np.int64) if all_rows else np.flatnonzero(bits != 0)
        if as_they_lie:
            src = keep
        else:
            t_keep = None if tie is None and ordered else ts[keep]
            src = sort_rows(unit[keep], t_keep, None if tie is None else tie[keep], labels=keep)
        out_unit = take(unit, src).astype(unit_type, copy=False)
        m = len(src)
        off = [*np.searchsorted(out_unit, cuts[:-1]).tolist(), m]
        off[0] = 0
        out_bits = take(bits, src)
        out_ts = np.empty(m, dtype=np.int64)
    starts = np.empty(m, dtype=bool)
    # no entry range: every row, as a read-only view of one value (no full-length array)
    in_entry = np.empty(m, dtype=bool) if entry is not None else np.broadcast_to(np.True_, (m,))

    def columns(p: int) -> tuple[I64, list[I64], int | None]:
        lo, hi = off[p], off[p + 1]
        if not radix:  # (the radix passes carried them)
            take_into(ts, src[lo:hi], out_ts[lo:hi])
        latest = int(out_ts[lo:hi].max()) if hi > lo else None
        b = out_bits[lo:hi]
        bit = np.empty(len(b), dtype=b.dtype)
        held = []
        for h in hold_masks:
            np.bitwise_and(b, b.dtype.type(h), out=bit)
            pos = np.flatnonzero(bit != 0)
            pos += lo
            held.append(pos)
        u = out_unit[lo:hi]
        if hi > lo:
            starts[lo] = True
            np.not_equal(u[1:], u[:-1], out=starts[lo + 1 : hi])
        if entry is not None:
            t = out_ts[lo:hi]
            np.greater_equal(t, entry[0], out=in_entry[lo:hi])
            in_entry[lo:hi] &= t < entry[1]
        return np.compress(starts[lo:hi], u), held, latest

    done = parallel_map(columns, list(range(n_parts)))
    held = [np.concatenate([h[i] for _, h, _ in done]) for i in range(len(hold_masks))]
    distinct = np.concatenate([d for d, _, _ in done])
    latest = max((t for *_, t in done if t is not None), default=0)
    return SortedRows(src, out_unit, out_ts, out_bits, starts, distinct, in_entry, held, latest)
