"""The funnel's row ordering: buckets ordered by time when the log is not."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from autoops.funnel import Funnel, compute
from autoops.funnel._columns import _radix


@given(
    st.lists(st.integers(-(2**62) + 1, 2**62 - 1), max_size=50),  # spans below 2**63
    st.sampled_from([1, 3, 2**40, 2**62]),
)
def test_a_bucket_time_order_is_a_stable_argsort(values: list[int], spread: int) -> None:
    # a bucket is ordered by its times less their minimum: small spreads pack (time,
    # position) into one key, wide ones take the two-step or rank paths
    t = np.asarray([v % spread for v in values] if spread < 2**62 else values, dtype=np.int64)
    if len(t):
        assert _radix(None, t - t.min()).tolist() == np.argsort(t, kind="stable").tolist()


def test_a_shuffled_log_spanning_centuries_equals_the_time_ordered_one() -> None:
    rng = np.random.default_rng(3)
    n = 5_000
    ts = rng.integers(-(2**60), 2**60, n)  # µs offsets over some 70,000 years
    ts[: n // 2] = rng.integers(0, 10, n // 2)  # and many ties
    ev = {
        "one_id": rng.integers(0, 300, n),
        "event": rng.choice(["a", "b", "c", "x"], n),
        "ts": np.datetime64("2000-01-01", "us") + ts.astype("timedelta64[us]"),
    }
    by_time = np.argsort(ev["ts"], kind="stable")
    f = Funnel(steps=["a", "b", "c"], window="36500d")
    shuffled = compute(f, ev)
    ordered = compute(f, {k: v[by_time] for k, v in ev.items()})
    assert shuffled.depth.tolist() == ordered.depth.tolist()
    assert shuffled.units.tolist() == ordered.units.tolist()
    got = shuffled.chain_row >= 0
    assert np.array_equal(got, ordered.chain_row >= 0)
    assert shuffled.chain_row[got].tolist() == by_time[ordered.chain_row[got]].tolist()


def test_a_text_tie_column_orders_like_its_ranks() -> None:
    # equal times are ordered by the tie column inside each bucket (np.lexsort), whatever
    # its type: ingestion ids as text give the order of their ranks
    rng = np.random.default_rng(5)
    n = 2_000
    ev = {
        "one_id": rng.integers(0, 50, n),
        "event": rng.choice(["a", "b", "c"], n),
        "ts": np.datetime64("2026-01-01", "us") + rng.integers(0, 3, n).astype("timedelta64[m]"),
    }
    rank = rng.permutation(n)
    text = np.array([f"id-{r:05d}" for r in rank], dtype=object)
    f = Funnel(steps=["a", "b", "c"], window="10min", order="strict")
    by_text = compute(f, dict(ev, seq=text), seq="seq")
    by_rank = compute(f, dict(ev, seq=rank), seq="seq")
    assert by_text.depth.tolist() == by_rank.depth.tolist()
    assert by_text.chain_row.tolist() == by_rank.chain_row.tolist()
    assert by_text.plan.source_row.tolist() == by_rank.plan.source_row.tolist()
