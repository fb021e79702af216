"""Loyalty ledger benchmark: ledger overhead against a bare INSERT, and a monthly expiry run.

Run ``python benchmarks/bench_loyalty.py`` (``--quick`` for small sizes,
``--no-postgres`` to skip PostgreSQL, ``--reps`` timed repetitions, median
reported). Every ratio compares timings taken in the same run on the same
database with the same durability and connection settings and the same
transaction mode.

What "bare INSERT" means here (the baseline is the ledger's own output):

* ``earn_many`` of N rows (one transaction) writes N ``tx`` rows (19 columns)
  and N ``lot`` rows (9 columns). After each timed batch the benchmark reads
  back exactly those rows and inserts the *same values* into index-free,
  constraint-free tables with the same columns (``bare_tx``, ``bare_lot``),
  in one transaction: ``executemany`` on SQLite; on PostgreSQL both
  ``executemany`` INSERT and ``COPY`` (the ledger itself uses ``COPY``).
  The same rows are also inserted into a copy of the ledger's schema (its
  primary keys, unique keys, indexes and checks): "schema insert" separates
  the cost of the indexes the ledger's queries need from the cost of its
  code (validation, idempotency payloads, duplicate-key lookup, locks).
* single-operation ``earn`` / ``redeem``: one transaction per operation
  against a bare INSERT of one ``tx``-shaped and one ``lot``-shaped row per
  transaction.
* the expiry run of a ledger with M members (one lot each, expiries spread
  over twelve months, so about M/12 lots fall due): time and peak memory.

PostgreSQL runs at ``AUTOOPS_TEST_POSTGRES_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``) with the server's default
``synchronous_commit=on``; SQLite uses WAL with ``synchronous=FULL`` (the
default) and ``NORMAL``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
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
from autoops.loyalty._sql import LOT_COLUMNS, TX_COLUMNS, Dialect, schema

DSN = os.environ.get("AUTOOPS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TX_N, LOT_N = len(TX_COLUMNS.split(",")), len(LOT_COLUMNS.split(","))
BARE_DDL = [
    f"CREATE TABLE bare_tx ({', '.join(c + ' TEXT' for c in TX_COLUMNS.split(', '))})",
    f"CREATE TABLE bare_lot ({', '.join(c + ' TEXT' for c in LOT_COLUMNS.split(', '))})",
]
TYPES = {"points", "delta", "debt_change", "shortfall", "created_at", "occurred_at", "expires_at",
         "unlock_at", "earned_at", "original", "open", "held", "seq"}  # fmt: skip


def bare_ddl() -> list[str]:
    """Index-free tables with the ledger's columns and column types."""
    out = []
    for ddl in BARE_DDL:
        for name in TYPES:
            ddl = ddl.replace(f"{name} TEXT", f"{name} BIGINT").replace("seq BIGINT", "seq BIGINT")
        out.append(ddl)
    return out


def schema_copy(d: Dialect, prefix: str) -> list[str]:
    """The ledger's own DDL for tx and lot, renamed (indexes, keys and checks included)."""
    out = []
    for ddl in schema(d):
        if " tx " in ddl or " tx (" in ddl or " lot " in ddl or " lot (" in ddl:
            ddl = ddl.replace(" tx ", f" {prefix}tx ").replace(" tx (", f" {prefix}tx (")
            ddl = ddl.replace(" lot ", f" {prefix}lot ").replace(" lot (", f" {prefix}lot (")
            for index in ("tx_member", "tx_reverses", "lot_member", "lot_due"):
                ddl = ddl.replace(f"EXISTS {index} ", f"EXISTS {prefix}{index} ")
            out.append(ddl)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> float:
    start = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - start


