"""The engine against the brute-force oracle and the DuckDB reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.funnel import Funnel, compute

from .oracle import oracle, to_us
from .reference import reference
from .strategies import funnels, logs

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    c = duckdb.connect()
    yield c
    c.close()


def _engine(f: Funnel, ev: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    r = compute(f, ev)
    out = {}
    for i, u in enumerate(r.units.tolist()):
        d = int(r.depth[i])
        chain = [int(x) for x in r.chain_row[i, :d]]
        ttc = None
        if d:
            ts = r.chain_ts[i].astype(np.int64)
            ttc = int(ts[d - 1] - ts[0])
        out[u] = {"depth": d, "chain": chain, "ttc": ttc}
    return out


def check_agreement(con: Any, f: Funnel, ev: dict[str, Any]) -> None:
    got = _engine(f, ev)
    want = oracle(f, ev)
    for u, w in want.items():
        g = got.get(u, {"depth": 0, "chain": [], "ttc": None})
        assert g == w, (u, g, w, f.to_json())
    assert set(got) <= set(want)
    d0, d1 = (to_us(d) for d in f.entry_range) if f.entry_range else (-(2**62), 2**62)
    sql = reference(con, f, ev, d0, d1)
    assert sql == {u: (w["depth"], w["ttc"]) for u, w in want.items() if w["depth"] > 0}
    counts = compute(f, ev).counts.tolist()
    k = len(f.steps)
    assert counts == [sum(w["depth"] >= j for w in want.values()) for j in range(1, k + 1)]
    assert all(w["ttc"] is None or w["ttc"] <= f.window_us for w in want.values())


# Each example holds 3-6 independent unit logs (plus the catalogue unit), so
# the two agreement tests below check engine = oracle = SQL on at least
# 3 × (400 + 300) = 2,100 generated logs.
_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(ev=logs(min_units=3, units=6), f=funnels(order="ordered"))
def test_ordered_agrees_with_oracle_and_sql(con: Any, ev: dict[str, Any], f: Funnel) -> None:
    check_agreement(con, f, ev)


@settings(_SETTINGS, max_examples=300)
@given(ev=logs(min_units=3, units=6), f=funnels(order="strict"))
def test_strict_agrees_with_oracle_and_sql(con: Any, ev: dict[str, Any], f: Funnel) -> None:
    check_agreement(con, f, ev)


def test_synthetic_dataset_agrees(con: Any) -> None:
    from autoops.datasets import synthetic

    data = synthetic(people=1500, seed=3)
    e = data.events
    keep = np.isin(
        e.event, ["lead", "visit", "test_drive", "small_order", "big_order", "delivery", "refund"]
    )
    ev = {
        "one_id": e.true_person_id[keep],
        "event": e.event[keep],
        "ts": e.ts[keep],
        "order_id": e.order_id[keep],
    }
    for f in (Funnel.automotive(), Funnel.automotive(entry="first", window="14d")):
        check_agreement(con, f, ev)
    assert compute(Funnel.automotive(), ev).counts[-1] > 0


def test_twenty_step_funnel(con: Any) -> None:
    rng = np.random.default_rng(7)
    units, names, secs = [], [], []
    for u in range(20):
        t = np.sort(rng.integers(0, 3600, 30))
        for i in range(30):
            units.append(u)
            names.append("ABC"[i % 3] if rng.random() > 0.1 else "ABC"[rng.integers(0, 3)])
            secs.append(t[i])
    ev = {
        "one_id": np.array(units),
        "event": np.array(names, dtype=object),
        "ts": np.datetime64("2026-01-01", "us") + np.array(secs).astype("timedelta64[s]"),
    }
    f = Funnel(steps=[["A", "B", "C"][i % 3] for i in range(20)], window="2h")
    # the oracle's chain enumeration is exponential here: compare with the SQL reference
    got = {u: (w["depth"], w["ttc"]) for u, w in _engine(f, ev).items() if w["depth"]}
    assert got == reference(con, f, ev)
    assert compute(f, ev).counts[-1] > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs(units=8), f=funnels())
def test_blocks_of_units_change_nothing(ev: dict[str, Any], f: Funnel) -> None:
    """Long inputs run the DP in blocks of whole units: blocks of 2+ rows agree."""
    from autoops.funnel import _kernel

    whole = _engine(f, ev)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "DP_BLOCK_ROWS", 2)
        assert _engine(f, ev) == whole


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 60),
    monotone=st.booleans(),
)
def test_max_through_is_the_running_maximum(data: st.DataObject, n: int, monotone: bool) -> None:
    """The maximum of *enc* over the q rows at or before each bound (*none*: no such row),
    whether or not the values grow along the rows, on both the counting and the
    binary-search path."""
    from autoops.funnel._kernel import _max_through

    none = data.draw(st.sampled_from([0, -1]))  # (the scan's starts: rows from 0, -1 for none)
    q_idx = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n))), dtype=np.int64)
    enc = np.array(
        data.draw(
            st.lists(st.integers(none + 1, 10**12), min_size=len(q_idx), max_size=len(q_idx))
        ),
        dtype=np.int64,
    )
    if monotone:
        enc.sort()
    hi = np.array(data.draw(st.lists(st.integers(-1, n - 1), max_size=2 * n)), dtype=np.int64)
    want = [
        max((int(e) for q, e in zip(q_idx, enc, strict=True) if q <= h), default=none) for h in hi
    ]
    assert _max_through(n, q_idx, enc, hi, none).tolist() == want


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 2000))
def test_count_through_counts_the_rows_at_or_before_each_bound(data: st.DataObject, n: int) -> None:
    """Bitmap counts (many bounds) and binary searches (few) equal a brute-force count."""
    from autoops.funnel._kernel import _count_through

    rows = st.integers(0, n - 1)
    q_idx = np.array(sorted(data.draw(st.sets(rows, max_size=min(n, 300)))), dtype=np.int64)
    many = data.draw(st.booleans())  # 64 bounds per n rows or more: the bitmap
    k = data.draw(st.integers(n // 64 + 1, n // 64 + 40) if many else st.integers(0, (n - 1) // 64))
    hi = np.array(
        data.draw(st.lists(st.integers(-1, n - 1), min_size=k, max_size=k)), dtype=np.int64
    )
    want = [int(np.count_nonzero(q_idx <= h)) for h in hi]
    assert _count_through(n, q_idx, hi).tolist() == want


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 40))
def test_held_codes_read_as_a_full_column(data: st.DataObject, n: int) -> None:
    """Codes kept for the held rows only read as the full-length column they stand
    for (-1 elsewhere), by row positions and block by block."""
    from autoops.funnel._kernel import HeldCodes

    rows = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1)))), dtype=np.int64)
    codes = np.array(
        data.draw(st.lists(st.integers(-1, 2**31 - 2), min_size=len(rows), max_size=len(rows))),
        dtype=np.int32,
    )
    full = np.full(n, -1, dtype=np.int32)
    full[rows] = codes
    held = HeldCodes(rows, codes)
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n)), dtype=np.int64)
    assert held[idx].dtype == np.int32
    assert held[idx].tolist() == full[idx].tolist()
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    at = np.arange(hi - lo)
    q, r = held.block(lo, hi).pair(at, at[::-1])
    assert q.tolist() == full[lo:hi].tolist()
    assert r.tolist() == full[lo:hi][::-1].tolist()


@given(data=st.data(), n=st.integers(1, 40))
def test_held_values_pair_codes_equal_exactly_where_values_are(data: st.DataObject, n: int) -> None:
    """The codes of a pair of row sets, made from the input column when asked, are
    equal exactly where the held values are (null never equal), block by block."""
    from autoops.funnel._compute import HeldValues

    kind = data.draw(st.sampled_from(["int", "float", "huge", "str"]))
    pool = data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=4))
    raw = data.draw(st.lists(st.sampled_from([*pool, None]), min_size=n, max_size=n))
    if kind == "int":
        raw = [0 if v is None else v for v in raw]
        values: Any = np.array(raw, dtype=np.int64)
    elif kind == "float":
        values = np.array([np.nan if v is None else v + 0.5 * (v % 3 == 0) for v in raw])
    elif kind == "huge":  # whole floats a cast to int64 would not keep apart
        big = [1e300, 2e300, np.inf, -np.inf, 2.0**63, 3.0]
        values = np.array([np.nan if v is None else big[v % len(big)] for v in raw])
    else:
        values = np.array([None if v is None else f"o{v}" for v in raw], dtype=object)
    src = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    lo = data.draw(st.integers(0, n - 1))
    hi = data.draw(st.integers(lo + 1, n))
    q = np.array(data.draw(st.lists(st.integers(0, hi - lo - 1), max_size=n)), dtype=np.int64)
    r = np.array(data.draw(st.lists(st.integers(0, hi - lo - 1), max_size=n)), dtype=np.int64)
    cq, cr = HeldValues(values, src).block(lo, hi).pair(q, r)
    vq, vr = values[src[lo:hi][q]], values[src[lo:hi][r]]
    null = (lambda v: v is None or v != v) if kind != "int" else (lambda v: False)
    for i, a in enumerate(vq):
        assert (cq[i] == -1) == null(a)
        for j, b in enumerate(vr):
            assert (cq[i] >= 0 and cq[i] == cr[j]) == (not null(a) and not null(b) and a == b)


def test_unheld_step_after_a_held_one_takes_the_best_start(con: Any) -> None:
    """After a held step, later rows may hold older starts (another order's chain): the
    next, unheld, step must take the maximum over its predecessors, not the last one's."""
    from autoops.funnel import _kernel

    t = np.datetime64("2026-01-01T00:00", "us") + np.arange(5) * np.timedelta64(1, "h")
    ev = {
        "one_id": np.zeros(5, dtype=np.int64),
        "event": np.array(["a", "a", "b", "b", "c"], dtype=object),
        "order": np.array([1.0, 2.0, 2.0, 1.0, np.nan]),
        "ts": t,
    }
    f = Funnel(steps=["a", "b", "c"], hold={"order": [1, 2]}, window="1d")
    seen: list[bool] = []

    def watched(n: int, q_idx: Any, enc: Any, hi: Any, none: int = 0) -> Any:
        seen.append(bool(np.all(enc[1:] >= enc[:-1])))
        return max_through(n, q_idx, enc, hi, none)

    max_through = _kernel._max_through
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "_max_through", watched)
        check_agreement(con, f, ev)
    assert False in seen  # the starts did decrease: the running maximum was needed
    # the chain starts at the second "a" (order 2), the latest start
    assert _engine(f, ev)[0] == {"depth": 3, "chain": [1, 2, 4], "ttc": 3 * 3_600_000_000}


