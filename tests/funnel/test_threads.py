"""Threads change nothing: AUTOOPS_THREADS=1 and 2 or 3 give identical outputs.

Size thresholds are lowered so that the small generated logs take the
threaded paths (parts of whole units, DP blocks, parallel gathers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops import _parallel
from autoops.funnel import Funnel, active_users, compute, retention

from ..threads import with_threads
from .strategies import day_logs, distinct_by, funnels, logs
from .test_active import _random_log
from .test_retention import retention_case, retention_logs

_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from autoops.funnel import _active, _kernel, _order, _retention

    monkeypatch.setattr(_parallel, "MIN_ROWS", 1)
    monkeypatch.setattr(_parallel, "PIECE_ROWS", 3)
    monkeypatch.setattr(_order, "SCAN_ROWS", 5)
    monkeypatch.setattr(_order, "BUCKET_ROWS", 4)
    monkeypatch.setattr(_kernel, "DP_BLOCK_ROWS", 2)
    monkeypatch.setattr(_kernel, "UNORDERED_BLOCK_ROWS", 2)
    monkeypatch.setattr(_retention, "ROW_BLOCK", 3)
    monkeypatch.setattr(_active, "ROW_BLOCK", 3)
    yield


def _funnel_outputs(f: Funnel, ev: dict[str, Any], seq: str | None) -> dict[str, Any]:
    r = compute(f, ev, seq=seq)
    p = r.plan
    out: dict[str, Any] = {
        "units": r.units,
        "depth": r.depth,
        "reached": r.reached,
        "counts": r.counts,
        "chain_row": r.chain_row,
        "chain_ts": r.chain_ts,
        "src": p.source_row,
        "unit": p.rows.unit,
        "ts": p.rows.ts,
        "entry": p.rows.entry,
        "starts": p.rows.starts,
        "unit_of": p.rows.unit_of(np.arange(p.rows.n)),
        "distinct": p.rows.units(),
    }
    for i, m in enumerate(p.rows.steps):
        out[f"step{i}"] = m
    for j, tr in enumerate(p.transitions):
        out[f"hold{j}"] = None if tr.hold is None else _same_hold(p.rows.unit, tr.hold)
        out[f"breakers{j}"] = tr.breakers
    return out


def _same_hold(unit: np.ndarray, hold: Any) -> np.ndarray:
    """Each row's first row of its unit with an equal hold code (-1: none): codes are
    made block by block and compare within a unit only, so this is what must not
    depend on the threads."""
    every = np.arange(len(unit))
    codes = hold.pair(every, every[:0])[0].tolist()
    first: dict[tuple[int, int], int] = {}
    return np.array(
        [
            -1 if c < 0 else first.setdefault((int(u), c), i)
            for i, (u, c) in enumerate(zip(unit, codes, strict=True))
        ]
    )


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
            continue
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype, key
        np.testing.assert_array_equal(x, y, err_msg=key)


@_SETTINGS
@given(
    ev=logs(units=8),
    f=funnels(),
    row_order=st.sampled_from(["drawn", "time", "person"]),
    with_seq=st.booleans(),
    threads=st.sampled_from([2, 3]),
)
def test_funnel_threads_change_nothing(
    small_thresholds: None,
    ev: dict[str, Any],
    f: Funnel,
    row_order: str,
    with_seq: bool,
    threads: int,
) -> None:
    if row_order == "time":  # an append-only log: the packed (unit, row) sort by parts
        by_time = np.argsort(ev["ts"], kind="stable")
        ev = {k: v[by_time] for k, v in ev.items()}
    if row_order == "person":  # an export sorted by person: kept as it lies
        by_person = np.lexsort((ev["ts"], ev["one_id"]))
        ev = {k: v[by_person] for k, v in ev.items()}
    if with_seq:
        ev = dict(ev, seq=np.arange(len(ev["ts"]))[::-1].copy())
    seq = "seq" if with_seq else None
    one = with_threads(1, lambda: _funnel_outputs(f, ev, seq))
    many = with_threads(threads, lambda: _funnel_outputs(f, ev, seq))
    _assert_same(one, many)


@pytest.mark.parametrize("row_order", ["time", "shuffled"])
def test_more_than_256_buckets_change_nothing(small_thresholds: None, row_order: str) -> None:
    """Bucket numbers past one byte (more than 2**24 units in real logs) take 16-bit
    keys: forced here with one unit code a bucket, the outputs equal one thread's."""
    from autoops.funnel import _order

    rng = np.random.default_rng(11)
    n = 3000
    ev = {
        "one_id": rng.integers(0, 600, n),
        "event": np.array(["A", "B", "C", "X"], dtype=object)[rng.integers(0, 4, n)],
        "ts": np.datetime64("2026-01-01", "us") + rng.integers(0, 10**9, n),
    }
    if row_order == "time":
        ev = {k: v[np.argsort(ev["ts"], kind="stable")] for k, v in ev.items()}
    f = Funnel(steps=["A", "B", "C"], window="5min")
    one = with_threads(1, lambda: _funnel_outputs(f, ev, None))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_order, "_bucket_shift", lambda n, n_units: 0)
        many = with_threads(2, lambda: _funnel_outputs(f, ev, None))
    _assert_same(one, many)


