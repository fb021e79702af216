"""The SQL both database stores share; dialect differences are confined to :class:`Dialect`."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from autoops.loyalty._rows import EarnRows, HoldRow, LotRow, TxRow
from autoops.loyalty._store import KeyRace

__all__ = ["LOT_COLUMNS", "TX_COLUMNS", "Dialect", "SQLSession", "schema"]

TX_COLUMNS = (
    "id, member_id, account, kind, points, delta, debt_change, shortfall, reason, actor, key, "
    "payload, created_at, occurred_at, expires_at, unlock_at, reverses, hold_id, moves"
)
LOT_COLUMNS = "id, member_id, account, earned_at, unlock_at, expires_at, original, open, held"
_HOLD_COLUMNS = (
    "id, member_id, points, created_at, expires_at, state, captured, key, settled_by, allocations"
)


class Dialect:
    """Placeholders, types and the few statements that differ between SQLite and PostgreSQL."""

    name = "sqlite"
    serial = "INTEGER PRIMARY KEY"  # rowids only grow: rows are never deleted

    def q(self, sql: str) -> str:
        return sql


def schema(d: Dialect) -> list[str]:
    """DDL for the ledger's tables (idempotent)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS tx (
            seq {d.serial}, id TEXT NOT NULL UNIQUE, member_id TEXT NOT NULL,
            account TEXT NOT NULL, kind TEXT NOT NULL, points BIGINT NOT NULL,
            delta BIGINT NOT NULL, debt_change BIGINT NOT NULL, shortfall BIGINT NOT NULL,
            reason TEXT NOT NULL, actor TEXT NOT NULL, key TEXT UNIQUE, payload TEXT,
            created_at BIGINT NOT NULL, occurred_at BIGINT NOT NULL, expires_at BIGINT,
            unlock_at BIGINT, reverses TEXT, hold_id TEXT, moves TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS tx_member ON tx (member_id, seq)",
        "CREATE INDEX IF NOT EXISTS tx_reverses ON tx (reverses) WHERE reverses IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS lot (
            id TEXT PRIMARY KEY, member_id TEXT NOT NULL, account TEXT NOT NULL,
            earned_at BIGINT NOT NULL, unlock_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
            original BIGINT NOT NULL, open BIGINT NOT NULL, held BIGINT NOT NULL,
            CHECK (open >= 0 AND held >= 0 AND open + held <= original))""",
        "CREATE INDEX IF NOT EXISTS lot_member ON lot (member_id) WHERE open > 0 OR held > 0",
        "CREATE INDEX IF NOT EXISTS lot_due ON lot (expires_at) WHERE open > 0",
        """CREATE TABLE IF NOT EXISTS hold (
            id TEXT PRIMARY KEY, member_id TEXT NOT NULL, points BIGINT NOT NULL,
            created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, state TEXT NOT NULL,
            captured BIGINT NOT NULL, key TEXT, settled_by TEXT, allocations TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS hold_active ON hold (member_id) WHERE state = 'active'",
        """CREATE TABLE IF NOT EXISTS member (
            member_id TEXT PRIMARY KEY, debt BIGINT NOT NULL DEFAULT 0 CHECK (debt >= 0),
            tier TEXT, tier_since BIGINT, below_since BIGINT, has_tier INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE IF NOT EXISTS medal (
            member_id TEXT NOT NULL, medal TEXT NOT NULL, awarded_at BIGINT NOT NULL,
            reason TEXT NOT NULL, PRIMARY KEY (member_id, medal))""",
    ]


def _tx_row(r: Sequence[Any]) -> TxRow:
    return TxRow(
        id=r[0],
        member_id=r[1],
        account=r[2],
        kind=r[3],
        points=int(r[4]),
        delta=int(r[5]),
        debt_change=int(r[6]),
        shortfall=int(r[7]),
        reason=r[8],
        actor=r[9],
        key=r[10],
        payload=r[11],
        created_at=int(r[12]),
        occurred_at=int(r[13]),
        expires_at=None if r[14] is None else int(r[14]),
        unlock_at=None if r[15] is None else int(r[15]),
        reverses=r[16],
        hold_id=r[17],
        moves=TxRow.parse_moves(r[18]),
    )


def tx_tuple(t: TxRow) -> tuple[Any, ...]:
    return (
        t.id,
        t.member_id,
        t.account,
        t.kind,
        t.points,
        t.delta,
        t.debt_change,
        t.shortfall,
        t.reason,
        t.actor,
        t.key,
        t.payload,
        t.created_at,
        t.occurred_at,
        t.expires_at,
        t.unlock_at,
        t.reverses,
        t.hold_id,
        t.moves_json(),
    )


def _lot_row(r: Sequence[Any]) -> LotRow:
    return LotRow(
        r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]), int(r[8])
    )


def _hold_row(r: Sequence[Any]) -> HoldRow:
    allocations = [(str(a), int(b)) for a, b in json.loads(r[9])]
    return HoldRow(
        r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5], int(r[6]), r[7], r[8], allocations
    )


