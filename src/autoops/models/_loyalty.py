"""Loyalty records: points transactions, holds, balances, growth events, tiers, medals.

These are the values the :mod:`autoops.loyalty` ledger returns. Amounts are
integers; instants are timezone-aware (the ledger returns UTC).
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from typing_extensions import Self

from autoops.models._base import Instant, Record

__all__ = [
    "Award",
    "Balance",
    "Finding",
    "GrowthEvent",
    "Hold",
    "HoldState",
    "LotMove",
    "Medal",
    "PointsTransaction",
    "Tier",
    "TxKind",
]

Account = Literal["points", "growth"]


class TxKind(str, Enum):
    """What a ledger transaction did.

    ``earn`` credits a new lot; ``redeem`` spends; ``hold`` reserves;
    ``capture`` spends reserved points; ``release`` returns reserved points;
    ``reverse`` undoes (part of) an earn, redemption or capture; ``expire``
    removes due points; ``repay`` settles debt from new points.

    Examples:
        >>> TxKind("redeem").value
        'redeem'
    """

    EARN = "earn"
    REDEEM = "redeem"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    REVERSE = "reverse"
    EXPIRE = "expire"
    REPAY = "repay"


class LotMove(Record):
    """A change to one lot: ``open`` (spendable part) and ``held`` (reserved part) deltas.

    Examples:
        >>> LotMove(lot_id="tx_1", open=-40, held=40).open
        -40
    """

    lot_id: str
    open: int = 0
    held: int = 0


class PointsTransaction(Record):
    """One append-only ledger transaction (points or growth account).

    ``points`` is the amount the caller asked for (always positive); ``delta``
    is the signed effect on the member's net balance (open + held - debt).
    ``moves`` lists the lots it touched, so history replays to the balance.
    ``reverses`` points at the transaction a reversal undoes.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> tx = PointsTransaction(id="tx_1", member_id="member-0001", kind="earn", points=10,
        ...     delta=10, reason="check_in", actor="system", created_at=t, occurred_at=t,
        ...     moves=(LotMove(lot_id="tx_1", open=10),))
        >>> tx.delta, tx.kind.value
        (10, 'earn')
        >>> "member-0001" in repr(tx)
        False
    """

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    id: str
    member_id: str
    account: Account = "points"
    kind: TxKind
    points: int = Field(ge=0)
    delta: int
    debt_change: int = 0
    shortfall: int = Field(default=0, ge=0)
    reason: str
    actor: str = "system"
    key: str | None = None
    created_at: Instant
    occurred_at: Instant
    expires_at: Instant | None = None
    unlock_at: Instant | None = None
    reverses: str | None = None
    hold_id: str | None = None
    moves: tuple[LotMove, ...] = ()


class HoldState(str, Enum):
    """Where a hold stands.

    Examples:
        >>> HoldState.ACTIVE.value
        'active'
    """

    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class Hold(Record):
    """Points reserved for a pending order; captured, released, or expired at ``expires_at``.

    ``allocations`` names the lots the reserved points came from (``held`` deltas).

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> h = Hold(id="hold_1", member_id="member-0001", points=50, created_at=t,
        ...          expires_at=t, state="active")
        >>> h.state.value, h.captured
        ('active', 0)
    """

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    id: str
    member_id: str
    points: int = Field(gt=0)
    created_at: Instant
    expires_at: Instant
    state: HoldState
    captured: int = Field(default=0, ge=0)
    key: str | None = None
    settled_by: str | None = None
    allocations: tuple[LotMove, ...] = ()


class Balance(Record):
    """A member's points at an instant.

    ``available`` can be spent now; ``held`` is reserved by active holds;
    ``locked`` is earned but pending (e.g. the return period) — visible, not
    spendable; ``expiring`` is the part of ``available`` that expires before
    ``expiring_before``; ``awaiting_expiry`` is past its expiry but not yet
    removed by an expiry run (never spendable); ``debt`` is carried from
    reversals under the ``debt`` policy and repaid by later points.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> b = Balance(member_id="member-0001", as_of=t, available=80, held=20, locked=5,
        ...             expiring=0, expiring_before=t)
        >>> b.total
        105
    """

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    member_id: str
    as_of: Instant
    available: int = Field(ge=0)
    held: int = Field(ge=0)
    locked: int = Field(ge=0)
    expiring: int = Field(ge=0)
    expiring_before: Instant
    awaiting_expiry: int = Field(default=0, ge=0)
    debt: int = Field(default=0, ge=0)

    @property
    def total(self) -> int:
        """Points the member owns net of debt: available + held + locked - debt.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> Balance(member_id="m", as_of=t, available=0, held=0, locked=0, expiring=0,
            ...         expiring_before=t, debt=30).total
            -30
        """
        return self.available + self.held + self.locked - self.debt


class GrowthEvent(Record):
    """One posting to the growth-value account (成长值; never spent).

    ``value`` is signed: reversals are negative and name what they reverse.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> GrowthEvent(id="tx_9", member_id="member-0001", value=30, occurred_at=t,
        ...             reason="referral").value
        30
    """

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    id: str
    member_id: str
    value: int
    occurred_at: Instant
    reason: str
    key: str | None = None
    reverses: str | None = None


class Tier(Record):
    """A membership level: reached at ``threshold`` growth value, with benefits.

    ``multiplier`` scales points earned by members at this level (fed to
    :class:`autoops.loyalty.EarningRules`).

    Examples:
        >>> Tier(name="gold", threshold=1000, multiplier=1.5, benefits=("free wash",)).multiplier
        1.5
        >>> Tier(name="x", threshold=-1)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Tier
        ...
    """

    name: str = Field(min_length=1)
    threshold: int = Field(ge=0)
    multiplier: float = Field(default=1.0, ge=0.0)
    benefits: tuple[str, ...] = ()


class Medal(Record):
    """A medal (勋章) awarded to a member, once per member and medal.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> Medal(member_id="member-0001", medal="first_test_drive", awarded_at=t).medal
        'first_test_drive'
    """

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    member_id: str
    medal: str = Field(min_length=1)
    awarded_at: Instant
    reason: str = ""


class Award(Record):
    """Points and growth value posted together by one atomic award.

    Examples:
        >>> Award().points is None
        True
    """

    points: PointsTransaction | None = None
    growth: GrowthEvent | None = None


class Finding(Record):
    """One broken invariant reported by ``Ledger.verify()``.

    Examples:
        >>> Finding(code="lot_mismatch", message="lot tx_1 open 5 != moves 4", ref="tx_1").code
        'lot_mismatch'
    """

    code: str
    message: str
    ref: str | None = None
    member_id: str | None = None

    _masked: ClassVar[dict[str, str]] = {"member_id": "id"}

    @model_validator(mode="after")
    def _nonempty(self) -> Self:
        if not self.code:
            raise ValueError("code must not be empty")
        return self
