"""Loyalty ledger benchmark: ledger overhead against a bare INSERT, and a monthly expiry run.

Run ``python benchmarks/bench_loyalty.py`` (``--quick`` for small sizes,
``--no-postgres`` to skip PostgreSQL). Every ratio compares two timings taken
in the same run on the same database with the same durability setting:

* single-operation ``earn`` / ``redeem`` (one transaction each) against a bare
  ``INSERT`` of one row per transaction;
* ``earn_many`` of N rows (one transaction) against a bare ``executemany``
  ``INSERT`` of the same N rows in one transaction;
* the expiry run of a ledger with M members (one lot each, expiries spread
  over twelve months, so about M/12 lots fall due) — time and peak memory.

PostgreSQL runs at ``AUTOOPS_TEST_POSTGRES_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``) with the server's default
``synchronous_commit=on``; SQLite uses WAL with ``synchronous=FULL`` (the
default) and ``NORMAL``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from autoops.loyalty import Ledger, SQLiteStore
from autoops.loyalty._rows import NEVER, to_us

DSN = os.environ.get("AUTOOPS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
COLS = 19


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_row(i: int) -> tuple[Any, ...]:
    us = to_us(T0)
    return (f"tx_{i:012d}", f"member-{i % 1000:06d}", "points", "earn", 10, 10, 0, 0, "bench",
            "system", f"bare-{i}", "0" * 32, us, us, NEVER, None, None, None, "[]")  # fmt: skip


BARE_DDL = (
    "CREATE TABLE bare (id TEXT, member_id TEXT, account TEXT, kind TEXT, points BIGINT, "
    "delta BIGINT, debt_change BIGINT, shortfall BIGINT, reason TEXT, actor TEXT, key TEXT, "
    "payload TEXT, created_at BIGINT, occurred_at BIGINT, expires_at BIGINT, unlock_at BIGINT, "
    "reverses TEXT, hold_id TEXT, moves TEXT)"
)


def sqlite_rows(durability: str, ops: int, batch: int) -> list[list[Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(os.path.join(tmp, "ledger.db"), durability=durability)
        ledger = Ledger(store)
        raw = sqlite3.connect(os.path.join(tmp, "ledger.db"), isolation_level=None)
        raw.execute(f"PRAGMA synchronous={durability.upper()}")
        raw.execute(BARE_DDL)
        marks = ",".join("?" * COLS)

        def bare_single() -> None:
            for i in range(ops):
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(f"INSERT INTO bare VALUES ({marks})", bare_row(i))
                raw.execute("COMMIT")

        def earn_single() -> None:
            for i in range(ops):
                ledger.earn(f"member-{i % 1000:06d}", 10, reason="bench", key=f"e-{i}")

        def redeem_single() -> None:
            for i in range(ops):
                ledger.redeem(f"member-{i % 1000:06d}", 1, reason="bench", key=f"r-{i}")

        t_bare = timed(bare_single)
        t_earn = timed(earn_single)
        t_redeem = timed(redeem_single)
        rows.append([f"sqlite {durability}", "earn (1 op/txn)", ops, ops / t_earn, t_earn / t_bare])
        rows.append(
            [f"sqlite {durability}", "redeem (1 op/txn)", ops, ops / t_redeem, t_redeem / t_bare]
        )

        many = {
            "member_id": np.array([f"member-{i % 50_000:06d}" for i in range(batch)], dtype=object),
            "points": np.full(batch, 10, dtype=np.int64),
            "key": np.array([f"m-{i}" for i in range(batch)], dtype=object),
        }
        bare_rows = [bare_row(10**9 + i) for i in range(batch)]

        def bare_many() -> None:
            raw.execute("BEGIN IMMEDIATE")
            raw.executemany(f"INSERT INTO bare VALUES ({marks})", bare_rows)
            raw.execute("COMMIT")

        t_bare_many = timed(bare_many)
        t_many = timed(lambda: ledger.earn_many(many, reason="bench"))
        rows.append(
            [
                f"sqlite {durability}",
                "earn_many (1 txn)",
                batch,
                batch / t_many,
                t_many / t_bare_many,
            ]
        )
        raw.close()
        store.close()
    return rows


def postgres_rows(ops: int, batch: int) -> list[list[Any]]:
    import psycopg

    from autoops.loyalty import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store = PostgresStore(DSN, schema=schema)
    ledger = Ledger(store)
    raw = psycopg.connect(DSN, autocommit=False)
    rows = []
    try:
        with raw.cursor() as cur:
            cur.execute(f"SET search_path TO {schema}")
            cur.execute(BARE_DDL)
        raw.commit()
        marks = ",".join(["%s"] * COLS)

        def bare_single() -> None:
            with raw.cursor() as cur:
                for i in range(ops):
                    cur.execute(f"INSERT INTO bare VALUES ({marks})", bare_row(i))
                    raw.commit()

        t_bare = timed(bare_single)
        t_earn = timed(lambda: [ledger.earn(f"member-{i % 1000:06d}", 10, reason="bench", key=f"e-{i}")
                                for i in range(ops)])  # fmt: skip
        t_redeem = timed(lambda: [ledger.redeem(f"member-{i % 1000:06d}", 1, reason="bench", key=f"r-{i}")
                                  for i in range(ops)])  # fmt: skip
        rows.append(["postgres", "earn (1 op/txn)", ops, ops / t_earn, t_earn / t_bare])
        rows.append(["postgres", "redeem (1 op/txn)", ops, ops / t_redeem, t_redeem / t_bare])
        many = {
            "member_id": np.array([f"member-{i % 50_000:06d}" for i in range(batch)], dtype=object),
            "points": np.full(batch, 10, dtype=np.int64),
            "key": np.array([f"m-{i}" for i in range(batch)], dtype=object),
        }
        bare_rows = [bare_row(10**9 + i) for i in range(batch)]

        def bare_many() -> None:
            with raw.cursor() as cur:
                cur.executemany(f"INSERT INTO bare VALUES ({marks})", bare_rows)
            raw.commit()

        t_bare_many = timed(bare_many)
        t_many = timed(lambda: ledger.earn_many(many, reason="bench"))
        rows.append(["postgres", "earn_many (1 txn)", batch, batch / t_many, t_many / t_bare_many])
    finally:
        raw.close()
        store.drop()
        store.close()
    return rows


def expiry_run(members: int) -> list[Any]:
    """Build an M-member SQLite ledger directly in SQL, then time ``Ledger.expire``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "expiry.db")
        SQLiteStore(path, durability="normal").close()
        conn = sqlite3.connect(path, isolation_level=None)
        rng = np.random.default_rng(0)
        month = rng.integers(0, 12, members)
        earned = to_us(T0 - timedelta(days=400))
        expires = [
            to_us(T0 + timedelta(days=31 * int(m)) - timedelta(seconds=1)) + 1 for m in month
        ]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO tx (id, member_id, account, kind, points, delta, debt_change, shortfall, reason, "
            "actor, key, payload, created_at, occurred_at, expires_at, unlock_at, reverses, hold_id, moves) "
            "VALUES (?, ?, 'points', 'earn', 100, 100, 0, 0, 'seed', 'system', ?, NULL, ?, ?, ?, NULL, "
            "NULL, NULL, ?)",
            ((f"tx_{i}", f"member-{i:07d}", f"seed-{i}", earned, earned, expires[i], f'[["tx_{i}",100,0]]')
             for i in range(members)),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO lot VALUES (?, ?, 'points', ?, ?, ?, 100, 100, 0)",
            ((f"tx_{i}", f"member-{i:07d}", earned, earned, expires[i]) for i in range(members)),
        )
        conn.executemany("INSERT INTO member (member_id, debt) VALUES (?, 0)",
                         ((f"member-{i:07d}",) for i in range(members)))  # fmt: skip
        conn.execute("COMMIT")
        conn.close()
        child = subprocess.run(
            [sys.executable, "-c", EXPIRE_CHILD, path, str(to_us(T0 + timedelta(days=1)))],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, expired_members, total, base, peak, again = json.loads(child.stdout)
        return [members, expired_members, total, seconds, base, peak, again]


EXPIRE_CHILD = """
import json, resource, sys, time
from autoops.loyalty import Ledger, SQLiteStore
from autoops.loyalty._rows import from_us
ledger = Ledger(SQLiteStore(sys.argv[1], durability="normal"))
def rss():
    # VmHWM (peak RSS of this address space; ru_maxrss would carry the forking parent's peak)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss()
start = time.perf_counter()
report = ledger.expire(from_us(int(sys.argv[2])))
seconds = time.perf_counter() - start
peak = rss()
again = ledger.expire(from_us(int(sys.argv[2]))).total
print(json.dumps([seconds, len(report.member_id), report.total, base, peak, again]))
"""


def show(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[f"{c:,.2f}" if isinstance(c, float) else f"{c:,}" if isinstance(c, int) else str(c)
              for c in row] for row in rows]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    ops, batch, members = (200, 10_000, 50_000) if args.quick else (2_000, 100_000, 1_000_000)
    rows = sqlite_rows("full", ops, batch) + sqlite_rows("normal", ops, batch)
    if not args.no_postgres:
        try:
            rows += postgres_rows(ops // 2, batch)
        except Exception as exc:
            print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
    print("Ledger throughput; ratio = ledger time / bare INSERT time (same db, same durability)\n")
    show(["store", "operation", "rows", "rows/s", "x bare insert"], rows)
    print("\nMonthly expiry run (SQLite, synchronous=NORMAL; ~1/12 of the lots due)\n")
    show(["members", "members expired", "points expired", "seconds", "RSS after import MB",
          "peak RSS MB", "second run"], [expiry_run(members)])  # fmt: skip


if __name__ == "__main__":
    main()
