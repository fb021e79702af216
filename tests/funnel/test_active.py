"""Monthly actives: the SEMANTICS.md rules and a DuckDB reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.funnel import active_users

from .retention_reference import mau_sql, run
from .strategies import day_logs, distinct_by

TOUCH = ["app", "wecom", "douyin", "showroom", "bilibili"]
EVENTS = ["login", "click", "push_sent", "message_delivered", "system", "lead"]
ZONES = ["Asia/Shanghai", "Asia/Kolkata", "America/Santiago", "Australia/Lord_Howe", "UTC",
         "America/St_Johns", "Pacific/Chatham"]  # fmt: skip


def test_last_second_of_january_counts_for_january() -> None:
    ev = {
        "one_id": np.array([1, 2]),
        "event": np.array(["login", "login"], dtype=object),
        "touchpoint": np.array(["app", "app"], dtype=object),
        "ts": np.array(["2026-01-31T15:59:59", "2026-01-31T16:00:00"], dtype="datetime64[us]"),
    }
    a = active_users(ev, period="month")
    assert a.active.tolist() == [1, 1]
    assert str(a.period_start[0]) == "2025-12-31T16:00:00.000000"


def test_outbound_and_public_domain_never_count() -> None:
    ev = {
        "one_id": np.array([1, 2, 3, 4]),
        "event": np.array(["push_sent", "message_delivered", "system", "login"], dtype=object),
        "touchpoint": np.array(["app", "wecom", "app", "douyin"], dtype=object),
        "ts": np.array(["2026-01-05"] * 4, dtype="datetime64[us]"),
    }
    assert active_users(ev).active.tolist() == []
    # an explicit qualifying set still never counts outbound events
    assert active_users(ev, qualifying=["push_sent", "login"]).active.tolist() == [1]


def test_merges_apply_retroactively() -> None:
    ev = {
        "event": np.array(["login", "login"], dtype=object),
        "touchpoint": np.array(["app", "wecom"], dtype=object),
        "ts": np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[us]"),
    }
    assert active_users(ev, unit=np.array([1, 2])).active.tolist() == [2]
    assert active_users(ev, unit=np.array([7, 7])).active.tolist() == [1]


def test_stickiness_and_dau() -> None:
    days = np.arange(
        np.datetime64("2026-03-01T02:00"), np.datetime64("2026-04-01T02:00"), np.timedelta64(1, "D")
    ).astype("datetime64[us]")
    n = len(days)
    ev = {
        "one_id": np.concatenate([np.ones(n, dtype=np.int64), [2]]),
        "event": np.array(["login"] * (n + 1), dtype=object),
        "touchpoint": np.array(["app"] * (n + 1), dtype=object),
        "ts": np.concatenate([days, days[:1]]),
    }
    m = active_users(ev, period="month", as_of="2026-04-02T00:00:00+08:00")
    assert m.active.tolist() == [2]
    assert m.mean_dau[0] == pytest.approx(32 / 31)
    assert m.stickiness[0] == pytest.approx(16 / 31)
    assert m.complete.tolist() == [True]
    d = active_users(ev, period="day")
    assert d.active.sum() == n + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), period=st.sampled_from(["day", "week", "month"]))
def test_matches_duckdb(data: Any, period: str) -> None:
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    n = data.draw(st.integers(1, 50))
    secs = data.draw(st.lists(st.integers(0, 200 * 86_400), min_size=n, max_size=n))
    ev = {
        "one_id": np.asarray(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))),
        "event": np.asarray(
            data.draw(st.lists(st.sampled_from(EVENTS), min_size=n, max_size=n)), dtype=object
        ),
        "touchpoint": np.asarray(
            data.draw(st.lists(st.sampled_from(TOUCH), min_size=n, max_size=n)), dtype=object
        ),
        "ts": np.datetime64("2026-01-01", "us")
        + np.asarray(secs).astype("timedelta64[s]").astype("timedelta64[us]"),
    }
    a = active_users(ev, period=period)
    with duckdb.connect() as con:
        rows = run(con, mau_sql(period), pd.DataFrame({**ev, "ts": ev["ts"].astype(np.int64)}))
    got = {str(p): int(c) for p, c in zip(a.period_start, a.active, strict=True) if c}
    import datetime as dt

    want = {}
    for label, count in rows:
        utc = (label - dt.timedelta(hours=8)).isoformat()
        want[str(np.datetime64(utc, "us"))] = int(count)
    assert got == want


def _random_log(rng: np.random.Generator, n: int, *, units: int, days: int) -> dict[str, Any]:
    return {
        "one_id": rng.integers(0, units, n),
        "event": rng.choice(np.array(EVENTS, dtype=object), n),
        "touchpoint": rng.choice(np.array(TOUCH, dtype=object), n),
        "ts": np.datetime64("2026-01-01", "us")
        + rng.integers(0, days * 86_400, n).astype("timedelta64[s]"),
    }


def test_categorical_columns_agree_with_object_columns() -> None:
    pd = pytest.importorskip("pandas")
    ev = _random_log(np.random.default_rng(3), 500, units=40, days=90)
    coded = dict(ev, event=pd.Categorical(ev["event"]), touchpoint=pd.Categorical(ev["touchpoint"]))
    for period in ("day", "week", "month"):
        assert (
            active_users(coded, period=period).active.tolist()
            == active_users(ev, period=period).active.tolist()
        )


def test_distinct_per_bucket_map_and_sort_agree() -> None:
    from autoops.funnel._active import _distinct_per

    rng = np.random.default_rng(5)
    units = rng.integers(0, 2_000, 5_000)
    bucket = rng.integers(0, 40, 5_000)
    want = [len(set(units[bucket == b].tolist())) for b in range(40)]
    period = bucket + 7  # bucket = period - first
    assert _distinct_per(units, period, 7, 40, 2_000).tolist() == want  # byte map
    # the same rows among 100,000 units over 1,000 buckets: too many cells, a sort
    assert _distinct_per(units, period, 7, 1_000, 100_000)[:40].tolist() == want
    assert _distinct_per(units, period, 7, 1_000, 2**23)[:40].tolist() == want  # 64-bit keys


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    block=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    period=st.sampled_from(["day", "week", "month"]),
)
def test_blocks_of_rows_change_nothing(block: int, seed: int, n: int, period: str) -> None:
    """Rows are read and keyed ROW_BLOCK at a time: tiny blocks give the one-block series."""
    from autoops.funnel import _active

    ev = _random_log(np.random.default_rng(seed), n, units=12, days=75)
    whole = active_users(ev, period=period)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_active, "ROW_BLOCK", block)
        blocked = active_users(ev, period=period)
        # the sort path of _distinct_per too (too many cells for the byte map)
        sort_path = _active._distinct_per(ev["one_id"], np.arange(n) % 5 + 3, 3, 5, 2**24)
    assert blocked.active.tolist() == whole.active.tolist()
    np.testing.assert_array_equal(blocked.mean_dau, whole.mean_dau)
    np.testing.assert_array_equal(blocked.period_start, whole.period_start)
    want = [len(set(ev["one_id"][np.arange(n) % 5 == b].tolist())) for b in range(5)]
    assert sort_path.tolist() == want


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    log=day_logs(),
    period=st.sampled_from(["day", "week", "month"]),
    chunk=st.sampled_from([1, 3, 1 << 20]),
)
def test_day_rows_count_each_day_and_period_on_threads(
    log: tuple[Any, Any, int], period: str, chunk: int
) -> None:
    """Distinct units per day and per period by byte rows, rows as they lie (days never
    decreasing) or grouped by a radix sort, runs of days cut anywhere (inside a period
    too: its rows are or-ed) on 1, 2 or 3 threads: a set per day and per period."""
    from autoops import _parallel
    from autoops.funnel import _active
    from autoops.funnel._active import _day_rows
    from autoops.funnel._calendar import day_period

    from ..threads import with_threads

    units, day, n_units = log
    lo, hi = int(day.min()), int(day.max())
    want_day = distinct_by(units, day, lo, hi)
    per = day_period(day.astype(np.int64), period)
    p_lo, p_hi = (int(p) for p in day_period(np.array([lo, hi]), period))
    want_period = distinct_by(units, per, p_lo, p_hi)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_parallel, "MIN_ROWS", 1)
        m.setattr(_active, "DAY_CHUNK", chunk)
        for threads in (1, 2, 3):
            got = with_threads(
                threads, lambda: _day_rows(units, day, lo, hi - lo + 1, n_units, period)
            )
            assert got is not None
            assert got[0].tolist() == want_day
            assert got[1].tolist() == want_period


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 120),
    period=st.sampled_from(["day", "week", "month"]),
    in_order=st.booleans(),
    categorical=st.booleans(),
    as_of=st.booleans(),
)
def test_day_rows_match_stamps_and_maps(
    seed: int, n: int, period: str, in_order: bool, categorical: bool, as_of: bool
) -> None:
    """The byte rows per day and period give the series of the stamps per unit and
    the (period, unit) map (forced by allowing no scan), on 1, 2 and 3 threads, masks
    of categorical or object columns read block by block."""
    from autoops import _parallel
    from autoops.funnel import _active

    from ..threads import with_threads

    pd = pytest.importorskip("pandas")
    ev = _random_log(np.random.default_rng(seed), n, units=12, days=75)
    if in_order:
        by_time = np.argsort(ev["ts"], kind="stable")
        ev = {k: v[by_time] for k, v in ev.items()}
    if categorical:
        ev = dict(
            ev, event=pd.Categorical(ev["event"]), touchpoint=pd.Categorical(ev["touchpoint"])
        )
    kwargs: dict[str, Any] = {"period": period}
    if as_of:
        kwargs["as_of"] = ev["ts"][n // 2]
    fields = ("period_start", "active", "mean_dau", "stickiness", "complete")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_parallel, "MIN_ROWS", 1)
        m.setattr(_active, "ROW_BLOCK", 7)
        rows = [with_threads(k, lambda: active_users(ev, **kwargs)) for k in (1, 2, 3)]
        m.setattr(_active, "_day_rows", lambda *a, **k: None)
        stamps = [with_threads(k, lambda: active_users(ev, **kwargs)) for k in (1, 2, 3)]
    for got in [*rows[1:], *stamps]:
        for field in fields:
            np.testing.assert_array_equal(
                getattr(got, field), getattr(rows[0], field), err_msg=field
            )


def test_day_rows_reuse_their_marks_after_255_days() -> None:
    """Daily actives over 600 days (period "day": the marks 1..255 are reused, the row
    cleared first), in order and shuffled."""
    from autoops.funnel._active import _day_rows

    day = np.repeat(np.arange(20_000, 20_600, dtype=np.int32), 2)
    units = np.tile(np.array([0, 1], dtype=np.int32), 600)
    units[1::4] = 0  # every other day one unit twice
    want = [1 if d % 2 == 0 else 2 for d in range(600)]
    for order in (np.arange(1200), np.random.default_rng(0).permutation(1200)):
        got = _day_rows(units[order], day[order], 20_000, 600, 2, "day")
        assert got is not None
        assert got[0].tolist() == want
        assert got[1].tolist() == want


@settings(max_examples=200, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    period=st.sampled_from(["day", "week", "month"]),
    scale=st.sampled_from([1, 7, 1_000_003]),
    offset=st.integers(-(2**20), 2**20),
    secs=st.lists(st.integers(1_735_689_600, 1_798_761_600), min_size=1, max_size=60),
    near=st.lists(st.integers(-5400, 5400), min_size=1, max_size=60),
)
def test_periods_from_the_hour_table_are_exact(
    tz: str, period: str, scale: int, offset: int, secs: list[int], near: list[int]
) -> None:
    """Each row's period comes from a table per UTC hour, the hours with a change of
    offset or a period start inside them row by row: equal to the exact period (scaled
    and shifted as asked), near local midnights (Kolkata's is at 18:30 UTC, Chatham's
    at 11:15) and changes of offset. Actives and trends read their periods this way."""
    from autoops.funnel._calendar import HourPeriods, local_us, period_index, period_reader

    base = np.asarray(secs, dtype=np.int64)
    # also the seconds around the local midnight before each drawn time
    local = local_us(base * 1_000_000, tz) // 1_000_000
    midnight = base - local % 86_400
    k = min(len(near), len(base))
    t = np.concatenate([base, midnight[:k] + np.asarray(near[:k])]) * 1_000_000
    exact = period_index(local_us(t, tz), period)
    hours = HourPeriods.spanning(int(t.min()), int(t.max()), tz, period)
    assert hours is not None
    got = hours.reader(scale=scale, offset=offset, dtype=np.int64)(t)
    assert got.tolist() == (exact * scale + offset).tolist()
    assert period_reader(t, tz, period)(t).tolist() == exact.tolist()


def test_days_beyond_the_hour_table_take_the_exact_path() -> None:
    """Rows spanning more hours than the table holds (a stray timestamp of 1900) are
    read day by day exactly, with the same result."""
    from autoops.funnel._calendar import (
        HOUR_TABLE_HOURS,
        HourPeriods,
        local_us,
        period_index,
        period_reader,
    )

    t = np.array(["1900-01-01T00:00", "2026-01-05T18:10", "2026-01-05T18:40"], "datetime64[us]")
    us = t.view(np.int64)
    assert (us[-1] - us[0]) // 3_600_000_000 > HOUR_TABLE_HOURS
    assert HourPeriods.spanning(int(us[0]), int(us[-1]), "Asia/Kolkata", "day") is None
    exact = period_index(local_us(us, "Asia/Kolkata"), "day")
    assert period_reader(us, "Asia/Kolkata", "day")(us).tolist() == exact.tolist()
