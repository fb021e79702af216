"""Demo step: earning rules over the synthetic activity, balances, tiers, medals, an expiry run."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from autoops._masking import mask_id
from autoops._time import to_datetime
from autoops.loyalty._core import Ledger
from autoops.loyalty._growth import GrowthProgram
from autoops.loyalty._medals import MedalRules
from autoops.loyalty._rules import EarningRules
from autoops.loyalty._store import MemoryStore
from autoops.models._loyalty import Tier

if TYPE_CHECKING:
    from autoops._demo import DemoContext

__all__ = ["step"]

TIERS = [
    Tier(name="silver", threshold=0, multiplier=1.0, benefits=("birthday coupon",)),
    Tier(name="gold", threshold=50, multiplier=1.2, benefits=("free car wash / quarter",)),
    Tier(name="platinum", threshold=150, multiplier=1.5, benefits=("priority service bay",)),
    Tier(name="black", threshold=300, multiplier=2.0, benefits=("annual maintenance",)),
]


def step(ctx: DemoContext) -> None:
    """Earn points and growth from the dataset's events, then show balances, tiers and expiry."""
    data = ctx.data
    events = data.events
    one_id = ctx.shared.get("one_id")
    member_col = "one_id" if one_id is not None else "true_person_id"
    table = {**events._columns()}
    if one_id is not None:
        table["one_id"] = np.asarray(one_id)
    now = to_datetime(data.as_of)
    ledger = Ledger(MemoryStore(), expiry="365d", clock=lambda: now)
    rules = EarningRules.automotive_default()
    program = GrowthProgram(TIERS, window="365d", downgrade="one_down")
    with ctx.progress("applying earning rules and posting to the ledger"):
        instructions = rules.apply(table, member=member_col)
        points, growth = instructions.post(ledger)
        again, _ = instructions.post(ledger)
        changes = program.evaluate(ledger, now)
        medals = MedalRules.automotive_default().apply(table, member=member_col, ledger=ledger)

    ctx.section("Loyalty: points earned by rule (caps and the 7-day purchase lock applied)")
    by_rule = []
    for name in sorted(set(instructions.rule.tolist())):
        sel = instructions.rule == name
        capped = int((instructions.capped_by[sel] != None).sum())  # noqa: E711
        by_rule.append([name, int(sel.sum()), int(instructions.points[sel].sum()),
                        int(instructions.growth[sel].sum()), capped])  # fmt: skip
    ctx.table(["rule", "events", "points", "growth", "capped"], by_rule)
    p, d = points.summary(), again.summary()
    ctx.line(f"posted {p['earned']:,} earns ({growth.summary()['earned']:,} growth postings); "
             f"posting the same events again: {d['duplicate']:,} duplicates, {d['earned']} new")  # fmt: skip

    members = sorted(set(instructions.member_id.tolist()))
    balances = [ledger.balance(m) for m in members[:2000]]
    top = sorted(balances, key=lambda b: -b.total)[:5]
    ctx.section("Loyalty: top balances (of the first 2,000 members; ids masked)")
    ctx.table(["member", "available", "locked", "expiring 30d", "growth"],
              [[mask_id(f"member-{b.member_id}"), b.available, b.locked, b.expiring,
                ledger.growth_value(b.member_id)] for b in top])  # fmt: skip

    ctx.section("Loyalty: tiers by 365-day growth value")
    dist = program.distribution(ledger)
    ctx.table(["tier", "threshold", "multiplier", "members"],
              [[t.name, t.threshold, t.multiplier, dist[t.name]] for t in TIERS])  # fmt: skip
    ctx.line(f"tier evaluation: {changes.summary()['joins']:,} members placed; "
             f"medals awarded: {int(medals.new.sum()):,} "
             f"({', '.join(sorted(set(medals.medal.tolist())))})")  # fmt: skip

    later = now + timedelta(days=200)
    ctx.section("Loyalty: expiry run 200 days after the period (365-day expiry)")
    report = ledger.expire(later)
    again_report = ledger.expire(later)
    ctx.table(["members", "points expired", "second run expires"],
              [[len(report.member_id), report.total, again_report.total]])  # fmt: skip
    findings = ledger.verify()
    ctx.line(f"ledger invariants: {'all hold' if not findings else f'{len(findings)} findings'}")
    ctx.shared["loyalty_ledger"] = ledger
