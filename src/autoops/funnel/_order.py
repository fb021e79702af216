"""The rows a funnel reads, ordered by (unit, time), built on several threads.

Units never interact, so the sorted rows split into parts of whole units
(contiguous ranges of unit codes, cut where the row counts balance); each
part is sorted and gathered on its own thread (numpy releases the GIL) and
writes its slice of the shared output arrays. The output does not depend on
the number of parts: rows are ordered by (unit, input row) — or by
:func:`~autoops.funnel._columns.sort_rows` when time or a tie column must
be sorted too — and every part computes exactly what the one-part path
computes on its slice.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._parallel import chunks, parallel_map, thread_count
from autoops.funnel._columns import sort_rows

__all__ = ["PAR_MIN_ROWS", "SortedRows", "order_rows"]

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Bits = npt.NDArray[np.unsignedinteger[Any]]

PAR_MIN_ROWS = 1 << 20
"""Inputs shorter than this are one part (threads cost more than they save)."""


@attrs.frozen
class SortedRows:
    """Rows ordered by (unit, ts, tie, input row) and their columns (internal)."""

    src: I64  # sorted row -> input row
    unit: I64  # unit code per sorted row
    ts: I64
    masks: list[Bool]  # one per bit of the match bits
    starts: Bool  # first row of a unit
    unit_idx: I64  # 0.. per distinct unit
    distinct: I64  # the distinct unit codes, ascending
    entry: Bool  # ts in [entry_lo, entry_hi)
    held: list[I64]  # per hold bit mask: sorted positions of rows with any of its bits


def _parts(n: int) -> int:
    return 1 if n < PAR_MIN_ROWS else thread_count()


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

    *unit* holds codes below *n_units*; *entry* the half-open time range of
    entry rows (None: every row). ``masks[i]`` tells the sorted rows with bit
    i set; ``held[h]`` the sorted positions of rows with a bit of
    ``hold_masks[h]`` set.
    """
    n = len(unit)
    row_spans = chunks(n, _parts(n)) if n else [(0, 0)]

    def scan(span: tuple[int, int]) -> tuple[I64, I64, I64, bool]:
        a, b = span
        keep = np.arange(a, b, dtype=np.int64) if all_rows else np.flatnonzero(bits[a:b])
        if not all_rows:
            keep += a
        u = np.take(unit, keep)
        counts = np.bincount(u, minlength=n_units)
        t = ts[a : b + 1]
        return keep, u, counts, bool(np.all(t[1:] >= t[:-1]))

    scanned = parallel_map(scan, row_spans)
    per_unit = scanned[0][2]
    for _, _, c, _ in scanned[1:]:
        per_unit = per_unit + c
    ordered = all(s[3] for s in scanned)
    edge = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(per_unit, out=edge[1:])
    m = int(edge[-1])
    n_parts = _parts(m)
    # unit cuts: part p holds units [cut[p], cut[p+1]), about m / n_parts rows
    cut = np.searchsorted(edge, [m * p // n_parts for p in range(n_parts + 1)]).tolist()
    cut[0], cut[-1] = 0, n_units
    cut = [min(c, n_units) for c in cut]
    off = [int(edge[c]) for c in cut]
    unit_bits = max(n_units - 1, 1).bit_length()
    pos_bits = max(n - 1, 1).bit_length()
    src = np.empty(m, dtype=np.int64)
    if tie is None and ordered and unit_bits + pos_bits <= 64:
        # one packed (unit, row) key per row, written straight to its part's slice
        packed = src.view(np.uint64)
        at = np.zeros((len(scanned), n_parts), dtype=np.int64)  # write offset per (chunk, part)
        for p in range(n_parts):
            sizes = [int(s[2][cut[p] : cut[p + 1]].sum()) for s in scanned]
            at[:, p] = off[p] + np.concatenate([[0], np.cumsum(sizes)[:-1]])

        def pack(i: int) -> None:
            keep, u, _, _ = scanned[i]
            key = u.astype(np.uint64)
            key <<= np.uint64(pos_bits)
            key |= keep.view(np.uint64)
            if n_parts == 1:
                packed[off[0] : off[1]] = key
                return
            for p in range(n_parts):
                inside = (u >= cut[p]) & (u < cut[p + 1])
                size = int(np.count_nonzero(inside))
                np.compress(inside, key, out=packed[at[i, p] : at[i, p] + size])

        parallel_map(pack, list(range(len(scanned))))

        def sort(p: int) -> None:
            part = packed[off[p] : off[p + 1]]
            part.sort()  # distinct values: any sort is stable
            part &= np.uint64((1 << pos_bits) - 1)

        parallel_map(sort, list(range(n_parts)))
    else:
        keep = np.concatenate([s[0] for s in scanned])
        u = np.concatenate([s[1] for s in scanned])
        t_keep = None if tie is None and ordered else ts[keep]
        src[:] = sort_rows(u, t_keep, None if tie is None else tie[keep], labels=keep)
    scanned.clear()  # free the chunks' row lists
    out_unit = np.empty(m, dtype=np.int64)
    out_ts = np.empty(m, dtype=np.int64)
    masks = [np.empty(m, dtype=bool) for _ in range(n_bits)]
    starts = np.zeros(m, dtype=bool)
    unit_idx = np.empty(m, dtype=np.int64)
    in_entry = np.empty(m, dtype=bool)
    present = [np.flatnonzero(per_unit[cut[p] : cut[p + 1]]) for p in range(n_parts)]
    first_idx = np.concatenate([[0], np.cumsum([len(x) for x in present])]).tolist()

    def columns(p: int) -> list[I64]:
        lo, hi = off[p], off[p + 1]
        rows = src[lo:hi]
        np.take(ts, rows, out=out_ts[lo:hi])
        b = np.take(bits, rows)
        bit = np.empty(len(b), dtype=b.dtype)
        for i in range(n_bits):
            np.bitwise_and(b, b.dtype.type(1 << i), out=bit)
            np.not_equal(bit, 0, out=masks[i][lo:hi])
        held = []
        for h in hold_masks:
            np.bitwise_and(b, b.dtype.type(h), out=bit)
            pos = np.flatnonzero(bit)
            pos += lo
            held.append(pos)
        codes = present[p]
        counts = per_unit[cut[p] : cut[p + 1]][codes]
        out_unit[lo:hi] = np.repeat(codes + cut[p], counts)
        unit_idx[lo:hi] = np.repeat(np.arange(first_idx[p], first_idx[p + 1]), counts)
        if len(counts):
            first = np.cumsum(counts[:-1])
            first += lo
            starts[lo] = True
            starts[first] = True
        t = out_ts[lo:hi]
        if entry is None:
            in_entry[lo:hi] = True
        else:
            np.greater_equal(t, entry[0], out=in_entry[lo:hi])
            in_entry[lo:hi] &= t < entry[1]
        return held

    held_parts = parallel_map(columns, list(range(n_parts)))
    held = [
        np.concatenate([hp[h] for hp in held_parts]) if held_parts else np.zeros(0, np.int64)
        for h in range(len(hold_masks))
    ]
    distinct = np.concatenate([x + c for x, c in zip(present, cut[:-1], strict=True)])
    return SortedRows(src, out_unit, out_ts, masks, starts, unit_idx, distinct, in_entry, held)
