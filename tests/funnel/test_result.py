"""FunnelResult: Wilson intervals against scipy, trends against the oracle, display."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.funnel import Funnel, compute, wilson

from .oracle import oracle
from .strategies import funnels, logs

SCALE = 240  # one log "minute" = four hours, so logs span several days


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_matches_scipy(n: int, data: Any) -> None:
    stats = pytest.importorskip("scipy.stats")
    x = data.draw(st.integers(0, n))
    rate, lo, hi = wilson(np.array([x]), np.array([n]))
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert rate[0] == pytest.approx(x / n)
    assert lo[0] == pytest.approx(ci.low, abs=1e-9)
    assert hi[0] == pytest.approx(ci.high, abs=1e-9)


def test_rates_are_nan_not_zero_without_denominator() -> None:
    ev2 = {
        "one_id": [1, 2],
        "event": ["a", "b"],
        "ts": np.array(["2026-01-01", "2026-01-01"], dtype="datetime64[us]"),
    }
    r = compute(
        Funnel(
            steps=["a", "b"],
            entry_range=(
                datetime(2027, 1, 1, tzinfo=timezone.utc),
                datetime(2027, 2, 1, tzinfo=timezone.utc),
            ),
        ),
        ev2,
    )
    assert r.counts.tolist() == [0, 0]
    assert all(np.isnan(r.rates("overall")[0])) and all(np.isnan(r.rates("step")[0]))
    assert np.isnan(r.time_to_convert()["median_s"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=logs(scale=SCALE),
    f=funnels(scale=SCALE),
    interval=st.sampled_from(["day", "week"]),
)
def test_trends_match_oracle_per_period(ev: dict[str, Any], f: Funnel, interval: str) -> None:
    """Per entry period (each run over the units entering in it), ordered and strict."""
    r = compute(f, ev)
    t = r.trends(interval, tz="UTC")
    k = len(f.steps)
    for start, entered, converted in zip(t.period, t.entered, t.converted, strict=True):
        p0 = datetime.fromisoformat(str(start)).replace(tzinfo=timezone.utc)
        p1 = p0 + timedelta(days=1 if interval == "day" else 7)
        if f.entry_range is not None:
            p0, p1 = max(p0, f.entry_range[0]), min(p1, f.entry_range[1])
        g = Funnel(**dict(f.model_dump(), entry_range=(p0, p1)))
        if f.entry == "first":
            continue  # entry="first" trends follow the unit's single entry row (checked below)
        want = oracle(g, ev)
        assert converted == sum(w["depth"] == k for w in want.values())
        assert entered == sum(w["depth"] >= 1 for w in want.values())
    if f.entry == "first":
        assert t.entered.sum() == r.counts[0] and t.converted.sum() == r.counts[-1]


def test_trends_count_a_step_exactly_a_window_after_the_last_entry() -> None:
    """The window is inclusive: each period's rows run to the last one within the window
    of the unit's last entry row in the period, that row included."""
    ts = ["2026-01-05T00:00", "2026-01-07T00:00", "2026-01-14T00:00", "2026-01-14T00:00:01"]
    ev = _log([1, 1, 1, 2], ["a", "a", "b", "b"], ts)
    t = compute(Funnel(steps=["a", "b"], window="7d"), ev).trends("week", tz="UTC")
    assert t.entered.tolist() == [1] and t.converted.tolist() == [1]
    t = compute(Funnel(steps=["a", "b"], window="604799s"), ev).trends("week", tz="UTC")
    assert t.entered.tolist() == [1] and t.converted.tolist() == [0]


def test_trends_count_a_unit_once_a_period_when_the_clock_goes_back_over_it() -> None:
    """St John's left daylight time at 00:01 on 7 November 2010, back to 23:01 on the
    6th: a unit's entries fall on the 7th, the 6th, then the 7th again, and it enters
    each day once."""
    ts = ["2010-11-07T02:30:30", "2010-11-07T02:40", "2010-11-07T03:40", "2010-11-07T03:45"]
    ev = _log([1, 1, 1, 1], ["a", "a", "a", "b"], ts)
    t = compute(Funnel(steps=["a", "b"], window="2h"), ev).trends("day", tz="America/St_Johns")
    assert [str(p)[:10] for p in t.period] == ["2010-11-06", "2010-11-07"]
    assert t.entered.tolist() == [1, 1] and t.converted.tolist() == [1, 1]


