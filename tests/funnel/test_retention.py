"""Retention against a DuckDB reference on fuzzed logs, plus its stated properties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.funnel import retention
from autoops.funnel._calendar import period_index

from .retention_reference import retention_sql, retention_sum_sql, run

duckdb = pytest.importorskip("duckdb")
pd = pytest.importorskip("pandas")

START = np.datetime64("2026-01-01T00:00:00", "us")
DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    c = duckdb.connect()
    yield c
    c.close()


@st.composite
def retention_logs(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 40))
    units = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    names = draw(st.lists(st.sampled_from(["a", "b", "b", "c"]), min_size=n, max_size=n))
    # seconds over ~100 days, with a bias to hours around midnight in Shanghai
    secs = draw(st.lists(st.integers(0, 100 * 86_400), min_size=n, max_size=n))
    return {
        "one_id": np.asarray(units, dtype=np.int64),
        "event": np.asarray(names, dtype=object),
        "ts": START
        + np.asarray(secs, dtype=np.int64).astype("timedelta64[s]").astype("timedelta64[us]"),
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=retention_logs(),
    period=st.sampled_from(["day", "week", "month"]),
    clock=st.sampled_from(["rolling", "calendar"]),
    cohort_type=st.sampled_from(["first_time", "recurring"]),
    criterion=st.sampled_from(["on", "on_or_after"]),
    min_returns=st.integers(1, 2),
)
def test_matches_duckdb(
    con: Any,
    ev: dict[str, Any],
    period: str,
    clock: str,
    cohort_type: str,
    criterion: str,
    min_returns: int,
) -> None:
    periods = 4
    as_of = int((START + np.timedelta64(120, "D")).astype("datetime64[us]").astype(np.int64))
    t = retention(
        ev,
        cohort="a",
        returning="b",
        period=period,
        clock=clock,
        cohort_type=cohort_type,
        criterion=criterion,
        min_returns=min_returns,
        periods=periods,
        measure="count",
        as_of=np.datetime64(as_of, "us"),
        cohort_period=period,
    )
    frame = pd.DataFrame({**ev, "ts": ev["ts"].astype(np.int64)})
    sql = retention_sql(
        period=period,
        clock=clock,
        cohort_type=cohort_type,
        criterion=criterion,
        min_returns=min_returns,
        periods=periods,
        as_of=as_of,
    )
    rows = run(con, sql, frame)
    labels = sorted({r[0] for r in rows})
    want = np.zeros((len(labels), periods + 1), dtype=np.int64)
    for label, k, n in rows:
        want[labels.index(label), int(k)] = n
    assert t.counts.tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(ev=retention_logs(), clock=st.sampled_from(["rolling", "calendar"]), m=st.integers(1, 3))
def test_on_or_after_is_non_increasing_and_covers_on(
    ev: dict[str, Any], clock: str, m: int
) -> None:
    kw: dict[str, Any] = dict(
        cohort="a", returning="b", period="week", clock=clock, min_returns=m, periods=6
    )
    on = retention(ev, criterion="on", **kw).counts
    after = retention(ev, criterion="on_or_after", **kw).counts
    assert np.all(np.diff(after[:, 1:], axis=1) <= 0)
    assert np.all(after >= on)


def test_calendar_versus_rolling_day() -> None:
    # Monday 2026-01-05 20:00 → Tuesday 06:00 in Shanghai
    ev = {
        "one_id": np.array([1, 1]),
        "event": np.array(["open", "open"], dtype=object),
        "ts": np.array(["2026-01-05T12:00", "2026-01-05T22:00"], dtype="datetime64[us]"),
    }
    cal = retention(ev, period="day", clock="calendar", periods=2)
    roll = retention(ev, period="day", clock="rolling", periods=2)
    assert cal.counts.tolist() == [[1, 1, 0]]
    assert roll.counts.tolist() == [[1, 0, 0]]
    local = np.array(["2026-01-05T20:00", "2026-01-06T06:00"], dtype="datetime64[us]")
    assert np.diff(period_index(local, "day")).tolist() == [1]


def test_completeness_and_weighted_mean() -> None:
    ev = {
        "one_id": np.array([1, 1, 2, 3]),
        "event": np.array(["a", "b", "a", "a"], dtype=object),
        "ts": np.array(
            ["2026-01-01T04:00", "2026-02-10", "2026-01-20", "2026-02-15"], dtype="datetime64[us]"
        ),
    }
    t = retention(
        ev,
        cohort="a",
        returning="b",
        period="month",
        periods=2,
        as_of=np.datetime64("2026-03-05T00:00", "us"),
    )
    # January cohort: month 1 (February) complete by March 5; month 2 (March) not
    assert t.size.tolist() == [2, 1]
    assert t.complete.tolist() == [[True, True, False], [True, False, False]]
    assert t.weighted_mean[1] == pytest.approx(1 / 2)
    assert np.isnan(t.weighted_mean[2])


def test_revenue_retention_and_brackets() -> None:
    ev = {
        "one_id": np.array([1, 1, 1, 2]),
        "event": np.array(["buy", "buy", "buy", "buy"], dtype=object),
        "amount": np.array([100.0, 50.0, 25.0, 10.0]),
        "ts": np.array(
            ["2026-01-01", "2026-01-03", "2026-01-20", "2026-01-01"], dtype="datetime64[us]"
        ),
    }
    t = retention(ev, period=["1d", "7d", "30d"], clock="rolling", measure="amount")
    assert t.values[:, 1:].tolist() == [[50.0, 25.0]]
    with pytest.raises(ConfigError) as info:
        retention(ev, measure="amount", min_returns=2)
    assert info.value.key == "min_returns"


def test_display() -> None:
    ev = {
        "one_id": np.array([1, 1]),
        "event": np.array(["a", "a"], dtype=object),
        "ts": np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[us]"),
    }
    t = retention(ev, period="day", periods=2)
    assert repr(t).startswith("RetentionTable(cohorts=1, units=1")
    assert "<table>" in t._repr_html_()
    assert list(t.to_pandas().columns)[:3] == ["cohort", "size", "p1"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=retention_logs(),
    data=st.data(),
    period=st.sampled_from(["day", "week", "month"]),
    clock=st.sampled_from(["rolling", "calendar"]),
    criterion=st.sampled_from(["on", "on_or_after"]),
)
def test_revenue_retention_matches_duckdb(
    con: Any, ev: dict[str, Any], data: Any, period: str, clock: str, criterion: str
) -> None:
    n = len(ev["event"])
    ev = dict(
        ev,
        amount=np.asarray(
            data.draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)), dtype=np.float64
        ),
    )
    periods = 4
    as_of = int((START + np.timedelta64(120, "D")).astype("datetime64[us]").astype(np.int64))
    t = retention(
        ev,
        cohort="a",
        returning="b",
        period=period,
        clock=clock,
        criterion=criterion,
        periods=periods,
        measure="amount",
        as_of=np.datetime64(as_of, "us"),
    )
    frame = pd.DataFrame({**ev, "ts": ev["ts"].astype(np.int64)})
    sql = retention_sum_sql(
        period=period, clock=clock, criterion=criterion, periods=periods, as_of=as_of
    )
    rows = run(con, sql, frame)
    labels = sorted({r[0] for r in rows})
    want = np.zeros((len(labels), periods + 1))
    for label, k, value in rows:
        want[labels.index(label), int(k)] = value
    assert t.values.tolist() == want.tolist()


def retention_case(
    ev: dict[str, Any],
    period: str,
    clock: str,
    cohort_type: str,
    criterion: str,
    measure: str,
    returning: str | None,
    min_returns: int = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A log with an ``amount`` column and the ``retention`` arguments of one drawn option set."""
    ev = dict(ev, amount=np.arange(len(ev["ts"]), dtype=np.float64) * 1.5)
    kwargs: dict[str, Any] = {
        "cohort": "a",
        "returning": returning,
        "period": ["1d", "3d", "10d", "40d"] if period == "brackets" else period,
        "clock": clock,
        "cohort_type": cohort_type,
        "criterion": criterion,
        "min_returns": 1 if measure == "amount" else min_returns,
        "measure": measure,
        "periods": 4,
    }
    return ev, kwargs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=retention_logs(),
    block=st.integers(1, 7),
    period=st.sampled_from(["day", "week", "month", "brackets"]),
    clock=st.sampled_from(["rolling", "calendar"]),
    cohort_type=st.sampled_from(["first_time", "recurring"]),
    criterion=st.sampled_from(["on", "on_or_after"]),
    min_returns=st.integers(1, 2),
    measure=st.sampled_from(["rate", "count", "amount"]),
    returning=st.sampled_from([None, "b"]),
)
def test_blocks_of_rows_change_nothing(
    ev: dict[str, Any],
    block: int,
    period: str,
    clock: str,
    cohort_type: str,
    criterion: str,
    min_returns: int,
    measure: str,
    returning: str | None,
) -> None:
    """Returns are found ROW_BLOCK rows at a time: tiny blocks give the one-block table."""
    from autoops.funnel import _retention

    ev, kwargs = retention_case(ev, period, clock, cohort_type, criterion, measure, returning,
                                min_returns)  # fmt: skip
    whole = retention(ev, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "ROW_BLOCK", block)
        blocked = retention(ev, **kwargs)
    assert blocked.counts.tolist() == whole.counts.tolist()
    np.testing.assert_array_equal(blocked.values, whole.values)  # NaN where NaN
    assert blocked.complete.tolist() == whole.complete.tolist()
    assert blocked.size.tolist() == whole.size.tolist()


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    n_ret=st.integers(0, 40),
    n_inst=st.integers(0, 15),
    horizon=st.one_of(st.none(), st.integers(0, 50)),
)
def test_earlier_instances_are_the_brute_force_join(
    data: Any, n_ret: int, n_inst: int, horizon: int | None
) -> None:
    """The recurring join steps back through each return's unit's instances: exactly the
    pairs of one unit with t0 < rt (and rt - t0 <= horizon), ties in time included."""
    from autoops.funnel._retention import _earlier_instances

    def ints(k: int, hi: int) -> npt.NDArray[np.int64]:
        return np.asarray(data.draw(st.lists(st.integers(0, hi), min_size=k, max_size=k)),
                          dtype=np.int64)  # fmt: skip

    ru, rt, iu, it = ints(n_ret, 3), ints(n_ret, 40), ints(n_inst, 3), ints(n_inst, 40)
    rows = np.arange(n_ret)
    r, i = _earlier_instances(rows, ru, rt, iu, it, 4, horizon)
    # the instances' order by (unit, t0) given (as retention knows it) changes nothing
    by = np.lexsort((np.arange(n_inst), it, iu))
    r2, i2 = _earlier_instances(rows, ru, rt, iu, it, 4, horizon, by)
    got = sorted(zip(r.tolist(), i.tolist(), strict=True))
    assert sorted(zip(r2.tolist(), i2.tolist(), strict=True)) == got
    want = sorted(
        (a, b)
        for a in range(n_ret)
        for b in range(n_inst)
        if ru[a] == iu[b] and it[b] < rt[a] and (horizon is None or rt[a] - it[b] <= horizon)
    )
    assert got == want


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=retention_logs(),
    period=st.sampled_from(["day", "week", "month"]),
    periods=st.one_of(st.integers(1, 8), st.just(66)),
    in_time_order=st.booleans(),
    many_cells=st.booleans(),
    returning=st.sampled_from([None, "b"]),
    as_of_day=st.one_of(st.none(), st.integers(0, 120)),
    block=st.sampled_from([1, 3, 1 << 18]),
)
def test_recurring_presence_is_the_pair_join(
    ev: dict[str, Any],
    period: str,
    periods: int,
    in_time_order: bool,
    many_cells: bool,
    returning: str | None,
    as_of_day: int | None,
    block: int,
) -> None:
    """Recurring cohorts on the calendar of their own period, "on" one return, count from
    the (period, unit) maps (rows in time order: period by period; *many_cells*: more
    cells than the maps allow, so rows in another order are grouped by period and taken
    period by period too): the same table as the join of each return with its unit's
    earlier instances, which the maps' cells limit turns to."""
    from autoops.funnel import _retention

    if in_time_order:
        order = np.argsort(ev["ts"], kind="stable")
        ev = {k: v[order] for k, v in ev.items()}
    n = len(ev["ts"])
    kwargs: dict[str, Any] = {
        "cohort": "a", "returning": returning, "period": period, "clock": "calendar",
        "cohort_type": "recurring", "periods": periods, "measure": "count",
        "cohort_period": period,
        "as_of": None if as_of_day is None else START + np.timedelta64(as_of_day, "D"),
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "ROW_BLOCK", block)
        if many_cells:  # every cell beyond the maps' limit, none beyond the periods in turn
            m.setattr(_retention, "PERIOD_MAP_CELLS", -4 * n - 1)
            m.setattr(_retention, "IN_TURN_CELLS_PER_ROW", 10**9)
        maps = retention(ev, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "PERIOD_MAP_CELLS", -(10**18))  # no maps: the join
        joined = retention(ev, **kwargs)
    assert maps.counts.tolist() == joined.counts.tolist()
    assert maps.size.tolist() == joined.size.tolist()
    assert maps.complete.tolist() == joined.complete.tolist()
    assert maps.labels == joined.labels


