"""The ledger's decisions, free of I/O.

A :class:`Work` holds one member's open lots, active holds and debt as loaded
by a store inside its transaction; each operation below changes that working
copy and appends the transactions it makes. The store then writes the changed
lots, holds and debt and the new transactions in the same database
transaction, so an operation is wholly there or wholly absent.

Rules that live here and nowhere else:

* Lots are consumed earliest expiry first, ties by earn time, then lot id.
* Spendable = unlocked, not yet due to expire, not held.
* Held points stay reserved on their lots; an expiry run skips them. When a
  hold is released (or a redemption reversed) onto a lot that is past its
  expiry, those points expire again at once, in the same operation.
* Debt (the ``debt`` reversal policy) is repaid from spendable points by the
  next operation on the member (a ``repay`` transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from autoops._masking import mask_id
from autoops.errors import InsufficientPoints, NotReversible
from autoops.loyalty._rows import HoldRow, LotRow, TxRow, new_id

__all__ = ["POLICIES", "Work"]

POLICIES = ("reject", "clamp", "debt")


class Work:
    """One member's state inside one store transaction, and the changes made to it."""

    def __init__(
        self,
        member_id: str,
        lots: Iterable[LotRow],
        holds: Iterable[HoldRow],
        debt: int,
        now: int,
        actor: str = "system",
    ) -> None:
        self.member_id = member_id
        self.lots: dict[str, LotRow] = {lot.id: lot for lot in lots}
        self.holds: dict[str, HoldRow] = {hold.id: hold for hold in holds}
        self.debt = debt
        self.debt_before = debt
        self.now = now
        self.actor = actor
        self.txs: list[TxRow] = []
        self.dirty_lots: set[str] = set()
        self.dirty_holds: set[str] = set()

    # -- reading -----------------------------------------------------------------
    def spendable(self, at: int | None = None) -> list[LotRow]:
        """Points lots that can be spent at *at*, in consumption order."""
        at = self.now if at is None else at
        lots = [
            lot
            for lot in self.lots.values()
            if lot.account == "points"
            and lot.open > 0
            and lot.unlock_at <= at
            and lot.expires_at > at
        ]
        lots.sort(key=lambda lot: (lot.expires_at, lot.earned_at, lot.id))
        return lots

    def available(self, at: int | None = None) -> int:
        return sum(lot.open for lot in self.spendable(at))

    def changed_lots(self) -> list[LotRow]:
        return [self.lots[i] for i in sorted(self.dirty_lots)]

    def changed_holds(self) -> list[HoldRow]:
        return [self.holds[i] for i in sorted(self.dirty_holds)]

    # -- helpers -----------------------------------------------------------------
    def _tx(self, kind: str, points: int, reason: str, **kw: object) -> TxRow:
        moves: list[tuple[str, int, int]] = kw.pop("moves", [])  # type: ignore[assignment]
        debt_change = int(kw.pop("debt_change", 0))  # type: ignore[call-overload]
        delta = sum(o + h for _, o, h in moves) - debt_change
        tx = TxRow(
            id=str(kw.pop("tx_id", None) or new_id("tx")),
            member_id=self.member_id,
            account=str(kw.pop("account", "points")),
            kind=kind,
            points=points,
            delta=delta,
            reason=reason,
            actor=str(kw.pop("actor", None) or self.actor),
            created_at=self.now,
            occurred_at=int(kw.pop("occurred_at", None) or self.now),  # type: ignore[call-overload]
            debt_change=debt_change,
            moves=moves,
            **kw,  # type: ignore[arg-type]
        )
        self.txs.append(tx)
        return tx

    def _move(self, lot: LotRow, open_: int, held: int) -> tuple[str, int, int]:
        lot.open += open_
        lot.held += held
        self.dirty_lots.add(lot.id)
        return (lot.id, open_, held)

    def _consume(self, points: int) -> list[tuple[str, int, int]]:
        moves = []
        left = points
        for lot in self.spendable():
            take = min(lot.open, left)
            moves.append(self._move(lot, -take, 0))
            left -= take
            if left == 0:
                break
        return moves

    def _expire_returned(self, lot_ids: Iterable[str], reason: str) -> None:
        """Points put back on lots already past expiry expire again at once."""
        moves = []
        for lot_id in sorted(set(lot_ids)):
            lot = self.lots[lot_id]
            if lot.expires_at <= self.now and lot.open > 0:
                moves.append(self._move(lot, -lot.open, 0))
        if moves:
            total = -sum(o for _, o, _ in moves)
            self._tx("expire", total, reason, moves=moves)

    # -- operations --------------------------------------------------------------
    def earn(
        self,
        points: int,
        *,
        reason: str,
        key: str | None,
        payload: str | None,
        occurred_at: int,
        expires_at: int,
        unlock_at: int,
        account: str = "points",
        tx_id: str | None = None,
    ) -> TxRow:
        lot_id = tx_id or new_id("tx")
        lot = LotRow(lot_id, self.member_id, account, occurred_at, unlock_at, expires_at, points, 0)
        self.lots[lot_id] = lot
        move = self._move(lot, points, 0)
        return self._tx(
            "earn",
            points,
            reason,
            tx_id=lot_id,
            account=account,
            key=key,
            payload=payload,
            occurred_at=occurred_at,
            expires_at=expires_at,
            unlock_at=None if unlock_at <= occurred_at else unlock_at,
            moves=[move],
        )

    def redeem(self, points: int, *, reason: str, key: str | None, payload: str | None) -> TxRow:
        available = self.available()
        if points > available:
            msg = (
                f"member {mask_id(self.member_id)} has {available} points available, needs {points}"
            )
            raise InsufficientPoints(msg, available=available)
        return self._tx(
            "redeem", points, reason, key=key, payload=payload, moves=self._consume(points)
        )

    def hold(
        self, points: int, *, expires_at: int, reason: str, key: str | None, payload: str | None
    ) -> tuple[HoldRow, TxRow]:
        available = self.available()
        if points > available:
            msg = (
                f"member {mask_id(self.member_id)} has {available} points available, needs {points}"
            )
            raise InsufficientPoints(msg, available=available)
        moves = []
        left = points
        for lot in self.spendable():
            take = min(lot.open, left)
            moves.append(self._move(lot, -take, take))
            left -= take
            if left == 0:
                break
        hold = HoldRow(
            new_id("hold"),
            self.member_id,
            points,
            self.now,
            expires_at,
            "active",
            key=key,
            allocations=[(lot_id, h) for lot_id, _, h in moves],
        )
        self.holds[hold.id] = hold
        self.dirty_holds.add(hold.id)
        tx = self._tx(
            "hold", points, reason, key=key, payload=payload, hold_id=hold.id, moves=moves
        )
        return hold, tx

    def settle_hold(
        self, hold: HoldRow, capture: int, *, reason: str, state: str, key: str | None = None
    ) -> TxRow:
        """Capture *capture* points of an active hold (allocation order) and release the rest."""
        moves = []
        left = capture
        released_to = []
        for lot_id, pts in hold.allocations:
            lot = self.lots[lot_id]
            take = min(pts, left)
            left -= take
            rest = pts - take
            if take:
                moves.append(self._move(lot, 0, -take))
            if rest:
                moves.append(self._move(lot, rest, -rest))
                released_to.append(lot_id)
        kind = "capture" if capture else "release"
        tx = self._tx(kind, capture or hold.points, reason, hold_id=hold.id, key=key, moves=moves)
        hold.state = state
        hold.captured = capture
        hold.settled_by = tx.id
        self.dirty_holds.add(hold.id)
        self._expire_returned(released_to, "expired on release")
        return tx

    def reverse_earn(
        self,
        original: TxRow,
        points: int,
        *,
        policy: str,
        reason: str,
        key: str | None,
        payload: str | None,
    ) -> TxRow:
        """Take *points* back: from the earn's own lot, then other spendable lots, then the policy."""
        lot = self.lots[original.id]
        moves = []
        take = min(lot.open, points)
        if take:
            moves.append(self._move(lot, -take, 0))
        left = points - take
        if left and original.account == "points":
            others = [x for x in self.spendable() if x.id != lot.id]
            have = sum(x.open for x in others)
            if have < left and policy == "reject":
                msg = (
                    f"reversing {points} points needs {left} more than the earn's lot holds "
                    f"and the member has {have} other points available (policy 'reject')"
                )
                raise InsufficientPoints(msg, available=have + take)
            for other in others:
                if left == 0:
                    break
                t = min(other.open, left)
                moves.append(self._move(other, -t, 0))
                left -= t
        if left and policy == "reject":
            msg = f"reversing {points} points: {left} already spent or held (policy 'reject')"
            raise InsufficientPoints(msg, available=take)
        debt_change = left if policy == "debt" else 0
        self.debt += debt_change
        return self._tx(
            "reverse",
            points,
            reason,
            account=original.account,
            key=key,
            payload=payload,
            reverses=original.id,
            moves=moves,
            debt_change=debt_change,
            shortfall=left,
            occurred_at=original.occurred_at if original.account == "growth" else None,
        )

    def reverse_spend(
        self,
        original: TxRow,
        points: int,
        returned: dict[str, int],
        *,
        reason: str,
        key: str | None,
        payload: str | None,
    ) -> TxRow:
        """Return *points* of a redemption or capture to their original lots (last spent first)."""
        spent = [(lot_id, -(o + h)) for lot_id, o, h in original.moves if o + h < 0]
        moves = []
        left = points
        for lot_id, amount in reversed(spent):
            room = amount - returned.get(lot_id, 0)
            give = min(room, left)
            if give <= 0:
                continue
            returned[lot_id] = returned.get(lot_id, 0) + give
            moves.append(self._move(self.lots[lot_id], give, 0))
            left -= give
            if left == 0:
                break
        if left:
            raise NotReversible(f"only {points - left} of {points} points can still be returned")
        tx = self._tx(
            "reverse", points, reason, key=key, payload=payload, reverses=original.id, moves=moves
        )
        self._expire_returned([m[0] for m in moves], "expired on return")
        return tx

    def settle(self) -> None:
        """Housekeeping before and after every operation: lapse due holds, repay debt."""
        for hold in sorted(self.holds.values(), key=lambda h: h.id):
            if hold.state == "active" and hold.expires_at <= self.now:
                self.settle_hold(hold, 0, reason="hold expired", state="expired")
        if self.debt > 0:
            pay = min(self.debt, self.available())
            if pay:
                moves = self._consume(pay)
                self.debt -= pay
                self._tx("repay", pay, "debt repaid", moves=moves, debt_change=-pay)