class SQLSession:
    """Session logic over a DB-API cursor; subclasses provide ``lock`` and error mapping."""

    def __init__(
        self,
        cur: Any,
        dialect: Dialect,
        fault: Callable[[TxRow], None] | None,
        is_unique_violation: Callable[[BaseException], bool],
    ) -> None:
        self.cur = cur
        self.d = dialect
        self.fault = fault
        self.is_unique_violation = is_unique_violation

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cur.execute(self.d.q(sql), tuple(params))
        return list(self.cur.fetchall())

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cur.executemany(self.d.q(sql), rows)

    def lock(self, member_ids: Sequence[str]) -> None:
        return None

    def find_keys(self, keys: Sequence[str]) -> dict[str, TxRow]:
        out: dict[str, TxRow] = {}
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._all(f"SELECT {TX_COLUMNS} FROM tx WHERE key IN ({marks})", chunk):
                out[r[10]] = _tx_row(r)
        return out

    def member_state(self, member_id: str) -> tuple[list[LotRow], list[HoldRow], int]:
        lots = self._all(
            f"SELECT {LOT_COLUMNS} FROM lot WHERE member_id = ? AND (open > 0 OR held > 0)",
            (member_id,),
        )
        holds = self._all(
            f"SELECT {_HOLD_COLUMNS} FROM hold WHERE member_id = ? AND state = 'active'",
            (member_id,),
        )
        debt = self._all("SELECT debt FROM member WHERE member_id = ?", (member_id,))
        return (
            [_lot_row(r) for r in lots],
            [_hold_row(r) for r in holds],
            int(debt[0][0]) if debt else 0,
        )

    def debts(self, member_ids: Collection[str]) -> dict[str, int]:
        # the partial index member_debt holds only indebted members: one short read
        rows = self._all("SELECT member_id, debt FROM member WHERE debt > 0")
        return {m: int(d) for m, d in rows if m in member_ids}

    def key_hits(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        if not keys:
            return {}
        rows = self._all(
            "SELECT t.key, t.id, t.payload FROM json_each(?) AS j JOIN tx AS t ON t.key = j.value",
            (json.dumps(list(keys)),),
        )
        return {k: (i, pl) for k, i, pl in rows}

    def known(self, member_id: str) -> bool:
        return bool(self._all("SELECT 1 FROM tx WHERE member_id = ? LIMIT 1", (member_id,)))

    def tx(self, tx_id: str) -> TxRow | None:
        rows = self._all(f"SELECT {TX_COLUMNS} FROM tx WHERE id = ?", (tx_id,))
        return _tx_row(rows[0]) if rows else None

    def reversals(self, tx_id: str) -> list[TxRow]:
        rows = self._all(f"SELECT {TX_COLUMNS} FROM tx WHERE reverses = ? ORDER BY seq", (tx_id,))
        return [_tx_row(r) for r in rows]

    def hold(self, hold_id: str) -> HoldRow | None:
        rows = self._all(f"SELECT {_HOLD_COLUMNS} FROM hold WHERE id = ?", (hold_id,))
        return _hold_row(rows[0]) if rows else None

    def lots(self, lot_ids: Sequence[str]) -> list[LotRow]:
        ids = list(lot_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return [
            _lot_row(r)
            for r in self._all(f"SELECT {LOT_COLUMNS} FROM lot WHERE id IN ({marks})", ids)
        ]

    def due_lots(self, as_of: int) -> list[LotRow]:
        rows = self._all(
            f"SELECT {LOT_COLUMNS} FROM lot WHERE open > 0 AND expires_at <= ? "
            "AND account = 'points' ORDER BY member_id, expires_at, earned_at, id",
            (as_of,),
        )
        return [_lot_row(r) for r in rows]

    def due_holds(self, as_of: int) -> list[str]:
        rows = self._all(
            "SELECT DISTINCT member_id FROM hold WHERE state = 'active' AND expires_at <= ? "
            "ORDER BY member_id",
            (as_of,),
        )
        return [r[0] for r in rows]

    def history(self, member_id: str | None) -> list[TxRow]:
        if member_id is None:
            rows = self._all(f"SELECT {TX_COLUMNS} FROM tx ORDER BY seq")
        else:
            rows = self._all(
                f"SELECT {TX_COLUMNS} FROM tx WHERE member_id = ? ORDER BY seq", (member_id,)
            )
        return [_tx_row(r) for r in rows]

    def all_lots(self) -> list[LotRow]:
        return [_lot_row(r) for r in self._all(f"SELECT {LOT_COLUMNS} FROM lot")]

    def all_holds(self) -> list[HoldRow]:
        return [_hold_row(r) for r in self._all(f"SELECT {_HOLD_COLUMNS} FROM hold")]

    def all_debts(self) -> dict[str, int]:
        return {m: int(d) for m, d in self._all("SELECT member_id, debt FROM member")}

    def write_earns(self, rows: EarnRows) -> None:
        insert = f"INSERT INTO tx ({TX_COLUMNS}) VALUES ({','.join('?' * 19)})"
        try:
            if self.fault is None:
                self.cur.executemany(self.d.q(insert), rows.tx_tuples())
            else:
                for t in rows.tx_tuples():
                    self.cur.execute(self.d.q(insert), t)
                    self.fault(_tx_row(t))
        except Exception as exc:
            if self.is_unique_violation(exc):
                raise KeyRace(str(exc)) from exc
            raise
        lots = f"INSERT INTO lot ({LOT_COLUMNS}) VALUES ({','.join('?' * 9)})"
        self.cur.executemany(self.d.q(lots), rows.lot_tuples())

    def write(
        self,
        txs: Sequence[TxRow],
        lots: Sequence[LotRow],
        holds: Sequence[HoldRow],
        debts: dict[str, int],
    ) -> None:
        marks = ",".join("?" * 19)
        insert = f"INSERT INTO tx ({TX_COLUMNS}) VALUES ({marks})"
        try:
            if self.fault is None:
                self._many(insert, [tx_tuple(t) for t in txs])
            else:
                for t in txs:
                    self.cur.execute(self.d.q(insert), tx_tuple(t))
                    self.fault(t)
        except Exception as exc:
            if self.is_unique_violation(exc):
                raise KeyRace(str(exc)) from exc
            raise
        self._many(
            f"INSERT INTO lot ({LOT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET open = excluded.open, held = excluded.held",
            [
                (
                    x.id,
                    x.member_id,
                    x.account,
                    x.earned_at,
                    x.unlock_at,
                    x.expires_at,
                    x.original,
                    x.open,
                    x.held,
                )
                for x in lots
            ],
        )
        self._many(
            f"INSERT INTO hold ({_HOLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, captured = excluded.captured, "
            "settled_by = excluded.settled_by",
            [
                (
                    h.id,
                    h.member_id,
                    h.points,
                    h.created_at,
                    h.expires_at,
                    h.state,
                    h.captured,
                    h.key,
                    h.settled_by,
                    json.dumps(h.allocations),
                )
                for h in holds
            ],
        )
        self._many(
            "INSERT INTO member (member_id, debt) VALUES (?, ?) "
            "ON CONFLICT (member_id) DO UPDATE SET debt = excluded.debt",
            sorted(debts.items()),
        )

    def forget(self, member_id: str, pseudonym: str) -> int:
        self.cur.execute(
            self.d.q("UPDATE tx SET member_id = ? WHERE member_id = ?"), (pseudonym, member_id)
        )
        touched = int(self.cur.rowcount)
        for table in ("lot", "hold", "member", "medal"):
            self.cur.execute(
                self.d.q(f"UPDATE {table} SET member_id = ? WHERE member_id = ?"),
                (pseudonym, member_id),
            )
        return touched

    def medals(self, member_id: str | None) -> list[tuple[str, str, int, str]]:
        if member_id is None:
            rows = self._all("SELECT member_id, medal, awarded_at, reason FROM medal ORDER BY 1, 2")
        else:
            rows = self._all(
                "SELECT member_id, medal, awarded_at, reason FROM medal WHERE member_id = ? ORDER BY 2",
                (member_id,),
            )
        return [(r[0], r[1], int(r[2]), r[3]) for r in rows]

    def add_medals(self, rows: Sequence[tuple[str, str, int, str]]) -> int:
        before = self._all("SELECT COUNT(*) FROM medal")[0][0]
        self._many(
            "INSERT INTO medal (member_id, medal, awarded_at, reason) VALUES (?,?,?,?) "
            "ON CONFLICT (member_id, medal) DO NOTHING",
            list(rows),
        )
        after = self._all("SELECT COUNT(*) FROM medal")[0][0]
        return int(after) - int(before)

    def tier_states(self) -> dict[str, tuple[str | None, int | None, int | None]]:
        rows = self._all(
            "SELECT member_id, tier, tier_since, below_since FROM member WHERE has_tier = 1"
        )
        return {
            r[0]: (r[1], None if r[2] is None else int(r[2]), None if r[3] is None else int(r[3]))
            for r in rows
        }

    def growth_rows(self) -> list[tuple[str, int, int]]:
        rows = self._all("SELECT member_id, occurred_at, delta FROM tx WHERE account = 'growth'")
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def write_tiers(self, rows: Sequence[tuple[str, str | None, int | None, int | None]]) -> None:
        self._many(
            "INSERT INTO member (member_id, debt, tier, tier_since, below_since, has_tier) "
            "VALUES (?, 0, ?, ?, ?, 1) ON CONFLICT (member_id) DO UPDATE SET tier = excluded.tier, "
            "tier_since = excluded.tier_since, below_since = excluded.below_since, has_tier = 1",
            list(rows),
        )
