"""Property tests of the ledger's rules: random sequences of earn/redeem/hold/capture/
release/reverse/expire keep every invariant (balance = open lots ≥ 0, held ≤ balance,
history replays to the balance, verify() clean, refused operations write nothing)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.errors import LedgerError
from autoops.loyalty import Ledger, MemoryStore, SQLiteStore
from autoops.models import TxKind

from .conftest import Clock

MEMBERS = ["member-0000", "member-0001"]

op = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 1), st.integers(1, 100), st.none() | st.integers(1, 40),
              st.integers(0, 3)),
    st.tuples(st.just("redeem"), st.integers(0, 1), st.integers(1, 120)),
    st.tuples(st.just("hold"), st.integers(0, 1), st.integers(1, 80), st.integers(5, 600)),
    st.tuples(st.just("capture"), st.integers(0, 20), st.none() | st.integers(1, 80)),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("reverse"), st.integers(0, 40), st.none() | st.integers(1, 60),
              st.sampled_from(["reject", "clamp", "debt"])),
    st.tuples(st.just("expire")),
    st.tuples(st.just("advance"), st.integers(1, 24 * 20)),
)  # fmt: skip


def check_invariants(ledger: Ledger, clock: Clock) -> None:
    ledger.expire(clock.now)  # settle lapsed holds so history and lots are comparable
    assert ledger.verify() == []
    for m in MEMBERS:
        b = ledger.balance(m)
        assert b.available >= 0 and b.held >= 0 and b.locked >= 0 and b.debt >= 0
        assert b.held <= b.available + b.held + b.locked + b.awaiting_expiry
        assert b.awaiting_expiry == 0
        history = ledger.history(m, account="points")
        assert sum(t.delta for t in history) == b.available + b.held + b.locked - b.debt
        if b.debt:
            assert b.available == 0  # debt is repaid before points can be spent


def run_ops(ledger: Ledger, clock: Clock, ops: list[tuple[Any, ...]]) -> None:
    txs: list[str] = []
    holds: list[str] = []
    for n, o in enumerate(ops):
        kind = o[0]
        key = f"k{n}"
        member = MEMBERS[o[1]] if kind in ("earn", "redeem", "hold") else None
        before = [len(ledger.history(m)) for m in MEMBERS]
        try:
            if kind == "earn":
                exp = (
                    None if o[3] is None else clock.now + timedelta(days=o[3], hours=o[4] * 24 + 1)
                )
                locked = clock.now + timedelta(days=o[4]) if o[4] else None
                txs.append(ledger.earn(member, o[2], reason="p", key=key, expires_at=exp,
                                       locked_until=locked).id)  # fmt: skip
            elif kind == "redeem":
                txs.append(ledger.redeem(member, o[2], reason="p", key=key).id)
            elif kind == "hold":
                holds.append(ledger.hold(member, o[2], key=key, ttl=timedelta(minutes=o[3])).id)
            elif kind == "capture" and holds:
                tx = ledger.capture(holds[o[1] % len(holds)], o[2])
                txs.append(tx.id)
            elif kind == "release" and holds:
                ledger.release(holds[o[1] % len(holds)])
            elif kind == "reverse" and txs:
                ledger.reverse(txs[o[1] % len(txs)], key=key, points=o[2], policy=o[3])
            elif kind == "expire":
                ledger.expire(clock.now)
            elif kind == "advance":
                clock.advance(hours=o[1])
        except (LedgerError, ValueError):
            after = [len(ledger.history(m)) for m in MEMBERS]
            assert after == before  # a refused operation writes nothing
        if n % 5 == 4:
            check_invariants(ledger, clock)
    check_invariants(ledger, clock)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=25))
def test_random_sequences_keep_invariants_memory(ops: list[tuple[Any, ...]]) -> None:
    clock = Clock()
    run_ops(Ledger(MemoryStore(), clock=clock), clock, ops)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(op, min_size=1, max_size=20))
def test_random_sequences_keep_invariants_sqlite(
    tmp_path: Path, ops: list[tuple[Any, ...]]
) -> None:
    clock = Clock()
    path = tmp_path / f"p{abs(hash(tuple(map(str, ops))))}.db"
    store = SQLiteStore(path)
    try:
        run_ops(Ledger(store, clock=clock), clock, ops)
    finally:
        store.close()
        path.unlink()


def test_kinds_are_all_exercised() -> None:
    """A fixed sequence hits every transaction kind (guards the strategies above)."""
    clock = Clock()
    ledger = Ledger(MemoryStore(), clock=clock)
    ops = [("earn", 0, 100, 2, 0), ("redeem", 0, 30), ("hold", 0, 20, 5), ("capture", 0, 10),
           ("hold", 0, 20, 5), ("release", 1), ("reverse", 1, None, "reject"),
           ("reverse", 0, 100, "debt"), ("earn", 0, 50, 1, 0), ("advance", 24 * 5), ("expire",)]  # fmt: skip
    run_ops(ledger, clock, ops)
    kinds = {t.kind for t in ledger.history(MEMBERS[0])}
    assert kinds == set(TxKind)


class ReferenceLedger:
    """A brute-force model of earn/redeem/expire: a list of [expiry, earned, seq, remaining]."""

    def __init__(self) -> None:
        self.lots: dict[str, list[list[Any]]] = {m: [] for m in MEMBERS}

    def earn(self, member: str, points: int, earned: Any, expiry: Any, seq: int) -> None:
        self.lots[member].append([expiry, earned, seq, points])

    def available(self, member: str, now: Any) -> int:
        return sum(lot[3] for lot in self.lots[member] if lot[0] is None or lot[0] > now)

    def redeem(self, member: str, points: int, now: Any) -> bool:
        if points > self.available(member, now):
            return False
        live = [lot for lot in self.lots[member] if lot[0] is None or lot[0] > now]
        far = now + timedelta(days=10**5)
        for lot in sorted(live, key=lambda x: (far if x[0] is None else x[0], x[1], x[2])):
            take = min(lot[3], points)
            lot[3] -= take
            points -= take
        return True


simple_op = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 1), st.integers(1, 100), st.none() | st.integers(1, 30),
              st.integers(0, 48)),
    st.tuples(st.just("redeem"), st.integers(0, 1), st.integers(1, 150)),
    st.tuples(st.just("advance"), st.integers(1, 24 * 5)),
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(st.lists(simple_op, max_size=30))
def test_matches_brute_force_reference(ops: list[tuple[Any, ...]]) -> None:
    clock = Clock()
    ledger = Ledger(MemoryStore(), clock=clock)
    ref = ReferenceLedger()
    for n, o in enumerate(ops):
        if o[0] == "earn":
            member, points = MEMBERS[o[1]], o[2]
            earned = clock.now - timedelta(hours=o[4])
            expiry = None if o[3] is None else clock.now + timedelta(days=o[3])
            ledger.earn(
                member, points, reason="r", key=f"k{n}", occurred_at=earned, expires_at=expiry
            )
            ref.earn(member, points, earned, expiry, n)
        elif o[0] == "redeem":
            member, points = MEMBERS[o[1]], o[2]
            try:
                ledger.redeem(member, points, reason="r", key=f"k{n}")
                ok = True
            except LedgerError:
                ok = False
            assert ok == ref.redeem(member, points, clock.now)
        else:
            clock.advance(hours=o[1])
        for m in MEMBERS:
            assert ledger.balance(m).available == ref.available(m, clock.now)