@pytest.mark.parametrize("order", ["open", "unordered"])
def test_open_and_unordered_threads_change_nothing(small_thresholds: None, order: str) -> None:
    rng = np.random.default_rng(3)
    n = 400
    ev = {
        "one_id": rng.integers(0, 40, n),
        "event": np.array(["A", "B", "C", "X"], dtype=object)[rng.integers(0, 4, n)],
        "ts": np.sort(np.datetime64("2026-01-01", "us") + rng.integers(0, 10**9, n)),
    }
    f = Funnel(steps=["A", "B", "C"], order=order, window="5min")
    one = with_threads(1, lambda: _funnel_outputs(f, ev, None))
    two = with_threads(2, lambda: _funnel_outputs(f, ev, None))
    _assert_same(one, two)


@pytest.mark.parametrize(
    "orders", ["float", "float_nan", "int", "int8", "fraction", "wide", "object"]
)
def test_default_thresholds_match_small_ones(orders: str) -> None:
    """The one-part path with default thresholds equals the many-part path (hold codes
    of every kind of order id: integral floats with or without NaN and integers (also
    narrow ones whose codes overflow their type) are
    spread on threads; fractions, spans over 2**32 and objects take the serial path)."""
    rng = np.random.default_rng(5)
    n = 3000
    raw = rng.integers(0, 3, n)
    order_id: Any = {
        "float": raw.astype(float),
        "float_nan": np.where(raw == 2, np.nan, raw * 7.0 - 5),
        "int": raw * 3 - 1,
        "int8": (raw * 100 - 100).astype(np.int8),  # codes (0..200) overflow int8
        "fraction": raw / 2,
        "wide": raw * 2**40,
        "object": np.array(["a", "b", None], dtype=object)[raw],
    }[orders]
    ev = {
        "one_id": rng.integers(0, 300, n),
        "event": np.array(["A", "B", "C", "X"], dtype=object)[rng.integers(0, 4, n)],
        "ts": np.sort(np.datetime64("2026-01-01", "us") + rng.integers(0, 10**10, n)),
        "order_id": order_id,
    }
    f = Funnel(steps=["A", "B", "C"], window="1h", hold={"order_id": [2, 3]})
    plain = with_threads(1, lambda: _funnel_outputs(f, ev, None))
    from autoops.funnel import _kernel

    with pytest.MonkeyPatch.context() as m:
        m.setattr(_parallel, "MIN_ROWS", 1)
        m.setattr(_parallel, "PIECE_ROWS", 101)
        m.setattr(_kernel, "DP_BLOCK_ROWS", 7)
        split = with_threads(2, lambda: _funnel_outputs(f, ev, None))
    _assert_same(plain, split)


@settings(_SETTINGS, max_examples=150)
@given(
    ev=retention_logs(),
    period=st.sampled_from(["day", "week", "month", "brackets"]),
    clock=st.sampled_from(["rolling", "calendar"]),
    cohort_type=st.sampled_from(["first_time", "recurring"]),
    criterion=st.sampled_from(["on", "on_or_after"]),
    measure=st.sampled_from(["rate", "count", "amount"]),
    returning=st.sampled_from([None, "b"]),
)
def test_retention_threads_change_nothing(
    small_thresholds: None,
    ev: dict[str, Any],
    period: str,
    clock: str,
    cohort_type: str,
    criterion: str,
    measure: str,
    returning: str | None,
) -> None:
    ev, kwargs = retention_case(ev, period, clock, cohort_type, criterion, measure, returning)
    one = with_threads(1, lambda: retention(ev, **kwargs))
    two = with_threads(2, lambda: retention(ev, **kwargs))
    for field in ("cohort", "size", "counts", "values", "complete", "weighted_mean"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field), err_msg=field)