def single_rows(i: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """One earn's tx and lot rows, shaped like the ledger's."""
    us = to_us(T0)
    tx_id, member = f"tx_{uuid.uuid4().hex[:20]}{i:012x}", f"member-{i % 1000:06d}"
    tx = (tx_id, member, "points", "earn", 10, 10, 0, 0, "bench", "system", f"bare-{i}",
          "0" * 32, us, us, NEVER, None, None, None, f'[["{tx_id}",10,0]]')  # fmt: skip
    return tx, (tx_id, member, "points", us, us, NEVER, 10, 10, 0)


def batch_columns(batch: int, rep: int) -> dict[str, Any]:
    return {
        "member_id": np.array([f"member-{i % 50_000:06d}" for i in range(batch)], dtype=object),
        "points": np.full(batch, 10, dtype=np.int64),
        "key": np.array([f"m{rep}-{i}" for i in range(batch)], dtype=object),
    }


def ratio_rows(label: str, batch: int, times: dict[str, list[float]]) -> list[list[Any]]:
    t = {k: median(v) for k, v in times.items()}
    ledger = t["ledger"]
    out = [[label, "earn_many (1 txn)", batch, batch / ledger, ledger / t["bare INSERT"],
            ledger / t["schema INSERT"], t["schema INSERT"] / t["bare INSERT"]]]  # fmt: skip
    if "bare COPY" in t:
        out.append([label, "  ... vs bare COPY", batch, batch / t["bare COPY"],
                    ledger / t["bare COPY"], ledger / t["schema COPY"],
                    t["schema COPY"] / t["bare COPY"]])  # fmt: skip
    return out


def sqlite_rows(durability: str, ops: int, batch: int, reps: int) -> list[list[Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ledger.db")
        store = SQLiteStore(path, durability=durability)
        ledger = Ledger(store)
        raw = sqlite3.connect(path, isolation_level=None)
        for pragma in store._pragmas:  # the same connection settings as the ledger's
            raw.execute(pragma)
        for ddl in bare_ddl() + schema_copy(Dialect(), "s_"):
            raw.execute(ddl)
        tx_marks, lot_marks = ",".join("?" * TX_N), ",".join("?" * LOT_N)

        def bare_single() -> None:
            for i in range(ops):
                tx, lot = single_rows(i)
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(f"INSERT INTO bare_tx ({TX_COLUMNS}) VALUES ({tx_marks})", tx)
                raw.execute(f"INSERT INTO bare_lot ({LOT_COLUMNS}) VALUES ({lot_marks})", lot)
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
        label = f"sqlite {durability}"
        rows.append([label, "earn (1 op/txn)", ops, ops / t_earn, t_earn / t_bare, "", ""])
        rows.append([label, "redeem (1 op/txn)", ops, ops / t_redeem, t_redeem / t_bare, "", ""])

        times: dict[str, list[float]] = {"ledger": [], "bare INSERT": [], "schema INSERT": []}
        for rep in range(reps):
            many = batch_columns(batch, rep)
            reason = f"bench-many-{rep}"
            times["ledger"].append(timed(ledger.earn_many, many, reason=reason))
            tx_rows = raw.execute(
                f"SELECT {TX_COLUMNS} FROM tx WHERE reason = ?", (reason,)
            ).fetchall()
            lot_rows = raw.execute(f"SELECT {LOT_COLUMNS} FROM lot WHERE id IN "
                                   "(SELECT id FROM tx WHERE reason = ?)", (reason,)).fetchall()  # fmt: skip
            assert len(tx_rows) == len(lot_rows) == batch

            def insert(prefix: str, tx_rows: list[Any], lot_rows: list[Any]) -> None:
                raw.execute("BEGIN IMMEDIATE")
                raw.executemany(
                    f"INSERT INTO {prefix}tx ({TX_COLUMNS}) VALUES ({tx_marks})", tx_rows
                )
                raw.executemany(
                    f"INSERT INTO {prefix}lot ({LOT_COLUMNS}) VALUES ({lot_marks})", lot_rows
                )
                raw.execute("COMMIT")  # fmt: skip

            times["bare INSERT"].append(timed(insert, "bare_", tx_rows, lot_rows))
            times["schema INSERT"].append(timed(insert, "s_", tx_rows, lot_rows))
        rows += ratio_rows(label, batch, times)
        raw.close()
        store.close()
    return rows


def postgres_rows(ops: int, batch: int, reps: int) -> list[list[Any]]:
    import psycopg

    from autoops.loyalty import PostgresStore
    from autoops.loyalty._postgres import _PgDialect

    schema_name = f"bench_{uuid.uuid4().hex[:10]}"
    store = PostgresStore(DSN, schema=schema_name)
    ledger = Ledger(store)
    raw = psycopg.connect(DSN, autocommit=False)
    rows = []
    try:
        with raw.cursor() as cur:
            cur.execute(f"SET search_path TO {schema_name}")
            for ddl in bare_ddl() + schema_copy(_PgDialect(), "s_"):
                cur.execute(ddl)
        raw.commit()
        tx_marks, lot_marks = ",".join(["%s"] * TX_N), ",".join(["%s"] * LOT_N)

        def bare_single() -> None:
            with raw.cursor() as cur:
                for i in range(ops):
                    tx, lot = single_rows(i)
                    cur.execute(f"INSERT INTO bare_tx ({TX_COLUMNS}) VALUES ({tx_marks})", tx)
                    cur.execute(f"INSERT INTO bare_lot ({LOT_COLUMNS}) VALUES ({lot_marks})", lot)
                    raw.commit()

        t_bare = timed(bare_single)
        t_earn = timed(lambda: [ledger.earn(f"member-{i % 1000:06d}", 10, reason="bench", key=f"e-{i}")
                                for i in range(ops)])  # fmt: skip
        t_redeem = timed(lambda: [ledger.redeem(f"member-{i % 1000:06d}", 1, reason="bench", key=f"r-{i}")
                                  for i in range(ops)])  # fmt: skip
        rows.append(["postgres", "earn (1 op/txn)", ops, ops / t_earn, t_earn / t_bare, "", ""])
        rows.append(
            ["postgres", "redeem (1 op/txn)", ops, ops / t_redeem, t_redeem / t_bare, "", ""]
        )

        times: dict[str, list[float]] = {"ledger": [], "bare INSERT": [], "schema INSERT": [],
                                         "bare COPY": [], "schema COPY": []}  # fmt: skip
        for rep in range(reps):
            many = batch_columns(batch, rep)
            reason = f"bench-many-{rep}"
            times["ledger"].append(timed(ledger.earn_many, many, reason=reason))
            with raw.cursor() as cur:
                cur.execute(f"SELECT {TX_COLUMNS} FROM tx WHERE reason = %s", (reason,))
                tx_rows = cur.fetchall()
                cur.execute(f"SELECT {LOT_COLUMNS} FROM lot WHERE id IN "
                            "(SELECT id FROM tx WHERE reason = %s)", (reason,))  # fmt: skip
                lot_rows = cur.fetchall()
            raw.commit()
            assert len(tx_rows) == len(lot_rows) == batch

            def insert(prefix: str, tx_rows: list[Any], lot_rows: list[Any]) -> None:
                with raw.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {prefix}tx ({TX_COLUMNS}) VALUES ({tx_marks})", tx_rows
                    )
                    cur.executemany(
                        f"INSERT INTO {prefix}lot ({LOT_COLUMNS}) VALUES ({lot_marks})", lot_rows
                    )
                raw.commit()  # fmt: skip

            def copy(prefix: str, tx_rows: list[Any], lot_rows: list[Any]) -> None:
                with raw.cursor() as cur:
                    for table, cols, data in ((f"{prefix}tx", TX_COLUMNS, tx_rows),
                                              (f"{prefix}lot", LOT_COLUMNS, lot_rows)):  # fmt: skip
                        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                            for r in data:
                                cp.write_row(r)
                raw.commit()

            times["bare INSERT"].append(timed(insert, "bare_", tx_rows, lot_rows))
            times["schema INSERT"].append(timed(insert, "s_", tx_rows, lot_rows))
            with raw.cursor() as cur:  # the COPY runs need fresh ids in the keyed copy
                cur.execute("TRUNCATE s_tx, s_lot")
            raw.commit()
            times["bare COPY"].append(timed(copy, "bare_", tx_rows, lot_rows))
            times["schema COPY"].append(timed(copy, "s_", tx_rows, lot_rows))
        rows += ratio_rows("postgres", batch, times)
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
    parser.add_argument("--no-expiry", action="store_true")
    parser.add_argument("--reps", type=int, default=3, help="timed earn_many batches (median)")
    args = parser.parse_args()
    ops, batch, members = (200, 10_000, 50_000) if args.quick else (2_000, 100_000, 1_000_000)
    rows = sqlite_rows("full", ops, batch, args.reps) + sqlite_rows("normal", ops, batch, args.reps)
    if not args.no_postgres:
        try:
            rows += postgres_rows(ops // 2, batch, args.reps)
        except Exception as exc:
            print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
    print(
        "Ledger throughput (median of the timed batches). x bare = ledger time / time to insert\n"
        "the same rows (same values, same columns) into index-free tables; x schema = ledger time /\n"
        "inserting them into a copy of the ledger's indexed schema; schema/bare = the index cost.\n"
    )
    show(["store", "operation", "rows", "rows/s", "x bare", "x schema", "schema/bare"], rows)
    if args.no_expiry:
        return
    print("\nMonthly expiry run (SQLite, synchronous=NORMAL; ~1/12 of the lots due)\n")
    show(["members", "members expired", "points expired", "seconds", "RSS after import MB",
          "peak RSS MB", "second run"], [expiry_run(members)])  # fmt: skip


if __name__ == "__main__":
    main()