@pytest.mark.parametrize("in_time_order", [True, False])
@pytest.mark.parametrize("cohort_type", ["recurring", "first_time"])
def test_many_cells_take_the_periods_in_turn(cohort_type: str, in_time_order: bool) -> None:
    """Rows whose (period, unit) cells exceed the maps' four cells a row still take the
    periods in turn when the cohorts are recurring (their other path is the join), up to
    64 cells a row, rows in another order than time grouped by period first; first-time
    cohorts turn to their unit maps. Each gives the table of the join and of the periods
    in turn within the cells."""
    from autoops.funnel import _retention

    rng = np.random.default_rng(7)
    n, n_units, days = 3_000, 400, 90
    secs = rng.integers(0, days * 86_400, n)
    if in_time_order:
        secs.sort()
    ev = {
        "one_id": rng.integers(0, n_units, n),
        "event": rng.choice(np.array(["a", "b"], dtype=object), n),
        "ts": START + secs.astype("timedelta64[s]").astype("timedelta64[us]"),
    }
    cells = days * n_units  # 12 cells a row
    kwargs: dict[str, Any] = {"cohort": "a", "returning": "b", "period": "day", "periods": 12,
                              "cohort_type": cohort_type, "measure": "count"}  # fmt: skip
    calls: list[int] = []
    in_turn = _retention._presence_period_by_period

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return in_turn(*args, **kw)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "PERIOD_MAP_CELLS", cells - 8 * n)
        m.setattr(_retention, "_presence_period_by_period", spy)
        got = retention(ev, **kwargs)
    assert len(calls) == (1 if cohort_type == "recurring" else 0)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "PERIOD_MAP_CELLS", -(10**18))  # no maps: the join
        joined = retention(ev, **kwargs)
    in_turn_within = retention(ev, **kwargs)  # within the cells: in turn (in time order), or maps
    for other in (joined, in_turn_within):
        assert got.counts.tolist() == other.counts.tolist()
        assert got.size.tolist() == other.size.tolist()
    assert got.counts[:, 1:].sum() > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 60),
    tz=st.sampled_from(["Asia/Shanghai", "Pacific/Apia", "America/St_Johns", "Asia/Kolkata"]),
    period=st.sampled_from(["day", "week", "month", ["1d", "3d", "10d"], ["2d", "9d"]]),
    clock=st.sampled_from(["rolling", "calendar"]),
    periods=st.integers(1, 4),
    measure=st.sampled_from(["count", "amount"]),
)
def test_recurring_returns_beyond_the_last_bucket_change_nothing(
    data: Any, n: int, tz: str, period: Any, clock: str, periods: int, measure: str
) -> None:
    """Recurring cohorts "on" a bucket join each return only to the instances at most a
    few periods before it: the same table as joining every earlier instance, over years
    (Samoa skipped 2011-12-30; St John's clock went back across midnight)."""
    from autoops.funnel import _retention

    base = int(np.datetime64("2010-06-01", "s").astype(np.int64))
    secs = np.asarray(data.draw(st.lists(st.integers(0, 3 * 365 * 86_400), min_size=n,
                                         max_size=n)), dtype=np.int64) + base  # fmt: skip
    names = data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    ev = {"one_id": np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))),
          "event": np.asarray(names, dtype=object),
          "amount": np.arange(n, dtype=np.float64),
          "ts": (secs * 1_000_000).view("datetime64[us]")}  # fmt: skip
    kwargs: dict[str, Any] = {"cohort": "a", "returning": "b", "period": period, "tz": tz,
                              "clock": clock, "cohort_type": "recurring", "measure": measure}  # fmt: skip
    if isinstance(period, str):
        kwargs["periods"] = periods
    near = retention(ev, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "_join_horizon", lambda *a: 2**62)
        every = retention(ev, **kwargs)
    assert near.counts.tolist() == every.counts.tolist()
    np.testing.assert_array_equal(near.values, every.values)


