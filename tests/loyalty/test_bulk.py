"""earn_many: atomic per batch, per-row failures reported, replay-safe (every store)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.errors import IdempotencyConflict, InvalidInput
from autoops.loyalty import Ledger

from .conftest import T0

M = "member-0001"


def test_rows_fail_alone_and_the_rest_is_written(ledger: Ledger) -> None:
    rows = [
        {"member_id": M, "points": 10, "key": "a"},
        {"member_id": M, "points": -1, "key": "b"},
        {"member_id": None, "points": 5, "key": "c"},
        {"member_id": M, "points": 2.5, "key": "d"},
        {"member_id": M, "points": 7, "key": ""},
        {"member_id": "member-0002", "points": 3, "key": "e"},
        {"member_id": M, "points": 10, "key": "a"},  # same key, same payload, same batch
        {"member_id": M, "points": 11, "key": "a"},  # same key, different payload
    ]
    batch = ledger.earn_many(rows, reason="bulk")
    assert batch.status.tolist() == ["earned", "failed", "failed", "failed", "failed", "earned",
                                     "duplicate", "failed"]  # fmt: skip
    assert batch.transaction_id[6] == batch.transaction_id[0]
    assert batch.error[1].startswith("points") and batch.error[2].startswith("member_id")
    assert batch.error[3].startswith("points") and batch.error[4].startswith("key")
    assert batch.error[7].startswith("key")
    assert ledger.balance(M).available == 10 and ledger.balance("member-0002").available == 3
    again = ledger.earn_many(rows[:1] + rows[5:6], reason="bulk")
    assert again.status.tolist() == ["duplicate", "duplicate"]
    assert ledger.earn(M, 10, reason="bulk", key="a").id == batch.transaction_id[0]
    assert ledger.verify() == []


def test_columns_from_pandas_and_polars(ledger: Ledger) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    df = pd.DataFrame({"member_id": [M, M], "points": [1, 2], "key": ["p1", "p2"],
                       "occurred_at": pd.to_datetime([T0, T0]).tz_convert("Asia/Shanghai")})  # fmt: skip
    assert ledger.earn_many(df, reason="x").summary()["earned"] == 2
    frame = pl.DataFrame({"member_id": [M], "points": [4], "key": ["p3"]})
    assert ledger.earn_many(frame, reason="x").summary()["earned"] == 1
    assert ledger.balance(M).available == 7


def test_batch_is_atomic(ledger: Ledger) -> None:
    def fault(tx: Any) -> None:
        if tx.key == "k3":
            raise RuntimeError("crash in the middle of the batch")

    ledger.store.fault = fault
    rows = {"member_id": [M] * 5, "points": np.arange(1, 6), "key": [f"k{i}" for i in range(5)]}
    with pytest.raises(RuntimeError):
        ledger.earn_many(rows, reason="x")
    ledger.store.fault = None
    assert ledger.history(M) == []
    assert ledger.earn_many(rows, reason="x").summary()["earned"] == 5
    assert ledger.balance(M).available == 15


def test_debt_is_repaid_and_locks_apply(ledger: Ledger) -> None:
    e = ledger.earn(M, 10, reason="x", key="a")
    ledger.redeem(M, 10, reason="x", key="b")
    ledger.reverse(e.id, key="c", policy="debt")
    assert ledger.balance(M).debt == 10
    batch = ledger.earn_many({"member_id": [M, M], "points": [4, 20], "key": ["d", "e"],
                              "locked_until": np.array([None, None], dtype=object)}, reason="x")  # fmt: skip
    assert batch.summary()["earned"] == 2
    b = ledger.balance(M)
    assert (b.available, b.debt) == (14, 0)
    locked = ledger.earn_many({"member_id": [M], "points": [5], "key": ["f"],
                               "locked_until": [T0 + timedelta(days=7)]}, reason="x")  # fmt: skip
    assert locked.summary()["earned"] == 1 and ledger.balance(M).locked == 5
    assert ledger.verify() == []


def test_growth_account_and_bad_columns(ledger: Ledger) -> None:
    ledger.earn_many({"member_id": [M], "points": [3], "key": ["g"]}, reason="x", account="growth")
    assert ledger.growth_value(M) == 3 and ledger.balance(M).available == 0
    with pytest.raises(InvalidInput) as info:
        ledger.earn_many({"member_id": [M], "key": ["x"]}, reason="x")
    assert info.value.field == "points"
    with pytest.raises(InvalidInput):
        ledger.earn_many({"member_id": [M], "points": [1], "key": ["x"]})  # no reason


def test_bulk_rows_match_single_earns(ledger: Ledger, clock: Any) -> None:
    """A bulk row stores what earn() stores, and each replays the other by key."""
    odd = "tab\there, back\\slash,\nnew line"
    at, lock = T0 - timedelta(hours=3), T0 + timedelta(days=7)
    rows = {"member_id": [M, "member-0002", M], "points": [5, 6, 7], "key": ["b1", "b2", "b3"],
            "reason": [odd, "plain", "plain"], "occurred_at": [at, at, T0],
            "locked_until": np.array([lock, None, None], dtype=object)}  # fmt: skip
    batch = ledger.earn_many(rows, policy="30d")
    assert batch.status.tolist() == ["earned"] * 3
    single = ledger.earn(
        M, 5, reason=odd, key="b1", occurred_at=at, locked_until=lock, policy="30d"
    )
    assert single.id == batch.transaction_id[0]
    assert single.reason == odd and single.unlock_at == lock and single.occurred_at == at
    assert single.expires_at is not None and single.expires_at > lock
    plain = ledger.earn("member-0002", 6, reason="plain", key="b2", occurred_at=at, policy="30d")
    assert plain.id == batch.transaction_id[1] and plain.unlock_at is None
    # the other way round: a single earn replayed through earn_many is a duplicate
    one = ledger.earn(M, 9, reason="x", key="s1")
    again = ledger.earn_many([{"member_id": M, "points": 9, "key": "s1", "reason": "x"}])
    assert again.status.tolist() == ["duplicate"] and again.transaction_id[0] == one.id
    b = ledger.balance(M)
    assert (b.available, b.locked) == (7 + 9, 5)
    assert ledger.verify() == []


def test_repeats_are_judged_against_what_the_key_holds(ledger: Ledger) -> None:
    ledger.earn(M, 10, reason="x", key="taken")
    rows = [{"member_id": M, "points": 3, "key": "taken"},  # conflicts with the ledger
            {"member_id": M, "points": 3, "key": "taken"},  # repeats row 0: fails with it
            {"member_id": M, "points": 4, "key": "new"},
            {"member_id": M, "points": 4, "key": "new"}]  # fmt: skip
    batch = ledger.earn_many(rows, reason="x")
    assert batch.status.tolist() == ["failed", "failed", "earned", "duplicate"]
    assert batch.error[0] == batch.error[1] == "key: already used with a different payload"
    assert batch.transaction_id[3] == batch.transaction_id[2] is not None
    assert ledger.balance(M).available == 14 and ledger.verify() == []


def test_large_batch_replays_and_half_new(ledger: Ledger) -> None:
    n = 3000
    members = np.array([f"member-{i % 97:04d}" for i in range(n)], dtype=object)
    rows = {"member_id": members, "points": np.arange(1, n + 1), "key": [f"k{i}" for i in range(n)]}
    first = ledger.earn_many(rows, reason="x")
    assert (first.status == "earned").all() and len(set(first.transaction_id)) == n
    rows2 = {"member_id": members, "points": np.arange(1, n + 1),
             "key": [f"k{i}" if i % 2 else f"n{i}" for i in range(n)]}  # fmt: skip
    second = ledger.earn_many(rows2, reason="x")
    odd = np.arange(n) % 2 == 1
    assert (second.status[odd] == "duplicate").all() and (second.status[~odd] == "earned").all()
    assert (second.transaction_id[odd] == first.transaction_id[odd]).all()
    total = sum(ledger.balance(f"member-{m:04d}").available for m in range(97))
    assert total == n * (n + 1) // 2 + int(np.arange(1, n + 1)[~odd].sum())
    assert ledger.redeem("member-0000", 5, reason="x", key="r").delta == -5  # a known member
    assert ledger.verify() == []


def test_empty_batch_and_keys_repeated_far_apart(ledger: Ledger) -> None:
    empty = ledger.earn_many({"member_id": [], "points": [], "key": []}, reason="x")
    assert len(empty.status) == 0 and ledger.verify() == []
    keys = ["a", "b", "a", "c", "b", "a"]
    batch = ledger.earn_many({"member_id": [M] * 6, "points": [1, 2, 1, 3, 9, 1], "key": keys},
                             reason="x")  # fmt: skip
    assert batch.status.tolist() == ["earned", "earned", "duplicate", "earned", "failed",
                                     "duplicate"]  # fmt: skip
    assert batch.error[4] == "key: repeats row 1 with a different payload"
    assert batch.transaction_id[2] == batch.transaction_id[5] == batch.transaction_id[0]
    assert ledger.balance(M).available == 6


ROW = st.fixed_dictionaries({
    "member_id": st.sampled_from([M, "member-0002", "member-0003", "", None]),
    "points": st.sampled_from([1, 2, 3, 5, 0, -1, 2.5]),
    "key": st.sampled_from(["k0", "k1", "k2", "k3", "k4"]),
})  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=12), debt=st.booleans())
def test_a_batch_equals_the_same_earns_one_by_one(rows: list[dict[str, Any]], debt: bool) -> None:
    """Reference: earn() row by row, in order, on a second ledger with the same history."""
    bulk, single = Ledger(clock=lambda: T0), Ledger(clock=lambda: T0)
    for ledger in (bulk, single):
        ledger.earn(M, 2, reason="x", key="k0")  # an existing key: replays and conflicts
        if debt:  # M owes 3: the batch's points repay it first
            e = ledger.earn(M, 3, reason="x", key="d")
            ledger.redeem(M, 5, reason="x", key="r")
            ledger.reverse(e.id, key="rev", policy="debt")
    batch = bulk.earn_many(rows, reason="x")
    expected, ids = [], []
    for row in rows:
        try:
            tx = single.earn(row["member_id"], row["points"], reason="x", key=row["key"])
        except (InvalidInput, IdempotencyConflict):
            expected.append("failed")
            ids.append(None)
            continue
        seen = tx.id in ids or tx.key == "k0"
        expected.append("duplicate" if seen else "earned")
        ids.append(tx.id)
    assert batch.status.tolist() == expected
    first = {}  # the same transaction for the same rows, in both ledgers
    for got, want in zip(batch.transaction_id.tolist(), ids, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert first.setdefault(want, got) == got
    for m in (M, "member-0002", "member-0003"):
        assert bulk.balance(m) == single.balance(m)
        earns = [
            [(t.kind, t.points) for t in x.history(m) if t.kind != "repay"] for x in (bulk, single)
        ]
        assert earns[0] == earns[1]  # a batch repays debt once per member, after its earns
        assert sum(t.delta for t in bulk.history(m)) == sum(t.delta for t in single.history(m))
    assert bulk.verify() == [] and single.verify() == []
