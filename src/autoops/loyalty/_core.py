"""The :class:`Ledger` façade: validation, idempotency, one store transaction per operation."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import numpy as np

from autoops._masking import mask_id
from autoops._time import DEFAULT_TZ, aware, parse_duration
from autoops.errors import (
    ConfigError,
    HoldExpired,
    IdempotencyConflict,
    InvalidInput,
    LedgerError,
    NotRedeemable,
    NotReversible,
    UnknownMember,
    UnknownTransaction,
)
from autoops.loyalty._expiry import NEVER, ExpiryPolicy
from autoops.loyalty._ledger import POLICIES, Work
from autoops.loyalty._results import EarnBatch, ExpiryReport
from autoops.loyalty._rows import IdSource, TxRow, from_us, new_id, payload_hash, to_us
from autoops.loyalty._store import KeyRace, LedgerStore, MemoryStore
from autoops.models._loyalty import (
    Award,
    Balance,
    Finding,
    GrowthEvent,
    Hold,
    Medal,
    PointsTransaction,
)

__all__ = ["MAX_POINTS", "Ledger"]

MAX_POINTS = 1_000_000_000
"""The largest amount one operation may move."""

T = TypeVar("T")
_REVERSIBLE = ("earn", "redeem", "capture")


def check_points(value: object, *, field: str = "points", maximum: int = MAX_POINTS) -> int:
    """An integer amount in [1, maximum], else :class:`InvalidInput`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"must be a whole number of points, got {type(value).__name__}"
        raise InvalidInput(msg, field=field, code="not_integer")
    number = int(value)
    if number <= 0:
        raise InvalidInput(f"must be positive, got {number}", field=field, code="out_of_bounds")
    if number > maximum:
        raise InvalidInput(
            f"must be at most {maximum}, got {number}", field=field, code="out_of_bounds"
        )
    return number