def _near_changes(tz: str) -> npt.NDArray[np.int64]:
    """UTC µs of the hours of 2026 in which *tz* changes its offset."""
    from autoops._time import utc_offsets

    hours = np.arange(0, 366 * 24, dtype=np.int64) * 3_600_000_000 + int(START.astype(np.int64))
    off = utc_offsets(hours.view("datetime64[us]"), tz)
    return hours[np.flatnonzero(np.diff(off)) + 1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 40),
    tz=st.sampled_from(
        [
            "America/Santiago",
            "America/Havana",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "UTC",
            "Asia/Beirut",
        ]
    ),
    period=st.sampled_from(["day", "week", "month"]),
    returning=st.sampled_from([None, "b", ["b", "c"]]),
    with_as_of=st.booleans(),
    categorical=st.booleans(),
    block=st.sampled_from([1, 3, 1 << 18]),
    in_time_order=st.booleans(),
)
def test_period_maps_and_unit_presence_match_the_general_path(
    data: Any,
    n: int,
    tz: str,
    period: str,
    returning: Any,
    with_as_of: bool,
    categorical: bool,
    block: int,
    in_time_order: bool,
) -> None:
    """First-time calendar cohorts read each row's period from a table per UTC hour
    (exact per row in hours with a change of offset, e.g. Santiago's midnight
    changes, Lord Howe's half hour): the (period, unit) maps (or, for rows in time
    order, the periods taken in turn), the (bucket, unit) map and the general path
    agree, blocks of rows and ranges of units of any size, on 1, 2 and 3 threads."""
    from autoops import _parallel
    from autoops._time import utc_offsets
    from autoops.funnel import _retention

    from ..threads import with_threads

    # times within ±90 minutes of a change of offset or of a local midnight in 2026
    # (Kolkata's midnight is at 18:30 UTC: inside an hour)
    start = int(START.astype(np.int64)) // 1_000_000
    midnight = start - int(utc_offsets(START[None], tz)[0]) // 1_000_000
    centres = np.concatenate([_near_changes(tz) // 1_000_000, midnight + 86_400 * np.arange(365)])
    near = data.draw(st.lists(st.integers(0, len(centres) - 1), min_size=n, max_size=n))
    shift = data.draw(st.lists(st.integers(-5400, 5400), min_size=n, max_size=n))
    secs = centres[near] + np.asarray(shift)
    if in_time_order:  # an append-only log (ties included)
        secs = np.sort(secs)
    names = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    ev = {
        "one_id": np.asarray(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))),
        "event": pd.Categorical(names) if categorical else np.asarray(names, dtype=object),
        "ts": (secs * 1_000_000).view("datetime64[us]"),
    }
    kwargs: dict[str, Any] = {"cohort": "a", "returning": returning, "period": period, "tz": tz,
                              "periods": 6, "measure": "count"}  # fmt: skip
    if with_as_of:
        kwargs["as_of"] = np.datetime64(int(np.median(secs)) * 1_000_000, "us")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_parallel, "MIN_ROWS", 1)
        m.setattr(_retention, "ROW_BLOCK", block)
        maps = [with_threads(k, lambda: retention(ev, **kwargs)) for k in (1, 2, 3)]
        m.setattr(_retention, "_period_presence", lambda *a, **k: None)
        by_bucket = [with_threads(k, lambda: retention(ev, **kwargs)) for k in (1, 2, 3)]
        m.setattr(_retention, "_unit_presence", lambda *a, **k: None)
        general = retention(ev, **kwargs)
    for got in [*maps, *by_bucket]:
        assert got.counts.tolist() == general.counts.tolist()
        assert got.complete.tolist() == general.complete.tolist()
        np.testing.assert_array_equal(got.values, general.values)
        np.testing.assert_array_equal(got.weighted_mean, general.weighted_mean)
        np.testing.assert_array_equal(got.cohort, general.cohort)


