"""Leads (线索): grades, statuses and the lead record."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from pydantic import Field

from autoops.models._base import Instant, Record
from autoops.models._identifiers import Identifiers
from autoops.models._touchpoint import TouchpointKind

__all__ = ["Lead", "LeadGrade", "LeadStatus"]


class LeadGrade(str, Enum):
    """Lead grade (线索级别) by expected purchase time, as Chinese dealers use it.

    ======  ====================  ===================================
    grade   中文                  meaning (customary; varies by maker)
    ======  ====================  ===================================
    H       H 级 (热)             purchase expected within 7 days
    A       A 级                  within 15 days
    B       B 级                  within 30 days
    C       C 级                  within 3 months
    N       新线索                new, not yet graded
    O       已订车                ordered (小定/大定)
    D       已交车                delivered (交车)
    T       退订                  order cancelled
    F       战败                  defeated: bought elsewhere or gave up
    ======  ====================  ===================================

    Horizons and follow-up intervals per grade are a maker's choice:
    ``autoops.leads.GradeProfile`` holds them.

    Examples:
        >>> LeadGrade("H").is_active
        True
        >>> LeadGrade.F.is_active
        False
    """

    H = "H"
    A = "A"
    B = "B"
    C = "C"
    N = "N"
    O = "O"  # noqa: E741
    D = "D"
    T = "T"
    F = "F"

    @property
    def is_active(self) -> bool:
        """Whether the lead still needs sales follow-up (H, A, B, C, N).

        Examples:
            >>> [g.value for g in LeadGrade if g.is_active]
            ['H', 'A', 'B', 'C', 'N']
        """
        return self.value in "HABCN"


class LeadStatus(str, Enum):
    """Where a lead stands in its lifecycle.

    ``new`` → ``assigned`` (to a dealer) → ``contacted`` → ``visited`` (到店)
    → ``test_driven`` (试驾) → ``ordered`` (小定/大定) → ``delivered`` (交车);
    ``order_cancelled`` (退订); ``defeat_requested`` → ``defeated`` (战败,
    approved by a manager) → ``reactivated`` (战败激活, a new cycle). The legal
    transitions live in ``autoops.leads``.

    Examples:
        >>> LeadStatus("defeated").value
        'defeated'
    """

    NEW = "new"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    VISITED = "visited"
    TEST_DRIVEN = "test_driven"
    ORDERED = "ordered"
    DELIVERED = "delivered"
    ORDER_CANCELLED = "order_cancelled"
    DEFEAT_REQUESTED = "defeat_requested"
    DEFEATED = "defeated"
    REACTIVATED = "reactivated"


class Lead(Record):
    """A captured lead (留资): a person who left contact details at a touchpoint.

    Attributes:
        lead_id: unique id of the lead.
        created_at: when it was captured (timezone-aware).
        touchpoint: where it was captured.
        identifiers: contact identifiers (the phone above all).
        name: the name the person typed (masked in repr).
        dealer_id: the dealer it is assigned to, if any.
        series: the car series of interest.
        city, province: where the person is.
        grade: the grade a sales consultant entered, if any (authoritative).
        status: the lifecycle status.
        stated_horizon_days: the purchase horizon the person stated, if any.

    Examples:
        >>> from datetime import datetime, timezone
        >>> lead = Lead(lead_id="L1", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
        ...             touchpoint="douyin", identifiers={"phone": "138 0013 8000"},
        ...             name="张伟", city="Shanghai", grade="A")
        >>> lead.identifiers.phone, lead.grade, lead.status
        ('+8613800138000', <LeadGrade.A: 'A'>, <LeadStatus.NEW: 'new'>)
        >>> "张伟" in repr(lead) or "13800138000" in repr(lead)
        False
    """

    _masked: ClassVar[dict[str, str]] = {"name": "text"}

    lead_id: str = Field(min_length=1)
    created_at: Instant
    touchpoint: TouchpointKind
    identifiers: Identifiers = Identifiers()
    name: str | None = None
    dealer_id: str | None = None
    series: str | None = None
    city: str | None = None
    province: str | None = None
    grade: LeadGrade | None = None
    status: LeadStatus = LeadStatus.NEW
    stated_horizon_days: int | None = Field(default=None, ge=0)
