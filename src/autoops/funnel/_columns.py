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

from autoops._tabular import columns as read_columns
from autoops._tabular import factorize
from autoops._time import to_utc_us
from autoops.errors import InvalidInput

__all__ = ["EventColumns", "condition_mask", "is_null", "read_events", "step_mask"]

Arr = npt.NDArray[Any]
_MAX_ROWS_IN_ERROR = 10


class EventColumns:
    """Validated columns: ``unit`` (int64 codes), ``unit_values``, ``ts`` (µs UTC)."""

    __slots__ = ("cols", "n", "ts", "unit", "unit_values")

    def __init__(
        self, cols: dict[str, Arr], unit: npt.NDArray[np.int64], unit_values: Arr, ts: Arr
    ) -> None:
        self.cols = cols
        self.unit = unit
        self.unit_values = unit_values
        self.ts = ts
        self.n = len(ts)

    def column(self, name: str) -> Arr:
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
    names = [ts, *needed]
    unit_arr: Arr | None = None
    if isinstance(unit, str):
        names.append(unit)
    else:
        unit_arr = np.asarray(unit)
    cols = read_columns(source, list(dict.fromkeys(names)), optional=optional, what="events")
    raw_ts = cols[ts]
    if raw_ts.dtype.kind != "M":
        raw_ts = to_utc_us(raw_ts, field=ts, assume_tz=assume_tz)
    ts_arr = raw_ts.astype("datetime64[us]")
    bad = np.isnat(ts_arr)
    if bad.any():
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
    return EventColumns(cols, codes, values, ts_arr.view(np.int64))


def _unit_codes(values: Arr, name: str) -> tuple[npt.NDArray[np.int64], Arr]:
    if values.dtype.kind in "iub":
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
        uniques, inverse = np.unique(v, return_inverse=True)
        return inverse.astype(np.int64), uniques
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


def _eq(vals: Arr, value: Any) -> npt.NDArray[np.bool_]:
    return np.asarray(vals == value, dtype=bool).reshape(len(vals))


def step_mask(
    ev: EventColumns, event_col: str, events: Sequence[str], where: Sequence[Any]
) -> npt.NDArray[np.bool_]:
    """Rows matching a step: event name in *events* (any when empty) and every condition."""
    if events:
        names = ev.column(event_col)
        mask = np.zeros(ev.n, dtype=bool)
        for name in events:
            mask |= _eq(names, name)
    else:
        mask = np.ones(ev.n, dtype=bool)
    for cond in where:
        mask &= condition_mask(ev.column(cond.column), cond.op, cond.value)
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