def test_rows_in_time_order_take_the_periods_in_turn() -> None:
    """A log in time order is counted period by period, with no (period, unit) map;
    the same rows in another order take the maps. Both give the general path's table,
    with periods starting inside an hour (Kolkata's midnight is 18:30 UTC)."""
    from autoops.funnel import _retention

    rng = np.random.default_rng(7)
    n = 3000
    secs = np.sort(rng.integers(0, 200 * 86_400, n)) + int(START.astype(np.int64)) // 1_000_000
    ev = {"one_id": rng.integers(0, 300, n),
          "event": np.asarray(rng.choice(["a", "b"], n), dtype=object),
          "ts": (secs * 1_000_000).view("datetime64[us]")}  # fmt: skip
    kwargs: dict[str, Any] = {"cohort": "a", "period": "week", "tz": "Asia/Kolkata",
                              "periods": 8, "measure": "count"}  # fmt: skip
    taken: list[int] = []
    in_turn = _retention._presence_period_by_period

    def spy(*a: Any, **k: Any) -> Any:
        taken.append(1)
        return in_turn(*a, **k)

    perm = rng.permutation(n)
    shuffled = {k: v[perm] for k, v in ev.items()}
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "ROW_BLOCK", 64)  # several blocks a period, several ranges
        m.setattr(_retention, "_presence_period_by_period", spy)
        ordered = retention(ev, **kwargs)
        assert taken == [1]
        other = retention(shuffled, **kwargs)
        assert taken == [1]  # the maps
        m.setattr(_retention, "_period_presence", lambda *a, **k: None)
        m.setattr(_retention, "_unit_presence", lambda *a, **k: None)
        general = retention(ev, **kwargs)
    assert ordered.counts.sum() > 0
    assert ordered.counts.tolist() == general.counts.tolist() == other.counts.tolist()
    np.testing.assert_array_equal(ordered.cohort, general.cohort)


