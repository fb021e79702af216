"""A brute-force reference of the earning rules: one event at a time, plain Python."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from autoops.loyalty import EarningRules


def reference_apply(
    rules: EarningRules, events: list[dict[str, Any]], multipliers: dict[str, float]
) -> dict[tuple[str, int], tuple[int, str | None]]:
    """(rule name, event_id) → (points, capped_by), following the documented semantics."""
    zone = ZoneInfo(rules.tz)
    matches = []
    for i, e in enumerate(events):
        for rule in rules.rules:
            if e["event"] != rule.event or e["member_id"] is None:
                continue
            if rule.only_if and not e.get(rule.only_if):
                continue
            if rule.yuan_per_point is not None:
                amount = e.get("amount")
                if (
                    amount is None
                    or not math.isfinite(amount)
                    or amount <= 0
                    or amount < rule.min_amount
                ):
                    continue
                if e.get("category") in rule.exclude_categories:
                    continue
                base = (round(amount * 100) // (rule.yuan_per_point * 100)) * rule.points
            else:
                base = rule.points
            factor = 1.0
            for c in rules.campaigns:
                if c.events and rule.event not in c.events and rule.name not in c.events:
                    continue
                if c.start <= e["ts"] < c.end:
                    factor = max(factor, c.factor)
            pts = math.floor(base * factor * multipliers.get(e["member_id"], 1.0) + 1e-9)
            matches.append((e["ts"], i, rule, e, pts))
    out = {}
    for period, attr in (
        ("daily", "daily_cap"),
        ("weekly", "weekly_cap"),
        ("monthly", "monthly_cap"),
    ):
        used: dict[tuple[Any, ...], int] = defaultdict(int)
        for ts, _i, rule, e, pts in sorted(matches, key=lambda m: (m[0], m[1])):
            local = ts.astimezone(zone)
            bucket = {"daily": local.date(), "weekly": local.date() - timedelta(days=local.weekday()),
                      "monthly": (local.year, local.month)}[period]  # fmt: skip
            cap = getattr(rule, attr)
            key = (rule.name, e["event_id"])
            pts_now, capped = out.get(key, (pts, None))
            if cap is not None:
                group = (e["member_id"], rule.name, bucket)
                allowed = max(0, min(pts_now, cap - used[group]))
                used[group] += allowed
                if allowed < pts_now and capped is None:
                    capped = period
                pts_now = allowed
            out[key] = (pts_now, capped)
    return out


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