@settings(_SETTINGS, max_examples=100)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 80),
    period=st.sampled_from(["day", "week", "month"]),
    in_order=st.booleans(),
)
def test_active_users_threads_change_nothing(
    small_thresholds: None, seed: int, n: int, period: str, in_order: bool
) -> None:
    from autoops.funnel import _active

    ev = _random_log(np.random.default_rng(seed), n, units=12, days=75)
    if in_order:  # an append-only log: daily actives take the rows day by day as they lie
        by_time = np.argsort(ev["ts"], kind="stable")
        ev = {k: v[by_time] for k, v in ev.items()}
    one = with_threads(1, lambda: active_users(ev, period=period))
    two = with_threads(2, lambda: active_users(ev, period=period))
    for field in ("period_start", "active", "mean_dau", "stickiness", "complete"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field), err_msg=field)
    # the sort path of _distinct_per (too many cells for the byte map), by key ranges
    days = np.arange(n) % 5 + 3
    want = [len(set(ev["one_id"][np.arange(n) % 5 == b].tolist())) for b in range(5)]
    for threads in (1, 2, 3):
        got = with_threads(threads, lambda: _active._distinct_per(ev["one_id"], days, 3, 5, 2**24))
        assert got.tolist() == want


def test_missing_timestamps_found_on_threads(small_thresholds: None) -> None:
    from autoops.errors import InvalidInput

    ts = np.datetime64("2026-01-01", "us") + np.arange(40).astype("timedelta64[m]")
    ts[[3, 31]] = np.datetime64("NaT")
    ev = {"one_id": np.arange(40) % 7 + 5, "event": np.array(["A", "B"] * 20, dtype=object)}
    for threads in (1, 2):
        with pytest.raises(InvalidInput) as err:
            with_threads(threads, lambda: compute(Funnel(steps=["A", "B"]), dict(ev, ts=ts)))
        assert "2 missing timestamps" in str(err.value)
    ok = with_threads(
        2, lambda: compute(Funnel(steps=["A", "B"]), dict(ev, ts=ts[ts == ts].repeat(2)[:40]))
    )
    assert ok.counts.tolist()[0] > 0


@settings(_SETTINGS, max_examples=100)
@given(log=day_logs(max_days=40))
def test_daily_distinct_counts_each_day_on_threads(
    small_thresholds: None, log: tuple[Any, Any, int]
) -> None:
    """Distinct units per day by stamps, rows as they lie (days never decreasing) or
    grouped by a radix sort, runs of days on 1, 2 or 3 threads: a set per day."""
    from autoops.funnel._active import _daily_distinct

    units, day, n_units = log
    lo, hi = int(day.min()), int(day.max())
    want = distinct_by(units, day, lo, hi)
    for threads in (1, 2, 3):
        got = with_threads(threads, lambda: _daily_distinct(units, day, lo, hi - lo + 1, n_units))
        assert got is not None
        assert got.tolist() == want


@settings(_SETTINGS, max_examples=100)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 120),
    n_units=st.integers(1, 12),
    order=st.sampled_from(["random", "increasing", "decreasing"]),
    block=st.sampled_from([3, 1000]),
)
def test_first_times_are_minima_on_threads(
    small_thresholds: None,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    n: int,
    n_units: int,
    order: str,
    block: int,
) -> None:
    """Each unit's least time among the selected rows, by rounds of plain assignments
    (decreasing times in long blocks need more rounds than allowed: np.minimum.at
    finishes)."""
    from autoops.funnel import _retention
    from autoops.funnel._retention import _NONE, _first_times

    monkeypatch.setattr(_retention, "ROW_BLOCK", block)

    rng = np.random.default_rng(seed)
    unit = rng.integers(0, n_units, n)
    t = rng.integers(0, 50, n)
    if order != "random":
        t = np.sort(t)[:: 1 if order == "increasing" else -1].copy()
    pick = rng.random(n) < 0.7
    want = [min(t[(unit == u) & pick].tolist(), default=_NONE) for u in range(n_units)]
    for threads in (1, 2, 3):
        got = with_threads(threads, lambda: _first_times(unit, t, lambda a, b: pick[a:b], n_units))
        assert got.tolist() == want
