"""earn_many: atomic per batch, per-row failures reported, replay-safe (every store)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from autoops.errors import InvalidInput
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
