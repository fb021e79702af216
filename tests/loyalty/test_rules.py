"""Earning rules: spend flooring, minimums, exclusions, campaigns, multipliers, caps
(checked against a brute-force reference), idempotent posting, JSON round trip."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.loyalty import ActionRule, Campaign, EarningRules, Ledger

from .reference import reference_apply

T = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def table(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names = ["event_id", "member_id", "event", "ts", "amount", "category", "converted"]
    return {n: [e.get(n) for e in events] for n in names}


def test_spend_floor_minimum_and_exclusions() -> None:
    rules = EarningRules([ActionRule("mall_purchase", yuan_per_point=10, min_amount=50.0,
                                     exclude_categories=("gift_card",))])  # fmt: skip
    events = [
        {"event_id": 1, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": 105.0},
        {"event_id": 2, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": 49.99},
        {"event_id": 3, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": 500.0,
         "category": "gift_card"},
        {"event_id": 4, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": 0.3 * 3 * 100},
        {"event_id": 5, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": float("nan")},
        {"event_id": 6, "member_id": None, "event": "mall_purchase", "ts": T, "amount": 100.0},
    ]  # fmt: skip
    out = rules.apply(table(events))
    assert out.row.tolist() == [0, 3]
    assert out.points.tolist() == [10, 9]  # 90.00000000000001 yuan is still 9 points
    assert out.key.tolist() == ["mall_purchase:1", "mall_purchase:4"]


def test_campaign_multiplier_and_referral_condition() -> None:
    rules = EarningRules(
        [ActionRule("check_in", points=5), ActionRule("referral", points=100, growth=20, only_if="converted")],
        campaigns=[Campaign("spring", T, T + timedelta(days=1), 2.0, events=("check_in",)),
                   Campaign("small", T, T + timedelta(days=1), 1.5)],
    )  # fmt: skip
    events = [
        {"event_id": 1, "member_id": "m1", "event": "check_in", "ts": T},
        {"event_id": 2, "member_id": "m1", "event": "check_in", "ts": T + timedelta(days=2)},
        {"event_id": 3, "member_id": "m2", "event": "referral", "ts": T, "converted": True},
        {"event_id": 4, "member_id": "m2", "event": "referral", "ts": T, "converted": False},
    ]
    out = rules.apply(table(events), multipliers={"m1": 1.25})
    got = dict(zip(out.key.tolist(), out.points.tolist(), strict=True))
    assert got == {"check_in:1": 12, "check_in:2": 6, "referral:3": 150}  # floor(5*2*1.25)=12
    assert out.reason.tolist()[0] == "check_in (spring)"
    assert out.growth.tolist()[out.key.tolist().index("referral:3")] == 20


def test_caps_by_local_day_week_month() -> None:
    rules = EarningRules([ActionRule("share", points=5, daily_cap=10, weekly_cap=25)])
    # 2026-03-01 is a Sunday in Shanghai; 23:30 local on Sunday and 00:30 local on Monday
    sunday_late = datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc)
    events = [
        {"event_id": i, "member_id": "m1", "event": "share", "ts": sunday_late} for i in range(3)
    ]
    events += [{"event_id": 10 + i, "member_id": "m1", "event": "share", "ts": sunday_late + timedelta(hours=1, days=d)}
               for d in range(3) for i in range(2)]  # fmt: skip
    out = rules.apply(table(events))
    assert out.points.tolist() == [5, 5, 0, 5, 5, 5, 5, 5, 0]
    assert out.capped_by.tolist()[2] == "daily" and out.capped_by.tolist()[-1] == "weekly"


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["check_in", "share", "mall_purchase", "post"]),
                  st.integers(0, 24 * 40), st.floats(0, 900, allow_nan=False), st.booleans()),
        max_size=40,
    ),
    st.sampled_from([None, 4, 10]), st.sampled_from([None, 25]), st.sampled_from([None, 60]),
    st.floats(1.0, 3.0), st.booleans(),
)  # fmt: skip
def test_matches_brute_force_reference(
    raw: list[tuple[int, str, int, float, bool]], daily: Any, weekly: Any, monthly: Any,
    mult: float, campaign: bool,
) -> None:  # fmt: skip
    rules = EarningRules(
        [ActionRule("check_in", points=3, daily_cap=daily, weekly_cap=weekly),
         ActionRule("share", points=7, weekly_cap=weekly, monthly_cap=monthly),
         ActionRule("mall_purchase", yuan_per_point=10, min_amount=20.0, daily_cap=monthly,
                    exclude_categories=("x",)),
         ActionRule("post", points=11, only_if="converted", monthly_cap=monthly)],
        campaigns=[Campaign("c", T + timedelta(days=3), T + timedelta(days=9), 2.5)] if campaign else [],
    )  # fmt: skip
    events = [
        {"event_id": i, "member_id": f"m{m}", "event": ev, "ts": T + timedelta(hours=h),
         "amount": amt, "category": "x" if flag and ev == "mall_purchase" else None, "converted": flag}
        for i, (m, ev, h, amt, flag) in enumerate(raw)
    ]  # fmt: skip
    mults = {"m1": mult}
    out = rules.apply(table(events), multipliers=mults)
    got = {(r, int(k.split(":")[1])): (int(p), c) for r, k, p, c in
           zip(out.rule, out.key, out.points, out.capped_by, strict=True)}  # fmt: skip
    assert got == reference_apply(rules, events, mults)


def test_posting_twice_earns_once() -> None:
    rules = EarningRules.automotive_default()
    events = [
        {"event_id": i, "member_id": "m1", "event": "check_in", "ts": T + timedelta(days=i)}
        for i in range(3)
    ]
    events.append(
        {"event_id": 9, "member_id": "m1", "event": "mall_purchase", "ts": T, "amount": 250.0}
    )
    ledger = Ledger(clock=lambda: T + timedelta(days=4))
    out = rules.apply(table(events))
    p1, g1 = out.post(ledger)
    p2, g2 = out.post(ledger)
    assert p1.summary()["earned"] == 4 and p2.summary()["duplicate"] == 4
    assert g2.summary()["duplicate"] == g1.summary()["earned"] == 4
    b = ledger.balance("m1")
    assert (b.available, b.locked) == (15, 25)  # purchase points wait out the return period
    assert ledger.verify() == []


def test_config_validation_and_json_round_trip() -> None:
    with pytest.raises(ConfigError) as info:
        ActionRule("post", daily_cap=0)
    assert info.value.key == "rules.post.daily_cap"
    with pytest.raises(ConfigError):
        EarningRules([ActionRule("post"), ActionRule("post")])
    with pytest.raises(ConfigError):
        Campaign("c", T, T, 2.0)
    rules = EarningRules(
        [ActionRule("post", points=3)], campaigns=[Campaign("c", T, T + timedelta(days=1), 2.0)]
    )
    assert EarningRules.from_json(rules.to_json()) == rules
    with pytest.raises(ConfigError):
        EarningRules.from_json('{"rules": [{"event": "post", "bogus": 1}]}')
    with pytest.raises(InvalidInput):
        EarningRules([ActionRule("mall_purchase", yuan_per_point=10)]).apply(
            {"event_id": [1], "member_id": ["m"], "event": ["mall_purchase"], "ts": [T]}
        )
    with pytest.raises(InvalidInput):
        rules.apply({"event_id": [1], "member_id": ["m"], "event": ["post"],
                     "ts": [datetime(2026, 1, 1)]})  # fmt: skip


def test_numpy_timestamps_and_integer_members() -> None:
    rules = EarningRules([ActionRule("login", points=1, daily_cap=2)])
    ts = np.array(
        ["2026-03-01T01:00", "2026-03-01T02:00", "2026-03-01T03:00"], dtype="datetime64[us]"
    )
    out = rules.apply({"event_id": np.arange(3), "one_id": np.array([5, 5, -1]),
                       "event": np.array(["login"] * 3, dtype=object), "ts": ts}, member="one_id")  # fmt: skip
    assert out.points.tolist() == [1, 1] and out.member_id.tolist() == ["5", "5"]
