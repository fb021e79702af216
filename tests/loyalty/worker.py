"""Ledger worker processes for the concurrency and crash tests.

The tests fork children that call :func:`run` (fast: nothing is re-imported;
each child opens its own connection). It also runs as a script for manual
experiments: ``worker.py STORE TARGET SCENARIO INDEX SYNC_DIR [SEED]`` where
STORE is sqlite or postgres and TARGET a file path or "DSN|schema".
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoops.errors import InsufficientPoints, LedgerError
from autoops.loyalty import Ledger, SQLiteStore


def open_store(kind: str, target: str) -> Any:
    if kind == "sqlite":
        return SQLiteStore(target, durability="normal")
    from autoops.loyalty import PostgresStore

    dsn, schema = target.split("|")
    return PostgresStore(dsn, schema=schema)


def wait_for_go(sync: Path, index: int) -> None:
    (sync / f"ready-{index}").touch()
    while not (sync / "go").exists():
        time.sleep(0.002)


def _print(**row: Any) -> None:
    sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()


def main() -> None:
    kind, target, scenario, index, sync = sys.argv[1:6]
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    run(
        kind,
        target,
        scenario,
        int(index),
        seed,
        lambda: wait_for_go(Path(sync), int(index)),
        _print,
    )


def run(
    kind: str,
    target: str,
    scenario: str,
    i: int,
    seed: int,
    ready: Callable[[], None],
    emit: Callable[..., None],
) -> None:
    ledger = Ledger(open_store(kind, target))
    ready()
    if scenario == "redeem100":
        try:
            tx = ledger.redeem("member-0001", 100, reason="mall", key=f"redeem-{i}")
            emit(ok=tx.id)
        except InsufficientPoints as exc:
            emit(insufficient=exc.available)
    elif scenario == "replay":
        for _ in range(13):
            emit(ok=ledger.earn("member-0002", 7, reason="replay", key="same-key").id)
    elif scenario == "mixed":
        rng = random.Random(seed * 1000 + i)
        for _ in range(15):
            member = f"member-{rng.randrange(4):04d}"
            n = rng.randrange(30)
            op = rng.random()
            key = f"{member}-{n}"
            try:
                if op < 0.5:  # shared key pool: the payload is a function of the key
                    tx = ledger.earn(member, 10 + n, reason="mixed", key=f"earn-{key}")
                    emit(op="earn", key=f"earn-{key}", id=tx.id, points=tx.points)
                elif op < 0.85:
                    tx = ledger.redeem(member, 5 + n, reason="mixed", key=f"redeem-{key}")
                    emit(op="redeem", key=f"redeem-{key}", id=tx.id, points=tx.points)
                else:
                    hold = ledger.hold(member, 3 + n, key=f"hold-{key}-{i}")
                    tx = ledger.capture(hold.id, 1 + n // 2)
                    emit(op="capture", key=tx.id, id=tx.id, points=tx.points)
            except (InsufficientPoints, LedgerError) as exc:
                emit(op="refused", error=type(exc).__name__)
    elif scenario == "crash":
        rng = random.Random(seed)
        n = 0
        while True:
            n += 1
            member = f"member-{rng.randrange(3):04d}"
            choice = rng.random()
            try:
                if choice < 0.4:
                    ledger.earn(member, rng.randrange(1, 50), reason="crash", key=f"c{seed}-{n}")
                elif choice < 0.6:
                    ledger.earn_many(
                        [
                            {"member_id": member, "points": 5, "key": f"c{seed}-{n}-{j}"}
                            for j in range(20)
                        ],
                        reason="bulk",
                    )
                elif choice < 0.8:
                    ledger.redeem(member, rng.randrange(1, 30), reason="crash", key=f"r{seed}-{n}")
                else:
                    hold = ledger.hold(member, rng.randrange(1, 20), key=f"h{seed}-{n}")
                    ledger.capture(hold.id, 1)
            except (InsufficientPoints, LedgerError):
                pass
            if n == 3:
                emit(started=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
