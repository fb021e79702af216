"""Internal row types shared by the decision logic and the stores.

Instants are integers (microseconds since the epoch, UTC) so that every store
keeps them exactly; the public models turn them into aware datetimes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops.loyalty._expiry import NEVER
from autoops.models._loyalty import (
    GrowthEvent,
    Hold,
    HoldState,
    LotMove,
    PointsTransaction,
    TxKind,
)

__all__ = [
    "NEVER",
    "EarnRows",
    "HoldRow",
    "IdSource",
    "LotRow",
    "TxRow",
    "from_us",
    "isnone",
    "new_id",
    "payload_hash",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def isnone(values: Any) -> npt.NDArray[np.bool_]:
    """Element-wise ``value is None`` over an object array."""
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def to_us(value: datetime) -> int:
    """Aware datetime → µs since the epoch."""
    return (value - _EPOCH) // _US


def from_us(value: int) -> datetime:
    """µs since the epoch → aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(value))


def new_id(prefix: str) -> str:
    """A random, globally unique id such as ``tx_3f9c…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def payload_hash(*fields: object) -> str:
    """A short, stable digest of an operation's payload (for idempotency checks)."""
    text = "\x1f".join("" if f is None else str(f) for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class IdSource:
    """Cheap unique ids for bulk operations: one random prefix and a counter."""

    def __init__(self, prefix: str = "tx") -> None:
        self.base = f"{prefix}_{uuid.uuid4().hex[:20]}"
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.base}{self.n:012x}"

    def take(self, count: int) -> list[str]:
        """The next *count* ids at once."""
        start = self.n + 1
        self.n += count
        return list(map(f"{self.base}{{:012x}}".format, range(start, start + count)))


@dataclass(slots=True)
class LotRow:
    """One lot: the points of one earn, with its spendable (open) and reserved (held) parts."""

    id: str
    member_id: str
    account: str
    earned_at: int
    unlock_at: int
    expires_at: int
    original: int
    open: int
    held: int = 0


@dataclass(slots=True)
class HoldRow:
    """One hold with the lots it reserved from."""

    id: str
    member_id: str
    points: int
    created_at: int
    expires_at: int
    state: str
    captured: int = 0
    key: str | None = None
    settled_by: str | None = None
    allocations: list[tuple[str, int]] = field(default_factory=list)

    def model(self) -> Hold:
        return Hold(
            id=self.id,
            member_id=self.member_id,
            points=self.points,
            created_at=from_us(self.created_at),
            expires_at=from_us(self.expires_at),
            state=HoldState(self.state),
            captured=self.captured,
            key=self.key,
            settled_by=self.settled_by,
            allocations=tuple(LotMove(lot_id=lot, held=pts) for lot, pts in self.allocations),
        )


@dataclass(slots=True)
class TxRow:
    """One transaction as stored."""

    id: str
    member_id: str
    account: str
    kind: str
    points: int
    delta: int
    reason: str
    actor: str
    created_at: int
    occurred_at: int
    key: str | None = None
    payload: str | None = None
    debt_change: int = 0
    shortfall: int = 0
    expires_at: int | None = None
    unlock_at: int | None = None
    reverses: str | None = None
    hold_id: str | None = None
    moves: list[tuple[str, int, int]] = field(default_factory=list)

    def model(self) -> PointsTransaction:
        return PointsTransaction(
            id=self.id,
            member_id=self.member_id,
            account="growth" if self.account == "growth" else "points",
            kind=TxKind(self.kind),
            points=self.points,
            delta=self.delta,
            debt_change=self.debt_change,
            shortfall=self.shortfall,
            reason=self.reason,
            actor=self.actor,
            key=self.key,
            created_at=from_us(self.created_at),
            occurred_at=from_us(self.occurred_at),
            expires_at=None
            if self.expires_at is None or self.expires_at >= NEVER
            else from_us(self.expires_at),
            unlock_at=None if self.unlock_at is None else from_us(self.unlock_at),
            reverses=self.reverses,
            hold_id=self.hold_id,
            moves=tuple(LotMove(lot_id=lot, open=o, held=h) for lot, o, h in self.moves),
        )

    def growth(self) -> GrowthEvent:
        return GrowthEvent(
            id=self.id,
            member_id=self.member_id,
            value=self.delta,
            occurred_at=from_us(self.occurred_at),
            reason=self.reason,
            key=self.key,
            reverses=self.reverses,
        )

    def moves_json(self) -> str:
        # lot ids are the ledger's own (ASCII letters, digits, "_"), so no escaping is needed
        return "[" + ",".join(f'["{lot}",{o},{h}]' for lot, o, h in self.moves) + "]"

    @staticmethod
    def parse_moves(text: str | None) -> list[tuple[str, int, int]]:
        if not text:
            return []
        return [(str(a), int(b), int(c)) for a, b, c in json.loads(text)]


@dataclass(slots=True)
class EarnRows:
    """Earns that settle nothing (no debt to repay), as columns: the bulk write path.

    Each row is one ``earn`` transaction and its lot (same id). Lists hold
    plain Python values so database drivers bind them without conversion.
    ``tx_unlock_at`` is the transaction's ``unlock_at`` (``None`` unless the
    points are locked past ``occurred_at``); ``unlock_at`` is the lot's.
    """

    id: list[str]
    member_id: list[str]
    account: str
    points: list[int]
    reason: list[str]
    actor: str
    key: list[str]
    payload: list[str]
    created_at: int
    occurred_at: list[int]
    expires_at: list[int]
    unlock_at: list[int]
    tx_unlock_at: list[int | None]

    def __len__(self) -> int:
        return len(self.id)

    def moves(self) -> list[str]:
        """The ``moves`` column as stored: each earn fills its own lot."""
        return list(map('[["{}",{},0]]'.format, self.id, self.points))

    def tx_tuples(self) -> Iterator[tuple[Any, ...]]:
        """Rows in ``TX_COLUMNS`` order."""
        return zip(
            self.id, self.member_id, repeat(self.account), repeat("earn"), self.points,
            self.points, repeat(0), repeat(0), self.reason, repeat(self.actor), self.key,
            self.payload, repeat(self.created_at), self.occurred_at, self.expires_at,
            self.tx_unlock_at, repeat(None), repeat(None), self.moves(),
        )  # fmt: skip

    def lot_tuples(self) -> Iterator[tuple[Any, ...]]:
        """Rows in the lot table's column order (open = original, nothing held)."""
        return zip(
            self.id, self.member_id, repeat(self.account), self.occurred_at, self.unlock_at,
            self.expires_at, self.points, self.points, repeat(0),
        )  # fmt: skip

    def tx_rows(self) -> list[TxRow]:
        """The same rows as :class:`TxRow` objects (memory store, fault hooks)."""
        return [
            TxRow(i, m, self.account, "earn", p, p, r, self.actor, self.created_at, o, key=k,
                  payload=pl, expires_at=e, unlock_at=u, moves=[(i, p, 0)])
            for i, m, p, r, k, pl, o, e, u in zip(
                self.id, self.member_id, self.points, self.reason, self.key, self.payload,
                self.occurred_at, self.expires_at, self.tx_unlock_at, strict=True,
            )
        ]  # fmt: skip

    def lot_rows(self) -> list[LotRow]:
        """The lots as :class:`LotRow` objects."""
        return [
            LotRow(i, m, self.account, o, u, e, p, p, 0)
            for i, m, o, u, e, p in zip(
                self.id, self.member_id, self.occurred_at, self.unlock_at, self.expires_at,
                self.points, strict=True,
            )
        ]  # fmt: skip