def test_a_stray_old_timestamp_takes_the_general_path() -> None:
    """A row of 1900 among rows of 2026 spans more hours than a table per hour may
    (about 114 years): no table of hundreds of MB is built, the fast paths step aside,
    and the matrix is the general path's."""
    from autoops.funnel import _retention

    rng = np.random.default_rng(3)
    n = 500
    secs = rng.integers(0, 120 * 86_400, n) + int(START.astype(np.int64)) // 1_000_000
    secs[0] = int(np.datetime64("1900-01-01", "s").astype(np.int64))
    ev = {"one_id": rng.integers(0, 40, n),
          "event": np.asarray(rng.choice(["a", "b"], n), dtype=object),
          "ts": (secs * 1_000_000).view("datetime64[us]")}  # fmt: skip
    kwargs: dict[str, Any] = {"cohort": "a", "period": "month", "tz": "Asia/Kolkata",
                              "periods": 4, "measure": "count",
                              "as_of": np.datetime64("2026-12-31", "us")}  # fmt: skip
    called: list[Any] = []
    for name in ("_period_presence", "_unit_presence"):
        fast = getattr(_retention, name)

        def spy(*a: Any, _fast: Any = fast, **k: Any) -> Any:
            called.append(_fast(*a, **k))
            return called[-1]

        with pytest.MonkeyPatch.context() as m:
            m.setattr(_retention, name, spy)
            if name == "_unit_presence":
                m.setattr(_retention, "_period_presence", lambda *a, **k: None)
            got = retention(ev, **kwargs)
    assert called == [None, None]  # both fast paths declined
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "_period_presence", lambda *a, **k: None)
        m.setattr(_retention, "_unit_presence", lambda *a, **k: None)
        general = retention(ev, **kwargs)
    assert got.counts.sum() > 0
    assert got.counts.tolist() == general.counts.tolist()