def _log(one_id: list[int], event: list[str], ts: list[str]) -> dict[str, Any]:
    return {"one_id": one_id, "event": event, "ts": np.array(ts, dtype="datetime64[us]")}


def test_trend_incomplete_flag() -> None:
    ev = {
        "one_id": [1, 1, 2],
        "event": ["a", "b", "a"],
        "ts": np.array(["2026-01-05", "2026-01-06", "2026-01-20"], dtype="datetime64[us]"),
    }
    t = compute(
        Funnel(steps=["a", "b"], window="7d"), ev, as_of=np.datetime64("2026-01-21", "us")
    ).trends("week")
    # week of Jan 5 ends Jan 12 (Shanghai); + 7d = Jan 19 <= as_of: complete. Week of Jan 19: not.
    assert t.complete.tolist() == [True, False]
    assert t.rate.tolist()[0] == 1.0
    with pytest.raises(ConfigError):
        compute(Funnel(steps=["a", "b"], order="open"), ev).trends()
    with pytest.raises(ConfigError, match="'day', 'week' or 'month'"):
        compute(Funnel(steps=["a", "b"]), ev).trends("year")  # type: ignore[arg-type]


def test_breakdown_attribution_and_top() -> None:
    ev = {
        "one_id": [1, 1, 2, 2, 3],
        "event": ["a", "b", "a", "b", "a"],
        "src": ["x", "y", "x", "z", None],
        "ts": np.array(["2026-01-01", "2026-01-02"] * 2 + ["2026-01-01"], dtype="datetime64[us]"),
    }
    first = compute(Funnel(steps=["a", "b"], breakdown="src"), ev).breakdown_table()
    assert first["value"].tolist() == ["x", "(none)"] and first["step_1"].tolist() == [2, 1]
    last = compute(
        Funnel(steps=["a", "b"], breakdown="src", attribution="last_touch"), ev
    ).breakdown_table(top=1)
    assert last["value"].tolist()[-1] == "other" and last["step_1"].sum() == 3


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["web", "None", "(none)", "other", "", "app\x00"]),
    st.text(max_size=3),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_VALUES, min_size=1, max_size=40),
    reached=st.data(),
    top=st.integers(1, 6),
)
def test_breakdown_table_matches_labels_by_text(values: list[Any], reached: Any, top: int) -> None:
    """Counts per ``str(value)`` label ("(none)" for None), ordered by step-1 count then
    label, the rest summed as "other": against dictionaries of Python strings."""
    n = len(values)
    depth = np.array(reached.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    r = compute(Funnel(steps=["a", "b"]), _one_row_each(n))
    attribution = np.empty(n, dtype=object)
    attribution[:] = values
    hit = np.column_stack([depth >= 1, depth >= 2])
    r = attrs.evolve(r, attribution=attribution, reached=hit, depth=depth)
    got = r.breakdown_table(top=top)
    per: dict[str, list[int]] = {}
    for v, d in zip(values, depth.tolist(), strict=True):
        label = "(none)" if v is None else str(v)
        row = per.setdefault(label, [0, 0])
        row[0] += d >= 1
        row[1] += d >= 2
    ranked = sorted(per, key=lambda lab: (-per[lab][0], lab))
    want = [(lab, per[lab]) for lab in ranked[:top]]
    if len(ranked) > top:
        want.append(("other", [sum(per[lab][i] for lab in ranked[top:]) for i in range(2)]))
    assert got["value"].tolist() == [lab for lab, _ in want]
    assert got["step_1"].tolist() == [c[0] for _, c in want]
    assert got["step_2"].tolist() == [c[1] for _, c in want]


def _one_row_each(n: int) -> dict[str, Any]:
    """n units, each with an "a" row; unit 0 also has a "b" row."""
    return {
        "one_id": [*range(n), 0],
        "event": ["a"] * n + ["b"],
        "ts": np.full(n + 1, np.datetime64("2026-01-01", "us")),
    }


def test_display_and_tables() -> None:
    ev = {
        "one_id": [1, 1, 2],
        "event": ["a", "b", "a"],
        "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-01"], dtype="datetime64[us]"),
    }
    r = compute(Funnel(steps=["a", "b"]), ev)
    assert repr(r) == "FunnelResult(steps=2, units=2, entered=2, converted=1, rate=0.5)"
    html = r._repr_html_()
    assert "<table>" in html and "50.0%" in html
    df = r.to_pandas()
    assert df["count"].tolist() == [2, 1] and df["dropped"].tolist() == [1, 0]
    assert r.to_polars().height == 2
    ax = r.plot()
    assert len(ax.patches) == 2
    assert r.persons(1).tolist() == [1, 2]
    with pytest.raises(ConfigError):
        r.persons(3)
    tt = r.time_to_convert(2)
    assert tt["median_s"] == 86_400 and tt["bin_counts"].sum() == 1


