"""Daily, weekly and monthly actives (私域 DAU/WAU/MAU) and stickiness."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from autoops import _parallel
from autoops._display import html_table, short_repr
from autoops._parallel import SpanGroups, parallel_map, thread_count
from autoops._tabular import Tabular
from autoops._time import DEFAULT_TZ
from autoops.errors import ConfigError
from autoops.funnel._calendar import (
    day_period,
    local_to_utc,
    local_us,
    period_labels,
    period_reader,
    period_start_local,
)
from autoops.funnel._columns import condition_mask, is_nondecreasing, read_events
from autoops.funnel._retention import (
    ROW_BLOCK,
    _as_step,
    _block_mask,
    _codes_in,
    _instant,
)
from autoops.models import TouchpointKind

__all__ = ["OUTBOUND_EVENTS", "PRIVATE_TOUCHPOINTS", "ActiveUsers", "active_users"]

Arr = npt.NDArray[Any]

MAP_CELLS = 64_000_000
"""Cells of the distinct-count byte map always allowed (more when there are many rows)."""
DAY_SCAN = 64
"""Bytes of per-day scans allowed per qualifying row (beyond :data:`MAP_CELLS`): the byte
row of :func:`_day_rows` costs a pass over n_units bytes a day."""
DAY_CHUNK = 1 << 20
"""Bytes of the day's row compared at a time (the comparison's scratch stays in the cache)."""

OUTBOUND_EVENTS = ("push_sent", "message_delivered", "system")
"""Outbound and system events: never person-initiated, never counted as activity."""

PRIVATE_TOUCHPOINTS = tuple(kind.value for kind in TouchpointKind.private())
"""The private-domain touchpoints (``TouchpointKind.private()``)."""


@attrs.frozen(slots=True)
class ActiveUsers(Tabular):
    """Active units per calendar period, with mean DAU and stickiness.

    ``active[i]`` is the number of distinct units with a qualifying event in
    period i (calendar periods in ``tz``; weeks start Monday). ``mean_dau[i]``
    averages the daily actives over the period's elapsed days and
    ``stickiness[i] = mean_dau[i] / active[i]`` (DAU/MAU for months; NaN
    when nobody was active). ``complete[i]`` is False while the period has not
    ended by ``as_of``.

    Examples:
        >>> import numpy as np
        >>> from autoops.funnel import active_users
        >>> ev = {"one_id": [1, 1, 2], "event": ["login"] * 3, "touchpoint": ["app"] * 3,
        ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-02-01"], "datetime64[us]")}
        >>> a = active_users(ev, period="month")
        >>> a.active.tolist(), a.complete.tolist()
        ([1, 1], [True, False])
    """

    period_start: Arr
    active: Arr
    mean_dau: Arr
    stickiness: Arr
    complete: Arr
    period: str
    tz: str

    @property
    def labels(self) -> list[str]:
        """Period labels on the calendar of ``tz`` (``2026-01`` or ``2026-01-05``).

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import active_users
            >>> ev = {"one_id": [1], "event": ["login"], "touchpoint": ["app"],
            ...       "ts": np.array(["2025-12-31T17:00"], "datetime64[us]")}
            >>> active_users(ev).labels
            ['2026-01']
        """
        return period_labels(self.period_start, self.period, self.tz)

    def _time_zone(self) -> str:
        return self.tz

    def _columns(self) -> dict[str, Arr]:
        return {
            "period_start": self.period_start,
            "active": self.active,
            "mean_dau": self.mean_dau,
            "stickiness": self.stickiness,
            "complete": self.complete,
        }

    def summary(self) -> dict[str, Any]:
        """Headline figures over complete periods: mean actives and stickiness.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import active_users
            >>> ev = {"one_id": [1], "event": ["login"], "touchpoint": ["app"],
            ...       "ts": np.array(["2026-01-01"], "datetime64[us]")}
            >>> a = active_users(ev, period="day", as_of="2026-01-03T00:00:00+00:00")
            >>> a.summary()["periods"]
            1
        """
        ok = self.complete
        return {
            "periods": len(self.active),
            "complete_periods": int(ok.sum()),
            "mean_active": float(self.active[ok].mean()) if ok.any() else math.nan,
            "mean_stickiness": float(np.nanmean(self.stickiness[ok])) if ok.any() else math.nan,
            "period": self.period,
        }

    def __repr__(self) -> str:
        s = self.summary()
        m = s["mean_active"]
        return short_repr(
            "ActiveUsers",
            period=self.period,
            periods=s["periods"],
            mean_active="nan" if math.isnan(m) else round(m, 1),
        )

    def _repr_html_(self) -> str:
        rows = [
            [p, int(a), d, s, "yes" if c else "incomplete"]
            for p, a, d, s, c in zip(
                self.labels,
                self.active,
                self.mean_dau,
                self.stickiness,
                self.complete,
                strict=True,
            )
        ]
        headers = ["period", f"{self.period} actives", "mean DAU", "stickiness", "complete"]
        return html_table(f"Active users ({self.tz})", headers, rows, limit=60)


def active_users(
    events: Any,
    *,
    period: Literal["day", "week", "month"] = "month",
    qualifying: Any = None,
    tz: str = DEFAULT_TZ,
    as_of: Any = None,
    unit: Any = "one_id",
    event: str = "event",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    assume_tz: str | None = None,
) -> ActiveUsers:
    """DAU/WAU/MAU: distinct units with a qualifying interaction per calendar period.

    The default qualifying set is person-initiated interactions at
    private-domain touchpoints (:data:`PRIVATE_TOUCHPOINTS`); outbound and
    system events (:data:`OUTBOUND_EVENTS`: push_sent, message_delivered,
    system) never count, whatever *qualifying* says. Periods are calendar
    days, Monday weeks or months in *tz*: an interaction at 2026-01-31
    23:59:59+08:00 counts for January in Asia/Shanghai. Pass the post-merge
    One ID as *unit* and merges apply retroactively (a merged pair is one
    active). Rows after *as_of* are ignored.

    Args:
        events: event columns (see :func:`autoops.funnel.compute`).
        period: ``"day"``, ``"week"`` or ``"month"``.
        qualifying: None (the default set), an event name, a list of names,
            or a :class:`~autoops.funnel.Step`.
        tz: the calendar's zone.
        as_of: the end of the data (default: the latest timestamp).
        unit: unit column name or array (e.g. a One ID).
        event: event column.
        ts: timestamp column.
        touchpoint: touchpoint column (used by the default qualifying set).
        assume_tz: the zone of naive timestamps (the column and *as_of*); by
            default they are refused (see :func:`autoops.funnel.compute`).

    Returns:
        An :class:`ActiveUsers` series.

    Examples:
        >>> import numpy as np
        >>> ev = {"one_id": [1, 2, 3], "event": ["login", "push_sent", "login"],
        ...       "touchpoint": ["app", "app", "douyin"],
        ...       "ts": np.array(["2026-01-31T15:59:59", "2026-01-05", "2026-01-05"],
        ...                      "datetime64[us]")}
        >>> a = active_users(ev, period="month")
        >>> str(a.period_start[0]), a.active.tolist()  # January in Shanghai, stored as UTC
        ('2025-12-31T16:00:00.000000', [1])
    """
    if period not in ("day", "week", "month"):
        raise ConfigError("use 'day', 'week' or 'month'", key="period")
    step = _as_step(qualifying, "qualifying")
    needed = {event}
    if step is None:
        needed.add(touchpoint)
    else:
        needed.update(c.column for c in step.where)
    ev = read_events(events, unit=unit, ts=ts, needed=sorted(needed), assume_tz=assume_tz)
    # masks block by block (no full-length mask; categorical columns compare codes)
    if step is None:
        wanted = _in_mask(ev, touchpoint, list(PRIVATE_TOUCHPOINTS))
    else:
        wanted = _block_mask(ev, event, step)
    outbound = _in_mask(ev, event, list(OUTBOUND_EVENTS))
    as_of_us = int(ev.ts.max()) if as_of is None and ev.n else _instant(as_of, assume_tz)
    # qualifying rows as compact columns, filled ROW_BLOCK rows at a time: the
    # scratch arrays of a block stay in the cache and are recycled by the allocator
    spans = [(lo, min(lo + ROW_BLOCK, ev.n)) for lo in range(0, ev.n, ROW_BLOCK)]

    def rows_of(span: tuple[int, int]) -> npt.NDArray[np.bool_]:
        a, b = span
        mask = wanted(a, b) if wanted is not None else np.zeros(b - a, dtype=bool)
        if outbound is not None:
            mask &= np.logical_not(outbound(a, b))
        if as_of is not None:  # by default as_of is the latest row: no row lies after it
            mask &= ev.ts[a:b] <= as_of_us
        return mask

    masks = parallel_map(rows_of, spans)
    sizes = [int(np.count_nonzero(m)) for m in masks]
    at = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
    n_q = at[-1]
    u = np.empty(n_q, dtype=np.int32 if len(ev.unit_values) < 2**31 else np.int64)
    day = np.empty(n_q, dtype=np.int32)

    day_of = period_reader(ev.ts, tz, "day", np.int32)

    def fill(i: int) -> None:
        """Block i's qualifying rows into its slice of the columns (blocks run on threads)."""
        start = spans[i][0]
        rows = np.flatnonzero(masks[i])
        rows += start
        got = slice(at[i], at[i + 1])
        u[got] = ev.unit[rows]
        day[got] = day_of(ev.ts[rows])

    parallel_map(fill, list(range(len(spans))))
    if len(u) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ActiveUsers(
            empty.astype("datetime64[us]"),
            empty,
            empty.astype(float),
            empty.astype(float),
            empty.astype(bool),
            period,
            tz,
        )
    masks.clear()  # the block masks are read: free them
    d0, d1 = int(day.min()), int(day.max())
    # periods never decrease with the day: the first and last days give their range
    p0, p1 = (int(x) for x in day_period(np.array([d0, d1], dtype=np.int64), period))
    plist = np.arange(p0, p1 + 1, dtype=np.int64)
    both = _day_rows(u, day, d0, d1 - d0 + 1, len(ev.unit_values), period)
    if both is not None:
        dau, active = both
    else:
        dau_or_none = _daily_distinct(u, day, d0, d1 - d0 + 1, len(ev.unit_values))
        if dau_or_none is None:  # days spread thinly over the rows, or very many units
            dau = _distinct_per(u, day, d0, d1 - d0 + 1, len(ev.unit_values))
        else:
            dau = dau_or_none
        if period == "day":
            active = dau
        else:  # the period of each row computed block by block from its day (no column)
            active = _distinct_per(
                u, day, p0, len(plist), len(ev.unit_values), lambda d: day_period(d, period)
            )
    start_local = period_start_local(plist, period)
    end_local = period_start_local(plist + 1, period)
    as_local = int(local_us(np.array([as_of_us], dtype=np.int64), tz)[0])
    day_us = 86_400_000_000
    # days of each period, clipped to the days that have begun by as_of
    first_day = start_local.view(np.int64) // day_us - d0
    last_day = np.minimum(end_local.view(np.int64), as_local + 1) // day_us - d0
    last_day = np.maximum(last_day, first_day + 1)
    csum = np.concatenate([[0], np.cumsum(dau)])
    lo = np.clip(first_day, 0, len(dau))
    hi = np.clip(last_day, 0, len(dau))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_dau = (csum[hi] - csum[lo]) / (last_day - first_day)
        stick = np.where(active > 0, mean_dau / np.maximum(active, 1), np.nan)
    complete = end_local.view(np.int64) <= as_local
    return ActiveUsers(local_to_utc(start_local, tz), active, mean_dau, stick, complete, period, tz)


def _distinct_per(
    units: Arr,
    period: Arr,
    first: int,
    n_buckets: int,
    n_units: int,
    to_period: Callable[[Arr], Arr] | None = None,
) -> Arr:
    """Distinct units per bucket ``period - first``: a byte map when small (at most
    :data:`MAP_CELLS` plus four cells a row), else a sort.

    Both key a row by its cell ``bucket · n_units + unit`` (bucket-major: a
    bucket's cells are one contiguous range), built ROW_BLOCK rows at a time;
    *to_period*, when given, maps each block of *period* first (days to months).
    """
    n_cells = n_units * n_buckets
    # the byte map while it takes at most the sort keys' memory (4 bytes a row) plus
    # a constant: the choice then does not change as the log grows with its units
    small = n_cells <= MAP_CELLS + 4 * len(units)
    # 32-bit sort keys when they fit: the vectorised sort takes twice as many per step
    kind = np.uint32 if not small and n_cells < 2**32 else np.int64
    seen = np.zeros(n_cells if small else 0, dtype=bool)
    key = np.empty(0 if small else len(units), dtype=kind)

    def block(lo: int) -> None:
        """Key rows [lo, lo + ROW_BLOCK); mark them in the byte map (blocks run on several
        threads: they only ever set bytes to True, or write their own slice of the keys)."""
        part = period[lo : lo + ROW_BLOCK]
        if to_period is not None:
            part = to_period(part)
        cell = np.empty(len(part), dtype=kind) if small else key[lo : lo + ROW_BLOCK]
        np.subtract(part, first, out=cell, casting="unsafe")  # buckets are >= 0
        cell *= kind(n_units)
        np.add(cell, units[lo : lo + ROW_BLOCK], out=cell, casting="unsafe")
        if small:
            seen[cell] = True

    parallel_map(block, list(range(0, len(units), ROW_BLOCK)))
    if small:
        return np.asarray(np.count_nonzero(seen.reshape(n_buckets, n_units), axis=1), np.int64)
    # sort-based distinct (numpy's hash-based unique is slow on patterned keys); the
    # keys split into ranges (cut at a sample's quantiles), sorted on several threads:
    # distinct keys of disjoint ranges add up
    bounds = np.arange(n_buckets + 1, dtype=kind) * kind(n_units)
    parts = thread_count() if len(key) >= _parallel.MIN_ROWS else 1
    cuts: list[Any] = [None] * (parts + 1)
    if parts > 1:
        sample = np.sort(key[:: max(1, len(key) // 65_536)])
        cuts[1:-1] = [sample[len(sample) * p // parts] for p in range(1, parts)]

    def distinct(p: int) -> Arr:
        lo, hi = cuts[p], cuts[p + 1]
        if lo is None and hi is None:
            sub = key
        else:
            inside = np.ones(len(key), dtype=bool) if lo is None else key >= lo
            if hi is not None:
                inside &= key < hi
            sub = key[inside]
        sub.sort()
        edge = np.ones(len(sub), dtype=bool)
        np.not_equal(sub[1:], sub[:-1], out=edge[1:])
        return np.diff(np.searchsorted(sub[edge], bounds))

    per_part = parallel_map(distinct, list(range(parts)))
    return np.asarray(np.sum(per_part, axis=0), dtype=np.int64)


def _day_runs(units: Arr, day: Arr, d0: int, n_days: int) -> tuple[Arr, list[int], list[int]]:
    """(the units grouped by day ``day - d0``, each day's first row in them and the
    end, the days cutting them into runs of about equal rows: one run a thread).

    The rows stay as they lie when the days never decrease (an append-only log), else
    they are grouped by day block by block on threads (:class:`~autoops._parallel.SpanGroups`:
    a stable argsort of a block's 16-bit day numbers in the cache, then each day's
    units written after the earlier blocks' units of that day).
    """
    n = len(units)
    if is_nondecreasing(day):  # the rows of day d are one run
        bounds = np.searchsorted(day, np.arange(d0, d0 + n_days + 1, dtype=day.dtype))
        grouped = units
    else:
        spans = [(lo, min(lo + ROW_BLOCK, n)) for lo in range(0, n, ROW_BLOCK)]

        def rel(span: tuple[int, int]) -> npt.NDArray[np.uint16]:
            return (day[span[0] : span[1]] - d0).astype(np.uint16)

        groups = SpanGroups(
            np.array(parallel_map(lambda sp: np.bincount(rel(sp), minlength=n_days), spans))
        )
        bounds = groups.bounds
        grouped = np.empty_like(units)
        parallel_map(
            lambda i: groups.place(i, rel(spans[i]), (units[slice(*spans[i])], grouped)),
            list(range(len(spans))),
        )
    parts = thread_count() if n >= _parallel.MIN_ROWS else 1
    cuts = {0, n_days, *np.searchsorted(bounds, [n * p // parts for p in range(1, parts)]).tolist()}
    return grouped, bounds.tolist(), sorted(cuts)


def _daily_distinct(units: Arr, day: Arr, d0: int, n_days: int, n_units: int) -> Arr | None:
    """Distinct units per day ``day - d0`` in linear time, or None when the rows are too
    few for their days or units (then :func:`_distinct_per` sorts).

    The rows are taken day by day: as they lie when the days never decrease (an
    append-only log), else grouped by day (:func:`_day_runs`). A day's rows write
    their own row numbers into a per-unit stamp array; each unit keeps exactly one
    of its rows' numbers, so the day's distinct units are the rows that read their
    own number back. A day reads only the units it has just written, so the array is
    never cleared (nor initialised): a day costs in proportion to its rows, and the
    stamp array (4 bytes a unit) stays in the cache. Runs of days with about equal
    rows go to several threads, each with its own stamp array.
    """
    n = len(units)
    if n_days >= 2**15 or n_days > max(4096, n // 64) or n_units > 4 * n + 1_000_000:
        return None
    grouped, at, cuts = _day_runs(units, day, d0, n_days)
    stamp_type = np.int32 if n < 2**31 else np.int64

    def run(i: int) -> list[int]:
        stamp = np.empty(n_units, dtype=stamp_type)
        out = []
        for d in range(cuts[i], cuts[i + 1]):
            lo, hi = at[d], at[d + 1]
            if lo == hi:
                out.append(0)
                continue
            u = grouped[lo:hi]
            mine = np.arange(lo, hi, dtype=stamp_type)
            stamp[u] = mine
            out.append(int(np.count_nonzero(stamp[u] == mine)))
        return out

    per_run = parallel_map(run, list(range(len(cuts) - 1)))
    return np.array([c for r in per_run for c in r], dtype=np.int64)


def _in_mask(
    ev: Any, column: str, values: list[str]
) -> Callable[[int, int], npt.NDArray[np.bool_]] | None:
    """``mask(a, b)``: rows a..b whose *column* is one of *values*, as a new array computed
    for the block alone (on the codes of a categorical column); None when no row can
    match (no category is one of *values*)."""
    if column in ev.coded:
        codes, cats = ev.coded[column]
        hit = condition_mask(np.asarray(cats, dtype=object), "in", values)
        wanted = np.flatnonzero(hit).tolist()
        return _codes_in(codes, hit, wanted) if wanted else None
    full = condition_mask(ev.column(column), "in", values)
    return lambda a, b: full[a:b].copy()


def _day_rows(
    units: Arr, day: Arr, d0: int, n_days: int, n_units: int, period: str
) -> tuple[Arr, Arr] | None:
    """(distinct units per day ``day - d0``, distinct units per period of those days),
    or None when the days times the units exceed :data:`DAY_SCAN` bytes a row (plus
    :data:`MAP_CELLS`): then :func:`_daily_distinct` and :func:`_distinct_per` count.

    The rows are taken day by day (as they lie when the days never decrease, else
    grouped by day: :func:`_day_runs`). The k-th day
    with rows of a period writes k into its units' bytes of a row of n_units bytes:
    the day's distinct units are the bytes equal to k (one comparison pass, in
    chunks of :data:`DAY_CHUNK` bytes), the period's the bytes not 0 when it ends
    (then the row is cleared). A thread writes only into its own row (a byte a unit:
    it stays in the cache, where a 4-byte stamp per unit or a (period, unit) map
    does not), so a row costs one write to a cached byte whatever the number of
    units. Runs of days with about equal rows go to several threads; a period cut
    by a run's edge is counted once from the or of its runs' marks.
    """
    n = len(units)
    if n_days >= 2**15 or n_days * n_units > DAY_SCAN * n + MAP_CELLS:
        return None
    grouped, at, cuts = _day_runs(units, day, d0, n_days)
    pid = day_period(np.arange(d0, d0 + n_days, dtype=np.int64), period)
    pid -= pid[0]
    n_p = int(pid[-1]) + 1
    p_first = np.searchsorted(pid, np.arange(n_p), side="left").tolist()
    p_end = np.searchsorted(pid, np.arange(n_p), side="right").tolist()
    day_pid = pid.tolist()
    track = period != "day"

    def run(i: int) -> tuple[list[int], dict[int, int], dict[int, npt.NDArray[np.bool_]]]:
        """Days [cuts[i], cuts[i + 1]): distinct units per day, per period inside the run,
        and the marks of the periods cut by the run's edges."""
        lo_d, hi_d = cuts[i], cuts[i + 1]
        last = np.zeros(n_units, dtype=np.uint8)  # the unit's last day's mark, 0: none
        scratch = np.empty(min(DAY_CHUNK, n_units), dtype=bool)
        mark = 0
        daily: list[int] = []
        whole: dict[int, int] = {}
        cut: dict[int, npt.NDArray[np.bool_]] = {}
        for d in range(lo_d, hi_d):
            a, b = at[d], at[d + 1]
            if a == b:
                daily.append(0)
            else:
                if mark == 255:  # (days alone: marks are reused, the row cleared first)
                    last[:] = 0
                    mark = 0
                mark += 1
                last[grouped[a:b]] = mark
                count = 0
                for c in range(0, n_units, DAY_CHUNK):  # the units marked today
                    got = scratch[: min(DAY_CHUNK, n_units - c)]
                    np.equal(last[c : c + DAY_CHUNK], mark, out=got)
                    count += int(np.count_nonzero(got))
                daily.append(count)
            p = day_pid[d]
            if track and (d + 1 == hi_d or day_pid[d + 1] != p):
                if p_first[p] >= lo_d and p_end[p] <= hi_d:
                    whole[p] = int(np.count_nonzero(last))
                else:
                    cut[p] = last.astype(bool)
                last[:] = 0
                mark = 0
        return daily, whole, cut

    per_run = parallel_map(run, list(range(len(cuts) - 1)))
    dau = np.array([c for r in per_run for c in r[0]], dtype=np.int64)
    if not track:
        return dau, dau
    active = np.zeros(n_p, dtype=np.int64)
    pieces: dict[int, npt.NDArray[np.bool_]] = {}
    for _, whole, cut in per_run:
        for p, c in whole.items():
            active[p] = c
        for p, row in cut.items():
            if p in pieces:
                np.logical_or(pieces[p], row, out=pieces[p])
            else:
                pieces[p] = row
    for p, row in pieces.items():
        active[p] = np.count_nonzero(row)
    return dau, active
