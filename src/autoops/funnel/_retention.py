"""Cohort retention: rolling or calendar clocks, first-time or recurring cohorts."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from autoops import _parallel
from autoops._display import html_table, short_repr
from autoops._optional import require
from autoops._parallel import SpanGroups, chunks, parallel_map, thread_count
from autoops._tabular import Tabular
from autoops._time import DEFAULT_TZ, parse_duration
from autoops.errors import ConfigError
from autoops.funnel._calendar import (
    HOUR,
    HourPeriods,
    local_to_utc,
    local_us,
    period_index,
    period_labels,
    period_start_local,
)
from autoops.funnel._columns import (
    dense_codes,
    is_nondecreasing,
    read_events,
    sort_rows,
    step_mask,
)
from autoops.funnel._kernel import first_ge
from autoops.funnel._spec import Step

__all__ = ["RetentionTable", "retention"]

Arr = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]
_DAY = 86_400_000_000
_LENGTH = {"day": _DAY, "week": 7 * _DAY, "month": 30 * _DAY}
_LONGEST = {"day": _DAY, "week": 7 * _DAY, "month": 31 * _DAY}
"""The longest period of each kind in µs of wall-clock time (:func:`_join_horizon`)."""
#: rows per block of the passes over all rows: a block's scratch arrays (2 MiB
#: of int64) stay in the cache and are recycled by the allocator, not mapped anew
ROW_BLOCK = 1 << 18


def _as_step(spec: Any, key: str) -> Step | None:
    if spec is None:
        return None
    if isinstance(spec, Step):
        return spec
    if isinstance(spec, str):
        return Step(event=spec)
    if isinstance(spec, list | tuple) and spec and all(isinstance(s, str) for s in spec):
        return Step(event=list(spec))
    raise ConfigError("use an event name, a list of names, a Step or None (any event)", key=key)


@attrs.frozen(slots=True)
class RetentionTable(Tabular):
    """A cohort matrix: one row per cohort, column 0 the cohort size.

    ``counts[c, k]`` (k ≥ 1) is the number of units of cohort c retained in
    bucket k (``on``) or in bucket k or later (``on_or_after``); ``values``
    holds the chosen measure (rate, count or sum of a column);
    ``complete[c, k]`` is False for cells whose bucket has not fully elapsed
    by ``as_of``. ``weighted_mean[k]`` is Σ retained / Σ cohort size over
    complete cells (NaN when none).

    Examples:
        >>> import numpy as np
        >>> from autoops.funnel import retention
        >>> ev = {"one_id": [1, 1, 2], "event": ["signup", "login", "signup"],
        ...       "ts": np.array(["2026-01-05", "2026-02-03", "2026-01-10"], "datetime64[us]")}
        >>> t = retention(ev, cohort="signup", returning="login", period="month", periods=2,
        ...               as_of=np.datetime64("2026-06-01", "us"))
        >>> t.counts.tolist(), float(t.values[0, 1])
        ([[2, 1, 0]], 0.5)
    """

    cohort: Arr
    size: Arr
    counts: Arr
    values: Arr
    complete: Arr
    weighted_mean: Arr
    measure: str
    period: str
    as_of: np.datetime64
    cohort_period: str = "month"
    tz: str = DEFAULT_TZ

    @property
    def labels(self) -> list[str]:
        """Cohort labels on the calendar of ``tz`` (``2026-01`` or ``2026-01-05``).

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import retention
            >>> ev = {"one_id": [1], "event": ["a"], "ts": np.array(["2025-12-31T17:00"], "datetime64[us]")}
            >>> retention(ev, period="month", periods=1).labels
            ['2026-01']
        """
        return period_labels(self.cohort, self.cohort_period, self.tz)

    def _time_zone(self) -> str:
        return self.tz

    def _columns(self) -> dict[str, Arr]:
        out: dict[str, Arr] = {"cohort": self.cohort, "size": self.size}
        for k in range(1, self.values.shape[1]):
            out[f"p{k}"] = self.values[:, k]
            out[f"p{k}_complete"] = self.complete[:, k]
        return out

    def summary(self) -> dict[str, Any]:
        """Headline figures: cohorts, units, and the weighted mean of period 1.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import retention
            >>> ev = {"one_id": [1, 1], "event": ["a", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}
            >>> retention(ev, period="day", periods=1).summary()["units"]
            1
        """
        p1 = float(self.weighted_mean[1]) if self.weighted_mean.shape[0] > 1 else math.nan
        return {
            "cohorts": len(self.cohort),
            "units": int(self.size.sum()),
            "periods": self.values.shape[1] - 1,
            "measure": self.measure,
            "period_1_weighted_mean": p1,
        }

    def __repr__(self) -> str:
        s = self.summary()
        p1 = s["period_1_weighted_mean"]
        return short_repr(
            "RetentionTable",
            cohorts=s["cohorts"],
            units=s["units"],
            periods=s["periods"],
            p1="nan" if math.isnan(p1) else round(p1, 4),
        )

    def _repr_html_(self) -> str:
        k = self.values.shape[1]
        headers = ["cohort", "size", *[f"{self.period} {i}" for i in range(1, k)]]
        rows = []
        for c in range(len(self.cohort)):
            cells: list[object] = [self.labels[c], int(self.size[c])]
            for i in range(1, k):
                v = self.values[c, i]
                text = f"{v:.1%}" if self.measure == "rate" else f"{v:,.0f}"
                cells.append(text if self.complete[c, i] else f"({text})")
            rows.append(cells)
        rows.append(["weighted mean", int(self.size.sum()), *self.weighted_mean[1:].tolist()])
        return html_table("Retention (incomplete cells in parentheses)", headers, rows, limit=60)

    def plot(self, ax: Any = None) -> Any:
        """A retention heatmap (incomplete cells hatched). Needs the ``[plot]`` extra.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import retention
            >>> ev = {"one_id": [1, 1], "event": ["a", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}
            >>> ax = retention(ev, period="day", periods=2).plot()
            >>> ax.get_title()
            'Retention (rate)'
        """
        require("matplotlib", "plot")
        from matplotlib.figure import Figure

        if ax is None:
            ax = Figure(figsize=(8, 0.4 * len(self.cohort) + 1.5)).add_subplot()
        data = np.where(self.complete, self.values, np.nan)[:, 1:]
        vmax = 1.0 if self.measure == "rate" else None
        ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=vmax)
        for (c, i), v in np.ndenumerate(data):
            if not math.isnan(v):
                label = f"{v:.0%}" if self.measure == "rate" else f"{v:,.0f}"
                ax.text(i, c, label, ha="center", va="center", fontsize=7)
        ax.set_yticks(range(len(self.cohort)), self.labels)
        ax.set_xticks(range(data.shape[1]), [str(i) for i in range(1, data.shape[1] + 1)])
        ax.set_xlabel(f"{self.period}s after the cohort event")
        ax.set_title(f"Retention ({self.measure})")
        return ax


def retention(
    events: Any,
    *,
    cohort: Any = None,
    returning: Any = None,
    period: Literal["day", "week", "month"] | Sequence[str] = "month",
    clock: Literal["rolling", "calendar"] = "calendar",
    cohort_type: Literal["first_time", "recurring"] = "first_time",
    criterion: Literal["on", "on_or_after"] = "on",
    min_returns: int = 1,
    measure: str = "rate",
    periods: int = 12,
    cohort_period: Literal["day", "week", "month"] | None = None,
    tz: str = DEFAULT_TZ,
    as_of: Any = None,
    unit: Any = "one_id",
    event: str = "event",
    ts: str = "ts",
    assume_tz: str | None = None,
) -> RetentionTable:
    """Cohort retention matrix.

    t0 is a unit's first cohort event (``first_time``) or its first cohort
    event in each cohort period (``recurring``: one cohort entry per period).
    A return is a returning row strictly after t0 and not after *as_of*.
    Its bucket is ⌊(ts − t0) / L⌋ with L = 1, 7 or 30 days (``rolling``) or
    period(ts) − period(t0) on the calendar of *tz* (``calendar``: Monday
    20:00 → Tuesday 06:00 is calendar day 1 but rolling day 0). With
    *period* a list of durations ``["1d", "7d", "30d"]`` (brackets), bucket
    k is [b_k, b_(k+1)) with b_0 = 0 (calendar clock: whole local days).
    Column 0 is the cohort size; column k ≥ 1 counts units with at least
    *min_returns* returns in bucket k (``on``) or in buckets ≥ k
    (``on_or_after``: unbounded retention). A cell is complete when
    t0 + end of bucket k ≤ as_of for every unit of the cohort.

    Args:
        events: event columns (see :func:`autoops.funnel.compute`).
        cohort: the cohort event (name, list, :class:`Step`; None = any).
        returning: the returning event (same forms; None = any).
        period: ``"day"``, ``"week"``, ``"month"`` or a list of durations.
        clock: ``"rolling"`` or ``"calendar"``.
        cohort_type: ``"first_time"`` or ``"recurring"``.
        criterion: ``"on"`` or ``"on_or_after"``.
        min_returns: returns needed to count as retained.
        measure: ``"rate"``, ``"count"`` or a numeric column to sum (revenue
            retention; then *min_returns* must be 1).
        periods: columns after column 0 (named periods).
        cohort_period: how cohorts are grouped (default: *period*, or week
            with brackets).
        tz: the zone of the calendar.
        as_of: the end of the data (default: the latest timestamp).
        unit: unit column name or array.
        event: event column.
        ts: timestamp column.
        assume_tz: the zone of naive timestamps (the column and *as_of*); by
            default they are refused (see :func:`autoops.funnel.compute`).

    Returns:
        A :class:`RetentionTable`.

    Raises:
        ConfigError: an invalid option, naming it.
        InvalidInput: missing columns, units or timestamps (with rows).

    Examples:
        >>> import numpy as np
        >>> ev = {"one_id": [1, 1], "event": ["open", "open"],
        ...       "ts": np.array(["2026-01-05T12:00", "2026-01-05T22:00"], "datetime64[us]")}
        >>> retention(ev, period="day", clock="calendar", periods=1).counts.tolist()
        [[1, 1]]
        >>> retention(ev, period="day", clock="rolling", periods=1).counts.tolist()
        [[1, 0]]
    """
    c_step = _as_step(cohort, "cohort")
    r_step = _as_step(returning, "returning")
    if clock not in ("rolling", "calendar"):
        raise ConfigError("use 'rolling' or 'calendar'", key="clock")
    if cohort_type not in ("first_time", "recurring"):
        raise ConfigError("use 'first_time' or 'recurring'", key="cohort_type")
    if criterion not in ("on", "on_or_after"):
        raise ConfigError("use 'on' or 'on_or_after'", key="criterion")
    if min_returns < 1:
        raise ConfigError("must be at least 1", key="min_returns")
    brackets: I64 | None = None
    if isinstance(period, str):
        if period not in _LENGTH:
            raise ConfigError("use 'day', 'week', 'month' or a list of durations", key="period")
        if periods < 1:
            raise ConfigError("must be at least 1", key="periods")
        name = period
    else:
        edges = [parse_duration(p, key="period") for p in period]
        brackets = np.array([0, *[int(e.total_seconds() * 1_000_000) for e in edges]], np.int64)
        if len(brackets) < 2 or np.any(np.diff(brackets) <= 0):
            raise ConfigError("brackets must be increasing durations", key="period")
        if clock == "calendar" and np.any(brackets % _DAY):
            raise ConfigError("calendar brackets must be whole days", key="period")
        periods = len(brackets) - 2 if len(brackets) > 2 else 0
        name = "bracket"
    group = cohort_period or (name if name != "bracket" else "week")
    needed = {event}
    for st in (c_step, r_step):
        if st is not None:
            needed.update(c.column for c in st.where)
    sum_col = None
    if measure not in ("rate", "count"):
        sum_col = measure
        needed.add(measure)
        if min_returns != 1:
            raise ConfigError(
                "sum measures count every return; use min_returns=1", key="min_returns"
            )
    ev = read_events(events, unit=unit, ts=ts, needed=sorted(needed - {ts}), assume_tz=assume_tz)
    t = ev.ts
    t_range = (int(t.min()), int(t.max())) if ev.n else (0, 0)  # read once
    as_of_us = t_range[1] if as_of is None and ev.n else _instant(as_of, assume_tz)
    # by default as_of is the latest row: every row is live (a read-only view, no array)
    live = t <= as_of_us if as_of is not None else np.broadcast_to(np.True_, (ev.n,))
    c_ok = _block_mask(ev, event, c_step)  # by blocks of rows: no full-length mask

    def cohort_rows(a: int, b: int) -> npt.NDArray[np.bool_]:
        got = c_ok(a, b)
        got &= live[a:b]
        return got

    if r_step is None:  # any event returns: the live rows (no second full-length mask)
        r_ok = live
    else:
        r_ok = _mask(ev, event, r_step)
        r_ok &= live
    n_units = len(ev.unit_values)
    n_cols = periods + 1
    same_clock = clock == "calendar" and brackets is None and group == name
    # calendar buckets of the cohort's own period, "on" one return
    own_periods = same_clock and criterion == "on" and min_returns == 1 and sum_col is None
    by_period = own_periods and cohort_type == "first_time"
    # (period, unit) byte maps of the cohort rows and of the returns, filled in one pass
    maps = None
    if own_periods:
        every = r_step is None and as_of is None  # every row returns (no mask to read)
        maps = _period_presence(
            ev.unit, t, cohort_rows, None if every else r_ok, n_units, n_cols, group, tz,
            t_range, recurring=cohort_type == "recurring",
        )  # fmt: skip
    if maps is not None:
        size, cohorts, retained_units = maps
        counts = np.zeros((len(cohorts), n_cols), dtype=np.int64)
        counts[:, 0] = size
        counts[:, 1:] = retained_units
        none = np.zeros(0, dtype=np.int64)  # t0 is not needed: only its period (_complete)
        complete = _complete(cohorts, none, none, group, clock, name, None, n_cols, as_of_us, tz)
        return _table(cohorts, size, counts, None, complete, measure, name, group, as_of_us, tz)
    by_units: I64 | None = None
    unit_time_order: I64 | None = None  # the instances by (unit, t0), when known
    # cohort instances: (unit, t0) — one per unit, or one per unit and cohort period
    if cohort_type == "first_time":
        # each unit's first cohort time: one minimum per unit in a linear pass (no sort;
        # any row order), in ascending unit order; its period is the unit's smallest
        t0_of = _first_times(ev.unit, t, cohort_rows, n_units)
        by_unit = np.flatnonzero(t0_of != _NONE)
        by_unit_t0 = t0_of[by_unit]
        del t0_of
        by_unit_group = period_index(local_us(by_unit_t0, tz), group)
    else:
        is_c = _rows_where(cohort_rows, ev.n)
        cu, ct = ev.unit[is_c], t[is_c]
        cg = _by_chunks(lambda a, b: period_index(local_us(ct[a:b], tz), group), len(ct), np.int64)
        order = sort_rows(
            cu * (int(cg.max(initial=0)) - int(cg.min(initial=0)) + 1)
            + (cg - int(cg.min(initial=0))),
            ct,
            None,
        )
        first = np.ones(len(order), dtype=bool)
        first[1:] = (cu[order][1:] != cu[order][:-1]) | (cg[order][1:] != cg[order][:-1])
        inst = np.compress(first, order)  # faster than order[first]
        by_unit, by_unit_t0, by_unit_group = cu[inst], ct[inst], cg[inst]
        del order, first, inst, cg
        # by (unit, cohort period): by (unit, t0) too unless periods went back in time
        # (the join below needs the instances by (unit, t0))
        going_back = (by_unit[1:] == by_unit[:-1]) & (by_unit_t0[1:] < by_unit_t0[:-1])
        unit_time_order = None if going_back.any() else np.arange(len(by_unit))
        del going_back
    i_cohort, cohorts = dense_codes(by_unit_group)  # period numbers: compact, no sort
    i_unit, i_t0, i_group = by_unit, by_unit_t0, by_unit_group
    del by_unit, by_unit_t0, by_unit_group
    n_inst = len(i_unit)
    # otherwise (too many periods for the maps) a byte map of (bucket, unit), each row
    # reading one narrow number of its unit
    if by_period and n_inst and n_units * n_cols <= 256_000_000:
        every = r_step is None and as_of is None  # every row returns (no mask to read)
        by_units = _unit_presence(
            ev.unit, t, None if every else r_ok, i_unit, i_group, i_cohort, len(cohorts),
            n_units, n_cols, group, tz, t_range,
        )  # fmt: skip
    if by_units is None:
        # instances grouped by cohort: a cohort's instances are one contiguous run
        # (a 16-bit stable argsort is a radix sort); the map by unit needs no order
        narrow = i_cohort.astype(np.uint16) if len(cohorts) <= 1 << 16 else i_cohort
        inst = np.argsort(narrow, kind="stable")
        i_unit, i_t0, i_group, i_cohort = i_unit[inst], i_t0[inst], i_group[inst], i_cohort[inst]
        if unit_time_order is not None:  # where each instance went
            unit_time_order[inst] = np.arange(len(inst))
        del inst
    # returns joined to instances (rows, instance, cohort period), as blocks of rows
    source: Callable[[tuple[int, int]], tuple[I64, Arr, Arr]]
    if cohort_type == "first_time":
        spans = []  # every return already counted
        if by_units is None:
            per_unit = _unit_records(i_unit, i_t0, i_group, n_units)
            spans = [(lo, min(lo + ROW_BLOCK, len(t))) for lo in range(0, len(t), ROW_BLOCK)]

        def source(span: tuple[int, int]) -> tuple[I64, Arr, Arr]:
            return _returns_block(per_unit, ev.unit, t, r_ok, *span)
    else:
        is_r = np.flatnonzero(r_ok)
        # each return joins the instances of its unit that start before it (≤ one per
        # cohort period); "on" counts buckets below n_cols only, so not those too far back
        horizon = _join_horizon(name, brackets, n_cols) if criterion == "on" else None
        pair_rows, pair_inst = _earlier_instances(
            is_r, ev.unit, t, i_unit, i_t0, n_units, horizon, unit_time_order
        )
        spans = chunks(len(pair_rows), max(1, -(-len(pair_rows) // ROW_BLOCK)))

        def source(span: tuple[int, int]) -> tuple[I64, Arr, Arr]:
            a, b = span
            return pair_rows[a:b], pair_inst[a:b], i_group[pair_inst[a:b]]

    inst_local = local_us(i_t0, tz) if clock == "calendar" and not same_clock else i_t0
    # "on" with one return: a byte map of (bucket, instance), filled block by block
    presence = criterion == "on" and min_returns == 1 and n_inst * n_cols <= 256_000_000
    presence = presence and by_units is None
    seen = np.zeros(n_inst * n_cols if presence else 0, dtype=bool)
    # a sum measure: per block, a (cohort, bucket) grid of its returns' values ("on or
    # after": the buckets past the last column in one, all that its suffix sums need)
    summed = None if sum_col is None else np.asarray(ev.column(sum_col), dtype=np.float64)
    grid_shape = (len(cohorts), n_cols if criterion == "on" else n_cols + 1)

    def block(span: tuple[int, int]) -> tuple[tuple[Arr, Arr] | None, Arr | None]:
        """One block of rows: its returns' buckets, marked in the map (blocks run on
        several threads: they only ever set bytes of the map to True), and its grid of
        summed values."""
        rows, b_inst, b_group = source(span)
        r_t = t[rows]
        if same_clock:  # the calendar bucket is the difference of period numbers
            bucket = period_index(local_us(r_t, tz), group) - b_group
        else:
            bucket = _buckets(
                r_t - i_t0[b_inst],
                None if clock == "rolling" else local_us(r_t, tz),
                None if clock == "rolling" else inst_local[b_inst],
                clock=clock,
                name=name,
                brackets=brackets,
            )
        if brackets is not None:
            valid = (bucket >= 0) & (bucket < len(brackets) - 1)
            rows, b_inst, bucket = rows[valid], b_inst[valid], bucket[valid]
        if presence:
            cell = np.flatnonzero((bucket >= 1) & (bucket < n_cols))
            seen[bucket[cell] * n_inst + b_inst[cell]] = True
        grid = None
        if summed is not None:
            vals = np.nan_to_num(summed[rows])
            coh = i_cohort[b_inst]
            if criterion == "on":
                ok = (bucket >= 1) & (bucket < n_cols)
                grid = _grid_add(coh[ok], bucket[ok], vals[ok], grid_shape)
            else:
                grid = _grid_add(coh, np.minimum(bucket, n_cols), vals, grid_shape)
        return (None if presence else (b_inst, bucket)), grid

    done = parallel_map(block, spans)
    kept = [k for k, _ in done if k is not None]
    r_inst, bucket = (
        (np.concatenate([k[j] for k in kept]).astype(np.int64, copy=False) for j in range(2))
        if kept
        else (np.zeros(0, dtype=np.int64) for _ in range(2))
    )
    size = np.bincount(i_cohort, minlength=len(cohorts)).astype(np.int64)
    counts = np.zeros((len(cohorts), n_cols), dtype=np.int64)
    sums = np.zeros((len(cohorts), n_cols), dtype=np.float64)
    counts[:, 0] = size
    if presence and n_inst:
        counts[:, 1:] += _presence_counts(seen.reshape(n_cols, n_inst), i_cohort)[1:].T
    if by_units is not None:
        counts[:, 1:] = by_units

    if len(r_inst):
        top = int(bucket.max()) + 1
        if not presence and criterion == "on_or_after" and min_returns == 1:
            # retained at k iff its latest return sits in a bucket >= k: one maximum per
            # instance, no count per (instance, bucket)
            latest = np.full(n_inst, -1, dtype=np.int64)
            np.maximum.at(latest, r_inst, bucket)
            back = np.flatnonzero(latest >= 1)
            counts[:, 1:] = _retained_through(i_cohort[back], latest[back], len(cohorts), n_cols)
        elif not presence:
            uk, cnt = _key_counts(r_inst * top + bucket, n_inst * top)
            k_inst, k_b = uk // top, uk % top
            if criterion == "on":
                ok = (cnt >= min_returns) & (k_b >= 1) & (k_b < n_cols)
                hit = _grid_add(i_cohort[k_inst[ok]], k_b[ok], None, counts.shape)
                counts += hit.astype(np.int64)
            else:
                # retained at k iff the min_returns-th latest return sits in a bucket >= k
                order2 = np.lexsort((-k_b, k_inst))
                ki, kb, kc = k_inst[order2], k_b[order2], cnt[order2]
                seg = np.ones(len(ki), dtype=bool)
                seg[1:] = ki[1:] != ki[:-1]
                csum = np.cumsum(kc)
                base = np.repeat(
                    csum[seg] - kc[seg], np.diff(np.append(np.nonzero(seg)[0], len(ki)))
                )
                running = csum - base
                hit = running >= min_returns
                prev = np.concatenate([[False], hit[:-1]]) & ~seg
                mth = hit & ~prev
                counts[:, 1:] = _retained_through(i_cohort[ki[mth]], kb[mth], len(cohorts), n_cols)
    if summed is not None:
        per = np.zeros(grid_shape, dtype=np.float64)
        for _, grid in done:  # (in block order: the same sums on any number of threads)
            if grid is not None:
                per += grid
        if criterion == "on":
            sums[:, 1:] = per[:, 1:]
        else:  # the returns in bucket k or later
            sums[:, 1:] = np.cumsum(per[:, ::-1], axis=1)[:, ::-1][:, 1:n_cols]
    complete = _complete(
        cohorts, i_cohort, i_t0, group, clock, name, brackets, n_cols, as_of_us, tz
    )
    return _table(
        cohorts, size, counts, sums if sum_col is not None else None, complete, measure, name,
        group, as_of_us, tz,
    )  # fmt: skip


def _table(
    cohorts: I64,
    size: I64,
    counts: I64,
    sums: npt.NDArray[np.float64] | None,
    complete: npt.NDArray[np.bool_],
    measure: str,
    name: str,
    group: str,
    as_of_us: int,
    tz: str,
) -> RetentionTable:
    """The table of a measure: rate, count, or the sums of a column (*sums*)."""
    n_cols = counts.shape[1]
    if sums is not None:
        values = sums.copy()
        values[:, 0] = size
        retained = sums
    elif measure == "count":
        values = counts.astype(np.float64)
        retained = counts.astype(np.float64)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(size[:, None] > 0, counts / np.maximum(size, 1)[:, None], np.nan)
        values[:, 0] = size
        retained = counts.astype(np.float64)
    wm = np.full(n_cols, np.nan)
    wm[0] = float(size.sum())
    for k in range(1, n_cols):
        ok = complete[:, k]
        denom = size[ok].sum()
        if denom > 0:
            wm[k] = retained[ok, k].sum() / denom
    starts_utc = local_to_utc(period_start_local(cohorts, group), tz)
    return RetentionTable(
        cohort=starts_utc,
        size=size,
        counts=counts,
        values=values,
        complete=complete,
        weighted_mean=wm,
        measure=measure,
        period=name,
        as_of=np.datetime64(as_of_us, "us"),
        cohort_period=group,
        tz=tz,
    )


def _spans(n: int) -> list[tuple[int, int]]:
    """Spans of at most :data:`ROW_BLOCK` rows (one span below :data:`autoops._parallel.MIN_ROWS`)."""
    if n < _parallel.MIN_ROWS:
        return [(0, n)]
    return [(lo, min(lo + ROW_BLOCK, n)) for lo in range(0, n, ROW_BLOCK)]


def _by_chunks(fn: Callable[[int, int], Arr], n: int, dtype: Any) -> Arr:
    """``fn(0, n)`` for a *fn* working row by row, computed on spans of rows on
    several threads when *n* is at least :data:`autoops._parallel.MIN_ROWS`, each written
    straight into its slice of the output (no pieces to join)."""
    out = np.empty(n, dtype=dtype)

    def one(span: tuple[int, int]) -> None:
        out[span[0] : span[1]] = fn(*span)

    parallel_map(one, _spans(n))
    return out


def _rows_where(mask: Callable[[int, int], npt.NDArray[np.bool_]], n: int) -> I64:
    """``np.flatnonzero(mask(0, n))``, by spans on several threads: each span counts
    its rows, then writes their indices into its slice of the output."""
    spans = _spans(n)
    sizes = parallel_map(lambda sp: int(np.count_nonzero(mask(*sp))), spans)
    at = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
    out = np.empty(at[-1], dtype=np.int64)

    def one(i: int) -> None:
        a, b = spans[i]
        got = out[at[i] : at[i + 1]]
        got[...] = np.flatnonzero(mask(a, b))
        got += a

    parallel_map(one, list(range(len(spans))))
    return out


_NONE = np.iinfo(np.int64).max
"""The first cohort time of a unit without a cohort row."""


def _first_times(
    unit: Arr, t: I64, rows: Callable[[int, int], npt.NDArray[np.bool_]], n_units: int
) -> I64:
    """Per unit, the least *t* of the rows selected by ``rows(a, b)`` (:data:`_NONE` if none).

    Each thread takes a contiguous range of rows, ROW_BLOCK rows at a time, into
    its own array of minima; the arrays are then combined by their minimum, which
    does not depend on the split. ``np.minimum.at`` holds the GIL (no gain from
    threads), so a block lowers the minima with plain assignments instead: the
    rows whose time is below their unit's minimum write it, in reverse row order
    (when several rows of a unit write, one of them wins — in practice the last
    written, i.e. the earliest row of a log in time order), and the rows still
    below their unit's minimum write again until none is left; after a few
    rounds ``np.minimum.at`` finishes the rest. Linear, no sort, any row order.
    """
    n = len(t)
    spans = chunks(n, thread_count() if n >= _parallel.MIN_ROWS else 1) or [(0, 0)]

    def one(span: tuple[int, int]) -> I64:
        best = np.full(n_units, _NONE, dtype=np.int64)
        for lo in range(span[0], span[1], ROW_BLOCK):
            hi = min(lo + ROW_BLOCK, span[1])
            sel = np.flatnonzero(rows(lo, hi))
            sel += lo
            u, tb = unit[sel], t[sel]
            for _ in range(3):
                low = np.flatnonzero(tb < best[u])
                if len(low) == 0:
                    break
                u, tb = u[low], tb[low]
                best[u[::-1]] = tb[::-1]
            else:
                np.minimum.at(best, u, tb)
        return best

    per = parallel_map(one, spans)
    out = per[0]
    for other in per[1:]:
        np.minimum(out, other, out=out)
    return out


def _unit_presence(
    unit: Arr,
    t: I64,
    r_ok: npt.NDArray[np.bool_] | None,
    i_unit: Arr,
    i_group: I64,
    i_cohort: I64,
    n_cohorts: int,
    n_units: int,
    n_cols: int,
    period: str,
    tz: str,
    t_range: tuple[int, int],
) -> I64 | None:
    """``out[c, k - 1]``: units of cohort c with a return in period k (1 ≤ k < n_cols), for
    first-time cohorts bucketed by calendar periods of the cohort's own kind; None when
    the periods span too much for the narrow tables. *t_range* is (least, greatest) *t*.

    Bucket k ≥ 1 means a later period than t0's, so every row in it is after t0: a row
    needs only its unit's cohort period, not t0. Each row reads its hour's period
    from a table per UTC hour (exact per row in the rare hours with a change of
    offset) and its unit's cohort period from an int16 array (2 MB per million
    units: it stays in the cache, not in DRAM), and marks byte (k - 1, unit) of a
    bucket-major map; blocks of :data:`ROW_BLOCK` rows run on several threads and
    only ever set bytes to True. Each bucket's marked units are then counted per
    cohort, the buckets on several threads.
    """
    n = len(t)
    hours = HourPeriods.spanning(*t_range, tz, period) if n else None
    # (with periods going back, a row in a later period than t0's might lie before t0)
    if hours is None or not hours.monotone:
        return None
    g0 = int(i_group.min())
    rel = hours.periods - g0
    # |row period - g0| and every cohort period - g0 lie below `far`: it marks units
    # without a cohort (their buckets are all negative), without overflow
    far = max(int(np.abs(rel).max()), int(i_group.max()) - g0) + n_cols + 1
    if 2 * far >= 2**31:
        return None
    kind = np.int16 if 2 * far < 2**15 else np.int32
    # the row's period - g0 - 1, as int32 (a small table: read without a conversion
    # pass); minus the unit's cohort period it is k - 1
    period_less_g0 = hours.reader(offset=-(g0 + 1))
    unit_rel = np.full(n_units, far, dtype=kind)
    unit_rel[i_unit] = i_group - g0
    n_buckets = n_cols - 1
    cell_kind = np.int32 if n_buckets * n_units < 2**31 else np.int64
    seen = np.zeros(n_buckets * n_units, dtype=bool)

    def block(lo: int) -> None:
        tb, ub = t[lo : lo + ROW_BLOCK], unit[lo : lo + ROW_BLOCK]
        if r_ok is not None:
            rows = np.flatnonzero(r_ok[lo : lo + ROW_BLOCK])
            tb, ub = tb[rows], ub[rows]
        b = period_less_g0(tb)
        b -= unit_rel[ub]
        ok = b.view(np.uint32) < n_buckets  # 0 ≤ k - 1 < n_buckets: one comparison
        cell = np.compress(ok, b).astype(cell_kind, copy=False)
        cell *= cell_kind(n_units)
        cell += np.compress(ok, ub)
        seen[cell] = True

    parallel_map(block, list(range(0, n, ROW_BLOCK)))
    unit_cohort = np.full(n_units, n_cohorts, dtype=np.int32)  # n_cohorts: none
    unit_cohort[i_unit] = i_cohort

    def count(k: int) -> I64:
        marked = np.flatnonzero(seen[k * n_units : (k + 1) * n_units])
        return np.bincount(unit_cohort[marked], minlength=n_cohorts + 1)[:n_cohorts]

    per_bucket = parallel_map(count, list(range(n_buckets)))
    return np.asarray(np.stack(per_bucket, axis=1), dtype=np.int64)


PERIOD_MAP_CELLS = 64_000_000
"""Cells of each (period, unit) byte map always allowed (more when there are many rows)."""
PERIOD_MAP_PERIODS = 512
"""The most periods the (period, unit) maps span (their tally costs n_periods² a range)."""
IN_TURN_CELLS_PER_ROW = 64
"""(period, unit) cells a row beyond :data:`PERIOD_MAP_CELLS` up to which recurring cohorts
take the periods in turn (:func:`_presence_period_by_period`) rather than the join."""


def _period_presence(
    unit: Arr,
    t: I64,
    cohort_rows: Callable[[int, int], npt.NDArray[np.bool_]],
    r_ok: npt.NDArray[np.bool_] | None,
    n_units: int,
    n_cols: int,
    period: str,
    tz: str,
    t_range: tuple[int, int],
    *,
    recurring: bool = False,
) -> tuple[I64, I64, I64] | None:
    """First-time cohorts (*recurring*: a cohort instance per unit and period with a
    cohort row) bucketed by calendar periods of their own kind, "on" one return:
    (cohort sizes, cohort periods ascending, ``out[c, k - 1]`` = units of cohort c with
    a return in period k, 1 ≤ k < n_cols); None when the rows span more than
    :data:`PERIOD_MAP_PERIODS` periods or the periods times the units exceed
    :data:`PERIOD_MAP_CELLS` plus four cells a row (recurring cohorts:
    :data:`IN_TURN_CELLS_PER_ROW`), or (recurring) when more than 64 buckets are asked for.

    Rows in time order (an append-only log) take the periods in turn
    (:func:`_presence_period_by_period`); so do the rows of recurring cohorts beyond four
    cells a row in any other order, once grouped by period (:func:`_grouped_by_period`:
    the join they would take instead is several times slower). Otherwise one pass over
    the rows marks byte
    (period, unit) of two period-major maps: one for the cohort rows, one for the
    returns. A row reads nothing of its unit: its period comes from a table per UTC
    hour (:class:`~autoops.funnel._calendar.HourPeriods`: exact per row in the rare
    hours with a change of offset or a period start inside them), and the bytes it
    writes lie in its own period's row of each map, n_units bytes (a map of (bucket,
    unit) needs each row's cohort period first: a random read, and writes over every
    bucket). Blocks
    of :data:`ROW_BLOCK` rows run on several threads and only ever set bytes to
    True. Then, unit range by unit range, each unit's cohort period is
    its first marked period (the periods walked backwards, each assignment
    overwriting a later one), and, period by period, each marked return of a unit
    counts for its cohort at k = period - cohort period: exact, as a cohort
    period is the period of the unit's least cohort time (periods never decrease
    with time) and k ≥ 1 puts every return after t0. Recurring cohorts take the
    periods in ascending order instead, with each unit's instances of the last
    buckets as bits (:class:`_RecentInstances`).
    """
    n = len(t)
    hours = HourPeriods.spanning(*t_range, tz, period) if n else None
    # (with periods going back, the least period of a unit's cohort rows might not be
    # t0's, and a return in a later period might lie before t0)
    if hours is None or not hours.monotone:
        return None
    if recurring and n_cols - 1 > _RecentInstances.MOST:
        return None
    ends = period_index(local_us(np.array(t_range, dtype=np.int64), tz), period)
    p_lo, n_p = int(ends[0]), int(ends[1]) - int(ends[0]) + 1
    cells = n_p * n_units
    # the periods in turn scan every unit's bytes once a period: recurring cohorts, whose
    # other path joins each return with its unit's earlier instances, allow more cells
    per_row = IN_TURN_CELLS_PER_ROW if recurring else 4
    if n_p > PERIOD_MAP_PERIODS or cells > PERIOD_MAP_CELLS + per_row * n:
        return None
    if is_nondecreasing(t):  # an append-only log: each period's rows are one run
        starts = _period_starts(t, hours, p_lo, n_p)
        band, per_period = _presence_period_by_period(
            unit, cohort_rows, r_ok, n_units, n_cols, starts, recurring=recurring
        )
        return _by_cohort(band, per_period, p_lo, n_cols)
    if cells > PERIOD_MAP_CELLS + 4 * n:  # (recurring cohorts: the maps would be too large)
        period_of = hours.reader(offset=-p_lo, dtype=np.int16)  # (n_p <= 512)
        g_unit, g_cohort, g_returns, starts = _grouped_by_period(
            unit, t, cohort_rows, r_ok, period_of, n_p
        )
        band, per_period = _presence_period_by_period(
            g_unit, lambda a, b: g_cohort[a:b], g_returns, n_units, n_cols, starts, recurring=True
        )
        return _by_cohort(band, per_period, p_lo, n_cols)
    # the offset of a row's period's row of a map
    map_row = hours.reader(scale=n_units, offset=-p_lo * n_units, dtype=np.int64)
    returns = np.zeros(cells, dtype=bool)
    firsts = np.zeros(cells, dtype=bool)
    step = ROW_BLOCK

    def block(lo: int) -> None:
        hi = min(lo + step, n)
        cell = map_row(t[lo:hi])
        cell += unit[lo:hi]
        returns[cell if r_ok is None else np.compress(r_ok[lo:hi], cell)] = True
        firsts[np.compress(cohort_rows(lo, hi), cell)] = True

    parallel_map(block, list(range(0, n, step)))
    # then range by range of units (a range's bytes of every period and its slice of
    # the cohort periods stay in the cache): each unit's first cohort period, and per
    # period the units with a return counted by cohort period
    span = max(1, step)
    ranges = [(a, min(a + span, n_units)) for a in range(0, n_units, span)]

    def tally(r: tuple[int, int]) -> tuple[I64, I64]:
        """Units [a, b): ``band[p, k - 1]``, how many of them have a return in period p
        and their cohort period k periods before, and how many have each cohort period
        (the last count: units without one)."""
        a, b = r
        if recurring:
            recent = _RecentInstances(b - a, n_cols)
            band = np.zeros((n_p, n_cols - 1), dtype=np.int64)
            instances = np.zeros(n_p + 1, dtype=np.int64)
            for p in range(n_p):
                at = p * n_units
                band[p], instances[p] = recent.period(
                    firsts[at + a : at + b], returns[at + a : at + b]
                )
            return band, instances
        first = np.full(b - a, n_p, dtype=np.int32)
        for p in range(n_p - 1, -1, -1):  # a later first period is overwritten
            first[np.flatnonzero(firsts[p * n_units + a : p * n_units + b])] = p
        band = np.zeros((n_p, n_cols - 1), dtype=np.int64)
        for p in range(1, n_p):
            back = np.compress(returns[p * n_units + a : p * n_units + b], first)
            per_g = np.bincount(back, minlength=n_p + 1)
            k_top = min(p, n_cols - 1)  # g = p - k for k = 1 .. k_top
            band[p, :k_top] = per_g[p - 1 :: -1][:k_top]
        return band, np.bincount(first, minlength=n_p + 1)

    done = parallel_map(tally, ranges)
    band = np.asarray(np.sum([d[0] for d in done], axis=0), dtype=np.int64)
    per_period = np.asarray(np.sum([d[1] for d in done], axis=0), dtype=np.int64)[:n_p]
    return _by_cohort(band, per_period, p_lo, n_cols)


def _by_cohort(band: I64, per_period: I64, p_lo: int, n_cols: int) -> tuple[I64, I64, I64]:
    """:func:`_period_presence`'s result from ``band[p, k - 1]`` (units with a return
    in period p whose cohort period is k periods before) and the units per cohort
    period (periods counted from *p_lo*)."""
    n_p = len(per_period)
    present = np.flatnonzero(per_period)  # cohort periods - p_lo, ascending
    # units of cohort period g returning k periods later: band[g + k, k - 1]
    out = np.zeros((len(present), n_cols - 1), dtype=np.int64)
    for k in range(1, n_cols):
        later = present + k
        inside = np.flatnonzero(later < n_p)
        out[inside, k - 1] = band[later[inside], k - 1]
    return per_period[present], present + p_lo, out


def _period_starts(t: I64, hours: HourPeriods, p_lo: int, n_p: int) -> list[int]:
    """The first row of each of the *n_p* periods from *p_lo* on, and the number of rows,
    for times *t* in order within *hours*, whose periods never decrease with time.

    Period q starts in the first hour whose first microsecond lies in q or later, or
    inside the hour before when that hour holds a period start (an odd hour): its rows
    alone take the exact period.

    >>> t = (22 + np.array([0, 1, 5, 6], dtype=np.int64)) * HOUR  # 22:00, 23:00, 03:00, 04:00
    >>> _period_starts(t, HourPeriods.spanning(int(t[0]), int(t[-1]), "UTC", "day"), 0, 2)
    [0, 2, 4]
    """
    q = np.arange(p_lo + 1, p_lo + n_p, dtype=np.int64)
    h_q = np.searchsorted(hours.periods, q, side="left")
    h0 = hours.first_hour
    at = np.searchsorted(t, (h0 + h_q) * HOUR, side="left")
    is_odd = np.zeros(len(hours.periods) + 1, dtype=bool)
    is_odd[hours.odd + 1] = True  # (flags the hour after each odd hour)
    for i in np.flatnonzero(is_odd[h_q]).tolist():
        lo = int(np.searchsorted(t, (h0 + h_q[i] - 1) * HOUR, side="left"))
        inside = period_index(local_us(t[lo : at[i]], hours.tz), hours.period)
        at[i] = lo + int(np.searchsorted(inside, q[i], side="left"))
    return [0, *at.tolist(), len(t)]


def _grouped_by_period(
    unit: Arr,
    t: I64,
    cohort_rows: Callable[[int, int], npt.NDArray[np.bool_]],
    r_ok: npt.NDArray[np.bool_] | None,
    period_of: Callable[[I64], npt.NDArray[np.signedinteger[Any]]],
    n_p: int,
) -> tuple[Arr, npt.NDArray[np.bool_], npt.NDArray[np.bool_] | None, list[int]]:
    """The rows' units, cohort flags and return flags (None for None) grouped by period
    (*period_of*: 0 to *n_p* − 1 for each time), each period's rows in input order, and
    the first row of each period and the number of rows (as :func:`_period_starts`).

    A counting sort by span of rows, on several threads
    (:class:`~autoops._parallel.SpanGroups`): no argsort of the whole log.

    >>> t = np.array([30, 10, 20, 11], dtype=np.int64)
    >>> unit, cohort, returns, starts = _grouped_by_period(
    ...     np.array([7, 8, 9, 6]), t, lambda a, b: t[a:b] < 20, None, lambda t: t // 10 - 1, 3)
    >>> unit.tolist(), cohort.tolist(), returns, starts
    ([8, 6, 9, 7], [True, True, False, False], None, [0, 2, 3, 4])
    """
    n = len(t)
    spans = _spans(n)

    def count(span: tuple[int, int]) -> tuple[npt.NDArray[np.uint16], I64]:
        key = period_of(t[span[0] : span[1]]).astype(np.uint16)
        return key, np.bincount(key, minlength=n_p)[:n_p]

    counted = parallel_map(count, spans)
    groups = SpanGroups(np.array([c for _, c in counted]).reshape(len(spans), n_p))
    g_unit = np.empty(n, dtype=unit.dtype)
    g_cohort = np.empty(n, dtype=bool)
    g_returns = None if r_ok is None else np.empty(n, dtype=bool)

    def place(i: int) -> None:
        a, b = spans[i]
        columns = [(unit[a:b], g_unit), (cohort_rows(a, b), g_cohort)]
        if r_ok is not None and g_returns is not None:
            columns.append((r_ok[a:b], g_returns))
        groups.place(i, counted[i][0], *columns)

    parallel_map(place, list(range(len(spans))))
    return g_unit, g_cohort, g_returns, groups.bounds.tolist()


def _presence_period_by_period(
    unit: Arr,
    cohort_rows: Callable[[int, int], npt.NDArray[np.bool_]],
    r_ok: npt.NDArray[np.bool_] | None,
    n_units: int,
    n_cols: int,
    starts: list[int],
    *,
    recurring: bool = False,
) -> tuple[I64, I64]:
    """``band[p, k - 1]`` and the units per cohort period (see :func:`_by_cohort`), for
    rows grouped by period (in time order, or by :func:`_grouped_by_period`): period p's
    rows are ``starts[p]:starts[p + 1]``, in any order; *recurring*:
    the instances per cohort period, a unit's instances of the last periods kept as
    bits (:class:`_RecentInstances`).

    The periods are taken in turn, with one byte a unit for the cohort rows and one
    for the returns of the period at hand (cleared after it) and each unit's cohort
    period so far: the (period, unit) maps of the other path, whose pages a large
    log touches afresh at every call, are not needed. A period's rows mark their
    units' bytes (blocks of rows on several threads, which only set bytes); then,
    range by range of units, the marked returns count by their cohort period so far
    (earlier periods only: k ≥ 1), and marked units without a cohort period take
    this one.
    """
    n_p = len(starts) - 1
    # per unit its cohort period so far (n_p: none); recurring cohorts keep their recent
    # instances instead, and count them per period
    n_first = 0 if recurring else n_units
    first = np.full(n_first, n_p, dtype=np.int16 if n_p < 2**15 else np.int32)
    in_cohort = np.zeros(n_units, dtype=bool)
    returned = np.zeros(n_units, dtype=bool)
    ranges = [(a, min(a + ROW_BLOCK, n_units)) for a in range(0, n_units, ROW_BLOCK)]
    band = np.zeros((n_p, n_cols - 1), dtype=np.int64)
    recent = [_RecentInstances(hi - lo, n_cols) for lo, hi in ranges] if recurring else []
    instances = np.zeros(n_p if recurring else 0, dtype=np.int64)
    for p, (a, b) in enumerate(itertools.pairwise(starts)):
        if a == b and not recurring:
            continue

        def mark(lo: int, b: int = b) -> None:
            hi = min(lo + ROW_BLOCK, b)
            units = unit[lo:hi]
            in_cohort[np.compress(cohort_rows(lo, hi), units)] = True
            returned[units if r_ok is None else np.compress(r_ok[lo:hi], units)] = True

        parallel_map(mark, list(range(a, b, ROW_BLOCK)))
        if recurring:

            def step(i: int) -> tuple[I64, int]:
                lo, hi = ranges[i]
                got = recent[i].period(in_cohort[lo:hi], returned[lo:hi])
                in_cohort[lo:hi] = False
                returned[lo:hi] = False
                return got

            done = parallel_map(step, list(range(len(ranges))))
            band[p] = np.sum([k for k, _ in done], axis=0)
            instances[p] = sum(c for _, c in done)
            continue

        def tally(r: tuple[int, int], p: int = p) -> I64:
            """Units [lo, hi): returns in period p per cohort period so far (the
            last count: none); then their new cohort periods, and bytes cleared."""
            lo, hi = r
            cohort, back = first[lo:hi], returned[lo:hi]
            per_g = np.bincount(np.compress(back, cohort), minlength=n_p + 1)
            back[...] = False
            new = np.flatnonzero(in_cohort[lo:hi])
            in_cohort[lo:hi][new] = False
            cohort[np.compress(cohort[new] == n_p, new)] = p
            return per_g

        per_g = np.sum(parallel_map(tally, ranges), axis=0)
        k_top = min(p, n_cols - 1)  # cohort period g = p - k for k = 1 .. k_top
        band[p, :k_top] = per_g[p - 1 :: -1][:k_top]
    if recurring:
        return band, instances
    return band, np.bincount(first, minlength=n_p + 1)[:n_p].astype(np.int64)


class _RecentInstances:
    """Recurring cohorts, period by period in ascending order, for a range of units:
    bit k - 1 of a unit's word is set when the unit has a cohort instance k periods
    before the period at hand (1 ≤ k < n_cols; older instances shift out).

    A period's returns count, for each k, the returning units with bit k - 1 set:
    exactly the instances k periods before with a return in this period (a return in
    a later period than t0's lies after t0 when periods never decrease with time).

    >>> recent = _RecentInstances(3, 3)  # buckets 1 and 2
    >>> per_k, n = recent.period(np.array([True, True, False]), np.zeros(3, dtype=bool))
    >>> per_k.tolist(), n
    ([0, 0], 2)
    >>> per_k, n = recent.period(np.zeros(3, dtype=bool), np.array([True, False, True]))
    >>> per_k.tolist(), n  # unit 0 returns one period after its instance
    ([1, 0], 0)
    >>> per_k, n = recent.period(np.zeros(3, dtype=bool), np.array([False, True, False]))
    >>> per_k.tolist()  # unit 1 two periods after
    [0, 1]
    """

    MOST = 64
    """The most buckets a word holds."""

    def __init__(self, n_units: int, n_cols: int) -> None:
        width = next(w for w in (8, 16, 32, 64) if w >= n_cols - 1)
        self.bits = np.zeros(n_units, dtype=np.dtype(f"<u{width // 8}"))
        self.n_buckets = n_cols - 1

    def period(
        self, in_cohort: npt.NDArray[np.bool_], returned: npt.NDArray[np.bool_]
    ) -> tuple[I64, int]:
        """One period: its returns per k (instances k periods before), and its number of
        instances (units with a cohort row); then its instances join the words."""
        words = np.compress(returned, self.bits)
        # (little-endian words: bit j of a word is column j of its unpacked bytes)
        flags = np.unpackbits(words.view(np.uint8), bitorder="little")
        per_k = flags.reshape(len(words), 8 * words.itemsize)[:, : self.n_buckets].sum(
            axis=0, dtype=np.int64
        )
        self.bits <<= 1
        self.bits |= in_cohort
        return per_k, int(np.count_nonzero(in_cohort))


def _unit_records(i_unit: I64, i_t0: I64, i_group: I64, n_units: int) -> Arr:
    """Per unit: t0 (int64 max without a cohort), instance and cohort period — one record."""
    idx = "i4" if n_units < 2**31 else "i8"
    per_unit = np.empty(n_units, dtype=[("t0", "i8"), ("inst", idx), ("group", "i4")])
    per_unit["t0"] = np.iinfo(np.int64).max  # no cohort: no row is after t0
    per_unit["t0"][i_unit] = i_t0
    per_unit["inst"][i_unit] = np.arange(len(i_unit))
    per_unit["group"][i_unit] = i_group
    return per_unit


def _returns_block(
    per_unit: Arr, unit: I64, t: I64, r_ok: npt.NDArray[np.bool_], lo: int, hi: int
) -> tuple[I64, Arr, Arr]:
    """(row, instance, cohort period) of the first-time cohort returns in rows [lo, hi).

    A return is a returning row of a unit strictly after its t0. The unit's
    t0, instance and cohort period are one 16-byte record, so each row costs
    one random read (a cache miss) instead of three; the scratch arrays of a
    block of :data:`ROW_BLOCK` rows stay in the cache and are recycled.
    """
    rec = per_unit[unit[lo:hi]]
    ok = rec["t0"] < t[lo:hi]
    ok &= r_ok[lo:hi]
    rows = np.flatnonzero(ok)
    return rows + lo, rec["inst"][rows], rec["group"][rows]


def _presence_counts(seen: npt.NDArray[np.bool_], i_cohort: I64) -> I64:
    """``out[k, c]``: instances of cohort c marked in row k of *seen* (buckets × instances).

    A cohort's instances are one contiguous run of each row: one byte count
    per (bucket, cohort), the buckets on several threads.
    """
    n_rows, n_inst = seen.shape
    runs = np.flatnonzero(np.diff(i_cohort, prepend=-1)).tolist()
    edges = list(itertools.pairwise([*runs, n_inst]))
    if len(edges) * n_rows > 100_000:  # many small cohorts: one pass
        return np.add.reduceat(seen, runs, axis=1, dtype=np.int64)

    def row(k: int) -> list[int]:
        line = seen[k]
        return [int(np.count_nonzero(line[a:b])) for a, b in edges]

    return np.array(parallel_map(row, list(range(n_rows))), dtype=np.int64).reshape(
        n_rows, len(edges)
    )


def _key_counts(key: I64, n_keys: int) -> tuple[I64, I64]:
    """The distinct keys (ascending) and how often each occurs."""
    if n_keys <= 32_000_000:
        per_key = np.bincount(key, minlength=n_keys)
        uk = np.flatnonzero(per_key)
        return uk, per_key[uk]
    srt = np.sort(key)
    edge = np.ones(len(srt), dtype=bool)
    edge[1:] = srt[1:] != srt[:-1]
    return srt[edge], np.diff(np.append(np.flatnonzero(edge), len(srt)))


def _retained_through(coh: I64, last: I64, n_cohorts: int, n_cols: int) -> I64:
    """``out[c, k - 1]`` for 1 <= k < n_cols: the instances of cohort c (*coh*) whose
    bucket *last* (>= 0) is at least k.

    >>> _retained_through(np.array([0, 0, 1]), np.array([1, 5, 2]), 2, 4).tolist()
    [[2, 1, 1], [1, 1, 0]]
    """
    add = np.zeros((n_cohorts, n_cols + 1), dtype=np.int64)
    add += _grid_add(coh, np.ones(len(coh), dtype=np.int64), None, add.shape).astype(np.int64)
    add -= _grid_add(coh, np.minimum(last, n_cols - 1) + 1, None, add.shape).astype(np.int64)
    return np.cumsum(add, axis=1)[:, 1:n_cols]


def _grid_add(rows: I64, cols: I64, weights: Arr | None, shape: tuple[int, ...]) -> Arr:
    """A (rows × cols) matrix of counts (or weight sums) — ``np.add.at`` via bincount."""
    flat = np.bincount(rows * shape[1] + cols, weights=weights, minlength=shape[0] * shape[1])
    return flat.reshape(shape)


def _instant(value: Any, assume_tz: str | None = None) -> int:
    from autoops.funnel._compute import _instant_us

    return _instant_us(value, "as_of", assume_tz)


def _mask(ev: Any, event: str, st: Step | None) -> npt.NDArray[np.bool_]:
    if st is None:
        return np.ones(ev.n, dtype=bool)
    return step_mask(ev, event, st.events, st.where)


def _codes_in(
    codes: Arr, lut: npt.NDArray[np.bool_], wanted: list[int]
) -> Callable[[int, int], npt.NDArray[np.bool_]]:
    """``mask(a, b)``: a new array, ``lut[codes[a:b]]`` for codes >= 0 (False for -1), where
    *wanted* lists the codes whose *lut* entry is True: a few compared one by one (no
    conversion of the narrow codes to indices), more looked up."""
    if len(wanted) <= 4:

        def few(a: int, b: int) -> npt.NDArray[np.bool_]:
            part = codes[a:b]
            out = part == wanted[0]
            for w in wanted[1:]:
                out |= part == w
            return np.asarray(out, dtype=bool)

        return few
    table = np.append(np.asarray(lut, dtype=bool), False)  # code -1 picks the last slot
    return lambda a, b: np.asarray(table[codes[a:b]], dtype=bool)


def _block_mask(
    ev: Any, event: str, st: Step | None
) -> Callable[[int, int], npt.NDArray[np.bool_]]:
    """``mask(a, b)``: a new array, ``_mask(ev, event, st)[a:b]``, computed for the block
    alone when the step names events of a categorical column (no full-length mask);
    else a slice of the full mask."""
    if st is not None and st.events and not st.where and event in ev.coded:
        codes, cats = ev.coded[event]
        hit = np.isin(cats, list(st.events))
        wanted = np.flatnonzero(hit).tolist()
        if wanted:
            return _codes_in(codes, hit, wanted)
        return lambda a, b: np.zeros(b - a, dtype=bool)
    full = _mask(ev, event, st)
    return lambda a, b: full[a:b].copy()


def _join_horizon(name: str, brackets: I64 | None, n_cols: int) -> int:
    """µs after t0 beyond which a return's bucket is n_cols or more (bracket beyond the
    last) whatever the clock: the buckets' span plus a longest period and two days,
    more than any change of UTC offset between t0 and the return."""
    if brackets is not None:
        return int(brackets[-1]) + 2 * _DAY
    return (n_cols + 1) * _LONGEST[name] + 2 * _DAY


def _earlier_instances(
    rows: I64,
    unit: Arr,
    t: I64,
    i_unit: Arr,
    i_t0: I64,
    n_units: int,
    horizon: int | None,
    by: I64 | None = None,
) -> tuple[I64, I64]:
    """The pairs (return row, instance) of one unit with the instance's t0 before the
    return's time (and at most *horizon* µs before it, when given), for the return
    *rows* of columns *unit* and *t*; *by* (optional): the instances by (unit, t0).

    Per return, its unit's instances from the latest before it backwards, one step back
    at a time for all returns of a block together, each return dropping out at its
    unit's first instance or its horizon: work in proportion to the pairs, not to every
    instance of a unit joined with every return of it. Blocks of :data:`ROW_BLOCK`
    returns run on several threads (pairs come block by block, whatever the threads).

    >>> r, i = _earlier_instances(np.arange(3), np.array([0, 0, 1]), np.array([5, 9, 5]),
    ...                           np.array([0, 1, 0]), np.array([4, 6, 8]), 2, None)
    >>> sorted(zip(r.tolist(), i.tolist()))  # (return row, instance)
    [(0, 0), (1, 0), (1, 2)]
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(rows) == 0 or len(i_unit) == 0:
        return empty, empty
    if by is None:
        by = sort_rows(np.asarray(i_unit, dtype=np.int64), i_t0, None)
    t0s = i_t0[by]
    per_unit = np.bincount(i_unit, minlength=n_units)
    first_of = np.cumsum(per_unit) - per_unit

    def block(span: tuple[int, int]) -> tuple[I64, I64]:
        r_rows = rows[span[0] : span[1]]
        u, rt = unit[r_rows], t[r_rows]
        # per return, one past its unit's latest instance before it: a binary search
        # within the unit's run of instances, the block's returns at once (runs are short)
        first = first_of[u]
        lo = first_ge(t0s, first, first + per_unit[u], rt)
        r_idx = np.flatnonzero(lo > first)
        cand = lo[r_idx] - 1
        floor = first[r_idx]
        got_r, got_i = [empty], [empty]
        while len(r_idx):
            if horizon is not None:
                near = rt[r_idx] - t0s[cand] <= horizon
                r_idx, cand, floor = (np.compress(near, z) for z in (r_idx, cand, floor))
            got_r.append(r_rows[r_idx])
            got_i.append(by[cand])
            more = cand > floor
            r_idx, floor = np.compress(more, r_idx), np.compress(more, floor)
            cand = np.compress(more, cand) - 1
        return np.concatenate(got_r), np.concatenate(got_i)

    done = parallel_map(block, chunks(len(rows), -(-len(rows) // ROW_BLOCK)))
    return np.concatenate([r for r, _ in done]), np.concatenate([i for _, i in done])


def _buckets(
    delta: I64,
    r_local: I64 | None,
    t_local: I64 | None,
    *,
    clock: str,
    name: str,
    brackets: I64 | None,
) -> I64:
    """Buckets of returns ``delta`` µs after t0 (``*_local``: wall clock of return and t0,
    which the calendar clock alone reads)."""
    if clock == "rolling":
        if brackets is not None:
            return np.asarray(np.searchsorted(brackets, delta, side="right") - 1, dtype=np.int64)
        return np.asarray(delta // _LENGTH[name], dtype=np.int64)
    assert r_local is not None and t_local is not None
    if brackets is not None:
        days = period_index(r_local, "day") - period_index(t_local, "day")
        return np.asarray(np.searchsorted(brackets // _DAY, days, side="right") - 1, dtype=np.int64)
    return period_index(r_local, name) - period_index(t_local, name)


def _complete(
    cohorts: I64,
    i_cohort: I64,
    i_t0: I64,
    group: str,
    clock: str,
    name: str,
    brackets: I64 | None,
    n_cols: int,
    as_of_us: int,
    tz: str,
) -> npt.NDArray[np.bool_]:
    out = np.ones((len(cohorts), n_cols), dtype=bool)
    if len(cohorts) == 0:
        return out
    as_local = int(local_us(np.array([as_of_us], dtype=np.int64), tz)[0])
    if clock == "calendar" and brackets is None and group == name:
        # buckets of the cohort's own periods: a cell ends with period cohort + k + 1
        # (every t0 of a cohort lies in its period: t0 itself is not needed)
        for k in range(1, n_cols):
            end_local = period_start_local(cohorts + k + 1, name).view(np.int64)
            out[:, k] = end_local <= as_local
        return out
    max_t0 = np.full(len(cohorts), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(max_t0, i_cohort, i_t0)
    t_local = local_us(max_t0, tz)
    for k in range(1, n_cols):
        if clock == "rolling":
            end = brackets[k + 1] if brackets is not None else (k + 1) * _LENGTH[name]
            out[:, k] = max_t0 + end <= as_of_us
        else:
            if brackets is not None:
                day = period_index(t_local, "day") + brackets[k + 1] // _DAY
                end_local = period_start_local(day, "day").view(np.int64)
            else:
                idx = period_index(t_local, name) + k + 1
                end_local = period_start_local(idx, name).view(np.int64)
            out[:, k] = end_local <= as_local
    return out