def test_chains_and_trends_do_not_read_the_hold_column_again() -> None:
    """Chains and trends asked for after the caller changed the held column in place
    equal those of the column as it was when the funnel was computed."""
    rng = np.random.default_rng(5)
    n = 4000
    ev = {
        "one_id": rng.integers(0, 300, n),
        "event": np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)],
        "ts": np.datetime64("2026-01-01", "us") + np.sort(rng.integers(0, 30 * 86_400_000_000, n)),
        "order_id": rng.integers(0, 3, n).astype(np.float64),
    }
    f = Funnel(steps=["a", "b", "c"], window="7d", hold={"order_id": [1, 2, 3]})
    want = compute(f, {k: v.copy() for k, v in ev.items()})
    got = compute(f, ev)
    ev["order_id"][:] = np.arange(n)  # every value distinct: no hold would match now
    assert (got.chain_row == want.chain_row).all()
    t_got, t_want = got.trends("week", tz="UTC"), want.trends("week", tz="UTC")
    assert (t_got.converted == t_want.converted).all() and t_want.converted.sum() > 0


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/St_Johns", "UTC"])
def test_period_columns_read_in_the_calendar_zone(tz: str) -> None:
    """Retention cohorts, actives' periods and trend periods are the starts of calendar
    periods in *tz*: every export gives the same instants, reading as local midnights
    (a January cohort is in January, not on December 31 in UTC)."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    from autoops.funnel import active_users, retention

    ev = {"one_id": [1, 1, 2, 2],
          "event": ["lead", "visit", "lead", "app_open"],
          "ts": np.array(["2026-01-01T02:00", "2026-02-03T10:00", "2026-01-10T12:00",
                          "2026-03-01T00:30"], dtype="datetime64[us]")}  # fmt: skip
    tables = {
        "cohort": retention(ev, cohort="lead", period="month", periods=2, tz=tz),
        "period_start": active_users(ev, qualifying=["lead", "visit", "app_open"], tz=tz),
        "period": Funnel(steps=["lead", "visit"]).compute(ev).trends("month", tz=tz),
    }
    for column, table in tables.items():
        utc = np.asarray(table._columns()[column], dtype="datetime64[us]")
        want = pd.DatetimeIndex(utc).tz_localize("UTC")
        frame = table.to_pandas()[column]
        assert str(frame.dt.tz) == tz
        assert frame.tolist() == want.tolist()  # the same instants
        local = want.tz_convert(tz)
        assert (local.hour == 0).all() and (local.minute == 0).all() and (local.day == 1).all()
        assert frame.dt.month.tolist() == local.month.tolist()
        assert table.to_polars()[column].dtype.time_zone == tz  # type: ignore[attr-defined]
        assert table.to_polars()[column].to_list() == local.to_pydatetime().tolist()
        arrow = table.to_arrow().column(column)
        assert arrow.type.tz == tz and arrow.to_pylist() == local.to_pydatetime().tolist()
        dicts = [row[column] for row in table.to_dicts()]
        assert dicts == local.to_pydatetime().tolist()
        assert all(d.tzinfo is not None and d.utcoffset() == d.astimezone(ZoneInfo(tz)).utcoffset()
                   for d in dicts)  # fmt: skip
