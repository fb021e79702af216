"""Eight processes at once on one ledger (SQLite file and PostgreSQL): no overdraft,
no lost update, no duplicate effect for a repeated key; verify() clean; totals reconcile."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from autoops.loyalty import Ledger, SQLiteStore

from .conftest import DSN, pg_schema, postgres_unavailable
from .procs import collect, needs_fork, start

pytestmark = needs_fork

PROCS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        path = str(tmp_path / "ledger.db")
        yield "sqlite", path, SQLiteStore(path)
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    from autoops.loyalty import PostgresStore

    schema = pg_schema()
    store = PostgresStore(DSN, schema=schema)
    yield "postgres", f"{DSN}|{schema}", store
    store.drop()
    store.close()


def run_workers(kind: str, where: str, scenario: str, seed: int = 0) -> list[list[dict[str, Any]]]:
    procs, pipes = start(kind, where, scenario, [seed] * PROCS)
    return collect(procs, pipes)


def test_eight_redeemers_on_500_points(target: Any, tmp_path: Path) -> None:
    kind, where, store = target
    ledger = Ledger(store)
    ledger.earn("member-0001", 500, reason="seed", key="seed")
    results = [row for rows in run_workers(kind, where, "redeem100") for row in rows]
    assert sum("ok" in r for r in results) == 5
    assert [r["insufficient"] for r in results if "insufficient" in r] == [0, 0, 0]
    assert ledger.balance("member-0001").available == 0
    assert ledger.verify() == []


def test_same_key_replayed_concurrently_gives_one_transaction(target: Any, tmp_path: Path) -> None:
    kind, where, store = target
    results = [row for rows in run_workers(kind, where, "replay") for row in rows]
    assert len(results) == PROCS * 13
    assert len({r["ok"] for r in results}) == 1
    ledger = Ledger(store)
    assert len(ledger.history("member-0002")) == 1
    assert ledger.balance("member-0002").available == 7


def test_mixed_operations_reconcile(target: Any, tmp_path: Path) -> None:
    kind, where, store = target
    ledger = Ledger(store)
    for m in range(4):
        ledger.earn(f"member-{m:04d}", 200, reason="seed", key=f"seed-{m}")
    results = [row for rows in run_workers(kind, where, "mixed", seed=3) for row in rows]
    by_key: dict[str, set[str]] = defaultdict(set)
    effect = 0
    for r in results:
        if r["op"] == "refused":
            continue
        by_key[r["key"]].add(r["id"])
    assert all(len(ids) == 1 for ids in by_key.values())  # a repeated key never doubles
    done = {r["key"]: r for r in results if r["op"] != "refused"}
    for r in done.values():
        effect += r["points"] if r["op"] == "earn" else -r["points"]
    balances = sum(ledger.balance(f"member-{m:04d}").available for m in range(4))
    assert balances == 800 + effect
    history = [t for m in range(4) for t in ledger.history(f"member-{m:04d}")]
    assert len(
        [t for t in history if t.key is not None and t.key.startswith(("earn-", "redeem-"))]
    ) == len([k for k in done if k.startswith(("earn-", "redeem-"))])
    assert all(ledger.balance(f"member-{m:04d}").available >= 0 for m in range(4))
    assert ledger.verify() == []
