"""Conversion by entry period (trends) for ordered and strict funnels."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._factorize import unique_sorted
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
from autoops.funnel._kernel import ordered_dp, unit_subset
from autoops.funnel._result import wilson

if TYPE_CHECKING:
    from autoops.funnel._result import FunnelResult

__all__ = ["TrendTable", "funnel_trends"]

Arr = npt.NDArray[Any]


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
    else:
        # per period, the DP over the units with an entry row in it (units never
        # interact), from each one's first entry row in the period on (a chain uses no
        # row before its entry), the period's entry rows the only entries
        code = np.searchsorted(period_numbers, entry_period)
        narrow = code.astype(np.uint16) if len(period_numbers) <= 1 << 16 else code
        by_period = np.argsort(narrow, kind="stable")  # (16 bits: a radix sort)
        cuts = np.searchsorted(code[by_period], np.arange(len(period_numbers)), side="right")
        unit_first = np.flatnonzero(rows.starts)
        unit_end = np.append(unit_first[1:], rows.n)
        entry_unit = np.searchsorted(unit_first, entry_rows, side="right") - 1
        for i, (a, b) in enumerate(itertools.pairwise([0, *cuts.tolist()])):
            at = by_period[a:b]
            e_rows = entry_rows[at]  # ascending (a stable sort of ascending rows)
            u = entry_unit[at]
            first = np.ones(len(e_rows), dtype=bool)
            first[1:] = u[1:] != u[:-1]
            from_row = np.compress(first, e_rows)
            to_row = unit_end[np.compress(first, u)]
            sub, transitions = unit_subset(rows, p.transitions, from_row, to_row, e_rows)
            levels = ordered_dp(sub, transitions, w, False)
            entered[i] = len(unique_sorted(sub.unit[levels[0][0]]))
            converted[i] = len(unique_sorted(sub.unit[levels[-1][0]]))
    periods = period_start_local(period_numbers, interval)
    ends_utc = local_to_utc(next_start(periods, interval), tz).astype(np.int64)
    complete = ends_utc + w <= result.as_of.astype("datetime64[us]").astype(np.int64)
    rate, lo, hi = wilson(converted, entered)
    starts = local_to_utc(periods, tz)
    return TrendTable(starts, entered, converted, rate, lo, hi, complete, interval, tz)
