"""Demo step: the car-sales funnel, private-domain monthly actives and retention."""

from __future__ import annotations

import math

import numpy as np

from autoops._demo import DemoContext
from autoops.funnel._active import PRIVATE_TOUCHPOINTS, active_users
from autoops.funnel._compute import compute
from autoops.funnel._retention import retention
from autoops.funnel._spec import Funnel

__all__ = ["step"]

_LABELS = {
    "lead": "留资 lead",
    "visit": "到店 visit",
    "test_drive": "试驾 test drive",
    "small_order": "小定 small order",
    "big_order": "大定 big order",
    "delivery": "交车 delivery",
}


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1%}"


def step(ctx: DemoContext) -> None:
    """Print the automotive funnel with step rates, monthly actives and a retention table."""
    data = ctx.data
    ev = data.events
    one_id = ctx.shared.get("one_id")
    if one_id is not None and len(one_id) == len(ev.ts):
        unit, unit_name = np.asarray(one_id), "One ID"
    else:
        unit, unit_name = ev.true_person_id, "true person id"
    real = ~ev.true_fake if one_id is None else np.ones(len(ev.ts), dtype=bool)
    cols = {
        "unit": unit[real],
        "event": ev.event[real],
        "ts": ev.ts[real],
        "order_id": ev.order_id[real],
        "touchpoint": ev.touchpoint[real],
    }
    ctx.section(f"Funnel: 留资 → 交车 (30-day window, per {unit_name})")
    with ctx.progress("funnel"):
        result = compute(Funnel.automotive(), cols, unit="unit")
    counts = result.counts
    overall, _, _ = result.rates("overall")
    stepr, lo, hi = result.rates("step")
    rows = []
    for i, label in enumerate(result.labels):
        ci = "" if i == 0 or math.isnan(lo[i]) else f"[{lo[i]:.1%}, {hi[i]:.1%}]"
        rows.append(
            [
                _LABELS.get(label, label),
                int(counts[i]),
                _pct(stepr[i]) if i else "",
                ci,
                _pct(overall[i]),
            ]
        )
    ctx.table(["step", "people", "step rate", "95% CI", "of leads"], rows)
    ttc = result.time_to_convert()
    if ttc["n"]:
        ctx.line(
            f"Median lead → delivery: {ttc['median_s'] / 86_400:.1f} days ({ttc['n']:,} deliveries)."
        )
    ctx.section("Private-domain monthly actives (Asia/Shanghai calendar months)")
    with ctx.progress("actives"):
        mau = active_users(cols, unit="unit", as_of=data.as_of)
    rows = [
        [p, int(a), f"{d:,.0f}", _pct(s), "" if c else "partial"]
        for p, a, d, s, c in zip(
            mau.labels, mau.active, mau.mean_dau, mau.stickiness, mau.complete, strict=True
        )
    ]
    ctx.table(["month", "MAU", "mean DAU", "DAU/MAU", ""], rows[-6:])
    ctx.section("Retention: monthly cohorts of first lead, returning to any private-domain event")
    with ctx.progress("retention"):
        private = np.isin(cols["touchpoint"], list(PRIVATE_TOUCHPOINTS))
        kind = np.where(
            cols["event"] == "lead", "lead", np.where(private, "private", "other")
        ).astype(object)
        table = retention(
            dict(cols, kind=kind),
            cohort="lead",
            returning="private",
            event="kind",
            unit="unit",
            period="month",
            periods=6,
            as_of=data.as_of,
        )
    rows = []
    for c in range(min(len(table.cohort), 6)):
        cells = [table.labels[c], int(table.size[c])]
        for k in range(1, 7):
            cells.append(_pct(table.values[c, k]) if table.complete[c, k] else "·")
        rows.append(cells)
    ctx.table(["cohort", "size", "m1", "m2", "m3", "m4", "m5", "m6"], rows)
    ctx.line("· = period not yet complete. Weighted mean m1: " + _pct(table.weighted_mean[1]) + ".")
    ctx.shared["funnel"] = result
