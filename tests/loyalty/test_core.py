"""Behavioural suite of the Ledger, run against every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from autoops.errors import (
    HoldExpired,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    LedgerError,
    NotRedeemable,
    NotReversible,
    UnknownMember,
    UnknownTransaction,
)
from autoops.loyalty import Ledger
from autoops.models import TxKind

from .conftest import T0, Clock

M = "member-0001"
SH = ZoneInfo("Asia/Shanghai")


def state(ledger: Ledger, member: str = M) -> tuple[Any, ...]:
    """Everything observable about a member, to prove that a refused call wrote nothing."""
    b = ledger.balance(member)
    return (b.available, b.held, b.locked, b.debt, len(ledger.history(member)))


def replayed(ledger: Ledger, member: str = M) -> int:
    return sum(t.delta for t in ledger.history(member, account="points"))


def test_earn_redeem_balance_and_history_replay(ledger: Ledger) -> None:
    ledger.earn(M, 500, reason="purchase", key="o-1")
    tx = ledger.redeem(M, 120, reason="coupon", key="r-1")
    assert tx.kind is TxKind.REDEEM and tx.delta == -120 and tx.reason == "coupon"
    assert tx.actor == "system" and tx.key == "r-1"
    b = ledger.balance(M)
    assert (b.available, b.held, b.locked, b.total) == (380, 0, 0, 380)
    assert replayed(ledger) == 380
    assert ledger.verify() == []


def test_consumes_earliest_expiry_first_then_earliest_earned(ledger: Ledger, clock: Clock) -> None:
    long_lived = ledger.earn(
        M, 100, reason="purchase", key="a", expires_at=T0 + timedelta(days=365)
    )
    clock.advance(hours=1)
    promo = ledger.earn(M, 30, reason="promo", key="b", expires_at=T0 + timedelta(days=10))
    clock.advance(hours=1)
    same_expiry = ledger.earn(M, 20, reason="promo2", key="c", expires_at=T0 + timedelta(days=10))
    tx = ledger.redeem(M, 60, reason="mall", key="r")
    assert [(m.lot_id, m.open) for m in tx.moves] == [
        (promo.id, -30),
        (same_expiry.id, -20),
        (long_lived.id, -10),
    ]


def test_ties_on_expiry_broken_by_earn_time(ledger: Ledger) -> None:
    later = ledger.earn(M, 10, reason="x", key="late", occurred_at=T0 - timedelta(hours=1))
    earlier = ledger.earn(M, 10, reason="x", key="early", occurred_at=T0 - timedelta(hours=5))
    tx = ledger.redeem(M, 15, reason="mall", key="r")
    assert [(m.lot_id, m.open) for m in tx.moves] == [(earlier.id, -10), (later.id, -5)]


def test_insufficient_points_reports_available_and_writes_nothing(ledger: Ledger) -> None:
    ledger.earn(M, 40, reason="x", key="a")
    before = state(ledger)
    with pytest.raises(InsufficientPoints) as info:
        ledger.redeem(M, 41, reason="mall", key="r")
    assert info.value.available == 40
    assert state(ledger) == before
    # the refused key is free for a valid retry
    assert ledger.redeem(M, 40, reason="mall", key="r").delta == -40
    assert ledger.balance(M).available == 0


def test_idempotent_replay_and_conflict(ledger: Ledger) -> None:
    first = ledger.earn(M, 50, reason="check_in", key="k")
    for _ in range(100):
        assert ledger.earn(M, 50, reason="check_in", key="k").id == first.id
    assert len(ledger.history(M)) == 1
    with pytest.raises(IdempotencyConflict) as info:
        ledger.earn(M, 51, reason="check_in", key="k")
    assert info.value.key == "k"
    red = ledger.redeem(M, 20, reason="mall", key="r")
    assert ledger.redeem(M, 20, reason="mall", key="r").id == red.id
    with pytest.raises(IdempotencyConflict):
        ledger.redeem(M, 20, reason="mall", key="k")
    assert ledger.balance(M).available == 30


def test_hold_capture_partial_releases_rest(ledger: Ledger) -> None:
    ledger.earn(M, 100, reason="x", key="a")
    hold = ledger.hold(M, 60, key="order-1", ttl="15min")
    b = ledger.balance(M)
    assert (b.available, b.held, b.total) == (40, 60, 100)
    with pytest.raises(InsufficientPoints):
        ledger.redeem(M, 41, reason="mall", key="r")
    cap = ledger.capture(hold.id, 45)
    assert cap.delta == -45 and cap.hold_id == hold.id
    b = ledger.balance(M)
    assert (b.available, b.held) == (55, 0)
    assert ledger.capture(hold.id, 45).id == cap.id  # idempotent
    with pytest.raises(LedgerError):
        ledger.release(hold.id)
    assert ledger.hold(M, 60, key="order-1", ttl="15min").state.value == "captured"
    assert ledger.verify() == []


def test_release_and_ttl_lapse_exactly_once(ledger: Ledger, clock: Clock) -> None:
    ledger.earn(M, 100, reason="x", key="a")
    h1 = ledger.hold(M, 30, key="h1", ttl="10min")
    rel = ledger.release(h1.id)
    assert ledger.release(h1.id).id == rel.id
    h2 = ledger.hold(M, 50, key="h2", ttl="10min")
    clock.advance(minutes=11)
    assert ledger.balance(M).available == 100  # seen as released before anything is written
    with pytest.raises(HoldExpired):
        ledger.capture(h2.id)
    ledger.earn(M, 1, reason="x", key="b")  # the next operation lapses the hold
    ledger.earn(M, 1, reason="x", key="c")
    lapses = [t for t in ledger.history(M) if t.kind is TxKind.RELEASE and t.hold_id == h2.id]
    assert len(lapses) == 1 and lapses[0].reason == "hold expired"
    with pytest.raises(HoldExpired):
        ledger.capture(h2.id)
    assert ledger.balance(M).available == 102
    assert ledger.verify() == []


def test_expire_run_lapses_overdue_holds(ledger: Ledger, clock: Clock) -> None:
    ledger.earn(M, 100, reason="x", key="a")
    ledger.hold(M, 50, key="h", ttl="10min")
    report = ledger.expire(clock.advance(minutes=30))
    assert report.holds_released == 1 and report.total == 0
    assert ledger.expire(clock.now).holds_released == 0
    assert ledger.balance(M).available == 100


def test_locked_points_visible_not_spendable_and_expiry_from_unlock(
    ledger: Ledger, clock: Clock
) -> None:
    tx = ledger.earn(M, 200, reason="purchase", key="o", locked_until="7d", policy="30d")
    assert tx.unlock_at == T0 + timedelta(days=7)
    # unlock 2026-03-08 10:00 Shanghai → +30 days → 2026-04-07 23:59:59 Shanghai
    assert tx.expires_at == datetime(2026, 4, 7, 23, 59, 59, tzinfo=SH)
    b = ledger.balance(M)
    assert (b.available, b.locked, b.total) == (0, 200, 200)
    with pytest.raises(InsufficientPoints):
        ledger.redeem(M, 1, reason="mall", key="r")
    clock.advance(days=7)
    assert ledger.balance(M).available == 200
    assert ledger.redeem(M, 200, reason="mall", key="r2").delta == -200


def test_expiry_policy_thirty_days_to_end_of_day(open_store: Callable[[], Any]) -> None:
    earned = datetime(2024, 1, 15, 10, 0, tzinfo=SH)
    ledger = Ledger(open_store(), expiry="30d", clock=lambda: earned)
    tx = ledger.earn(M, 10, reason="x", key="a")
    assert tx.expires_at == datetime(2024, 2, 14, 23, 59, 59, tzinfo=SH)
    assert ledger.expire(datetime(2024, 2, 14, 23, 59, 58, tzinfo=SH)).total == 0
    report = ledger.expire(datetime(2024, 2, 14, 23, 59, 59, tzinfo=SH))
    assert report.total == 10 and list(report.member_id) == [M]
    assert ledger.expire(datetime(2024, 3, 1, tzinfo=SH)).total == 0  # idempotent
    assert ledger.balance(M, as_of=datetime(2024, 3, 1, tzinfo=SH)).available == 0
    assert replayed(ledger) == 0 and ledger.verify() == []


def test_expired_but_not_yet_run_points_are_not_spendable(ledger: Ledger, clock: Clock) -> None:
    ledger.earn(M, 10, reason="x", key="a", expires_at=T0 + timedelta(days=1))
    clock.advance(days=2)
    b = ledger.balance(M)
    assert (b.available, b.awaiting_expiry) == (0, 10)
    with pytest.raises(InsufficientPoints):
        ledger.redeem(M, 1, reason="mall", key="r")


def test_balance_expiring_within_horizon(ledger: Ledger) -> None:
    ledger.earn(M, 10, reason="x", key="a", expires_at=T0 + timedelta(days=5))
    ledger.earn(M, 20, reason="x", key="b", expires_at=T0 + timedelta(days=60))
    b = ledger.balance(M)
    assert (b.available, b.expiring) == (30, 10)


def test_reverse_earn_full_partial_and_bounds(ledger: Ledger) -> None:
    earn = ledger.earn(M, 100, reason="order", key="o")
    r1 = ledger.reverse(earn.id, key="r1", points=30)
    assert r1.reverses == earn.id and r1.delta == -30
    with pytest.raises(NotReversible):
        ledger.reverse(earn.id, key="r2", points=71)
    ledger.reverse(earn.id, key="r3")
    with pytest.raises(NotReversible):
        ledger.reverse(earn.id, key="r4", points=1)
    with pytest.raises(NotReversible):
        ledger.reverse(r1.id, key="r5")
    assert ledger.balance(M).available == 0 and ledger.verify() == []


def test_reverse_spent_earn_policies(open_store: Callable[[], Any], clock: Clock) -> None:
    ledger = Ledger(open_store(), clock=clock)
    earn = ledger.earn(M, 100, reason="order", key="o")
    ledger.earn(M, 20, reason="other", key="o2")
    ledger.redeem(M, 90, reason="mall", key="m")
    before = state(ledger)
    with pytest.raises(InsufficientPoints):
        ledger.reverse(earn.id, key="rev", policy="reject")
    assert state(ledger) == before
    clamp = ledger.reverse(earn.id, key="rev", policy="clamp", points=50)
    assert (clamp.delta, clamp.shortfall) == (-30, 20)
    assert ledger.balance(M).available == 0
    debt = ledger.reverse(earn.id, key="rev2", policy="debt", points=50)
    assert (debt.delta, debt.shortfall, debt.debt_change) == (-50, 50, 50)
    b = ledger.balance(M)
    assert (b.available, b.debt, b.total) == (0, 50, -50)
    ledger.earn(M, 80, reason="later", key="o3")
    b = ledger.balance(M)
    assert (b.available, b.debt) == (30, 0)
    assert any(t.kind is TxKind.REPAY for t in ledger.history(M))
    assert replayed(ledger) == 30 and ledger.verify() == []


def test_reverse_redemption_returns_to_lots_and_expired_lots_lapse(
    ledger: Ledger, clock: Clock
) -> None:
    short = ledger.earn(M, 50, reason="promo", key="a", expires_at=T0 + timedelta(days=1))
    long = ledger.earn(M, 50, reason="x", key="b", expires_at=T0 + timedelta(days=100))
    red = ledger.redeem(M, 80, reason="mall", key="r")
    clock.advance(days=2)
    rev = ledger.reverse(red.id, key="undo", points=40)
    assert [(m.lot_id, m.open) for m in rev.moves] == [(long.id, 30), (short.id, 10)]
    lapsed = [t for t in ledger.history(M) if t.kind is TxKind.EXPIRE]
    assert [(m.lot_id, m.open) for m in lapsed[0].moves] == [(short.id, -10)]
    assert ledger.balance(M).available == 50
    ledger.reverse(red.id, key="undo2")
    assert ledger.balance(M).available == 50  # the other 40 went to the lapsed promo lot
    with pytest.raises(NotReversible):
        ledger.reverse(red.id, key="undo3")
    assert ledger.verify() == []


def test_reverse_capture(ledger: Ledger) -> None:
    ledger.earn(M, 100, reason="x", key="a")
    hold = ledger.hold(M, 70, key="h")
    cap = ledger.capture(hold.id, 50)
    ledger.reverse(cap.id, key="refund")
    assert ledger.balance(M).available == 100 and ledger.verify() == []


@pytest.mark.parametrize(
    ("points", "code"),
    [(0, "out_of_bounds"), (-5, "out_of_bounds"), (1.5, "not_integer"), (True, "not_integer"),
     ("10", "not_integer"), (10**12, "out_of_bounds")],
)  # fmt: skip
def test_bad_amounts_refused_and_nothing_written(ledger: Ledger, points: Any, code: str) -> None:
    ledger.earn(M, 10, reason="x", key="seed")
    before = state(ledger)
    for call in (
        lambda: ledger.earn(M, points, reason="x", key="e"),
        lambda: ledger.redeem(M, points, reason="x", key="e"),
        lambda: ledger.hold(M, points, key="e"),
    ):
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.field == "points" and info.value.code == code
    assert state(ledger) == before


def test_other_bad_input(ledger: Ledger) -> None:
    ledger.earn(M, 10, reason="x", key="seed")
    before = state(ledger)
    with pytest.raises(UnknownMember):
        ledger.redeem("member-9999", 1, reason="x", key="u")
    with pytest.raises(UnknownTransaction):
        ledger.reverse("tx_missing", key="u")
    with pytest.raises(UnknownTransaction):
        ledger.capture("hold_missing")
    with pytest.raises(InvalidInput) as info:
        ledger.earn(M, 1, reason="x", key="n", occurred_at=datetime(2026, 1, 1))
    assert info.value.field == "occurred_at" and info.value.code == "naive_datetime"
    with pytest.raises(InvalidInput):
        ledger.earn(M, 1, reason="x", key="n", expires_at=T0 - timedelta(days=1))
    with pytest.raises(InvalidInput):
        ledger.earn("", 1, reason="x", key="n")
    with pytest.raises(InvalidInput):
        ledger.earn(M, 1, reason="", key="n")
    with pytest.raises(NotRedeemable):
        ledger.redeem(M, 1, reason="x", key="g", account="growth")
    assert state(ledger) == before
    with pytest.raises(UnknownMember) as info_member:
        ledger.redeem("member-9999", 1, reason="x", key="u")
    assert "member-9999" not in str(info_member.value)


def test_growth_is_separate_and_reversible(ledger: Ledger) -> None:
    g = ledger.grow(M, 40, reason="referral", key="g")
    assert ledger.growth_value(M) == 40 and ledger.balance(M).available == 0
    ledger.reverse(g.id, key="g-undo", points=15)
    assert ledger.growth_value(M) == 25
    assert ledger.verify() == []


def test_award_is_atomic_under_an_injected_fault(ledger: Ledger) -> None:
    calls: list[str] = []

    def fault(tx: Any) -> None:
        calls.append(tx.account)
        if tx.account == "growth":
            raise RuntimeError("disk on fire")

    ledger.store.fault = fault
    with pytest.raises(RuntimeError):
        ledger.award(M, points=20, growth=5, reason="referral", key="ref")
    ledger.store.fault = None
    assert calls == ["points", "growth"]  # the points row was written before the fault
    assert ledger.history(M) == [] and ledger.growth_value(M) == 0
    a = ledger.award(M, points=20, growth=5, reason="referral", key="ref")
    assert ledger.award(M, points=20, growth=5, reason="referral", key="ref") == a
    assert (ledger.balance(M).available, ledger.growth_value(M)) == (20, 5)


def test_forget_keeps_amounts_and_drops_the_link(ledger: Ledger) -> None:
    ledger.earn(M, 100, reason="x", key="a")
    ledger.redeem(M, 30, reason="x", key="b")
    ledger.award_medal(M, "first_test_drive")
    assert ledger.forget(M) == 2
    assert ledger.history(M) == [] and ledger.medals(M) == []
    assert ledger.balance(M).available == 0
    assert ledger.verify() == []


def test_state_survives_reopening(open_store: Callable[[], Any], clock: Clock) -> None:
    a = Ledger(open_store(), clock=clock)
    a.earn(M, 100, reason="x", key="a")
    hold = a.hold(M, 40, key="h")
    b = Ledger(open_store(), clock=clock)
    assert b.balance(M).held == 40
    b.capture(hold.id)
    assert a.balance(M).available == 60 and b.verify() == []


def test_timestamps_are_aware(ledger: Ledger) -> None:
    tx = ledger.earn(M, 1, reason="x", key="a")
    assert tx.created_at == T0 and tx.created_at.tzinfo is not None
    assert tx.occurred_at.utcoffset() == timedelta(0)
    assert "member-0001" not in repr(tx)


def test_medals_once_per_member(ledger: Ledger) -> None:
    first = ledger.award_medal(M, "ten_check_ins", reason="10 check-ins")
    again = ledger.award_medal(M, "ten_check_ins", awarded_at=T0 + timedelta(days=3))
    assert first == again and first.awarded_at == T0
    assert [m.medal for m in ledger.medals()] == ["ten_check_ins"]


def test_naive_clock_refused(open_store: Callable[[], Any]) -> None:
    ledger = Ledger(open_store(), clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(InvalidInput):
        ledger.earn(M, 1, reason="x", key="a")


def test_as_of_balance(ledger: Ledger) -> None:
    ledger.earn(M, 10, reason="x", key="a", locked_until=T0 + timedelta(days=3))
    later = datetime(2026, 3, 5, tzinfo=timezone.utc)
    assert ledger.balance(M, as_of=later).available == 10
    assert ledger.balance(M).available == 0
