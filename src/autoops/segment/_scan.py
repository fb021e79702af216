"""Text columns encoded once, and blocked scans over long event columns.

The segment kernels spend their time in two places: cutting a time window
out of tens of millions of int64 microseconds, and matching a text column
(event names, touchpoints) against a few names. Here both are one fused,
blocked pass (:func:`window_groups`), split between threads for long inputs
(numpy releases the GIL). A text column of Python strings is looked up by
object identity in a small collision-free table (no object dereferenced per
row), its distinct objects compared by value; a column with many distinct
objects is hashed by :func:`autoops._factorize.factorize_objects` instead.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from autoops._factorize import factorize_objects
from autoops.errors import InvalidInput

__all__ = [
    "PARALLEL_MIN",
    "Coded",
    "category_lut",
    "lut_take",
    "member_rows",
    "not_none",
    "run_ranges",
    "split_ranges",
    "text_codes",
    "text_groups",
    "time_rows",
    "window_groups",
]

_INT64_MIN = np.iinfo(np.int64).min

T = TypeVar("T")
ScalarT = TypeVar("ScalarT", bound=np.generic)


@attrs.frozen(slots=True)
class Coded:
    """A dictionary-encoded text column: integer codes (-1 = missing) into categories.

    Read from pandas/polars categoricals and arrow dictionary arrays, so that
    matching a few names costs one lookup per category, not per row. The codes
    keep their source's signed integer type (pandas: usually one byte a row).
    """

    codes: npt.NDArray[np.signedinteger[Any]]
    categories: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Coded:
        return Coded(self.codes[index], self.categories)

    def to_objects(self) -> npt.NDArray[Any]:
        """The column as an object array of ``str`` / ``None``."""
        table = np.empty(len(self.categories) + 1, dtype=object)
        table[:-1] = self.categories
        out: npt.NDArray[Any] = table[self.codes]
        return out


def not_none(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Per row: the value is not ``None`` (an identity test; NaN counts as present)."""
    addr = _addresses(values)
    if addr is not None:
        found: npt.NDArray[np.bool_] = addr != np.uint64(id(None))
        return found
    return np.asarray(values != None, dtype=bool)  # noqa: E711 - elementwise, not identity


def category_lut(enc: Coded, groups: Sequence[Sequence[str]]) -> npt.NDArray[np.int64]:
    """Per category (plus a trailing slot for code -1): the first group naming it, else -1.

    ``category_lut(enc, groups)[enc.codes]`` is then each row's group.
    """
    lut = np.full(len(enc.categories) + 1, -1, dtype=np.int64)
    for j in range(len(groups) - 1, -1, -1):
        hit = np.zeros(len(enc.categories), dtype=bool)
        for item in groups[j]:
            hit |= np.asarray(enc.categories == item, dtype=bool)
        lut[:-1][hit] = j
    return lut


#: the most distinct objects the identity pass keeps before handing over to hashing
_SMALL_VOCABULARY = 1024
_SAMPLE = 4096


def _addresses(values: npt.NDArray[Any]) -> npt.NDArray[np.uint64] | None:
    """The object pointers of a contiguous object array, as a read-only uint64 view.

    Only identity is read from them: equal addresses mean the same object, so
    the same value. The view borrows *values*' buffer; callers keep *values*
    alive while they use it.
    """
    if (
        not isinstance(values, np.ndarray)
        or values.dtype != object
        or not values.flags.c_contiguous
        or len(values) == 0
        or ctypes.sizeof(ctypes.c_void_p) != 8
    ):
        return None
    buf = (ctypes.c_uint64 * len(values)).from_address(values.ctypes.data)
    view: npt.NDArray[np.uint64] = np.frombuffer(memoryview(buf).cast("B"), dtype=np.uint64)
    view.flags.writeable = False
    return view


_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)


def _perfect_hash(keys: npt.NDArray[np.uint64]) -> tuple[np.uint64, np.uint64, int] | None:
    """(multiplier, shift, bits): ``(key * multiplier) >> shift`` is distinct for every key."""
    for bits in range(max(1, (len(keys) - 1).bit_length()) + 1, 17):
        shift = np.uint64(64 - bits)
        for mult in _MULTIPLIERS:
            m = np.uint64(mult)
            if len(np.unique((keys * m) >> shift)) == len(keys):
                return m, shift, bits
    return None


