"""The storage seam: what a ledger store must do, and the in-memory store.

A store hands out *sessions*. A write session is one database transaction:
``lock()`` takes the named members' locks (all at once, in sorted order, so
sessions never deadlock), reads see committed data, and ``write()`` stages
the new transactions and changed lots, holds and debts; the session commits
when its ``with`` block ends without an exception and rolls back otherwise.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from autoops.loyalty._rows import EarnRows, HoldRow, LotRow, TxRow

__all__ = ["KeyRace", "LedgerSession", "LedgerStore", "MemoryStore"]


class KeyRace(Exception):
    """Two sessions inserted the same idempotency key; the loser retries."""


class LedgerSession(Protocol):
    """One transaction against a store."""

    def lock(self, member_ids: Sequence[str]) -> None: ...
    def find_keys(self, keys: Sequence[str]) -> dict[str, TxRow]: ...
    def member_state(self, member_id: str) -> tuple[list[LotRow], list[HoldRow], int]: ...
    def debts(self, member_ids: Collection[str]) -> dict[str, int]: ...
    def key_hits(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]: ...
    def write_earns(self, rows: EarnRows) -> None: ...
    def known(self, member_id: str) -> bool: ...
    def tx(self, tx_id: str) -> TxRow | None: ...
    def reversals(self, tx_id: str) -> list[TxRow]: ...
    def hold(self, hold_id: str) -> HoldRow | None: ...
    def lots(self, lot_ids: Sequence[str]) -> list[LotRow]: ...
    def due_lots(self, as_of: int) -> list[LotRow]: ...
    def due_holds(self, as_of: int) -> list[str]: ...
    def history(self, member_id: str | None) -> list[TxRow]: ...
    def all_lots(self) -> list[LotRow]: ...
    def all_holds(self) -> list[HoldRow]: ...
    def all_debts(self) -> dict[str, int]: ...
    def write(
        self,
        txs: Sequence[TxRow],
        lots: Sequence[LotRow],
        holds: Sequence[HoldRow],
        debts: dict[str, int],
    ) -> None: ...
    def forget(self, member_id: str, pseudonym: str) -> int: ...
    def medals(self, member_id: str | None) -> list[tuple[str, str, int, str]]: ...
    def add_medals(self, rows: Sequence[tuple[str, str, int, str]]) -> int: ...
    def tier_states(self) -> dict[str, tuple[str | None, int | None, int | None]]: ...
    def growth_rows(self) -> list[tuple[str, int, int]]: ...
    def write_tiers(
        self, rows: Sequence[tuple[str, str | None, int | None, int | None]]
    ) -> None: ...


@runtime_checkable
class LedgerStore(Protocol):
    """What a ledger store provides: memory, SQLite and PostgreSQL implement it.

    ``session()`` opens one all-or-nothing transaction (a context manager
    yielding a session with the reads and writes the ledger needs);
    ``fault`` is a test hook called after each transaction row is written
    (fault-injection tests raise from it).

    Examples:
        >>> from autoops.loyalty import MemoryStore
        >>> isinstance(MemoryStore(), LedgerStore)
        True
    """

    fault: Callable[[TxRow], None] | None

    def session(self, *, write: bool = True) -> Any:
        """One transaction; commits on success, rolls back on an exception.

        Examples:
            >>> from autoops.loyalty import MemoryStore
            >>> with MemoryStore().session(write=False) as s:
            ...     s.known("member-0001")
            False
        """

    def close(self) -> None:
        """Release connections.

        Examples:
            >>> from autoops.loyalty import MemoryStore
            >>> MemoryStore().close()
        """


def _clone_lot(lot: LotRow) -> LotRow:
    return LotRow(
        lot.id,
        lot.member_id,
        lot.account,
        lot.earned_at,
        lot.unlock_at,
        lot.expires_at,
        lot.original,
        lot.open,
        lot.held,
    )


def _clone_hold(h: HoldRow) -> HoldRow:
    return HoldRow(
        h.id,
        h.member_id,
        h.points,
        h.created_at,
        h.expires_at,
        h.state,
        h.captured,
        h.key,
        h.settled_by,
        list(h.allocations),
    )


class _MemoryState:
    def __init__(self) -> None:
        self.txs: list[TxRow] = []
        self.tx_index: dict[str, int] = {}
        self.keys: dict[str, str] = {}
        self.reversals: dict[str, list[str]] = {}
        self.lots: dict[str, LotRow] = {}
        self.holds: dict[str, HoldRow] = {}
        self.members: dict[str, int] = {}
        self.medals: dict[tuple[str, str], tuple[int, str]] = {}
        self.tiers: dict[str, tuple[str | None, int | None, int | None]] = {}
        self.member_txs: dict[str, list[int]] = {}
        self.member_lots: dict[str, set[str]] = {}
        self.member_holds: dict[str, set[str]] = {}


class MemoryStore:
    """A ledger store in process memory (tests, notebooks, single-process jobs).

    Sessions are serialised by a lock; writes are staged and applied only when
    a session ends without an exception, so an operation is all or nothing.
    Nothing survives the process.

    Examples:
        >>> from autoops.loyalty import Ledger, MemoryStore
        >>> ledger = Ledger(MemoryStore())
        >>> ledger.earn("member-0001", 100, reason="welcome", key="w-1").delta
        100
    """

    def __init__(self) -> None:
        self._state = _MemoryState()
        self._lock = threading.RLock()
        self.fault: Callable[[TxRow], None] | None = None

    def __repr__(self) -> str:
        return f"MemoryStore(transactions={len(self._state.txs)})"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[_MemorySession]:
        """Open one all-or-nothing session (a context manager).

        Examples:
            >>> with MemoryStore().session() as s:
            ...     s.known("member-0001")
            False
        """
        with self._lock:
            session = _MemorySession(self)
            yield session
            session.commit()

    def close(self) -> None:
        """Nothing to release; present for symmetry with the database stores.

        Examples:
            >>> MemoryStore().close()
        """


class _MemorySession:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.s = store._state
        self.pending: list[Callable[[], None]] = []

    def commit(self) -> None:
        for apply in self.pending:
            apply()
        self.pending.clear()

    def lock(self, member_ids: Sequence[str]) -> None:
        return None

    def find_keys(self, keys: Sequence[str]) -> dict[str, TxRow]:
        out = {}
        for key in keys:
            tx_id = self.s.keys.get(key)
            if tx_id is not None:
                out[key] = self.s.txs[self.s.tx_index[tx_id]]
        return out

    def member_state(self, member_id: str) -> tuple[list[LotRow], list[HoldRow], int]:
        lots = [self.s.lots[i] for i in self.s.member_lots.get(member_id, ())]
        holds = [self.s.holds[i] for i in self.s.member_holds.get(member_id, ())]
        return (
            [_clone_lot(lot) for lot in lots if lot.open > 0 or lot.held > 0],
            [_clone_hold(h) for h in holds if h.state == "active"],
            self.s.members.get(member_id, 0),
        )

    def debts(self, member_ids: Collection[str]) -> dict[str, int]:
        return {m: d for m, d in self.s.members.items() if d > 0 and m in member_ids}

    def key_hits(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        out = {}
        for key in keys:
            tx_id = self.s.keys.get(key)
            if tx_id is not None:
                out[key] = (tx_id, self.s.txs[self.s.tx_index[tx_id]].payload)
        return out

    def write_earns(self, rows: EarnRows) -> None:
        # members known to the memory store are the keys of its debt map (fast rows owe nothing)
        self.write(rows.tx_rows(), rows.lot_rows(), [], dict.fromkeys(rows.member_id, 0))

    def known(self, member_id: str) -> bool:
        return member_id in self.s.members

    def tx(self, tx_id: str) -> TxRow | None:
        i = self.s.tx_index.get(tx_id)
        return None if i is None else copy.copy(self.s.txs[i])

    def reversals(self, tx_id: str) -> list[TxRow]:
        return [copy.copy(self.s.txs[self.s.tx_index[i]]) for i in self.s.reversals.get(tx_id, [])]

    def hold(self, hold_id: str) -> HoldRow | None:
        h = self.s.holds.get(hold_id)
        return None if h is None else _clone_hold(h)

    def lots(self, lot_ids: Sequence[str]) -> list[LotRow]:
        return [_clone_lot(self.s.lots[i]) for i in lot_ids if i in self.s.lots]

    def due_lots(self, as_of: int) -> list[LotRow]:
        return [
            _clone_lot(lot)
            for lot in self.s.lots.values()
            if lot.account == "points" and lot.open > 0 and lot.expires_at <= as_of
        ]

    def due_holds(self, as_of: int) -> list[str]:
        return sorted(
            {
                h.member_id
                for h in self.s.holds.values()
                if h.state == "active" and h.expires_at <= as_of
            }
        )

    def history(self, member_id: str | None) -> list[TxRow]:
        if member_id is None:
            return list(self.s.txs)
        return [self.s.txs[i] for i in self.s.member_txs.get(member_id, ())]

    def all_lots(self) -> list[LotRow]:
        return [_clone_lot(lot) for lot in self.s.lots.values()]

    def all_holds(self) -> list[HoldRow]:
        return [_clone_hold(h) for h in self.s.holds.values()]

    def all_debts(self) -> dict[str, int]:
        return dict(self.s.members)

    def write(
        self,
        txs: Sequence[TxRow],
        lots: Sequence[LotRow],
        holds: Sequence[HoldRow],
        debts: dict[str, int],
    ) -> None:
        for tx in txs:
            if tx.key is not None and tx.key in self.s.keys:
                raise KeyRace(tx.key)
            if self.store.fault is not None:
                self.store.fault(tx)
        # rows handed to write() become the store's: callers drop them after the session
        txs, lots, holds, debts = list(txs), list(lots), list(holds), dict(debts)

        def apply() -> None:
            s = self.s
            for tx in txs:
                s.tx_index[tx.id] = len(s.txs)
                s.member_txs.setdefault(tx.member_id, []).append(len(s.txs))
                s.txs.append(tx)
                if tx.key is not None:
                    s.keys[tx.key] = tx.id
                if tx.reverses is not None:
                    s.reversals.setdefault(tx.reverses, []).append(tx.id)
            for lot in lots:
                s.lots[lot.id] = lot
                s.member_lots.setdefault(lot.member_id, set()).add(lot.id)
            for hold in holds:
                s.holds[hold.id] = hold
                s.member_holds.setdefault(hold.member_id, set()).add(hold.id)
            s.members.update(debts)

        self.pending.append(apply)

    def forget(self, member_id: str, pseudonym: str) -> int:
        s = self.s
        touched = 0
        for tx in s.txs:
            if tx.member_id == member_id:
                tx.member_id = pseudonym
                touched += 1
        for lot in s.lots.values():
            if lot.member_id == member_id:
                lot.member_id = pseudonym
        for hold in s.holds.values():
            if hold.member_id == member_id:
                hold.member_id = pseudonym
        if member_id in s.members:
            s.members[pseudonym] = s.members.pop(member_id)
        if member_id in s.tiers:
            s.tiers[pseudonym] = s.tiers.pop(member_id)
        for mk in [k for k in s.medals if k[0] == member_id]:
            s.medals[(pseudonym, mk[1])] = s.medals.pop(mk)
        for index in (s.member_txs, s.member_lots, s.member_holds):
            if member_id in index:
                index[pseudonym] = index.pop(member_id)  # type: ignore[assignment]
        return touched

    def medals(self, member_id: str | None) -> list[tuple[str, str, int, str]]:
        return sorted(
            (m, medal, at, why)
            for (m, medal), (at, why) in self.s.medals.items()
            if member_id is None or m == member_id
        )

    def add_medals(self, rows: Sequence[tuple[str, str, int, str]]) -> int:
        new = [r for r in rows if (r[0], r[1]) not in self.s.medals]

        def apply() -> None:
            for m, medal, at, why in new:
                self.s.medals.setdefault((m, medal), (at, why))

        self.pending.append(apply)
        return len(new)

    def tier_states(self) -> dict[str, tuple[str | None, int | None, int | None]]:
        return dict(self.s.tiers)

    def growth_rows(self) -> list[tuple[str, int, int]]:
        return [(t.member_id, t.occurred_at, t.delta) for t in self.s.txs if t.account == "growth"]

    def write_tiers(self, rows: Sequence[tuple[str, str | None, int | None, int | None]]) -> None:
        rows = list(rows)

        def apply() -> None:
            for m, tier, since, below in rows:
                self.s.tiers[m] = (tier, since, below)

        self.pending.append(apply)
