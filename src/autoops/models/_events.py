"""Touchpoint events: one interaction at one touchpoint."""

from __future__ import annotations

from pydantic import Field

from autoops.models._base import Instant, Record
from autoops.models._identifiers import Identifiers
from autoops.models._touchpoint import TouchpointKind

__all__ = ["TouchpointEvent"]

PropertyValue = str | int | float | bool | None


class TouchpointEvent(Record):
    """One interaction (an app open, a lead form, a test drive, an order).

    Attributes:
        event_id: unique id of the event in its source.
        occurred_at: when it happened (timezone-aware).
        touchpoint: where it arrived (:class:`TouchpointKind`).
        event: the event name, e.g. ``lead``, ``visit``, ``test_drive``.
        identifiers: the identifiers the source attached.
        dealer_id: the dealer involved, if any.
        order_id: the order the event belongs to (小定 → 大定 → 交车), if any.
        amount: money in yuan for spend events, if any.
        properties: free-form scalar properties.
        one_id: the person's One ID once resolved.

    Examples:
        >>> from datetime import datetime, timezone
        >>> e = TouchpointEvent(event_id="e1", occurred_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
        ...                     touchpoint="app", event="login",
        ...                     identifiers={"phone": "13812345678"})
        >>> e.touchpoint.domain.value, e.identifiers.phone
        ('private', '+8613812345678')
        >>> TouchpointEvent.from_rows([{"event_id": "e2", "occurred_at": datetime(2026, 3, 1),
        ...                             "touchpoint": "app", "event": "login"}])
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: occurred_at (rows [0]): Value error, naive datetime; make it timezone-aware or pass assume_tz='Asia/Shanghai' [invalid_input]
    """

    event_id: str = Field(min_length=1)
    occurred_at: Instant
    touchpoint: TouchpointKind
    event: str = Field(min_length=1)
    identifiers: Identifiers = Identifiers()
    dealer_id: str | None = None
    order_id: str | None = None
    amount: float | None = None
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    one_id: int | None = None
