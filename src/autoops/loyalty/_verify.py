"""Invariant checks over a stored ledger (``Ledger.verify()``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from autoops.loyalty._rows import HoldRow, LotRow, TxRow
from autoops.models._loyalty import Finding

__all__ = ["verify"]


def verify(
    txs: Sequence[TxRow], lots: Sequence[LotRow], holds: Sequence[HoldRow], debts: dict[str, int]
) -> list[Finding]:
    """Return one :class:`Finding` per broken invariant (empty when healthy)."""
    out: list[Finding] = []
    by_id = {t.id: t for t in txs}
    lot_by_id = {lot.id: lot for lot in lots}
    moved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    member_delta: dict[str, int] = defaultdict(int)
    member_debt: dict[str, int] = defaultdict(int)
    reversed_total: dict[str, int] = defaultdict(int)
    keys: dict[str, str] = {}
    for t in txs:
        if t.key is not None:
            if t.key in keys:
                out.append(Finding(code="duplicate_key", message="key used twice", ref=t.id))
            keys[t.key] = t.id
        net = sum(o + h for _, o, h in t.moves)
        if t.delta != net - t.debt_change:
            msg = f"delta {t.delta} != moves {net} - debt change {t.debt_change}"
            out.append(Finding(code="tx_delta", message=msg, ref=t.id))
        for lot_id, o, h in t.moves:
            if lot_id not in lot_by_id:
                out.append(
                    Finding(code="missing_lot", message=f"moves unknown lot {lot_id}", ref=t.id)
                )
            moved[lot_id][0] += o
            moved[lot_id][1] += h
        if t.account == "points":
            member_delta[t.member_id] += t.delta
            member_debt[t.member_id] += t.debt_change
        if t.kind == "earn" and t.id not in lot_by_id:
            out.append(Finding(code="missing_lot", message="earn without its lot", ref=t.id))
        if t.reverses is not None:
            orig = by_id.get(t.reverses)
            if orig is None:
                out.append(Finding(code="dangling_reversal", message="reverses nothing", ref=t.id))
            elif orig.kind == "reverse":
                out.append(
                    Finding(code="reversed_reversal", message="reverses a reversal", ref=t.id)
                )
            else:
                reversed_total[orig.id] += t.points
    for orig_id, total in reversed_total.items():
        if total > by_id[orig_id].points:
            msg = f"reversed {total} of {by_id[orig_id].points}"
            out.append(Finding(code="over_reversed", message=msg, ref=orig_id))
    member_lots: dict[str, int] = defaultdict(int)
    for lot in lots:
        o, h = moved.get(lot.id, [0, 0])
        if (lot.open, lot.held) != (o, h):
            msg = f"lot open/held {lot.open}/{lot.held} != moves {o}/{h}"
            out.append(Finding(code="lot_mismatch", message=msg, ref=lot.id))
        if lot.open < 0 or lot.held < 0 or lot.open + lot.held > lot.original:
            out.append(Finding(code="lot_bounds", message="lot outside [0, original]", ref=lot.id))
        if lot.account == "points":
            member_lots[lot.member_id] += lot.open + lot.held
    for member in set(member_delta) | set(member_lots) | set(debts):
        debt = debts.get(member, 0)
        if debt < 0:
            out.append(Finding(code="negative_debt", message="debt below zero", member_id=member))
        if debt != member_debt.get(member, 0):
            msg = f"debt {debt} != debt changes {member_debt.get(member, 0)}"
            out.append(Finding(code="debt_mismatch", message=msg, member_id=member))
        if member_delta.get(member, 0) != member_lots.get(member, 0) - debt:
            msg = (
                f"history sums to {member_delta.get(member, 0)}, lots minus debt to "
                f"{member_lots.get(member, 0) - debt}"
            )
            out.append(Finding(code="balance_mismatch", message=msg, member_id=member))
    allocated: dict[str, int] = defaultdict(int)
    for hold in holds:
        if hold.state == "active":
            if sum(p for _, p in hold.allocations) != hold.points:
                out.append(
                    Finding(code="hold_allocation", message="allocations != points", ref=hold.id)
                )
            for lot_id, p in hold.allocations:
                allocated[lot_id] += p
        elif hold.settled_by is None or hold.settled_by not in by_id:
            out.append(
                Finding(
                    code="hold_unsettled",
                    message=f"{hold.state} without its transaction",
                    ref=hold.id,
                )
            )
    for lot in lots:
        if lot.held != allocated.get(lot.id, 0):
            msg = f"held {lot.held} != active hold allocations {allocated.get(lot.id, 0)}"
            out.append(Finding(code="held_mismatch", message=msg, ref=lot.id))
    return out
