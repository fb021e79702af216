from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import IllegalTransition, InvalidInput
from autoops.leads import TRANSITIONS, LeadLifecycle, can_transition, check_transitions
from autoops.models import LeadStatus as S

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
FUNNEL = ["assigned", "contacted", "visited", "test_driven", "ordered"]


def test_funnel_moves_forward_only() -> None:
    for i, a in enumerate(FUNNEL):
        for j, b in enumerate(FUNNEL):
            assert can_transition(a, b) == (j > i and a != "ordered"), (a, b)
    assert not any(can_transition("delivered", s) for s in S)
    assert [s.value for s in TRANSITIONS[S.DEFEATED]] == ["reactivated"]
    statuses = [s.value for s in S]
    frm = [a for a in statuses for _ in statuses]
    to = [b for _ in statuses for b in statuses]
    assert check_transitions(frm, to).tolist() == [
        can_transition(a, b) for a, b in zip(frm, to, strict=True)
    ]


def test_defeat_needs_approval_and_reactivation_counts_one_deal() -> None:
    lc = LeadLifecycle.start("L1", at=T0).advance("assigned", at=T0).advance("contacted", at=T0)
    with pytest.raises(IllegalTransition):
        lc.advance("defeated", at=T0)
    with pytest.raises(IllegalTransition):
        lc.approve_defeat(at=T0)
    pending = lc.request_defeat("bought_competitor", at=T0 + timedelta(days=1), by="S1")
    with pytest.raises(IllegalTransition):
        pending.advance("visited", at=T0 + timedelta(days=2))
    assert pending.reject_defeat(at=T0 + timedelta(days=2), by="M1").status is S.CONTACTED
    defeated = pending.approve_defeat(at=T0 + timedelta(days=2), by="M1")
    assert defeated.status is S.DEFEATED and not defeated.deal
    with pytest.raises(IllegalTransition):
        defeated.advance("contacted", at=T0 + timedelta(days=3))
    again = defeated.reactivate(at=T0 + timedelta(days=40), by="ops")
    assert (
        again.cycle == 2 and again.reactivated and len(again.history) == len(defeated.history) + 1
    )
    ordered = again.advance("test_driven", at=T0 + timedelta(days=41)).advance(
        "ordered", at=T0 + timedelta(days=45)
    )
    assert ordered.deal and ordered.attribution == "reactivated"
    cancelled = ordered.advance("order_cancelled", at=T0 + timedelta(days=46))
    assert not cancelled.deal and cancelled.attribution is None
    reordered = cancelled.advance("ordered", at=T0 + timedelta(days=50))
    assert reordered.deal
    assert sum(1 for c in reordered.history if c.action == "reactivate") == 1
    with pytest.raises(InvalidInput, match="backwards"):
        reordered.advance("delivered", at=T0)
    with pytest.raises(InvalidInput, match="naive"):
        reordered.advance("delivered", at=datetime(2026, 9, 1))
    with pytest.raises(ValueError):
        lc.request_defeat("aliens", at=T0)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from([s.value for s in S] + ["approve", "reject", "reactivate"]), max_size=25
    )
)
def test_random_walks_only_make_legal_moves(moves: list[str]) -> None:
    lc = LeadLifecycle.start("L1", at=T0)
    t = T0
    for move in moves:
        t += timedelta(hours=1)
        before = lc.status
        try:
            if move == "approve":
                lc = lc.approve_defeat(at=t)
            elif move == "reject":
                lc = lc.reject_defeat(at=t)
            elif move == "reactivate":
                lc = lc.reactivate(at=t)
            elif move == "defeat_requested":
                lc = lc.request_defeat("other", at=t)
            else:
                lc = lc.advance(move, at=t)
        except IllegalTransition:
            assert lc.status is before
            continue
        assert can_transition(before, lc.status)
    # the history replays to the status; deals counted at most once
    status = S.NEW
    for change in lc.history:
        assert change.from_status is status
        status = change.to_status
    assert status is lc.status
    assert lc.cycle == 1 + sum(c.action == "reactivate" for c in lc.history)
    assert isinstance(lc.deal, bool)


def test_rejected_defeat_after_reactivation_returns_to_reactivated() -> None:
    lc = LeadLifecycle.start("L1", at=T0)
    t = [T0 + timedelta(hours=h) for h in range(1, 6)]
    lc = lc.request_defeat("other", at=t[0]).approve_defeat(at=t[1]).reactivate(at=t[2])
    lc = lc.request_defeat("other", at=t[3]).reject_defeat(at=t[4])
    assert lc.status is S.REACTIVATED
    assert can_transition(S.DEFEAT_REQUESTED, S.REACTIVATED)
    assert check_transitions(["defeat_requested"], ["reactivated"]).tolist() == [True]