def test_whole_floats_beyond_int64_keep_distinct_hold_codes() -> None:
    """Whole floats that a cast to int64 cannot hold (huge, infinite) are ranked, so
    a hold never takes two of them for one value."""
    from autoops.funnel._compute import _codes

    values = np.array([1e300, 2e300, np.inf, -np.inf, 2.0**63, 3.0, np.nan, 1e300])
    codes = _codes(values).tolist()
    assert codes[6] == -1
    assert len(set(codes[:6])) == 6
    assert codes[7] == codes[0]


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(st.lists(st.integers(-5, 20), max_size=9), min_size=1, max_size=12),
    queries=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 9), st.integers(-6, 21)), max_size=40
    ),
)
def test_first_ge_equals_searchsorted_per_range(
    runs: list[list[int]], queries: list[tuple[int, int, int]]
) -> None:
    """Each range [lo, hi) of sorted runs (empty ones too): the first place with a value
    at least the bound, as ``np.searchsorted`` finds it, else hi."""
    from autoops.funnel._kernel import first_ge

    ts = np.array([v for run in runs for v in sorted(run)], dtype=np.int64)
    starts = np.cumsum([0] + [len(r) for r in runs])
    lo, hi, bound = [], [], []
    for run_pick, cut, b in queries:
        r = run_pick % len(runs)
        a, e = int(starts[r]), int(starts[r + 1])
        lo.append(min(a + cut, e))
        hi.append(e)
        bound.append(b)
    want = [a + int(np.searchsorted(ts[a:e], b)) for a, e, b in zip(lo, hi, bound, strict=True)]
    got = first_ge(
        ts,
        np.array(lo, dtype=np.int64),
        np.array(hi, dtype=np.int64),
        np.array(bound, dtype=np.int64),
    )
    assert got.tolist() == want
