"""Event columns in: tables, mappings or TouchpointEvent lists, validated once.

Every funnel, retention and activity function reads its input through
:func:`read_events`, which returns numpy columns, checks the unit and the
timestamp (naive or missing values are reported with their row indices, never
dropped) and evaluates step predicates vectorised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops import _parallel
from autoops._factorize import sorted_codes
from autoops._optional import available
from autoops._parallel import chunks, parallel_map, take
from autoops._tabular import arrow_strings, encode, factorize
from autoops._tabular import columns as read_columns
from autoops._time import to_utc_us
from autoops.errors import InvalidInput

__all__ = [
    "EventColumns",
    "column_mask",
    "condition_mask",
    "dense_codes",
    "is_nondecreasing",
    "is_null",
    "read_events",
    "sort_rows",
    "step_mask",
]

Arr = npt.NDArray[Any]
_MAX_ROWS_IN_ERROR = 10


class EventColumns:
    """Validated columns: ``unit`` (int64 codes), ``unit_values``, ``ts`` (µs UTC).

    ``coded`` holds categorical columns kept as (codes, categories) — pandas
    categoricals, polars categoricals, arrow dictionaries — so that step
    predicates on them cost one table lookup per row.
    """

    __slots__ = ("coded", "cols", "n", "ts", "unit", "unit_values")

    def __init__(
        self,
        cols: dict[str, Arr],
        unit: npt.NDArray[np.int64],
        unit_values: Arr,
        ts: Arr,
        coded: dict[str, tuple[npt.NDArray[np.int64], Arr]] | None = None,
    ) -> None:
        self.cols = cols
        self.unit = unit
        self.unit_values = unit_values
        self.ts = ts
        self.n = len(ts)
        self.coded = coded or {}

    def column(self, name: str) -> Arr:
        if name not in self.cols and name in self.coded:
            codes, cats = self.coded[name]
            full = np.concatenate([np.asarray(cats, dtype=object), np.array([None], dtype=object)])
            self.cols[name] = full[codes]  # code -1 (null) picks the trailing None
        if name not in self.cols:
            available = ", ".join(sorted(self.cols)) or "(none)"
            msg = f"events have no column {name!r}; available: {available}"
            raise InvalidInput(msg, field=name, code="missing_column")
        return self.cols[name]


def is_null(values: Arr) -> npt.NDArray[np.bool_]:
    """``values[i] is None`` for an object array, vectorised."""
    return np.asarray(values == None, dtype=bool).reshape(len(values))  # noqa: E711


def _rows_list(mask: npt.NDArray[np.bool_]) -> list[int]:
    return [int(i) for i in np.nonzero(mask)[0][:_MAX_ROWS_IN_ERROR]]


def _from_models(events: Sequence[Any]) -> dict[str, Arr]:
    """Convert TouchpointEvent models to columns once (one pass over the list)."""
    cols: dict[str, list[Any]] = {
        "event_id": [],
        "ts": [],
        "touchpoint": [],
        "event": [],
        "dealer_id": [],
        "order_id": [],
        "amount": [],
        "one_id": [],
    }
    extra: dict[str, list[Any]] = {}
    for i, e in enumerate(events):
        cols["event_id"].append(e.event_id)
        cols["ts"].append(e.occurred_at)
        cols["touchpoint"].append(getattr(e.touchpoint, "value", e.touchpoint))
        cols["event"].append(e.event)
        cols["dealer_id"].append(e.dealer_id)
        cols["order_id"].append(getattr(e, "order_id", None))
        amount = getattr(e, "amount", None)
        cols["amount"].append(np.nan if amount is None else amount)
        cols["one_id"].append(e.one_id)
        for key, value in (e.properties or {}).items():
            if key in cols:
                continue
            extra.setdefault(key, [None] * i).append(value)
        for values in extra.values():
            if len(values) < i + 1:
                values.append(None)
    out: dict[str, Arr] = {
        "ts": to_utc_us(cols.pop("ts"), field="occurred_at"),
        "amount": np.asarray(cols.pop("amount"), dtype=np.float64),
    }
    for key, values in {**cols, **extra}.items():
        out[key] = np.array(values, dtype=object)
    one = out["one_id"]
    if len(one) and not is_null(one).any():
        out["one_id"] = one.astype(np.int64)
    return out


def _is_models(events: Any) -> bool:
    if not isinstance(events, list | tuple) or not events:
        return False
    return hasattr(events[0], "occurred_at") and hasattr(events[0], "touchpoint")


def read_events(
    events: Any,
    *,
    unit: Any,
    ts: str,
    needed: Iterable[str] = (),
    optional: Iterable[str] = (),
    assume_tz: str | None = None,
) -> EventColumns:
    """Read and validate event columns.

    *unit* is a column name or an array aligned with the rows (for example a
    One ID from identity resolution). Missing units or timestamps raise
    :class:`InvalidInput` listing the offending row indices.
    """
    if _is_models(events):
        source: Any = _from_models(events)
    else:
        source = events
    coded: dict[str, tuple[npt.NDArray[np.int64], Arr]] = {}
    for name in needed:
        got = _categorical(source, name)
        if got is not None:
            coded[name] = got
    names = [ts, *(c for c in needed if c not in coded)]
    unit_arr: Arr | None = None
    if isinstance(unit, str):
        names.append(unit)
    else:
        unit_arr = np.asarray(unit)
    cols = read_columns(
        source, list(dict.fromkeys(names)), optional=optional, what="events", assume_tz=assume_tz
    )
    raw_ts = cols[ts]
    if raw_ts.dtype.kind != "M":
        raw_ts = to_utc_us(raw_ts, field=ts, assume_tz=assume_tz)
    ts_arr = raw_ts.astype("datetime64[us]", copy=False)
    if _any_nat(ts_arr):
        bad = np.isnat(ts_arr)
        msg = f"{int(bad.sum())} missing timestamps; fill or drop them first"
        raise InvalidInput(msg, field=ts, row=_rows_list(bad), code="missing_value")
    if unit_arr is None:
        unit_arr = cols[str(unit)]
        unit_name = str(unit)
    else:
        unit_name = "unit"
        if len(unit_arr) != len(ts_arr):
            msg = f"unit array has {len(unit_arr)} values for {len(ts_arr)} rows"
            raise InvalidInput(msg, field="unit", code="ragged")
    codes, values = _unit_codes(unit_arr, unit_name)
    for name, (c, _) in coded.items():
        if len(c) != len(ts_arr):
            raise InvalidInput(f"column has {len(c)} values for {len(ts_arr)} rows", field=name)
    return EventColumns(cols, codes, values, ts_arr.view(np.int64), coded)


def _spans(n: int) -> list[tuple[int, int]]:
    return chunks(n) if n >= _parallel.MIN_ROWS else [(0, n)]


_NAT = np.iinfo(np.int64).min  # NaT's integer: the least int64


def _any_nat(ts: Arr) -> bool:
    """Whether a datetime64 column holds NaT, checked by spans on several threads: NaT is
    the least 64-bit integer, so a minimum finds it (3 times faster than ``isnat``)."""
    v = ts.view(np.int64)
    return any(
        parallel_map(lambda sp: int(v[sp[0] : sp[1]].min(initial=0)) == _NAT, _spans(len(v)))
    )


def _min_max(v: npt.NDArray[np.int64]) -> tuple[int, int]:
    """(min, max) of a non-empty integer column, by spans on several threads."""
    parts = parallel_map(
        lambda sp: (int(v[sp[0] : sp[1]].min()), int(v[sp[0] : sp[1]].max())), _spans(len(v))
    )
    return min(p[0] for p in parts), max(p[1] for p in parts)


def _categorical(source: Any, name: str) -> tuple[npt.NDArray[np.int64], Arr] | None:
    """(codes, categories) of a categorical column, or None when it is not one.

    Categorical columns are pandas categoricals, polars ``Categorical``/``Enum``
    columns and Arrow dictionary arrays; Arrow-backed text (pandas ``str`` and
    ``string[pyarrow]``, polars ``String``, Arrow string arrays) is dictionary-encoded
    by Arrow and taken as one too: no Python string a row (at 10M events the funnel
    took 1.86-3.10 s from a pandas ``str`` event column before, 0.75-0.80 s since).

    >>> import pandas as pd
    >>> codes, cats = _categorical({"e": pd.Series(["b", None, "a", "b"], dtype="str")}, "e")
    >>> codes.tolist(), cats.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    col: Any
    module = type(source).__module__.split(".")[0]
    if isinstance(source, dict):
        col = source.get(name)
    elif module in ("pandas", "polars") and name in source.columns:
        col = source[name]
    elif module == "pyarrow" and name in source.column_names:
        col = source.column(name)
    else:
        return None
    kind = type(col).__module__.split(".")[0]
    if kind in ("pandas", "polars", "pyarrow") and arrow_strings(col) is not None:
        return encode(col)  # (Arrow's dictionary encoding)
    if kind == "pandas":
        cat = getattr(col, "cat", None) if hasattr(col, "dtype") else None
        if str(getattr(col, "dtype", "")) != "category":
            return None
        values = col if cat is None else col.cat
        codes = np.asarray(values.codes)  # native width; -1 is null
        return codes, np.asarray(values.categories, dtype=object)
    if kind == "polars":
        import polars as pl

        if not isinstance(col.dtype, pl.Categorical | pl.Enum) or not available("pyarrow"):
            return None  # (without pyarrow: read as text)
        col = col.to_arrow()
        kind = "pyarrow"
    if kind == "pyarrow":
        import pyarrow as pa

        if isinstance(col, pa.ChunkedArray):
            if not pa.types.is_dictionary(col.type):
                return None
            col = col.unify_dictionaries().combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if not isinstance(col, pa.DictionaryArray):
            return None
        idx = col.indices.cast(pa.int64())
        codes = idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, np.asarray(col.dictionary.to_pylist(), dtype=object)
    return None


