"""Growth programme: windows, immediate upgrades, downgrade policies, previews (every store)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from autoops.errors import ConfigError, InvalidInput
from autoops.loyalty import ActionRule, EarningRules, GrowthProgram, Ledger
from autoops.models import Tier

from .conftest import T0

TIERS = [Tier(name="silver", threshold=0), Tier(name="gold", threshold=100, multiplier=1.5),
         Tier(name="platinum", threshold=300, multiplier=2.0)]  # fmt: skip
A, B = "member-000A", "member-000B"


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_upgrade_is_immediate_and_evaluation_idempotent(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS)
    ledger.grow(A, 50, reason="post", key="a1", occurred_at=day(0))
    ledger.grow(B, 320, reason="referral", key="b1", occurred_at=day(0))
    first = p.evaluate(ledger, day(1))
    assert dict(zip(first.member_id, first.to_tier, strict=True)) == {A: "silver", B: "platinum"}
    assert set(first.reason) == {"join"} and first.summary()["joins"] == 2
    assert len(p.evaluate(ledger, day(1))) == 0
    ledger.grow(A, 60, reason="post", key="a2", occurred_at=day(2))
    up = p.evaluate(ledger, day(2))
    assert up.to_tier.tolist() == ["gold"] and up.from_tier.tolist() == ["silver"]
    assert up.reason[0].startswith("upgrade") and up.growth.tolist() == [110]
    assert p.distribution(ledger) == {"silver": 0, "gold": 1, "platinum": 1}
    assert p.multipliers(ledger) == {A: 1.5, B: 2.0}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("none", ["platinum", "platinum"]), ("one_down", ["gold", "silver"]),
     ("balance_based", ["silver", "silver"])],
)  # fmt: skip
def test_downgrade_policies(ledger: Ledger, policy: str, expected: list[str]) -> None:
    p = GrowthProgram(TIERS, window="30d", downgrade=policy)
    ledger.grow(A, 350, reason="referral", key="a", occurred_at=day(0))
    p.evaluate(ledger, day(1))
    got = []
    for n in (40, 41):  # the growth has left the 30-day window
        p.evaluate(ledger, day(n))
        got.append(p.current(ledger)[A])
    assert got == expected


def test_downgrade_after_grace_days(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS, window="30d", downgrade="after_days", grace_days=10)
    ledger.grow(A, 150, reason="referral", key="a", occurred_at=day(0))
    p.evaluate(ledger, day(1))
    assert len(p.evaluate(ledger, day(35))) == 0  # below since day 35
    assert len(p.evaluate(ledger, day(44))) == 0
    ledger.grow(A, 120, reason="post", key="b", occurred_at=day(44))
    assert len(p.evaluate(ledger, day(45))) == 0  # back above: the grace clock resets
    ledger.reverse(ledger.history(A, account="growth")[-1].id, key="undo")
    p.evaluate(ledger, day(46))
    changes = p.evaluate(ledger, day(56))
    assert changes.to_tier.tolist() == ["silver"] and "10 days" in changes.reason[0]


def test_calendar_year_counts_in_local_time(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS, window="calendar_year")
    # 2025-12-31 20:00 UTC is 2026-01-01 04:00 in Shanghai
    ledger.grow(
        A, 100, reason="x", key="a", occurred_at=datetime(2025, 12, 31, 20, tzinfo=timezone.utc)
    )
    ledger.grow(
        A, 100, reason="x", key="b", occurred_at=datetime(2025, 12, 31, 15, tzinfo=timezone.utc)
    )
    assert p.values(ledger, datetime(2026, 2, 1, tzinfo=timezone.utc)) == {A: 100}


def test_reversed_growth_counts_at_the_original_instant(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS, window="30d")
    g = ledger.grow(A, 100, reason="x", key="a", occurred_at=day(0))
    ledger.reverse(g.id, key="r", points=40)
    assert p.values(ledger, day(1)) == {A: 60}
    assert p.values(ledger, day(31)) == {A: 0}


def test_required_to_keep(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS, window="30d")
    ledger.grow(A, 80, reason="x", key="a", occurred_at=day(0))
    ledger.grow(A, 40, reason="x", key="b", occurred_at=day(20))
    p.evaluate(ledger, day(21))
    preview = p.required_to_keep(ledger, A, day(21))  # by day 51 both grants left the window
    assert preview["tier"] == "gold" and preview["counted_at_by"] == 0
    assert preview["required"] == 100 and preview["by"] == day(51)
    soon = p.required_to_keep(ledger, A, day(21), by=day(45))  # only the day-20 grant still counts
    assert (soon["counted_at_by"], soon["required"]) == (40, 60)
    year = GrowthProgram(TIERS, window="calendar_year")
    assert year.required_to_keep(ledger, A, day(21))["by"] == datetime(2026, 12, 31, 15, 59, 59, 999999,
                                                                        tzinfo=timezone.utc)  # fmt: skip


def test_tier_multipliers_feed_earning_rules(ledger: Ledger) -> None:
    p = GrowthProgram(TIERS)
    ledger.grow(A, 120, reason="x", key="a", occurred_at=day(0))
    p.evaluate(ledger, day(0))
    rules = EarningRules([ActionRule("post", points=10)])
    out = rules.apply({"event_id": [1, 2], "member_id": [A, B], "event": ["post", "post"],
                       "ts": [day(0), day(0)]}, multipliers=p.multipliers(ledger))  # fmt: skip
    assert out.points.tolist() == [15, 10]


def test_config_errors() -> None:
    with pytest.raises(ConfigError):
        GrowthProgram([])
    with pytest.raises(ConfigError):
        GrowthProgram([Tier(name="a", threshold=10)])
    with pytest.raises(ConfigError):
        GrowthProgram(TIERS, window="weekly")
    with pytest.raises(ConfigError) as info:
        GrowthProgram(TIERS, downgrade="sometimes")
    assert info.value.key == "downgrade"


def test_bound_program_matches_the_explicit_form(open_store: Any, clock: Any) -> None:
    """evaluate(as_of) on a program holding its ledger decides as evaluate(ledger, as_of)."""
    ledger = Ledger(open_store(), clock=clock)
    explicit = GrowthProgram(TIERS, window="30d", downgrade="one_down")
    bound = GrowthProgram(TIERS, window="30d", downgrade="one_down", ledger=ledger)
    assert bound == explicit and explicit.bind(ledger).ledger is ledger
    ledger.grow(A, 350, reason="referral", key="a", occurred_at=day(0))
    ledger.grow(B, 120, reason="post", key="b", occurred_at=day(0))
    first = bound.evaluate(day(1))
    assert dict(zip(first.member_id, first.to_tier, strict=True)) == {A: "platinum", B: "gold"}
    assert len(explicit.evaluate(ledger, day(1))) == 0  # the same stored state
    assert bound.values(day(1)) == explicit.values(ledger, day(1)) == {A: 350, B: 120}
    assert bound.current() == explicit.current(ledger) == {A: "platinum", B: "gold"}
    assert bound.distribution() == {"silver": 0, "gold": 1, "platinum": 1}
    assert bound.multipliers() == explicit.multipliers(ledger)
    keep = bound.required_to_keep(A, day(1))
    assert keep == explicit.required_to_keep(ledger, A, day(1)) and keep["tier"] == "platinum"
    clock.now = day(40)  # as_of defaults to the ledger's clock
    assert bound.required_to_keep(A)["required"] == 300
    assert bound.evaluate().to_tier.tolist() == ["gold", "silver"]
    with pytest.raises(ConfigError) as info:
        explicit.evaluate(day(1))
    assert info.value.key == "ledger"
    with pytest.raises(InvalidInput):
        bound.evaluate(day(1).replace(tzinfo=None))