def _identity_lookup(
    values: npt.NDArray[Any],
    rows: npt.NDArray[np.int64] | None,
    groups: Sequence[Sequence[str]] | None,
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[Any]] | None:
    """Codes (or, with *groups*, group numbers) of ``values[rows]`` from object identity.

    Text columns built from a vocabulary (``vocab[codes]``, a categorical read
    as objects, strings interned by a parser) hold few distinct objects. The
    distinct addresses of a sample get a collision-free multiplicative hash
    into a small table; every row is then looked up in cache-sized blocks,
    and its address checked against the table, so no object is dereferenced
    per row. Only the distinct objects are factorised by value (with
    :func:`autoops._factorize.factorize_objects`), so equal strings held by
    different objects still share a code; addresses the sample missed are
    found by the check and coded after the loop. ``None`` when the column
    holds many distinct objects (then hashing each value is the better way).
    """
    addr = _addresses(values)
    if addr is None:
        return None
    m = len(addr) if rows is None else len(rows)
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    step = max(1, m // _SAMPLE)
    sample_rows = np.arange(0, m, step, dtype=np.int64)
    sample = addr[sample_rows] if rows is None else addr[rows[sample_rows]]
    uniq, first = np.unique(sample, return_index=True)
    if len(uniq) > _SMALL_VOCABULARY:
        return None
    found = _perfect_hash(uniq)
    if found is None:  # pragma: no cover - four multipliers and up to 16 bits always suffice
        return None
    mult, shift, bits = found
    rep = sample_rows[first]
    objects = values[rep] if rows is None else values[rows[rep]]
    value_codes, categories = factorize_objects(objects)
    out_of_code = _group_table(categories, groups)
    slots = (uniq * mult) >> shift
    keys = np.zeros(1 << bits, dtype=np.uint64)  # no object lives at address 0
    keys[slots] = uniq
    # group numbers are few: one byte per row keeps the output (and what reads it) small
    small = groups is not None and len(groups) < 127
    kind = np.int8 if small else np.int64
    table = np.full(1 << bits, -1, dtype=kind)
    table[slots] = out_of_code[value_codes]
    out = np.empty(m, dtype=kind)

    def scan(a: int, b: int) -> list[npt.NDArray[np.int64]]:
        tmp = np.empty(min(b - a, _BLOCK), dtype=np.uint64)
        found: list[npt.NDArray[np.int64]] = []
        for s in range(a, b, _BLOCK):
            e = min(s + _BLOCK, b)
            block = addr[s:e] if rows is None else addr[rows[s:e]]
            slot = tmp[: e - s]
            np.multiply(block, mult, out=slot)
            np.right_shift(slot, shift, out=slot)
            index = slot.view(np.int64)
            bad = keys.take(index) != block
            table.take(index, out=out[s:e])
            if bad.any():
                found.append(np.flatnonzero(bad) + s)
        return found

    misses = [part for found in run_ranges(m, scan) for part in found]
    if not misses:
        return out, categories
    miss = np.concatenate(misses)
    if miss.size > max(_SAMPLE, m // 8):
        return None
    at = miss if rows is None else rows[miss]
    extra, first, inverse = np.unique(addr[at], return_index=True, return_inverse=True)
    if len(uniq) + len(extra) > _SMALL_VOCABULARY:
        return None
    # the new objects may equal known values: factorise known values and new objects together
    both, merged = factorize_objects(np.concatenate([categories, values[at[first]]]))
    known = both[: len(categories)]
    if not np.array_equal(known, np.arange(len(categories))):  # pragma: no cover - codes keep order
        return None
    new_out = _group_table(merged, groups)[both[len(categories) :]]
    out[miss] = new_out[inverse.reshape(-1)]
    return out, merged


class _IdentityTable:
    """The identity lookup of one object column: sampled addresses → group number.

    Built from a strided sample of the column; :meth:`lookup` maps a block of
    addresses to group numbers (int8) and flags the addresses the sample did
    not see, which the caller resolves by value afterwards.
    """

    def __init__(self, values: npt.NDArray[Any], groups: Sequence[Sequence[str]]) -> None:
        self.ok = False
        addr = _addresses(values)
        if addr is None or len(groups) >= 127:
            return
        self.values, self.addr, self.groups = values, addr, groups
        step = max(1, len(addr) // _SAMPLE)
        uniq, first = np.unique(addr[::step], return_index=True)
        found = _perfect_hash(uniq) if len(uniq) <= _SMALL_VOCABULARY else None
        if found is None:
            return
        self.mult, self.shift, bits = found
        value_codes, categories = factorize_objects(values[first * step])
        slots = (uniq * self.mult) >> self.shift
        self.keys = np.zeros(1 << bits, dtype=np.uint64)  # no object lives at address 0
        self.keys[slots] = uniq
        self.table = np.full(1 << bits, -1, dtype=np.int8)
        self.table[slots] = _group_table(categories, groups)[value_codes]
        self.ok = True

    def lookup(
        self, block: npt.NDArray[np.uint64], tmp: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
        """Group numbers of a block of addresses, and which addresses were unknown."""
        slot = tmp[: len(block)]
        np.multiply(block, self.mult, out=slot)
        np.right_shift(slot, self.shift, out=slot)
        index = slot.view(np.int64)
        bad: npt.NDArray[np.bool_] = self.keys.take(index) != block
        out: npt.NDArray[np.int8] = self.table.take(index)
        return out, bad

    def by_value(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
        """Group numbers of *rows* found by value (for the addresses the sample missed)."""
        codes, categories = factorize_objects(self.values[rows])
        lut = category_lut(Coded(codes, categories), self.groups).astype(np.int8)
        found: npt.NDArray[np.int8] = lut[codes]
        return found


#: rows kept in one block and their group numbers per text column
_Part = tuple[npt.NDArray[np.int64], list[npt.NDArray[np.integer[Any]]]]


def window_groups(
    times: npt.NDArray[np.int64],
    hi: int,
    lo: int | None,
    texts: Sequence[tuple[npt.NDArray[Any] | Coded, Sequence[Sequence[str]]]],
    *,
    field: str = "ts",
    select: Callable[[list[npt.NDArray[np.integer[Any]]]], npt.NDArray[np.bool_]] | None = None,
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.integer[Any]]]]:
    """Rows with ``lo <= times <= hi`` and, per text column, their group numbers.

    One fused pass: each cache-sized block of *times* is filtered and the
    text columns are looked up (by identity, :class:`_IdentityTable`) only at
    the rows kept, split between threads for long inputs. With *select*
    (group arrays → mask) only the rows it accepts are returned, decided block
    by block. ``NaT`` is an error naming the first such row. Columns that
    cannot be looked up by identity are encoded after the time filter with
    :func:`text_groups`.
    """
    tables = [_IdentityTable(v, g) if not isinstance(v, Coded) else None for v, g in texts]
    if not all(t is not None and t.ok for t in tables):
        _check_nat(times, field)
        rows = time_rows(times, hi, lo)
        found = [text_groups(v, g, rows) for v, g in texts]  # rows None: every row, no gather
        if select is None:
            return (np.arange(len(times), dtype=np.int64) if rows is None else rows), found
        picked = np.flatnonzero(select(found))
        return (picked if rows is None else rows.take(picked)), [g.take(picked) for g in found]
    ready = [t for t in tables if t is not None]
    n = len(times)
    start = lo if lo is not None else np.iinfo(np.int64).min
    if hi < start:
        return np.zeros(0, dtype=np.int64), [np.zeros(0, dtype=np.int8) for _ in texts]
    span = np.uint64(hi - start)
    base = np.int64(start)

    def scan(a: int, b: int) -> list[_Part] | int:
        parts: list[_Part] = []
        size = min(b - a, _WINDOW_BLOCK)
        tmp = np.empty(size, dtype=np.int64)
        inside_buf = np.empty(size, dtype=bool)
        slots = np.empty(size, dtype=np.uint64)
        for s in range(a, b, _WINDOW_BLOCK):
            block = times[s : min(s + _WINDOW_BLOCK, b)]
            if block.min() == _INT64_MIN:
                return s + int(np.flatnonzero(block == _INT64_MIN)[0])
            d = tmp[: len(block)]
            np.subtract(block, base, out=d)
            inside = np.less_equal(d.view(np.uint64), span, out=inside_buf[: len(block)])
            whole = bool(inside.all())  # every row in the window: slices, not gathers
            local = None if whole else np.flatnonzero(inside)  # rows of the block
            groups: list[npt.NDArray[np.integer[Any]]] = []
            for t in ready:
                here = t.addr[s : s + len(block)]
                g, bad = t.lookup(here if local is None else here.take(local), slots)
                if bad.any():  # objects the sample missed: by value
                    at = np.flatnonzero(bad)
                    g[at] = t.by_value(at + s if local is None else local[at] + s)
                groups.append(g)
            if select is not None:
                # gathers by position: boolean indexing costs far more here
                picked = np.flatnonzero(select(groups))
                local = picked if local is None else local.take(picked)
                groups = [g.take(picked) for g in groups]
            elif local is None:
                local = np.arange(len(block), dtype=np.int64)
            local += s
            parts.append((local, groups))
        return parts

    results = run_ranges(n, scan)
    nat = [r for r in results if isinstance(r, int)]
    if nat:
        raise InvalidInput("missing timestamp (NaT)", field=field, row=min(nat), code="nat")
    parts = [p for r in results if not isinstance(r, int) for p in r]
    if not parts:
        return np.zeros(0, dtype=np.int64), [np.zeros(0, dtype=np.int8) for _ in texts]
    rows = np.concatenate([p[0] for p in parts])
    return rows, [np.concatenate([p[1][j] for p in parts]) for j in range(len(ready))]


def member_rows(
    person: npt.NDArray[np.signedinteger[Any]], member: npt.NDArray[np.bool_], base: int
) -> npt.NDArray[np.int64]:
    """Rows whose ``member[person - base]`` holds, in order.

    *member* must be ``False`` at both ends: ids outside its range are clipped
    onto an end, so they never match (the caller keeps ``person - base`` clear
    of int64 overflow). One blocked pass over the person column, split between
    threads; only the matching rows are written out, so when few people are
    members only their rows are ever read from the other columns.
    """
    p0 = np.int64(base)

    def scan(a: int, b: int) -> list[npt.NDArray[np.int64]]:
        parts: list[npt.NDArray[np.int64]] = []
        size = min(b - a, _WINDOW_BLOCK)
        tmp = np.empty(size, dtype=np.int64)
        hit_buf = np.empty(size, dtype=bool)
        for s in range(a, b, _WINDOW_BLOCK):
            e = min(s + _WINDOW_BLOCK, b)
            d = np.subtract(person[s:e], p0, out=tmp[: e - s])
            local = np.flatnonzero(member.take(d, mode="clip", out=hit_buf[: e - s]))
            local += s
            parts.append(local)
        return parts

    parts = [p for found in run_ranges(len(person), scan) for p in found]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _check_nat(times: npt.NDArray[np.int64], field: str) -> None:
    if times.size and times.min() == _INT64_MIN:
        row = int(np.flatnonzero(times == _INT64_MIN)[0])
        raise InvalidInput("missing timestamp (NaT)", field=field, row=row, code="nat")


def _group_table(
    categories: npt.NDArray[Any], groups: Sequence[Sequence[str]] | None
) -> npt.NDArray[np.int64]:
    """Output per category code, with ``[-1]`` (None) last: the code itself or its group."""
    if groups is None:
        return np.append(np.arange(len(categories), dtype=np.int64), -1)
    return category_lut(Coded(np.zeros(0, dtype=np.int64), categories), groups)


def _identity_codes(values: npt.NDArray[Any], rows: npt.NDArray[np.int64] | None) -> Coded | None:
    """:func:`_identity_lookup` as a :class:`Coded` column."""
    found = _identity_lookup(values, rows, None)
    if found is None:
        return None
    codes, categories = found
    return Coded(codes.astype(np.int64, copy=False), categories)


def text_codes(
    values: npt.NDArray[Any] | Coded, rows: npt.NDArray[np.int64] | None = None
) -> Coded:
    """Dictionary-encode ``values[rows]`` (all rows when *rows* is ``None``) once.

    A :class:`Coded` column is sliced; an object column with few distinct
    objects is grouped by identity (:func:`_identity_lookup`); anything else
    is hashed by :func:`autoops._factorize.factorize_objects`. Codes are
    ``-1`` for ``None``; values that compare equal share a code.
    """
    if isinstance(values, Coded):
        return values if rows is None else values[rows]
    fast = _identity_codes(values, rows)
    if fast is not None:
        return fast
    sub = values if rows is None else values[rows]
    codes, categories = factorize_objects(np.asarray(sub, dtype=object))
    return Coded(codes, categories)


def text_groups(
    values: npt.NDArray[Any] | Coded,
    groups: Sequence[Sequence[str]],
    rows: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.integer[Any]]:
    """Per row of ``values[rows]``: the index of the first group holding its value, else -1.

    The column is encoded once (:func:`text_codes`) and the groups are matched
    on its distinct values only. The result is a small integer type (int8
    for fewer than 127 groups).
    """
    if not isinstance(values, Coded):
        fast = _identity_lookup(values, rows, groups)
        if fast is not None:
            return fast[0]
    enc = text_codes(values, rows)
    lut = category_lut(enc, groups)
    if len(groups) < 127:
        lut = lut.astype(np.int8)
    return lut_take(lut, enc.codes)


def lut_take(
    lut: npt.NDArray[ScalarT], codes: npt.NDArray[np.signedinteger[Any]]
) -> npt.NDArray[ScalarT]:
    """``lut[codes]`` for codes ``-1 .. len(lut) - 2`` (-1 reads the last slot).

    Small codes (a categorical's int8) are widened block by block into a
    reused index buffer, instead of all at once as indexing would.
    """
    if codes.dtype == np.intp:
        return lut.take(codes, mode="wrap")
    out = np.empty(len(codes), dtype=lut.dtype)
    index = np.empty(min(len(codes), _BLOCK), dtype=np.intp)
    for s in range(0, len(codes), _BLOCK):
        block = codes[s : s + _BLOCK]
        here = index[: len(block)]
        here[...] = block
        lut.take(here, mode="wrap", out=out[s : s + len(block)])
    return out


_BLOCK = 1 << 16
#: rows per block of the window scan: fewer, longer numpy calls (a block of
#: times and its scratch still fit the 2 MiB L2 of the reference machine)
_WINDOW_BLOCK = 1 << 17


def time_rows(
    times: npt.NDArray[np.int64], hi: int, lo: int | None = None
) -> npt.NDArray[np.int64] | None:
    """Rows with ``lo <= times <= hi`` (``lo=None``: no lower edge); ``None`` if every row.

    Scans in cache-sized blocks with one unsigned comparison per row
    (``times - lo`` as uint64 is at most ``hi - lo`` exactly inside the
    window), so only *times* itself streams from memory.
    """
    n = len(times)
    if hi < (lo if lo is not None else hi):
        return np.zeros(0, dtype=np.int64)
    start = lo if lo is not None else np.iinfo(np.int64).min
    span = np.uint64(hi - start)
    base = np.int64(start)

    def scan(a: int, b: int) -> list[npt.NDArray[np.int64]] | None:
        parts: list[npt.NDArray[np.int64]] = []
        every = True
        tmp = np.empty(min(b - a, _BLOCK), dtype=np.int64)
        for s in range(a, b, _BLOCK):
            block = times[s : min(s + _BLOCK, b)]
            d = tmp[: len(block)]
            np.subtract(block, base, out=d)
            inside = d.view(np.uint64) <= span
            if every and inside.all():
                continue
            if every:  # the first block with a gap: earlier blocks were full
                parts = [np.arange(a, s, dtype=np.int64)]
                every = False
            hit = np.flatnonzero(inside)
            hit += s
            parts.append(hit)
        return None if every else parts

    ranges = split_ranges(n)
    results = run_ranges(n, scan, ranges)
    if all(found is None for found in results):
        return None
    pieces: list[npt.NDArray[np.int64]] = []
    for found, (a, b) in zip(results, ranges, strict=True):
        pieces.extend([np.arange(a, b, dtype=np.int64)] if found is None else found)
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


#: scans of at least this many rows are split between threads (numpy releases the GIL)
PARALLEL_MIN = 1 << 20
_POOL: list[ThreadPoolExecutor] = []


def _threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def split_ranges(n: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges, whole blocks each, one per thread for long scans."""
    threads = _threads() if n >= PARALLEL_MIN else 1
    if threads == 1:
        return [(0, n)]
    blocks = -(-n // _BLOCK)
    cuts = [min(n, (blocks * i // threads) * _BLOCK) for i in range(threads + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(threads) if cuts[i] < cuts[i + 1]]


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=3, thread_name_prefix="autoops-segment"))
    return _POOL[0]


def run_ranges(
    n: int, work: Callable[[int, int], T], ranges: list[tuple[int, int]] | None = None
) -> list[T]:
    """``work(start, stop)`` over :func:`split_ranges`, the first range on this thread."""
    ranges = split_ranges(n) if ranges is None else ranges
    if len(ranges) == 1:
        return [work(*ranges[0])]
    later = [_pool().submit(work, a, b) for a, b in ranges[1:]]
    first = work(*ranges[0])
    return [first, *(f.result() for f in later)]
