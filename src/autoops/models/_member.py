"""Members, consent (授权) and dealers."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from pydantic import Field, model_validator
from typing_extensions import Self

from autoops.models._base import Instant, Record

__all__ = ["Consent", "ConsentGrant", "Dealer", "Member", "Purpose"]


class Purpose(str, Enum):
    """What a person consented to (PIPL requires a purpose per use).

    Examples:
        >>> Purpose("identity_merge").value
        'identity_merge'
    """

    MARKETING = "marketing"
    ANALYTICS = "analytics"
    IDENTITY_MERGE = "identity_merge"
    THIRD_PARTY_SHARING = "third_party_sharing"


class ConsentGrant(Record):
    """One purpose granted at a time and possibly revoked later.

    Examples:
        >>> from datetime import datetime, timezone
        >>> g = ConsentGrant(purpose="marketing", granted_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> g.active(datetime(2026, 2, 1, tzinfo=timezone.utc))
        True
    """

    purpose: Purpose
    granted_at: Instant
    revoked_at: Instant | None = None

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.revoked_at is not None and self.revoked_at < self.granted_at:
            raise ValueError("revoked_at is before granted_at")
        return self

    def active(self, at: datetime) -> bool:
        """Whether the grant holds at *at* (granted ≤ at < revoked).

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> ConsentGrant(purpose="analytics", granted_at=t, revoked_at=t).active(t)
            False
        """
        return self.granted_at <= at and (self.revoked_at is None or at < self.revoked_at)


class Consent(Record):
    """A person's consent: granted purposes and per-channel opt-outs (退订).

    Attributes:
        subject_id: whose consent this is (a One ID, member id or phone hash).
        grants: purposes granted, each with its time span.
        opt_outs: channels the person unsubscribed from (``sms``, ``wecom``, ...).
        tz: the person's time zone, for quiet hours.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> c = Consent(subject_id="p1", grants=[{"purpose": "marketing", "granted_at": t}],
        ...             opt_outs={"sms"})
        >>> c.allows("marketing", at=t), c.allows("analytics", at=t), c.opted_out("sms")
        (True, False, True)
    """

    _masked: ClassVar[dict[str, str]] = {"subject_id": "value"}

    subject_id: str = Field(min_length=1)
    grants: tuple[ConsentGrant, ...] = ()
    opt_outs: frozenset[str] = frozenset()
    tz: str = "Asia/Shanghai"

    def allows(self, purpose: Purpose | str, *, at: datetime) -> bool:
        """Whether some grant for *purpose* is active at *at*.

        Examples:
            >>> from datetime import datetime, timezone
            >>> Consent(subject_id="p1").allows("marketing", at=datetime.now(timezone.utc))
            False
        """
        wanted = Purpose(purpose)
        return any(g.purpose is wanted and g.active(at) for g in self.grants)

    def opted_out(self, channel: str) -> bool:
        """Whether the person unsubscribed from *channel*.

        Examples:
            >>> Consent(subject_id="p1", opt_outs={"email"}).opted_out("email")
            True
        """
        return channel in self.opt_outs


class Member(Record):
    """A member of the brand's private domain, keyed by One ID.

    Examples:
        >>> from datetime import datetime, timezone
        >>> m = Member(one_id=7, joined_at=datetime(2025, 6, 1, tzinfo=timezone.utc),
        ...            tier="gold", tags={"owner", "family"})
        >>> sorted(m.tags)
        ['family', 'owner']
    """

    one_id: int = Field(ge=0)
    joined_at: Instant
    tier: str | None = None
    tags: frozenset[str] = frozenset()
    consent: Consent | None = None


class Dealer(Record):
    """A dealer (经销商 / 4S 店) that takes leads.

    Attributes:
        dealer_id: unique id.
        name: display name.
        city, province: where it is; by default it serves its own city.
        service_cities, service_provinces: extra areas it serves.
        daily_capacity: most new leads per day it can take (0 = none).
        weight: share in weighted round-robin assignment (> 0).
        performance: a 0..1 score (conversion) for performance-based assignment.
        lat, lon: location for nearest-dealer assignment.

    Examples:
        >>> Dealer(dealer_id="D1", name="Pudong 4S", city="Shanghai", province="Shanghai",
        ...        daily_capacity=40).weight
        1.0
    """

    dealer_id: str = Field(min_length=1)
    name: str
    city: str
    province: str
    service_cities: tuple[str, ...] = ()
    service_provinces: tuple[str, ...] = ()
    daily_capacity: int = Field(default=50, ge=0)
    weight: float = Field(default=1.0, gt=0)
    performance: float | None = Field(default=None, ge=0, le=1)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
