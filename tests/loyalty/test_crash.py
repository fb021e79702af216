"""Writers killed with SIGKILL at random points: after each kill the ledger opens,
verify() is clean, and every transaction (and every earn_many batch) is wholly there or absent."""

from __future__ import annotations

import os
import random
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autoops.loyalty import Ledger, SQLiteStore

from .conftest import DSN, pg_schema, postgres_unavailable
from .procs import needs_fork, start

pytestmark = needs_fork

ROUNDS = 4
PARALLEL = 4


def kill_round(kind: str, where: str, seeds: list[int], rng: random.Random) -> None:
    procs, pipes = start(kind, where, "crash", seeds)
    for pipe in pipes:
        assert pipe.poll(60)  # it has written a few transactions
    for p in sorted(procs, key=lambda _: rng.random()):
        time.sleep(rng.uniform(0.0, 0.12))
        os.kill(p.pid, signal.SIGKILL)
    for p in procs:
        p.join(30)
        assert p.exitcode == -signal.SIGKILL


def check(store: Any) -> int:
    ledger = Ledger(store)
    assert ledger.verify() == []
    with store.session(write=False) as s:
        rows = s.history(None)
    batches = Counter(
        m.group(1) for t in rows if t.key and (m := re.match(r"^(c\d+-\d+)-\d+$", t.key))
    )
    assert set(batches.values()) <= {20}, batches  # an earn_many batch is all or nothing
    for t in rows:
        assert t.moves, t  # no transaction without its lot movements
    return len(rows)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkill_at_random_points(kind: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    if kind == "sqlite":
        where = str(tmp_path / "crash.db")
        SQLiteStore(where).close()
        opener = lambda: SQLiteStore(where)  # noqa: E731
    else:
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        from autoops.loyalty import PostgresStore

        schema = pg_schema()
        where = f"{DSN}|{schema}"
        PostgresStore(DSN, schema=schema).close()
        opener = lambda: PostgresStore(DSN, schema=schema)  # noqa: E731
    seen = 0
    try:
        for r in range(ROUNDS):
            seeds = [r * PARALLEL + i + 1 for i in range(PARALLEL)]
            kill_round(kind, where, seeds, rng)
            store = opener()
            count = check(store)
            store.close()
            assert count > seen  # each round really wrote something
            seen = count
    finally:
        if kind == "postgres":
            store = opener()
            store.drop()
            store.close()
