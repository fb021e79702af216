"""The lead state machine: legal status moves, defeat approval and reactivation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import aware
from autoops.errors import IllegalTransition, InvalidInput
from autoops.models import LeadStatus

__all__ = [
    "TRANSITIONS",
    "DefeatReason",
    "LeadLifecycle",
    "StatusChange",
    "can_transition",
    "check_transitions",
]

S = LeadStatus
_FUNNEL = (S.ASSIGNED, S.CONTACTED, S.VISITED, S.TEST_DRIVEN, S.ORDERED)


def _forward(frm: LeadStatus) -> frozenset[LeadStatus]:
    i = _FUNNEL.index(frm)
    return frozenset(_FUNNEL[i + 1 :])


#: Legal ordinary moves (``advance``). Defeat approval/rejection and reactivation
#: have their own methods on :class:`LeadLifecycle`; they are listed here too so the
#: table is complete, but ``advance`` refuses them.
TRANSITIONS: Mapping[LeadStatus, frozenset[LeadStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.DEFEAT_REQUESTED}),
    S.ASSIGNED: _forward(S.ASSIGNED) | {S.DEFEAT_REQUESTED},
    S.CONTACTED: _forward(S.CONTACTED) | {S.DEFEAT_REQUESTED},
    S.VISITED: _forward(S.VISITED) | {S.DEFEAT_REQUESTED},
    S.TEST_DRIVEN: _forward(S.TEST_DRIVEN) | {S.DEFEAT_REQUESTED},
    S.ORDERED: frozenset({S.DELIVERED, S.ORDER_CANCELLED}),
    S.DELIVERED: frozenset(),
    S.ORDER_CANCELLED: frozenset(
        {S.CONTACTED, S.VISITED, S.TEST_DRIVEN, S.ORDERED, S.DEFEAT_REQUESTED}
    ),
    # a rejected request returns to the status it was made from (reactivated included)
    S.DEFEAT_REQUESTED: frozenset(
        {S.DEFEATED, *_FUNNEL[:-1], S.ORDER_CANCELLED, S.NEW, S.REACTIVATED}
    ),
    S.DEFEATED: frozenset({S.REACTIVATED}),
    S.REACTIVATED: frozenset(
        {S.ASSIGNED, S.CONTACTED, S.VISITED, S.TEST_DRIVEN, S.ORDERED, S.DEFEAT_REQUESTED}
    ),
}
_SPECIAL = {S.DEFEAT_REQUESTED, S.DEFEATED, S.REACTIVATED}


class DefeatReason(str, Enum):
    """Why a sales consultant asks to mark a lead defeated (战败原因).

    Examples:
        >>> DefeatReason("bought_competitor").value
        'bought_competitor'
    """

    BOUGHT_COMPETITOR = "bought_competitor"  # 已购竞品
    BOUGHT_OTHER_DEALER = "bought_other_dealer"  # 在其他经销商购车
    BUDGET = "budget"  # 预算不足
    NO_LONGER_INTERESTED = "no_longer_interested"  # 无购车意向
    POSTPONED = "postponed"  # 购车计划推迟
    UNREACHABLE = "unreachable"  # 多次联系不上
    INVALID_CONTACT = "invalid_contact"  # 空号 / 错号
    DUPLICATE = "duplicate"  # 重复线索
    MOVED_AWAY = "moved_away"  # 异地购车
    OTHER = "other"


def can_transition(frm: Any, to: Any) -> bool:
    """Whether moving a lead from status *frm* to *to* is legal.

    Statuses may be :class:`~autoops.models.LeadStatus` members or their string
    values. The funnel only moves forward (a step may be skipped: a walk-in can
    order without a test drive); ``ordered`` ends in ``delivered`` or
    ``order_cancelled``; ``delivered`` is final; defeat goes through
    ``defeat_requested`` and a manager's decision; ``defeated`` only moves to
    ``reactivated``. A move to the same status is not a transition.

    Examples:
        >>> can_transition("contacted", "test_driven"), can_transition("visited", "contacted")
        (True, False)
        >>> can_transition("defeated", "reactivated")
        True
    """
    return LeadStatus(to) in TRANSITIONS[LeadStatus(frm)]


def check_transitions(frm: Any, to: Any) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`can_transition` over two aligned arrays of status values.

    Returns a boolean array; unknown status values are illegal (``False``).

    Examples:
        >>> check_transitions(["new", "delivered", "x"], ["assigned", "new", "new"]).tolist()
        [True, False, False]
    """
    names = [s.value for s in LeadStatus]
    index = {name: i for i, name in enumerate(names)}
    table = np.zeros((len(names) + 1, len(names) + 1), dtype=bool)
    for a, targets in TRANSITIONS.items():
        for b in targets:
            table[index[a.value], index[b.value]] = True
    a_arr = np.asarray(frm, dtype=object)
    b_arr = np.asarray(to, dtype=object)
    unknown = len(names)
    if len(a_arr) == 0:
        return np.zeros(0, dtype=bool)

    def codes(arr: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        return np.array([index.get(str(getattr(v, "value", v)), unknown) for v in arr.tolist()])

    result: npt.NDArray[np.bool_] = table[codes(a_arr), codes(b_arr)]
    return result


@attrs.frozen(slots=True)
class StatusChange:
    """One entry of a lead's history.

    Attributes:
        at: when (aware datetime).
        action: ``advance``, ``request_defeat``, ``approve_defeat``,
            ``reject_defeat`` or ``reactivate``.
        from_status, to_status: the move.
        cycle: the follow-up cycle (1 = original, 2+ = after reactivations).
        by: who did it (staff or manager id), if given.
        reason: the defeat reason for a defeat request.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.models import LeadStatus
        >>> StatusChange(datetime(2026, 1, 1, tzinfo=timezone.utc), "advance",
        ...              LeadStatus.NEW, LeadStatus.ASSIGNED, 1).cycle
        1
    """

    at: datetime
    action: str
    from_status: LeadStatus
    to_status: LeadStatus
    cycle: int
    by: str | None = None
    reason: DefeatReason | None = None


@attrs.frozen(slots=True)
class LeadLifecycle:
    """A lead's status with its full history; every change returns a new value.

    Ordinary moves use :meth:`advance`. Defeat (战败) is a two-step affair: a
    consultant calls :meth:`request_defeat` with a :class:`DefeatReason`, and a
    manager calls :meth:`approve_defeat` (→ ``defeated``) or
    :meth:`reject_defeat` (→ back to the status before the request).
    :meth:`reactivate` (战败激活) opens a new cycle: history is kept, ``cycle``
    increases, and a deal in that cycle is attributed to reactivation.
    A lead counts as at most one deal (:attr:`deal`): the last order that was
    not cancelled, whatever cycle it falls in. Times must not go backwards.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> t = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
        >>> lc = LeadLifecycle.start("L1", at=t).advance("assigned", at=t)
        >>> lc = lc.request_defeat("bought_competitor", at=t + timedelta(days=3), by="S1")
        >>> lc = lc.approve_defeat(at=t + timedelta(days=4), by="M1")
        >>> lc = lc.reactivate(at=t + timedelta(days=40))
        >>> lc = lc.advance("ordered", at=t + timedelta(days=50))
        >>> lc.status.value, lc.cycle, lc.deal, lc.attribution
        ('ordered', 2, True, 'reactivated')
        >>> lc.advance("new", at=t + timedelta(days=51))
        Traceback (most recent call last):
        ...
        autoops.errors.IllegalTransition: lead L1: cannot move from 'ordered' to 'new' [...]
    """

    lead_id: str
    status: LeadStatus
    cycle: int = 1
    history: tuple[StatusChange, ...] = ()
    created_at: datetime | None = None

    @classmethod
    def start(cls, lead_id: str, *, at: datetime, status: Any = LeadStatus.NEW) -> LeadLifecycle:
        """A new lifecycle in *status* (``new`` by default) captured *at*.

        Raises:
            InvalidInput: *at* is naive.

        Examples:
            >>> from datetime import datetime, timezone
            >>> LeadLifecycle.start("L9", at=datetime(2026, 1, 1, tzinfo=timezone.utc)).status.value
            'new'
        """
        return cls(lead_id, LeadStatus(status), 1, (), aware(at, field="at"))

    @property
    def last_at(self) -> datetime | None:
        """Time of the latest change (or of capture).

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> LeadLifecycle.start("L1", at=t).last_at == t
            True
        """
        return self.history[-1].at if self.history else self.created_at

    def _push(
        self,
        action: str,
        to: LeadStatus,
        at: datetime,
        by: str | None,
        reason: DefeatReason | None = None,
        cycle: int | None = None,
    ) -> LeadLifecycle:
        at = aware(at, field="at")
        last = self.last_at
        if last is not None and at < last:
            msg = f"time goes backwards ({at.isoformat()} before {last.isoformat()})"
            raise InvalidInput(msg, field="at", row=self.lead_id, code="time_backwards")
        new_cycle = self.cycle if cycle is None else cycle
        change = StatusChange(at, action, self.status, to, new_cycle, by, reason)
        return attrs.evolve(self, status=to, cycle=new_cycle, history=(*self.history, change))

    def advance(self, to: Any, *, at: datetime, by: str | None = None) -> LeadLifecycle:
        """Move along the funnel (see :func:`can_transition`).

        Defeat and reactivation have their own methods and are refused here.

        Raises:
            IllegalTransition: the move is not legal from the current status.
            InvalidInput: *at* is naive or earlier than the last change.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> LeadLifecycle.start("L1", at=t).advance("assigned", at=t).status.value
            'assigned'
        """
        target = LeadStatus(to)
        if target in _SPECIAL or self.status is S.DEFEAT_REQUESTED:
            detail = "use request_defeat/approve_defeat/reject_defeat/reactivate"
            raise IllegalTransition(
                self.status.value, target.value, lead_id=self.lead_id, detail=detail
            )
        if not can_transition(self.status, target):
            raise IllegalTransition(self.status.value, target.value, lead_id=self.lead_id)
        return self._push("advance", target, at, by)

    def request_defeat(self, reason: Any, *, at: datetime, by: str | None = None) -> LeadLifecycle:
        """Ask to mark the lead defeated (战败申请), with a reason code.

        Raises:
            IllegalTransition: the lead is ordered, delivered, already defeated or pending.
            ValueError: *reason* is not a :class:`DefeatReason`.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).request_defeat("unreachable", at=t)
            >>> lc.status.value, lc.pending_reason.value
            ('defeat_requested', 'unreachable')
        """
        code = DefeatReason(reason)
        if not can_transition(self.status, S.DEFEAT_REQUESTED):
            raise IllegalTransition(
                self.status.value, S.DEFEAT_REQUESTED.value, lead_id=self.lead_id
            )
        return self._push("request_defeat", S.DEFEAT_REQUESTED, at, by, code)

    @property
    def pending_reason(self) -> DefeatReason | None:
        """The reason of a pending defeat request, else ``None``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> LeadLifecycle.start("L1", at=t).pending_reason is None
            True
        """
        if self.status is not S.DEFEAT_REQUESTED:
            return None
        return self.history[-1].reason

    def approve_defeat(self, *, at: datetime, by: str | None = None) -> LeadLifecycle:
        """A manager approves the pending defeat request (→ ``defeated``).

        Raises:
            IllegalTransition: no defeat request is pending.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).request_defeat("budget", at=t)
            >>> lc.approve_defeat(at=t, by="M1").status.value
            'defeated'
        """
        if self.status is not S.DEFEAT_REQUESTED:
            raise IllegalTransition(
                self.status.value,
                S.DEFEATED.value,
                lead_id=self.lead_id,
                detail="no defeat request pending",
            )
        return self._push("approve_defeat", S.DEFEATED, at, by, self.pending_reason)

    def reject_defeat(self, *, at: datetime, by: str | None = None) -> LeadLifecycle:
        """A manager rejects the pending request: back to the status before it.

        Raises:
            IllegalTransition: no defeat request is pending.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).advance("assigned", at=t)
            >>> lc.request_defeat("budget", at=t).reject_defeat(at=t).status.value
            'assigned'
        """
        if self.status is not S.DEFEAT_REQUESTED:
            raise IllegalTransition(
                self.status.value,
                "(previous)",
                lead_id=self.lead_id,
                detail="no defeat request pending",
            )
        return self._push("reject_defeat", self.history[-1].from_status, at, by)

    def reactivate(self, *, at: datetime, by: str | None = None) -> LeadLifecycle:
        """Recall a defeated lead (战败激活): a new cycle that keeps the history.

        Raises:
            IllegalTransition: the lead is not defeated.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).request_defeat("budget", at=t)
            >>> lc = lc.approve_defeat(at=t)
            >>> lc.reactivate(at=t).cycle
            2
        """
        if self.status is not S.DEFEATED:
            raise IllegalTransition(self.status.value, S.REACTIVATED.value, lead_id=self.lead_id)
        return self._push("reactivate", S.REACTIVATED, at, by, cycle=self.cycle + 1)

    @property
    def reactivated(self) -> bool:
        """Whether the lead was ever reactivated.

        Examples:
            >>> from datetime import datetime, timezone
            >>> LeadLifecycle.start("L1", at=datetime(2026, 1, 1, tzinfo=timezone.utc)).reactivated
            False
        """
        return self.cycle > 1

    def _deal_change(self) -> StatusChange | None:
        deal: StatusChange | None = None
        for change in self.history:
            if change.to_status is S.ORDERED:
                deal = change
            elif change.to_status is S.ORDER_CANCELLED:
                deal = None
        return deal

    @property
    def deal(self) -> bool:
        """Whether the lead stands as one deal: an order not cancelled since.

        A lead that ordered, cancelled, was defeated, reactivated and ordered
        again is still one deal.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).advance("assigned", at=t)
            >>> lc.advance("ordered", at=t).deal
            True
        """
        return self._deal_change() is not None

    @property
    def attribution(self) -> str | None:
        """``"original"`` or ``"reactivated"`` for the deal's cycle; ``None`` without a deal.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> lc = LeadLifecycle.start("L1", at=t).advance("assigned", at=t)
            >>> lc = lc.advance("ordered", at=t)
            >>> lc.attribution
            'original'
        """
        change = self._deal_change()
        if change is None:
            return None
        return "reactivated" if change.cycle > 1 else "original"

    def __repr__(self) -> str:
        return (
            f"LeadLifecycle(lead_id={self.lead_id!r}, status={self.status.value!r}, "
            f"cycle={self.cycle}, changes={len(self.history)})"
        )
