"""Conversion by entry period (trends) for ordered and strict funnels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular
from autoops._time import DEFAULT_TZ, local_naive
from autoops.errors import ConfigError
from autoops.funnel._calendar import local_to_utc, next_start, period_labels, period_start
from autoops.funnel._kernel import ordered_dp
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
    p = result.plan
    rows = p.rows
    start_local = period_start(local_naive(rows.ts.view("datetime64[us]"), tz), interval)
    entry_rows = rows.steps[0] & rows.entry
    periods = np.unique(start_local[entry_rows])
    entered = np.zeros(len(periods), dtype=np.int64)
    converted = np.zeros(len(periods), dtype=np.int64)
    k = len(result.funnel.steps)
    w = result.funnel.window_us
    if result.funnel.entry == "first":
        has = result.reached[:, 0]
        first_ts = result.chain_ts[has, 0]
        per = period_start(local_naive(first_ts, tz), interval)
        idx = np.searchsorted(periods, per)
        entered = np.bincount(idx, minlength=len(periods)).astype(np.int64)
        full = result.reached[has, k - 1]
        converted = np.bincount(idx[full], minlength=len(periods)).astype(np.int64)
    else:
        for i, per_start in enumerate(periods):
            entry = rows.entry & (start_local == per_start)
            sub = attrs.evolve(rows, entry=entry)
            levels = ordered_dp(sub, p.transitions, w, False)
            entered[i] = len(np.unique(rows.unit[levels[0][0]]))
            converted[i] = len(np.unique(rows.unit[levels[-1][0]]))
    ends_utc = local_to_utc(next_start(periods, interval), tz).astype(np.int64)
    complete = ends_utc + w <= result.as_of.astype("datetime64[us]").astype(np.int64)
    rate, lo, hi = wilson(converted, entered)
    starts = local_to_utc(periods, tz)
    return TrendTable(starts, entered, converted, rate, lo, hi, complete, interval, tz)