def sort_rows(
    unit: npt.NDArray[np.int64],
    ts: Arr | None,
    tie: Arr | None,
    labels: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Order rows by (unit, ts, tie, input position) with stable sorts.

    *unit* holds dense non-negative codes; *ts* None says the rows are
    already in time order. Time-ordered input (the usual append-only log)
    needs one stable sort on the unit only. Otherwise one stable sort of the
    packed (unit, relative ts) key when it fits in 63 bits, else a sort on
    ts, then one on the unit. With *labels* (increasing non-negative row
    labels, e.g. the input rows kept), ``labels[order]`` is returned instead
    of ``order``.
    """
    n = len(unit)
    if n == 0:
        return np.arange(0, dtype=np.int64)
    if ts is None:
        return _radix(None, unit, labels)
    order: npt.NDArray[np.int64] | None = None  # None: input order
    if tie is not None:
        order = np.argsort(tie, kind="stable").astype(np.int64)
    t = ts if order is None else ts[order]
    u = unit if order is None else unit[order]
    if is_nondecreasing(t):
        # time-ordered logs (the common case): a stable sort on the unit only
        return _radix(order, u, labels)
    t_rel = t - t.min()
    ts_bits = int(t_rel.max()).bit_length()
    unit_bits = int(u.max()).bit_length()
    if ts_bits + unit_bits <= 63:
        order = _radix(order, (u << ts_bits) | t_rel, labels)
    else:
        order = _radix(order, t_rel)
        order = _radix(order, unit[order], labels)
    return order


def dense_ranks(key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The rank of each value among the distinct values (0 = smallest)."""
    return np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(len(key))


def is_nondecreasing(values: Arr) -> bool:
    """``values[i] <= values[i + 1]`` for every i (without a full-length temporary): chunks
    of 1M values, each with the next chunk's first, checked on several threads.

    >>> is_nondecreasing(np.array([1, 1, 2])), is_nondecreasing(np.array([2, 1]))
    (True, False)
    """
    step = 1 << 20

    def ordered(lo: int) -> bool:
        chunk = values[lo : lo + step + 1]
        return bool(np.all(chunk[1:] >= chunk[:-1]))

    return all(parallel_map(ordered, list(range(0, max(len(values) - 1, 0), step))))


def _radix(
    order: npt.NDArray[np.int64] | None,
    key: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Stable sort of *order* (None: 0..n−1) by the non-negative *key*; with
    *labels* (increasing), ``labels[sorted order]``.

    When the key and the row label fit in 64 bits together, one sort of the
    packed ``key << bits | label`` does it: the packed values are distinct,
    so any sort is stable, and numpy sorts plain 64-bit integers with its
    vectorised (SIMD) quicksort, faster than an argsort (2× on an AMD Zen 4,
    where numpy's AVX-512 sort is slow: see "Sorting on AMD Zen 4" in the
    docs' index; more elsewhere). The
    label comes out of the packed value: no gather. Wider keys (µs
    timestamps) take two such sorts — high bits, then (run of equal high
    bits, low bits) — and wider still, dense ranks first.
    """
    n = len(key)
    top = int(key.max()) if n else 0
    bits = top.bit_length()
    packed_labels = labels if order is None and labels is not None else None
    lab_top = int(packed_labels[-1]) if packed_labels is not None and n else n - 1
    pos_bits = max(lab_top, 1).bit_length()
    if packed_labels is not None and bits + pos_bits > 64:
        # large labels on few rows: pack the row positions instead, label at the end
        packed_labels = None
        pos_bits = max(n - 1, 1).bit_length()
    if bits + pos_bits <= 64:
        packed = key.astype(np.uint64)
        packed <<= np.uint64(pos_bits)
        if packed_labels is None:
            packed |= np.arange(n, dtype=np.uint64)
        else:
            packed |= packed_labels.astype(np.int64, copy=False).view(np.uint64)
        packed.sort()
        packed &= np.uint64((1 << pos_bits) - 1)
        perm: npt.NDArray[np.int64] = packed.view(np.int64)
        if packed_labels is not None:
            return perm
    elif bits + 3 * n.bit_length() <= 128:
        # too wide to pack whole (e.g. µs timestamps): sort the packed high bits,
        # number the runs of equal high bits, then sort (run, low bits) — also
        # packed, and nearly in order already
        low = bits + n.bit_length() - 64
        idx_bits = n.bit_length()
        packed = (key >> low).astype(np.uint64)
        packed <<= np.uint64(idx_bits)
        packed |= np.arange(n, dtype=np.uint64)
        packed.sort()
        first = packed & np.uint64((1 << idx_bits) - 1)
        packed >>= np.uint64(idx_bits)
        run = np.zeros(n, dtype=np.uint64)
        np.cumsum(packed[1:] != packed[:-1], out=run[1:])
        run <<= np.uint64(low)
        run |= (key & ((1 << low) - 1)).astype(np.uint64)[first]
        run <<= np.uint64(idx_bits)
        run |= np.arange(n, dtype=np.uint64)
        run.sort()
        run &= np.uint64((1 << idx_bits) - 1)
        perm = first[run].view(np.int64)
    else:
        # wider still: dense ranks of the key (one sort), then the packed path
        return _radix(order, dense_ranks(key), labels)
    perm = perm.astype(np.int64, copy=False)
    out: npt.NDArray[np.int64] = perm if order is None else order[perm]
    return out if labels is None else np.asarray(labels[out], dtype=np.int64)


def dense_codes(values: Arr) -> tuple[npt.NDArray[np.int64], Arr]:
    """Dense ranks of integer values and the sorted distinct values (no sort when compact,
    else :func:`~autoops._factorize.sorted_codes`)."""
    v = values.astype(np.int64)
    if len(v) == 0:
        return v, v
    lo, hi = int(v.min()), int(v.max())
    if hi - lo <= 4 * len(v) + 1024:
        present = np.zeros(hi - lo + 1, dtype=bool)
        present[v - lo] = True
        uniques = np.nonzero(present)[0].astype(np.int64) + lo
        rank = np.cumsum(present, dtype=np.int64) - 1
        return rank[v - lo], uniques
    return sorted_codes(v)


def _unit_codes(values: Arr, name: str) -> tuple[npt.NDArray[np.int64], Arr]:
    """Non-negative unit codes and ``uniques[code]`` = the unit id.

    Compact integer ids are their own codes (shifted to 0; codes of absent
    ids simply never occur), so no ranking pass touches the rows.
    """
    if values.dtype.kind in "iub":
        v = values.astype(np.int64, copy=False)
        if len(v):
            lo, hi = _min_max(v)
            if hi - lo <= 4 * len(v) + 1024:
                # ids from 0 are their own codes (read-only from here on: no copy)
                codes = v if lo == 0 else np.asarray(v - lo, dtype=np.int64)
                return codes, np.arange(lo, hi + 1, dtype=np.int64)
        return dense_codes(values)
    if values.dtype.kind == "f":
        bad = np.isnan(values)
        if bad.any():
            msg = f"{int(bad.sum())} missing unit ids; resolve or drop them first"
            raise InvalidInput(msg, field=name, row=_rows_list(bad), code="missing_value")
        uniques, inverse = np.unique(values, return_inverse=True)
        return inverse.astype(np.int64), uniques
    obj = values.astype(object)
    bad = is_null(obj)
    if bad.any():
        msg = f"{int(bad.sum())} missing unit ids; resolve or drop them first"
        raise InvalidInput(msg, field=name, row=_rows_list(bad), code="missing_value")
    if len(obj) and all(isinstance(x, int | np.integer) for x in obj[:1]):
        try:
            return _unit_codes(obj.astype(np.int64), name)
        except (TypeError, ValueError):
            pass
    codes, uniques = factorize(obj)
    return codes, uniques


def condition_mask(col: Arr, op: str, value: Any) -> npt.NDArray[np.bool_]:
    """Evaluate ``col op value``; missing values never satisfy a comparison."""
    if op in ("==", "in") and col.dtype == object:
        # a missing value (None, NaN) never equals a value: no presence mask needed
        wanted = [v for v in ([value] if op == "==" else value) if v is not None]
        hit = _member(col, wanted) if len(wanted) >= _SET_VALUES else None
        if hit is not None:
            return hit
        out = np.zeros(len(col), dtype=bool)
        for v in wanted:
            out |= _eq(col, v)
        return out
    if col.dtype == object:
        present = ~is_null(col)
    elif col.dtype.kind == "f":
        present = ~np.isnan(col)
    elif col.dtype.kind == "M":
        present = ~np.isnat(col)
    else:
        present = np.ones(len(col), dtype=bool)
    if op == "is_null":
        return np.asarray(~present, dtype=bool)
    if op == "not_null":
        return np.asarray(present, dtype=bool)
    out = np.zeros(len(col), dtype=bool)
    vals = col[present]
    if op in ("in", "not_in"):
        hit = np.zeros(len(vals), dtype=bool)
        for v in value:
            if v is not None:
                hit |= _eq(vals, v)
        out[present] = hit if op == "in" else ~hit
        return out
    if value is None:
        return out
    if op == "==":
        out[present] = _eq(vals, value)
    elif op == "!=":
        out[present] = ~_eq(vals, value)
    else:
        try:
            cmp = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}[op]
            out[present] = cmp(vals, value)
        except TypeError as exc:
            raise InvalidInput(
                f"cannot compare with {value!r}: {exc}", code="bad_predicate"
            ) from None
    return out


def column_mask(ev: EventColumns, name: str, op: str, value: Any) -> npt.NDArray[np.bool_]:
    """``condition_mask`` on a column, evaluated on the categories of a coded column."""
    if name in ev.coded:
        codes, cats = ev.coded[name]
        on_cats = condition_mask(np.asarray(cats, dtype=object), op, value)
        null_hit = op == "is_null"
        lut = np.append(on_cats, null_hit)
        return np.asarray(take(lut, codes), dtype=bool)  # code -1 picks the null slot
    return condition_mask(ev.column(name), op, value)


_SET_VALUES = 5
"""Values from which an object column is matched by set lookups: a lookup costs about
five comparison passes (Python strings), whatever the number of values."""


def _member(col: Arr, wanted: list[Any]) -> npt.NDArray[np.bool_] | None:
    """Rows of an object column equal to one of *wanted*, by one set lookup a row;
    None when a value cannot be hashed or compared to itself (then the caller compares
    value by value)."""
    try:
        keys = {v for v in wanted if v == v}  # NaN never matches
        return np.fromiter(map(keys.__contains__, col), dtype=bool, count=len(col))
    except (TypeError, ValueError):
        return None


def _eq(vals: Arr, value: Any) -> npt.NDArray[np.bool_]:
    return np.asarray(vals == value, dtype=bool).reshape(len(vals))


def step_mask(
    ev: EventColumns, event_col: str, events: Sequence[str], where: Sequence[Any]
) -> npt.NDArray[np.bool_]:
    """Rows matching a step: event name in *events* (any when empty) and every condition."""
    if events and event_col in ev.coded:
        codes, cats = ev.coded[event_col]
        lut = np.append(np.isin(cats, list(events)), False)
        mask = take(lut, codes)  # code -1 picks the trailing False
    elif events:
        mask = condition_mask(ev.column(event_col), "in", list(events))
    else:
        mask = np.ones(ev.n, dtype=bool)
    for cond in where:
        mask &= column_mask(ev, cond.column, cond.op, cond.value)
    return mask


def known_event_check(ev: EventColumns, event_col: str, name: str, hit: bool) -> None:
    """Raise when a step names an event that occurs nowhere, listing the known events."""
    if hit:
        return
    names = ev.column(event_col)
    present = names[~is_null(names)] if names.dtype == object else names
    known = sorted({str(x) for x in np.unique(present.astype(str))}) if len(present) else []
    shown = ", ".join(known[:30]) + (" …" if len(known) > 30 else "")
    msg = f"no event named {name!r} in the data; known events: {shown or '(none)'}"
    raise InvalidInput(msg, field=event_col, code="unknown_event")