def check_text(value: object, *, field: str, limit: int = 200) -> str:
    """A non-empty string of at most *limit* characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=field)
    if len(value) > limit:
        raise InvalidInput(f"must be at most {limit} characters", field=field)
    return value


class Ledger:
    """A points and growth-value ledger over a store (memory, SQLite or PostgreSQL).

    Every operation is one store transaction: it locks the member, checks the
    idempotency *key*, decides with the pure rules of the ledger (earliest
    expiry first, holds, locks, reversals) and writes the new transactions and
    changed lots together — wholly or not at all. The same *key* with the same
    payload returns the original result and writes nothing; with a different
    payload it raises :class:`~autoops.errors.IdempotencyConflict`. Amounts are
    integers in ``[1, MAX_POINTS]``; datetimes must be timezone-aware.

    Args:
        store: where state lives; a fresh :class:`MemoryStore` by default.
        expiry: default expiry policy for earns (``"never"``, ``"365d"``,
            ``"end_of_month"``, ``"end_of_year"``, ``"end_of_year_after_next"``).
        reversal_policy: what undoing already-spent earned points does:
            ``"reject"``, ``"clamp"`` (take what is there; shortfall recorded)
            or ``"debt"`` (carry a debt repaid from later points).
        hold_ttl: default time-to-live of holds (``"30min"``).
        expiring_within: the horizon of ``Balance.expiring`` (``"30d"``).
        tz: the program's time zone (expiry days and months are counted there).
        clock: returns "now" as an aware datetime (tests pass a fake clock).
        actor: recorded on every transaction as who acted.

    Examples:
        >>> ledger = Ledger()
        >>> ledger.earn("member-0001", 500, reason="purchase", key="order-1").points
        500
        >>> ledger.redeem("member-0001", 120, reason="coffee coupon", key="mall-7").delta
        -120
        >>> ledger.balance("member-0001").available
        380
    """

    def __init__(
        self,
        store: LedgerStore | None = None,
        *,
        expiry: str | ExpiryPolicy = "never",
        reversal_policy: str = "reject",
        hold_ttl: str | timedelta = "30min",
        expiring_within: str | timedelta = "30d",
        tz: str = DEFAULT_TZ,
        clock: Callable[[], datetime] | None = None,
        actor: str = "system",
    ) -> None:
        if reversal_policy not in POLICIES:
            raise ConfigError(f"use one of {POLICIES}", key="reversal_policy")
        self.store: LedgerStore = store if store is not None else MemoryStore()
        self.tz = tz
        self.expiry = ExpiryPolicy.parse(expiry, tz=tz)
        self.reversal_policy = reversal_policy
        self.hold_ttl = parse_duration(hold_ttl, key="hold_ttl")
        self.expiring_within = parse_duration(expiring_within, key="expiring_within")
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.actor = check_text(actor, field="actor")

    def __repr__(self) -> str:
        return f"Ledger(store={self.store!r}, expiry={self.expiry.kind!r}, policy={self.reversal_policy!r})"

    # -- plumbing ----------------------------------------------------------------
    def _now(self) -> int:
        return to_us(aware(self.clock(), field="clock"))

    def _write(
        self,
        members: Sequence[str] | Callable[[Any], Sequence[str]],
        key: str | None,
        payload: str | None,
        body: Callable[[Any], T],
        replay: Callable[[Any, TxRow], T] | None = None,
    ) -> T:
        for _ in range(20):
            try:
                with self.store.session() as s:
                    s.lock(members(s) if callable(members) else members)
                    if key is not None:
                        hit = s.find_keys([key]).get(key)
                        if hit is not None:
                            if hit.payload != payload:
                                msg = f"key {mask_id(key)} was already used for a different {hit.kind}"
                                raise IdempotencyConflict(msg, key=key)
                            return replay(s, hit) if replay else self._replay(s, hit)
                    return body(s)
            except KeyRace:
                continue
        raise LedgerError("could not commit: the idempotency key kept racing")  # pragma: no cover

    @staticmethod
    def _replay(s: Any, hit: TxRow) -> Any:
        if hit.kind == "hold" and hit.hold_id is not None:
            return s.hold(hit.hold_id).model()
        return hit.model()

    def _work(self, s: Any, member_id: str, now: int, actor: str | None = None) -> Work:
        lots, holds, debt = s.member_state(member_id)
        return Work(member_id, lots, holds, debt, now, actor or self.actor)

    @staticmethod
    def _commit(s: Any, w: Work) -> None:
        s.write(w.txs, w.changed_lots(), w.changed_holds(), {w.member_id: w.debt})

    def _instant(self, value: datetime | None, field: str) -> int | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidInput(
                f"expected an aware datetime, got {type(value).__name__}", field=field
            )
        return to_us(aware(value, field=field))

    def _expiry_for(
        self,
        occurred: int,
        unlock: int,
        expires_at: datetime | None,
        policy: str | ExpiryPolicy | None,
    ) -> int:
        if expires_at is not None:
            if policy is not None:
                raise InvalidInput("give expires_at or policy, not both", field="policy")
            exp = self._instant(expires_at, "expires_at")
            assert exp is not None
            if exp <= max(occurred, unlock):
                raise InvalidInput(
                    "must be after the earn (and unlock) instant", field="expires_at"
                )
            return exp
        rule = self.expiry if policy is None else ExpiryPolicy.parse(policy, tz=self.tz)
        return int(rule.expires_at_us(np.array([max(occurred, unlock)], dtype=np.int64))[0])

    # -- points ------------------------------------------------------------------
    def earn(
        self,
        member_id: str,
        points: int,
        *,
        reason: str,
        key: str,
        occurred_at: datetime | None = None,
        expires_at: datetime | None = None,
        policy: str | ExpiryPolicy | None = None,
        locked_until: datetime | str | None = None,
        actor: str | None = None,
    ) -> PointsTransaction:
        """Credit *points* to a member as a new lot.

        The lot's expiry is *expires_at*, else *policy*, else the ledger's
        default policy, counted from the unlock instant when the points are
        locked (*locked_until*, an aware datetime or a duration such as
        ``"7d"`` after *occurred_at*): locked points are visible in
        ``Balance.locked`` but not spendable until then. Outstanding debt is
        repaid first from the new points once they are spendable.

        Args:
            member_id: the member (a non-empty string).
            points: a positive integer.
            reason: why (recorded on the transaction).
            key: the idempotency key.
            occurred_at: when the activity happened (aware); now by default.
            expires_at: an explicit expiry instant (aware).
            policy: an expiry policy for this earn.
            locked_until: pending until this instant or for this duration.
            actor: who acted (defaults to the ledger's actor).

        Returns:
            The ``earn`` transaction; its id is also the lot id.

        Raises:
            InvalidInput: bad amount, empty member/reason/key, naive datetime,
                expiry not after the earn.
            IdempotencyConflict: *key* was used with a different payload.

        Examples:
            >>> from datetime import datetime, timezone
            >>> ledger = Ledger(clock=lambda: datetime(2026, 3, 1, tzinfo=timezone.utc))
            >>> tx = ledger.earn("member-0001", 100, reason="purchase", key="o-1", locked_until="7d")
            >>> b = ledger.balance("member-0001")
            >>> b.available, b.locked
            (0, 100)
            >>> again = ledger.earn("member-0001", 100, reason="purchase", key="o-1", locked_until="7d")
            >>> again.id == tx.id
            True
            >>> ledger.earn("member-0001", 999, reason="purchase", key="o-1")
            Traceback (most recent call last):
            ...
            autoops.errors.IdempotencyConflict: key *** was already used for a different earn
        """
        return self._earn(
            member_id,
            points,
            reason,
            key,
            occurred_at,
            expires_at,
            policy,
            locked_until,
            actor,
            "points",
        ).model()

    def _earn(
        self,
        member_id: str,
        points: int,
        reason: str,
        key: str,
        occurred_at: datetime | None,
        expires_at: datetime | None,
        policy: str | ExpiryPolicy | None,
        locked_until: datetime | str | None,
        actor: str | None,
        account: str,
    ) -> TxRow:
        check_text(member_id, field="member_id")
        points = check_points(points)
        check_text(reason, field="reason")
        check_text(key, field="key")
        now = self._now()
        given_occ = self._instant(occurred_at, "occurred_at")
        occ = now if given_occ is None else given_occ
        if isinstance(locked_until, str):
            unlock = occ + parse_duration(locked_until, key="locked_until") // timedelta(
                microseconds=1
            )
        else:
            given_unlock = self._instant(locked_until, "locked_until")
            unlock = occ if given_unlock is None else max(occ, given_unlock)
        exp = NEVER if account == "growth" else self._expiry_for(occ, unlock, expires_at, policy)
        pol = None if policy is None else ExpiryPolicy.parse(policy, tz=self.tz).to_json()
        payload = payload_hash(
            "earn", account, member_id, points, reason, given_occ,
            self._instant(expires_at, "expires_at"), pol, None if locked_until is None else unlock,
        )  # fmt: skip

        def body(s: Any) -> TxRow:
            w = self._work(s, member_id, now, actor)
            w.settle()
            tx = w.earn(
                points,
                reason=reason,
                key=key,
                payload=payload,
                occurred_at=occ,
                expires_at=exp,
                unlock_at=unlock,
                account=account,
            )
            w.settle()
            self._commit(s, w)
            return tx

        return self._write([member_id], key, payload, body, lambda s, hit: hit)

    def redeem(
        self,
        member_id: str,
        points: int,
        *,
        reason: str,
        key: str,
        account: str = "points",
        actor: str | None = None,
    ) -> PointsTransaction:
        """Spend *points*, earliest-expiring lots first (ties: earliest earned).

        Only unlocked, unexpired, unheld points are spendable; the ledger
        never goes negative.

        Raises:
            InsufficientPoints: fewer points available than asked (``.available``).
            NotRedeemable: *account* is ``"growth"`` (growth value is never spent).
            UnknownMember: the member has no transactions.
            InvalidInput: bad amount or empty fields.
            IdempotencyConflict: *key* reused with a different payload.

        Examples:
            >>> from datetime import datetime, timezone
            >>> ledger = Ledger()
            >>> t = datetime(2099, 1, 1, tzinfo=timezone.utc)
            >>> _ = ledger.earn("m-000001", 50, reason="long-lived", key="a")
            >>> _ = ledger.earn("m-000001", 30, reason="promo", key="b", expires_at=t)
            >>> tx = ledger.redeem("m-000001", 40, reason="mall", key="c")
            >>> [m.open for m in tx.moves]  # the promo lot (expiring first) goes first
            [-30, -10]
            >>> ledger.redeem("m-000001", 100, reason="mall", key="d")
            Traceback (most recent call last):
            ...
            autoops.errors.InsufficientPoints: member m-…01 has 40 points available, needs 100
        """
        if account == "growth":
            raise NotRedeemable("growth value is never spent")
        check_text(member_id, field="member_id")
        points = check_points(points)
        check_text(reason, field="reason")
        check_text(key, field="key")
        now = self._now()
        payload = payload_hash("redeem", member_id, points, reason)

        def body(s: Any) -> PointsTransaction:
            if not s.known(member_id):
                raise UnknownMember(f"no transactions for member {mask_id(member_id)}")
            w = self._work(s, member_id, now, actor)
            w.settle()
            tx = w.redeem(points, reason=reason, key=key, payload=payload)
            w.settle()
            self._commit(s, w)
            return tx.model()

        return self._write([member_id], key, payload, body)

    def hold(
        self,
        member_id: str,
        points: int,
        *,
        key: str,
        ttl: str | timedelta | None = None,
        reason: str = "hold",
    ) -> Hold:
        """Reserve *points* for a pending order; they stop being spendable.

        The reserve is taken from lots in consumption order and stays on them.
        ``capture()`` spends it (all or part; the rest is released),
        ``release()`` returns it; a hold not captured within *ttl* is released
        by the next operation on the member or by ``expire()``, exactly once.

        Raises:
            InsufficientPoints: fewer points available than asked.
            UnknownMember: the member has no transactions.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 100, reason="welcome", key="w")
            >>> h = ledger.hold("member-0001", 60, key="order-9", ttl="15min")
            >>> ledger.balance("member-0001").available, h.state.value
            (40, 'active')
            >>> ledger.capture(h.id, 50).points
            50
            >>> ledger.balance("member-0001").available
            50
        """
        check_text(member_id, field="member_id")
        points = check_points(points)
        check_text(key, field="key")
        check_text(reason, field="reason")
        life = self.hold_ttl if ttl is None else parse_duration(ttl, key="ttl")
        now = self._now()
        expires = now + life // timedelta(microseconds=1)
        payload = payload_hash("hold", member_id, points, reason, life)

        def body(s: Any) -> Hold:
            if not s.known(member_id):
                raise UnknownMember(f"no transactions for member {mask_id(member_id)}")
            w = self._work(s, member_id, now)
            w.settle()
            hold, _ = w.hold(points, expires_at=expires, reason=reason, key=key, payload=payload)
            self._commit(s, w)
            return hold.model()

        return self._write([member_id], key, payload, body)

    def _hold_members(self, hold_id: str) -> Callable[[Any], list[str]]:
        def members(s: Any) -> list[str]:
            h = s.hold(hold_id)
            if h is None:
                raise UnknownTransaction(f"no hold {hold_id!r}")
            return [h.member_id]

        return members

    def capture(
        self,
        hold_id: str,
        points: int | None = None,
        *,
        key: str | None = None,
        reason: str = "capture",
    ) -> PointsTransaction:
        """Spend *points* of a hold (all by default); the rest goes back to its lots.

        Capturing an already captured hold with the same amount returns the
        original capture.

        Raises:
            HoldExpired: the hold's TTL passed (its points are released).
            LedgerError: the hold was released or captured with another amount.
            UnknownTransaction: no such hold.
            InvalidInput: *points* outside ``[1, hold.points]``.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 100, reason="welcome", key="w")
            >>> h = ledger.hold("member-0001", 80, key="order-1")
            >>> ledger.capture(h.id).delta
            -80
        """
        check_text(hold_id, field="hold_id")
        if points is not None:
            points = check_points(points)
        now = self._now()
        payload = payload_hash("capture", hold_id, points, reason)

        def body(s: Any) -> PointsTransaction:
            row = s.hold(hold_id)
            w = self._work(s, row.member_id, now)
            hold = w.holds.get(hold_id)
            if hold is None:
                if row.state == "captured" and points in (None, row.captured):
                    return s.tx(row.settled_by).model()  # type: ignore[no-any-return]
                if row.state == "expired":
                    raise HoldExpired(f"hold {hold_id!r} expired and was released")
                raise LedgerError(f"hold {hold_id!r} is already {row.state}")
            if hold.expires_at <= now:
                raise HoldExpired(f"hold {hold_id!r} expired; its points are released")
            amount = hold.points if points is None else points
            if amount > hold.points:
                raise InvalidInput(f"must be at most the held {hold.points}", field="points")
            w.settle()
            tx = w.settle_hold(hold, amount, reason=reason, state="captured", key=key)
            w.settle()
            self._commit(s, w)
            return tx.model()

        return self._write(self._hold_members(hold_id), key, payload if key else None, body)

    def release(
        self, hold_id: str, *, key: str | None = None, reason: str = "release"
    ) -> PointsTransaction:
        """Return a hold's points to their lots (idempotent; lapsed lots expire at once).

        Raises:
            LedgerError: the hold was captured.
            UnknownTransaction: no such hold.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 100, reason="welcome", key="w")
            >>> h = ledger.hold("member-0001", 80, key="order-1")
            >>> ledger.release(h.id).kind.value
            'release'
            >>> ledger.balance("member-0001").available
            100
        """
        check_text(hold_id, field="hold_id")
        now = self._now()
        payload = payload_hash("release", hold_id, reason)

        def body(s: Any) -> PointsTransaction:
            row = s.hold(hold_id)
            w = self._work(s, row.member_id, now)
            hold = w.holds.get(hold_id)
            if hold is None:
                if row.state in ("released", "expired"):
                    return s.tx(row.settled_by).model()  # type: ignore[no-any-return]
                raise LedgerError(f"hold {hold_id!r} is already {row.state}")
            w.settle()
            if hold.state != "active":  # lapsed during settle: that release is the answer
                self._commit(s, w)
                return next(t for t in w.txs if t.id == hold.settled_by).model()
            tx = w.settle_hold(hold, 0, reason=reason, state="released", key=key)
            w.settle()
            self._commit(s, w)
            return tx.model()

        return self._write(self._hold_members(hold_id), key, payload if key else None, body)

    def reverse(
        self,
        transaction_id: str,
        *,
        key: str,
        points: int | None = None,
        policy: str | None = None,
        reason: str = "reversal",
        actor: str | None = None,
    ) -> PointsTransaction:
        """Undo all or part of an earn, redemption or capture.

        Partial reversals never add up past the original; reversing a
        reversal (or an expiry, hold, release or repayment) is refused.
        Undoing an earn takes the points from the earn's own lot first, then
        from the member's other spendable points, and the rest follows
        *policy* (default: the ledger's): ``reject`` refuses, ``clamp`` stops
        at zero and records the ``shortfall``, ``debt`` carries a debt that
        later points repay. Undoing a redemption returns points to the lots
        they came from (last spent first); points returned to a lot that
        expired meanwhile expire again at once (a separate ``expire``
        transaction in the same operation).

        Raises:
            UnknownTransaction: no such transaction.
            NotReversible: wrong kind, or more than what is left to reverse.
            InsufficientPoints: policy ``reject`` and the points were spent.

        Examples:
            >>> ledger = Ledger()
            >>> earn = ledger.earn("member-0001", 100, reason="order", key="o-1")
            >>> _ = ledger.redeem("member-0001", 70, reason="mall", key="m-1")
            >>> ledger.reverse(earn.id, key="refund-1", policy="clamp").shortfall
            70
            >>> ledger.reverse(earn.id, key="refund-2")
            Traceback (most recent call last):
            ...
            autoops.errors.NotReversible: nothing left to reverse
        """
        check_text(transaction_id, field="transaction_id")
        check_text(key, field="key")
        if points is not None:
            points = check_points(points)
        rule = policy or self.reversal_policy
        if rule not in POLICIES:
            raise InvalidInput(f"use one of {POLICIES}", field="policy")
        now = self._now()
        payload = payload_hash("reverse", transaction_id, points, policy, reason)

        def members(s: Any) -> list[str]:
            orig = s.tx(transaction_id)
            if orig is None:
                raise UnknownTransaction(f"no transaction {transaction_id!r}")
            if orig.kind not in _REVERSIBLE:
                raise NotReversible(f"a {orig.kind} transaction cannot be reversed")
            return [orig.member_id]

        def body(s: Any) -> PointsTransaction:
            orig = s.tx(transaction_id)
            prior = s.reversals(transaction_id)
            remaining = orig.points - sum(p.points for p in prior)
            if remaining <= 0:
                raise NotReversible("nothing left to reverse")
            amount = remaining if points is None else points
            if amount > remaining:
                raise NotReversible(f"only {remaining} of {orig.points} points are left to reverse")
            w = self._work(s, orig.member_id, now, actor)
            w.settle()
            ids = [orig.id] if orig.kind == "earn" else [m[0] for m in orig.moves]
            for lot in s.lots([i for i in ids if i not in w.lots]):
                w.lots[lot.id] = lot
            if orig.kind == "earn":
                tx = w.reverse_earn(
                    orig, amount, policy=rule, reason=reason, key=key, payload=payload
                )
            else:
                returned: dict[str, int] = {}
                for p in prior:
                    for lot_id, o, h in p.moves:
                        if p.kind == "reverse" and o + h > 0:
                            returned[lot_id] = returned.get(lot_id, 0) + o + h
                tx = w.reverse_spend(
                    orig, amount, returned, reason=reason, key=key, payload=payload
                )
            w.settle()
            self._commit(s, w)
            return tx.model()

        return self._write(members, key, payload, body)

    def earn_many(
        self,
        rows: Any,
        *,
        reason: str | None = None,
        policy: str | None = None,
        actor: str | None = None,
        account: str = "points",
    ) -> EarnBatch:
        """Earn for many rows in one store transaction (batch jobs, earning rules).

        *rows* is a table (mapping of columns, pandas, polars, arrow, or an
        :class:`EarnInstructions`) or a list of record dicts with columns
        ``member_id``, ``points``, ``key`` and optionally ``reason``,
        ``occurred_at`` and ``locked_until`` (aware; numpy ``datetime64`` is
        taken as UTC; ``NaT`` means now / not locked). *account* ``"growth"``
        posts growth value instead of points. Rows
        that fail validation, or whose key was used with another payload, are
        reported as ``failed`` and skipped; all other rows are written
        atomically together. Rows whose key is already in the ledger with the
        same payload are ``duplicate`` (nothing written), so a batch can be
        replayed safely.

        Returns:
            An :class:`EarnBatch` aligned with *rows*.

        Examples:
            >>> ledger = Ledger()
            >>> batch = ledger.earn_many([
            ...     {"member_id": "member-0001", "points": 10, "key": "e-1"},
            ...     {"member_id": "member-0002", "points": -5, "key": "e-2"},
            ... ], reason="check_in")
            >>> batch.status.tolist(), batch.error[1]
            (['earned', 'failed'], 'points: must be positive')
            >>> ledger.earn_many([{"member_id": "member-0001", "points": 10, "key": "e-1"}],
            ...                  reason="check_in").status.tolist()
            ['duplicate']
        """
        from autoops.loyalty._bulk import earn_many

        return earn_many(self, rows, reason=reason, policy=policy, actor=actor, account=account)

    def expire(self, as_of: datetime | None = None) -> ExpiryReport:
        """Expire every lot due at *as_of* (default now) and lapse overdue holds.

        Idempotent: a second run at the same instant expires nothing more.
        One ``expire`` transaction per member lists the lots it emptied; held
        points stay reserved until their hold settles.

        Returns:
            An :class:`ExpiryReport` (one row per member with expired points).

        Examples:
            >>> from datetime import datetime, timezone
            >>> ledger = Ledger(clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
            >>> t = datetime(2026, 1, 31, 15, 59, 59, tzinfo=timezone.utc)
            >>> _ = ledger.earn("member-0001", 10, reason="promo", key="p", expires_at=t)
            >>> ledger.expire(t).total, ledger.expire(t).total
            (10, 0)
        """
        at = self._now() if as_of is None else self._instant(as_of, "as_of")
        assert at is not None
        ids = IdSource("tx")
        out_members: list[str] = []
        out_tx: list[str] = []
        out_points: list[int] = []
        released = 0
        with self.store.session() as s:
            hold_members = s.due_holds(at)
            lots = s.due_lots(at)
            s.lock(sorted({lot.member_id for lot in lots} | set(hold_members)))
            if getattr(s, "reread_after_lock", False):  # row locks: read again under them
                hold_members = s.due_holds(at)
                lots = s.due_lots(at)
            special = set(hold_members)
            txs: list[TxRow] = []
            changed = []
            debts: dict[str, int] = {}
            for member_id in hold_members:
                w = self._work(s, member_id, at)
                before = sum(1 for h in w.holds.values() if h.state == "active")
                w.settle()
                released += before - sum(1 for h in w.holds.values() if h.state == "active")
                due = [
                    x
                    for x in w.lots.values()
                    if x.account == "points" and x.open > 0 and x.expires_at <= at
                ]
                if due:
                    w._expire_returned([x.id for x in due], "expired")
                for t in w.txs:
                    if t.kind == "expire":
                        out_members.append(member_id)
                        out_tx.append(t.id)
                        out_points.append(t.points)
                txs.extend(w.txs)
                changed.extend(w.changed_lots())
                s.write([], [], w.changed_holds(), {})
                debts[member_id] = w.debt
            lots = sorted(
                (x for x in lots if x.member_id not in special), key=lambda x: (x.member_id, x.id)
            )
            for member_id, group in itertools.groupby(lots, key=lambda x: x.member_id):
                moves = []
                for lot in group:
                    moves.append((lot.id, -lot.open, 0))
                    lot.open = 0
                    changed.append(lot)
                total = -sum(o for _, o, _ in moves)
                tx_id = ids.next()
                txs.append(
                    TxRow(
                        tx_id,
                        member_id,
                        "points",
                        "expire",
                        total,
                        -total,
                        "expired",
                        self.actor,
                        at,
                        at,
                        moves=moves,
                    )
                )
                out_members.append(member_id)
                out_tx.append(tx_id)
                out_points.append(total)
            s.write(txs, changed, [], debts)
        return ExpiryReport(
            member_id=np.array(out_members, dtype=object),
            transaction_id=np.array(out_tx, dtype=object),
            points=np.array(out_points, dtype=np.int64),
            as_of=from_us(at),
            holds_released=released,
        )

    # -- reads -------------------------------------------------------------------
    def balance(self, member_id: str, as_of: datetime | None = None) -> Balance:
        """A member's available, held, locked, expiring and debt figures at *as_of*.

        Reads the current state and evaluates locks and expiry at *as_of*
        (default now); overdue holds count as released and outstanding debt
        as repaid, exactly as the next operation would settle them. Unknown
        members have an all-zero balance.

        Examples:
            >>> ledger = Ledger()
            >>> ledger.balance("member-0001").available
            0
        """
        check_text(member_id, field="member_id")
        at = self._now() if as_of is None else self._instant(as_of, "as_of")
        assert at is not None
        with self.store.session(write=False) as s:
            w = self._work(s, member_id, at)
        w.settle()
        pts = [x for x in w.lots.values() if x.account == "points"]
        horizon = at + self.expiring_within // timedelta(microseconds=1)
        spendable = w.spendable(at)
        return Balance(
            member_id=member_id,
            as_of=from_us(at),
            available=sum(x.open for x in spendable),
            held=sum(x.held for x in pts),
            locked=sum(x.open for x in pts if x.unlock_at > at),
            expiring=sum(x.open for x in spendable if x.expires_at <= horizon),
            expiring_before=from_us(horizon),
            awaiting_expiry=sum(x.open for x in pts if x.unlock_at <= at and x.expires_at <= at),
            debt=w.debt,
        )

    def growth_value(self, member_id: str) -> int:
        """The member's total growth value (成长值), reversals deducted.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.grow("member-0001", 30, reason="referral", key="r-1")
            >>> ledger.growth_value("member-0001")
            30
        """
        return sum(t.delta for t in self._history(member_id) if t.account == "growth")

    def _history(self, member_id: str | None) -> list[TxRow]:
        with self.store.session(write=False) as s:
            return list(s.history(member_id))

    def history(self, member_id: str, *, account: str | None = None) -> list[PointsTransaction]:
        """Every transaction of a member in commit order (optionally one *account*).

        Summing ``delta`` over the points account gives the net balance
        (available + held + locked + awaiting expiry - debt).

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 10, reason="check_in", key="c")
            >>> [t.kind.value for t in ledger.history("member-0001")]
            ['earn']
        """
        check_text(member_id, field="member_id")
        rows = self._history(member_id)
        return [t.model() for t in rows if account is None or t.account == account]

    def verify(self) -> list[Finding]:
        """Check every invariant of the stored ledger; an empty list means healthy.

        Checks: each lot's open and held parts equal the sum of the moves of
        the transactions that touched it and stay within ``[0, original]``;
        each transaction's ``delta`` equals its moves minus its debt change;
        per member, deltas add up to lots minus debt, and debt to the sum of
        debt changes; held points equal the active holds' allocations; settled
        holds point at their settling transaction; reversals never exceed
        their original and never target a reversal; keys are unique.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 10, reason="check_in", key="c")
            >>> ledger.verify()
            []
        """
        from autoops.loyalty._verify import verify

        with self.store.session(write=False) as s:
            return verify(s.history(None), s.all_lots(), s.all_holds(), s.all_debts())

    def forget(self, member_id: str) -> int:
        """Erase a member's personal link (PIPL): amounts stay, the id becomes a pseudonym.

        Every transaction, lot, hold, tier and medal of the member is moved to
        a random pseudonym, so the books still balance but no longer name the
        person. Returns the number of transactions anonymised.

        Examples:
            >>> ledger = Ledger()
            >>> _ = ledger.earn("member-0001", 10, reason="check_in", key="c")
            >>> ledger.forget("member-0001"), ledger.history("member-0001")
            (1, [])
        """
        check_text(member_id, field="member_id")
        with self.store.session() as s:
            s.lock([member_id])
            return int(s.forget(member_id, new_id("forgotten")))

    # -- growth and awards -------------------------------------------------------
    def grow(
        self,
        member_id: str,
        value: int,
        *,
        reason: str,
        key: str,
        occurred_at: datetime | None = None,
    ) -> GrowthEvent:
        """Add growth value (成长值): never spent, never expires, reversible with ``reverse()``.

        Examples:
            >>> ledger = Ledger()
            >>> g = ledger.grow("member-0001", 50, reason="community post", key="g-1")
            >>> g.value
            50
            >>> ledger.redeem("member-0001", 10, reason="x", key="x", account="growth")
            Traceback (most recent call last):
            ...
            autoops.errors.NotRedeemable: growth value is never spent
        """
        row = self._earn(
            member_id, value, reason, key, occurred_at, None, None, None, None, "growth"
        )
        return row.growth()

    def award(
        self,
        member_id: str,
        *,
        points: int = 0,
        growth: int = 0,
        reason: str,
        key: str,
        occurred_at: datetime | None = None,
        policy: str | ExpiryPolicy | None = None,
    ) -> Award:
        """Post points and growth value together, atomically: both or neither.

        The points transaction carries *key*; the growth one ``key + "#growth"``.

        Examples:
            >>> ledger = Ledger()
            >>> a = ledger.award("member-0001", points=20, growth=5, reason="referral", key="ref-1")
            >>> a.points.points, a.growth.value
            (20, 5)
        """
        check_text(member_id, field="member_id")
        check_text(reason, field="reason")
        check_text(key, field="key")
        if points:
            check_points(points)
        if growth:
            check_points(growth, field="growth")
        if not points and not growth:
            raise InvalidInput("give points, growth or both", field="points")
        now = self._now()
        given = self._instant(occurred_at, "occurred_at")
        occ = now if given is None else given
        exp = self._expiry_for(occ, occ, None, policy)
        pol = None if policy is None else ExpiryPolicy.parse(policy, tz=self.tz).to_json()
        payload = payload_hash("award", member_id, points, growth, reason, given, pol)
        first = key if points else f"{key}#growth"

        def body(s: Any) -> Award:
            w = self._work(s, member_id, now)
            w.settle()
            p = g = None
            if points:
                p = w.earn(points, reason=reason, key=key, payload=payload, occurred_at=occ,
                           expires_at=exp, unlock_at=occ)  # fmt: skip
            if growth:
                g = w.earn(growth, reason=reason, key=f"{key}#growth", payload=payload,
                           occurred_at=occ, expires_at=NEVER, unlock_at=occ, account="growth")  # fmt: skip
            w.settle()
            self._commit(s, w)
            return Award(points=p.model() if p else None, growth=g.growth() if g else None)

        def replay(s: Any, hit: TxRow) -> Award:
            rows = s.find_keys([key, f"{key}#growth"])
            p, g = rows.get(key), rows.get(f"{key}#growth")
            return Award(points=p.model() if p else None, growth=g.growth() if g else None)

        return self._write([member_id], first, payload, body, replay)

    def award_medal(
        self, member_id: str, medal: str, *, awarded_at: datetime | None = None, reason: str = ""
    ) -> Medal:
        """Award a medal once per member; awarding it again returns the first award.

        Examples:
            >>> ledger = Ledger()
            >>> m1 = ledger.award_medal("member-0001", "first_test_drive")
            >>> m2 = ledger.award_medal("member-0001", "first_test_drive")
            >>> m1 == m2
            True
        """
        check_text(member_id, field="member_id")
        check_text(medal, field="medal")
        at = self._now() if awarded_at is None else self._instant(awarded_at, "awarded_at")
        assert at is not None
        with self.store.session() as s:
            s.lock([member_id])
            s.add_medals([(member_id, medal, at, reason)])
        return next(m for m in self.medals(member_id) if m.medal == medal)

    def medals(self, member_id: str | None = None) -> list[Medal]:
        """Medals awarded (to one member, or all), sorted by member and medal.

        Examples:
            >>> Ledger().medals()
            []
        """
        with self.store.session(write=False) as s:
            rows = s.medals(member_id)
        return [
            Medal(member_id=m, medal=x, awarded_at=from_us(at), reason=why)
            for m, x, at, why in rows
        ]