def test_recurring_cohorts_when_the_clock_goes_back_across_midnight() -> None:
    """St John's clock went back from 00:00:59 to 23:01 of the day before (until 2011):
    a unit's cohort instance of the earlier day can start after that of the later day.
    A return between the two joins only the instance before it (its day-1 bucket on the
    earlier day's cohort would count a return from before that cohort's t0)."""
    change = np.datetime64("2010-11-07T02:31", "us").astype(np.int64)  # 00:01 NDT
    second = 1_000_000
    ts = np.array([change - 30 * second, change + 600 * second, change - 10 * second])
    ev = {"one_id": np.zeros(3, dtype=np.int64), "event": np.array(["a", "a", "b"], dtype=object),
          "ts": ts.view("datetime64[us]")}  # fmt: skip
    got = retention(ev, cohort="a", returning="b", period="day", tz="America/St_Johns",
                    cohort_type="recurring", periods=3, measure="count",
                    as_of=np.datetime64("2011-01-01", "us"))  # fmt: skip
    # the later instance (t0 = 23:11 on the 6th) is the earlier day's cohort
    assert got.counts.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]


def test_clock_going_back_across_midnight() -> None:
    """St John's went back from 00:00:59 to 23:01 of the day before (until 2011): a row
    in a later day than t0's may lie before t0, and the least day of a unit's cohort
    rows may not be t0's. Both fast paths step aside (the (bucket, unit) map counted
    the earlier row as a return)."""
    from autoops.funnel import _retention

    change = np.datetime64("2010-11-07T02:31", "us").astype(np.int64)  # 00:01 NDT
    minute = 60_000_000
    ts = np.array([change - minute // 2, change + 10 * minute, change + 11 * minute])
    ev = {"one_id": np.zeros(3, dtype=np.int64), "event": np.array(["b", "a", "b"], dtype=object),
          "ts": ts.view("datetime64[us]")}  # fmt: skip
    kwargs: dict[str, Any] = {"cohort": "a", "period": "day", "tz": "America/St_Johns",
                              "periods": 3, "measure": "count",
                              "as_of": np.datetime64("2011-01-01", "us")}  # fmt: skip
    fast = retention(ev, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "_period_presence", lambda *a, **k: None)
        m.setattr(_retention, "_unit_presence", lambda *a, **k: None)
        general = retention(ev, **kwargs)
    assert general.counts.tolist() == [[1, 0, 0, 0]]  # the day-1 row came before t0
    assert fast.counts.tolist() == general.counts.tolist()
    # the cohort row after the change is t0's day (Saturday), not the earlier Sunday row's
    ev2 = dict(ev, event=np.array(["a", "a", "b"], dtype=object))
    fast2 = retention(ev2, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_retention, "_period_presence", lambda *a, **k: None)
        m.setattr(_retention, "_unit_presence", lambda *a, **k: None)
        general2 = retention(ev2, **kwargs)
    assert fast2.counts.tolist() == general2.counts.tolist()
    np.testing.assert_array_equal(fast2.cohort, general2.cohort)
