"""Conversion by entry period (trends) for ordered and strict funnels."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._factorize import unique_sorted
from autoops._parallel import parallel_map
from autoops._tabular import Tabular
from autoops._time import DEFAULT_TZ
from autoops.errors import ConfigError
from autoops.funnel._calendar import (
    local_to_utc,
    next_start,
    period_labels,
    period_reader,
    period_start_local,
)
from autoops.funnel._kernel import first_ge, ordered_dp, unit_subset
from autoops.funnel._result import wilson

if TYPE_CHECKING:
    from autoops.funnel._compute import Plan
    from autoops.funnel._result import FunnelResult

__all__ = ["TrendTable", "funnel_trends"]

Arr = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]

PAIR_ROWS = 1 << 20
"""Rows of (unit, entry period) pairs one piece of the trends' DP takes: about what the
DP runs on one thread in one go. Pieces run on the threads, and their temporaries keep
this size whatever the number of periods."""


@attrs.frozen(slots=True)
class TrendTable(Tabular):
    """Conversion by entry period: entered, converted, rate, interval, completeness.

    Examples:
        >>> import numpy as np
        >>> from autoops.funnel import Funnel
        >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
        ...       "ts": np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[us]")}
        >>> t = Funnel(steps=["a", "b"], window="7d").compute(ev).trends("week")
        >>> t.entered.tolist(), t.converted.tolist(), t.complete.tolist()
        ([1], [1], [False])
    """

    period: Arr
    entered: Arr
    converted: Arr
    rate: Arr
    rate_low: Arr
    rate_high: Arr
    complete: Arr
    interval: str = "week"
    tz: str = DEFAULT_TZ

    def _time_zone(self) -> str:
        return self.tz

    def _columns(self) -> dict[str, Arr]:
        return {
            "period": self.period,
            "entered": self.entered,
            "converted": self.converted,
            "rate": self.rate,
            "rate_low": self.rate_low,
            "rate_high": self.rate_high,
            "complete": self.complete,
        }

    def __repr__(self) -> str:
        return short_repr(
            "TrendTable", periods=len(self.period), incomplete=int((~self.complete).sum())
        )

    def _repr_html_(self) -> str:
        labels = period_labels(self.period, self.interval, self.tz)
        rows = [
            [p, e, c, r, "yes" if ok else "incomplete"]
            for p, e, c, r, ok in zip(
                labels, self.entered, self.converted, self.rate, self.complete, strict=True
            )
        ]
        return html_table(
            "Conversion trend",
            ["period", "entered", "converted", "rate", "complete"],
            rows,
            limit=60,
        )


def funnel_trends(result: FunnelResult, interval: str, tz: str) -> TrendTable:
    """Entered and converted units per calendar entry period (see ``FunnelResult.trends``)."""
    if result.funnel.order not in ("ordered", "strict") or result.plan is None:
        raise ConfigError("trends need an ordered or strict funnel", key="order")
    if interval not in ("day", "week", "month"):
        raise ConfigError("use 'day', 'week' or 'month'", key="interval")
    p = result.plan
    rows = p.rows
    entry_rows = np.flatnonzero(rows.steps[0] & rows.entry)
    entry_ts = rows.ts[entry_rows]
    entry_period = period_reader(entry_ts, tz, interval)(entry_ts)
    period_numbers = unique_sorted(entry_period)
    entered = np.zeros(len(period_numbers), dtype=np.int64)
    converted = np.zeros(len(period_numbers), dtype=np.int64)
    k = len(result.funnel.steps)
    w = result.funnel.window_us
    if result.funnel.entry == "first":
        has = result.reached[:, 0]
        first_ts = result.chain_ts[has, 0].view(np.int64)
        idx = np.searchsorted(period_numbers, period_reader(first_ts, tz, interval)(first_ts))
        entered = np.bincount(idx, minlength=len(period_numbers)).astype(np.int64)
        full = result.reached[has, k - 1]
        converted = np.bincount(idx[full], minlength=len(period_numbers)).astype(np.int64)
    elif len(entry_rows):
        code = np.searchsorted(period_numbers, entry_period)
        entered, converted = _entered_converted(p, entry_rows, code, len(period_numbers))
    periods = period_start_local(period_numbers, interval)
    ends_utc = local_to_utc(next_start(periods, interval), tz).astype(np.int64)
    complete = ends_utc + w <= result.as_of.astype("datetime64[us]").astype(np.int64)
    rate, lo, hi = wilson(converted, entered)
    starts = local_to_utc(periods, tz)
    return TrendTable(starts, entered, converted, rate, lo, hi, complete, interval, tz)


def _entered_converted(p: Plan, entry_rows: I64, period: I64, n_periods: int) -> tuple[I64, I64]:
    """(entered, converted) per entry period, for ``entry="best"``: the DP over each
    (unit, period) pair with an entry row as a unit of its own.

    A pair's rows run from the unit's first entry row in the period (a chain uses no row
    before its entry) to its last row within the window of its last entry row in the
    period (no row after it is in a chain from one of them, and rows never depend on
    later ones), and its only entry rows are the period's. Pairs come in row order, so
    their rows are read in one forward sweep, and go to the DP in pieces of about
    :data:`PAIR_ROWS` rows on the threads; the counts of the pieces add up.
    """
    rows = p.rows
    w = p.funnel.window_us
    unit_end = rows.unit_ends()
    entry_unit = rows.unit_of(entry_rows)
    key = entry_unit * n_periods + period
    if not bool(np.all(key[1:] >= key[:-1])):  # a local clock going back across a period
        by_pair = np.argsort(key, kind="stable")
        entry_rows, entry_unit, period, key = (
            a[by_pair] for a in (entry_rows, entry_unit, period, key)
        )
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    last = np.ones(len(key), dtype=bool)
    last[:-1] = first[1:]
    pair_of = np.cumsum(first) - 1  # each entry row's pair
    start = np.compress(first, entry_rows)
    last_row = np.compress(last, entry_rows)
    # (the first row past the window of the last entry row: µs are integers)
    end = first_ge(
        rows.ts, last_row, unit_end[np.compress(first, entry_unit)], rows.ts[last_row] + w + 1
    )
    pair_period = np.compress(first, period)
    through = np.cumsum(end - start)  # rows of the pairs so far
    cuts = np.searchsorted(through, np.arange(PAIR_ROWS, int(through[-1]), PAIR_ROWS))
    spans = list(itertools.pairwise(unique_sorted(np.array([0, *cuts.tolist(), len(start)]))))

    def piece(span: tuple[int, int]) -> tuple[I64, I64]:
        a, b = span
        e0, e1 = np.searchsorted(pair_of, [a, b]).tolist()
        # each entry row's place among the piece's rows: its pair's offset, then its own
        offset = through[a:b] - (end[a:b] - start[a:b]) - (through[a - 1] if a else 0)
        at = pair_of[e0:e1] - a
        entry_at = offset[at] + (entry_rows[e0:e1] - start[a:b][at])
        sub, transitions = unit_subset(rows, p.transitions, start[a:b], end[a:b], entry_at)
        levels = ordered_dp(sub, transitions, w, False)
        entered, converted = (
            np.bincount(pair_period[a + unique_sorted(sub.unit[levels[j][0]])], minlength=n_periods)
            for j in (0, -1)
        )
        return entered, converted

    parts = parallel_map(piece, spans)
    return (
        np.sum([e for e, _ in parts], axis=0, dtype=np.int64),
        np.sum([c for _, c in parts], axis=0, dtype=np.int64),
    )
