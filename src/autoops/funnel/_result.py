"""FunnelResult: counts, Wilson-interval rates, drop-offs, time to convert, persons."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._optional import require
from autoops._tabular import Tabular, factorize
from autoops._time import DEFAULT_TZ
from autoops.errors import ConfigError
from autoops.funnel._spec import Funnel

if TYPE_CHECKING:
    from autoops.funnel._compute import Plan
    from autoops.funnel._trends import TrendTable

__all__ = ["FunnelResult", "LazyChains", "wilson"]

Arr = npt.NDArray[Any]
Z95 = 1.959963984540054
_US_PER_S = 1_000_000


def _column_counts(matrix: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The True cells of each column: a count per column (``matrix.sum(axis=0)`` walks
    the few columns of a long matrix ten times slower)."""
    return np.array([np.count_nonzero(matrix[:, j]) for j in range(matrix.shape[1])], np.int64)


def wilson(successes: Arr, trials: Arr, z: float = Z95) -> tuple[Arr, Arr, Arr]:
    """Rate and Wilson score interval; NaN (never 0) where *trials* is 0.

    Examples:
        >>> import numpy as np
        >>> r, lo, hi = wilson(np.array([5]), np.array([10]))
        >>> round(float(r[0]), 2), round(float(lo[0]), 4), round(float(hi[0]), 4)
        (0.5, 0.2366, 0.7634)
        >>> bool(np.isnan(wilson(np.array([0]), np.array([0]))[0][0]))
        True
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, x / n, np.nan)
        z2 = z * z
        denom = 1 + z2 / n
        center = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = np.where(n > 0, np.maximum(center - half, 0.0), np.nan)
    hi = np.where(n > 0, np.minimum(center + half, 1.0), np.nan)
    return p, lo, hi


class LazyChains:
    """Computes the canonical chains once, on first use (internal)."""

    __slots__ = ("_fn", "_value")

    def __init__(self, fn: Callable[[], tuple[Arr, Arr]]) -> None:
        self._fn: Callable[[], tuple[Arr, Arr]] | None = fn
        self._value: tuple[Arr, Arr] | None = None

    def get(self) -> tuple[Arr, Arr]:
        if self._value is None:
            assert self._fn is not None
            self._value = self._fn()
            self._fn = None
        return self._value


@attrs.frozen(slots=True)
class FunnelResult(Tabular):
    """The outcome of a funnel: per-unit depth and canonical chain, step tables.

    ``units[i]`` reached ``depth[i]`` steps; ``reached[i, k]`` says whether it
    reached step k+1; ``chain_row[i, k]`` / ``chain_ts[i, k]`` are the input row
    index and time of the canonical chain's row for step k+1 (−1 / NaT when not
    reached). For unordered funnels, column k holds the (k+1)-th step reached;
    for open funnels the first row of each step. ``to_pandas()`` gives the step
    table (counts, rates with Wilson 95% intervals, drop-offs).

    Examples:
        >>> import numpy as np
        >>> from autoops.funnel import Funnel
        >>> ev = {"one_id": [1, 1, 2], "event": ["lead", "visit", "lead"],
        ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "datetime64[us]")}
        >>> r = Funnel(steps=["lead", "visit"]).compute(ev)
        >>> r
        FunnelResult(steps=2, units=2, entered=2, converted=1, rate=0.5)
        >>> r.persons(step=1, status="dropped").tolist()
        [2]
    """

    funnel: Funnel
    units: Arr
    depth: Arr
    reached: Arr
    attribution: Arr | None
    as_of: np.datetime64
    plan: Plan | None = attrs.field(default=None, repr=False, eq=False)
    chains: LazyChains | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def chain_row(self) -> Arr:
        """Input row index of each unit's canonical chain row per step (−1: none).

        Computed on first use (a backward pass per step) and kept.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1, 1], "event": ["a", "a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).chain_row.tolist()  # the latest start
            [[1, 2]]
        """
        assert self.chains is not None
        return self.chains.get()[0]

    @property
    def chain_ts(self) -> Arr:
        """Time (UTC ``datetime64[us]``) of each canonical chain row per step (NaT: none).

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-03"], "datetime64[us]")}
            >>> str(Funnel(steps=["a", "b"]).compute(ev).chain_ts[0, 1])
            '2026-01-03T00:00:00.000000'
        """
        assert self.chains is not None
        return self.chains.get()[1]

    # ------------------------------------------------------------------ counts
    @property
    def counts(self) -> Arr:
        """Units reaching at least step k (k = 1..K), as an int64 array.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).counts.tolist()
            [1, 1]
        """
        return _column_counts(self.reached)

    @property
    def labels(self) -> list[str]:
        """The step labels.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel, Step
            >>> Funnel(steps=["lead", Step(event="visit", name="到店")]).compute({"one_id": [1, 1],
            ...     "event": ["lead", "visit"], "ts": np.array(["2026-01-01", "2026-01-02"],
            ...     "datetime64[us]")}).labels
            ['lead', '到店']
        """
        return [s.label for s in self.funnel.steps]

    def rates(self, kind: Literal["overall", "step"] = "overall") -> tuple[Arr, Arr, Arr]:
        """Rates with Wilson 95% intervals: (rate, low, high) per step.

        ``overall``: count_k / count_1; ``step``: count_k / count_(k−1) (step 1
        is count_1 / count_1). NaN when the denominator is 0. In open funnels steps are
        counted independently, so a ratio can exceed 1 (its interval is NaN).

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1, 2], "event": ["a", "b", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-01"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).rates("step")[0].tolist()
            [1.0, 0.5]
        """
        c = self.counts
        if kind == "overall":
            denom = np.full(len(c), c[0] if len(c) else 0)
        elif kind == "step":
            denom = np.concatenate([c[:1], c[:-1]])
        else:
            raise ConfigError("use 'overall' or 'step'", key="kind")
        if self.funnel.order == "open":
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = np.where(denom > 0, c / np.maximum(denom, 1), np.nan)
            _, lo, hi = wilson(np.minimum(c, denom), denom)
            lo[c > denom] = np.nan
            hi[c > denom] = np.nan
            return rate, lo, hi
        return wilson(c, denom)

    @property
    def dropoffs(self) -> Arr:
        """Units reaching step k but not k+1, for k = 1..K−1.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1, 2], "event": ["a", "b", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-01"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).dropoffs.tolist()
            [1]
        """
        r = self.reached
        return _column_counts(r[:, :-1] & ~r[:, 1:])

    def persons(self, step: int = 1, status: Literal["reached", "dropped"] = "reached") -> Arr:
        """Unit ids that reached step *step* (1-based), or reached it and dropped.

        ``dropped`` at step k means reached k but not k+1, so
        ``persons(k, "dropped")`` and ``persons(k + 1)`` partition ``persons(k)``.

        Raises:
            ConfigError: *step* outside 1..K or an unknown *status*.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [7, 7, 9], "event": ["a", "b", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-01"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).persons(2).tolist()
            [7]
        """
        k = self.reached.shape[1]
        if not 1 <= step <= k:
            raise ConfigError(f"must lie in 1..{k}", key="step")
        col = self.reached[:, step - 1]
        if status == "reached":
            mask = col
        elif status == "dropped":
            mask = col & ~self.reached[:, step] if step < k else np.zeros_like(col)
        else:
            raise ConfigError("use 'reached' or 'dropped'", key="status")
        return self.units[mask]

    # --------------------------------------------------------- time to convert
    def time_to_convert(self, step: int | None = None, *, bins: int = 10) -> dict[str, Any]:
        """Time from step 1 to *step* (default: the last step) on canonical chains.

        Returns a dict: ``n``, ``mean_s``, ``median_s``, ``p25_s``, ``p75_s``,
        ``p90_s`` (seconds; NaN without conversions), ``bin_edges_s`` and
        ``bin_counts`` (a histogram with *bins* equal-width bins). Never
        exceeds the window for ordered funnels.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-03"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).time_to_convert()["median_s"]
            172800.0
        """
        k = self.reached.shape[1]
        step = k if step is None else step
        if not 1 <= step <= k:
            raise ConfigError(f"must lie in 1..{k}", key="step")
        secs = self.seconds_to_step(step)
        secs = secs[~np.isnan(secs)]
        out: dict[str, Any] = {"step": step, "n": len(secs)}
        if len(secs) == 0:
            nan = math.nan
            out.update(mean_s=nan, median_s=nan, p25_s=nan, p75_s=nan, p90_s=nan)
            out.update(bin_edges_s=np.zeros(0), bin_counts=np.zeros(0, dtype=np.int64))
            return out
        p25, p50, p75, p90 = np.percentile(secs, [25, 50, 75, 90])
        counts, edges = np.histogram(secs, bins=bins)
        out.update(
            mean_s=float(secs.mean()),
            median_s=float(p50),
            p25_s=float(p25),
            p75_s=float(p75),
            p90_s=float(p90),
            bin_edges_s=edges,
            bin_counts=counts.astype(np.int64),
        )
        return out

    def seconds_to_step(self, step: int) -> Arr:
        """Per unit: seconds from the chain's first row to its step-*step* row (NaN if none).

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-01T00:01"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).seconds_to_step(2).tolist()
            [60.0]
        """
        ts = self.chain_ts.view(np.int64)
        if self.funnel.order == "open":
            first = np.where(self.chain_row >= 0, ts, np.iinfo(np.int64).max).min(axis=1)
        else:
            first = ts[:, 0]
        end = ts[:, step - 1]
        ok = self.reached[:, step - 1] & (self.chain_row[:, step - 1] >= 0)
        return np.where(ok, (end - first) / _US_PER_S, np.nan)

    # --------------------------------------------------------------- breakdown
    def breakdown_table(self, top: int = 10) -> dict[str, Arr]:
        """Counts per step by the breakdown value (top values by step-1 count, then ``other``).

        Each unit's value comes from its canonical chain row chosen by
        ``funnel.attribution``; units without that row count under ``(none)``.

        Raises:
            ConfigError: the funnel has no ``breakdown``.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1, 2], "event": ["a", "b", "a"], "src": ["app", "app", "web"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-01"], "datetime64[us]")}
            >>> t = Funnel(steps=["a", "b"], breakdown="src").compute(ev).breakdown_table()
            >>> t["value"].tolist(), t["step_2"].tolist()
            (['app', 'web'], [1, 0])
        """
        if self.attribution is None:
            raise ConfigError("the funnel has no breakdown column", key="breakdown")
        uniq, inv = _labels(self.attribution)
        k = self.reached.shape[1]
        per = np.zeros((len(uniq), k), dtype=np.int64)
        for s in range(k):
            per[:, s] = np.bincount(inv, weights=self.reached[:, s], minlength=len(uniq)).astype(
                np.int64
            )
        order = np.lexsort((np.arange(len(uniq)), -per[:, 0]))  # (uniq ascending)
        keep, rest = order[:top], order[top:]
        labels = [str(uniq[i]) for i in keep]
        table = per[keep]
        if len(rest):
            labels.append("other")
            table = np.vstack([table, per[rest].sum(axis=0)])
        out: dict[str, Arr] = {"value": np.array(labels, dtype=object)}
        for s in range(k):
            out[f"step_{s + 1}"] = table[:, s]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["rate"] = np.where(
                table[:, 0] > 0, table[:, -1] / np.maximum(table[:, 0], 1), np.nan
            )
        return out

    # ------------------------------------------------------------------ trends
    def trends(
        self, interval: Literal["day", "week", "month"] = "week", *, tz: str = DEFAULT_TZ
    ) -> TrendTable:
        """Conversion by entry period (calendar periods in *tz*; weeks start Monday).

        A unit counts once per entry period P in which it has a step-1 row in
        the entry range, and is converted when a full chain has its first row
        in P (``entry="first"``: the unit's first step-1 row decides P). A
        period is incomplete while P.end + window > as_of. Ordered and strict
        funnels only.

        Raises:
            ConfigError: an unordered or open funnel, or an unknown *interval*.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1, 2], "event": ["a", "b", "a"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-02-01"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"], window="1d").compute(ev).trends("month").converted.tolist()
            [1, 0]
        """
        from autoops.funnel._trends import funnel_trends

        return funnel_trends(self, interval, tz)

    # ----------------------------------------------------------------- display
    def _columns(self) -> dict[str, Arr]:
        c = self.counts
        overall, o_lo, o_hi = self.rates("overall")
        step, s_lo, s_hi = self.rates("step")
        drop = np.concatenate([self.dropoffs, np.zeros(1, dtype=np.int64)]) if len(c) else c
        med = np.array([self.time_to_convert(s + 1)["median_s"] for s in range(len(c))])
        return {
            "step": np.arange(1, len(c) + 1, dtype=np.int64),
            "label": np.array(self.labels, dtype=object),
            "count": c,
            "overall_rate": overall,
            "overall_low": o_lo,
            "overall_high": o_hi,
            "step_rate": step,
            "step_low": s_lo,
            "step_high": s_hi,
            "dropped": drop,
            "median_seconds_from_step_1": med,
        }

    def __len__(self) -> int:
        return len(self.funnel.steps)

    def summary(self) -> dict[str, Any]:
        """Headline figures: units, entered, converted, conversion rate, median time.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}
            >>> Funnel(steps=["a", "b"]).compute(ev).summary()["converted"]
            1
        """
        c = self.counts
        rate = float(c[-1] / c[0]) if len(c) and c[0] else math.nan
        return {
            "steps": len(c),
            "units": len(self.units),
            "entered": int(c[0]) if len(c) else 0,
            "converted": int(c[-1]) if len(c) else 0,
            "conversion_rate": rate,
            "median_seconds_to_convert": self.time_to_convert()["median_s"],
            "order": self.funnel.order,
            "window": self.funnel.window,
        }

    def __repr__(self) -> str:
        s = self.summary()
        rate = s["conversion_rate"]
        return short_repr(
            "FunnelResult",
            steps=s["steps"],
            units=s["units"],
            entered=s["entered"],
            converted=s["converted"],
            rate="nan" if math.isnan(rate) else round(rate, 4),
        )

    def _repr_html_(self) -> str:
        cols = self._columns()
        rows = [
            [
                int(cols["step"][i]),
                cols["label"][i],
                int(cols["count"][i]),
                f"{cols['overall_rate'][i]:.1%}",
                f"{cols['step_rate'][i]:.1%} "
                f"[{cols['step_low'][i]:.1%}, {cols['step_high'][i]:.1%}]",
                int(cols["dropped"][i]),
            ]
            for i in range(len(cols["step"]))
        ]
        headers = ["step", "label", "units", "overall", "step rate [95% CI]", "dropped"]
        return html_table(
            f"Funnel ({self.funnel.order}, window {self.funnel.window})", headers, rows, limit=50
        )

    def plot(self, ax: Any = None) -> Any:
        """A funnel chart (centred horizontal bars with counts and step rates).

        Needs the ``[plot]`` extra. Returns the matplotlib ``Axes``.

        Examples:
            >>> import numpy as np
            >>> from autoops.funnel import Funnel
            >>> ev = {"one_id": [1, 1], "event": ["a", "b"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}
            >>> ax = Funnel(steps=["a", "b"]).compute(ev).plot()
            >>> len(ax.patches)
            2
        """
        require("matplotlib", "plot")
        from matplotlib.figure import Figure

        if ax is None:
            ax = Figure(figsize=(7, 0.6 * len(self) + 1.2)).add_subplot()
        c = self.counts.astype(float)
        top = c.max() if len(c) and c.max() > 0 else 1.0
        y = np.arange(len(c))[::-1]
        ax.barh(y, c, left=(top - c) / 2, color="#9ec1e6", height=0.7)
        step, _, _ = self.rates("step")
        for yi, ci, label, r in zip(y, c, self.labels, step, strict=True):
            text = f"{label}: {int(ci):,}" + ("" if yi == y[0] or math.isnan(r) else f" ({r:.0%})")
            ax.text(
                top / 2,
                yi,
                text,
                ha="center",
                va="center",
                color="white" if ci > top * 0.3 else "black",
            )
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_title(f"Funnel ({self.funnel.order}, window {self.funnel.window})")
        return ax


def _labels(values: Arr) -> tuple[Arr, npt.NDArray[np.int64]]:
    """(the distinct labels, ascending; the label of each value as an index into them).
    A value's label is ``str(value)``, ``(none)`` for None.

    The labels are made by one ``map(str)`` and grouped by hashing (the distinct ones
    alone sorted), not by sorting a string per value.

    >>> uniq, inv = _labels(np.array(["web", None, 3, "None", "web"], dtype=object))
    >>> uniq.tolist(), inv.tolist()
    (['(none)', '3', 'None', 'web'], [3, 0, 1, 2, 3])
    """
    text = np.array(list(map(str, values.tolist())), dtype=object)
    maybe = np.flatnonzero(text == "None")  # None, or a value whose text is "None"
    none = np.array([values[i] is None for i in maybe.tolist()], dtype=bool)
    text[maybe[none]] = "(none)"
    codes, uniq = factorize(text)
    return uniq, codes
