"""Demo step: grade, de-duplicate, quality-check and assign the synthetic leads; SLA."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoops.leads._assign import AssignPolicy, assign_leads
from autoops.leads._dedupe import dedupe_leads
from autoops.leads._grade import grade_leads
from autoops.leads._profile import GRADE_DEFINITIONS
from autoops.leads._quality import QualityPolicy, lead_quality
from autoops.leads._reactivate import reactivation_candidates
from autoops.leads._sla import sla_report

if TYPE_CHECKING:
    from autoops._demo import DemoContext

__all__ = ["step"]


def step(ctx: DemoContext) -> None:
    """Run the lead pipeline on ``ctx.data.leads`` and print short, masked tables."""
    data = ctx.data
    leads = data.leads
    # the run happens after the last lead was captured
    as_of = max(leads.created_at.max(), data.as_of) if len(leads) else data.as_of
    with ctx.progress("grading, de-duplicating and assigning leads"):
        grading = grade_leads(leads, data.events, as_of=as_of)
        dedup = dedupe_leads(leads, window="30d")
        quality = lead_quality(
            leads, policy=QualityPolicy(exempt_devices=list(data.kiosks.device_id))
        )
        unassigned = {**leads._columns(), "dealer_id": np.full(len(leads), None, dtype=object)}
        assignment = assign_leads(
            unassigned,
            data.dealers,
            strategy="round_robin",
            as_of=as_of,
            staff=data.staff,
            policy=AssignPolicy(),
        )
        sla = sla_report(
            leads, data.contacts, first_contact_within="30min", events=data.events, as_of=as_of
        )
        recall = reactivation_candidates(leads, data.events, as_of=as_of, cool_off="30d")
    ctx.shared["lead_grading"] = grading

    ctx.section("Leads: grade mix (consultant grade kept; suggestion beside it)")
    rows = []
    for g in "HABCNODTF":
        entered = int((grading.entered == g).sum())
        suggested = int((grading.suggested == g).sum())
        final = int((grading.grade == g).sum())
        rows.append([g, entered, suggested, final, GRADE_DEFINITIONS[g][1]])
    ctx.table(["grade", "entered", "suggested", "final", "meaning"], rows)
    summary = grading.summary()
    ctx.line(f"consultants and rules agree on {summary['agreement']:.0%} of graded leads")
    base = np.char.partition(grading.reason.astype(str), "+")[:, 0]
    why, counts = np.unique(base, return_counts=True)
    stale = int(np.char.endswith(grading.reason.astype(str), "+stale").sum())
    top = sorted(zip(counts.tolist(), why.tolist(), strict=True), reverse=True)[:6]
    ctx.line(
        "why (suggestion): "
        + ", ".join(f"{w.replace('_', ' ')} {c:,}" for c, w in top)
        + f"; {stale:,} capped at C as stale"
    )

    ctx.section("Leads: de-duplication (phone, brand, 30 days) and quality")
    ds = dedup.summary()
    qs = quality.summary()
    fake = leads.true_fake
    ctx.table(
        ["leads", "kept", "duplicates removed", "new cycles", "without phone", "flagged suspect"],
        [
            [
                ds["leads"],
                ds["kept"],
                ds["duplicates"],
                ds["new_cycles"],
                ds["without_key"],
                qs["suspect"],
            ]
        ],
    )
    top = sorted(((k, v) for k, v in quality.counts().items() if v), key=lambda kv: -kv[1])[:5]
    ctx.line("top flags: " + ", ".join(f"{k} {v}" for k, v in top))
    caught = float(quality.suspect[fake].mean()) if fake.any() else float("nan")
    false_alarm = float(quality.suspect[~fake].mean()) if (~fake).any() else float("nan")
    ctx.line(f"ground truth: {caught:.0%} of fake leads flagged, {false_alarm:.1%} of real ones")

    ctx.section("Leads: assignment (weighted round-robin, daily capacity)")
    a = assignment.summary()
    reasons = {
        r: int((assignment.reason == r).sum()) for r in np.unique(assignment.reason.astype(str))
    }
    ctx.table(
        ["leads", "assigned", "unassigned", *sorted(reasons)],
        [[a["leads"], a["assigned"], a["unassigned"], *[reasons[r] for r in sorted(reasons)]]],
    )

    ctx.section("Leads: first-contact SLA (30 business minutes, 09:00-18:00) by dealer")
    per = sla.per_dealer()
    real = np.flatnonzero(per.dealer_id != None)  # noqa: E711
    worst = real[np.argsort(-np.nan_to_num(per.breach_rate[real]), kind="stable")][:5]
    ctx.table(
        [
            "dealer",
            "leads",
            "breaches",
            "breach rate",
            "p50 min",
            "p90 min",
            "test drives",
            "callback ≤30min",
        ],
        [
            [
                per.dealer_id[i],
                int(per.leads[i]),
                int(per.breaches[i]),
                f"{per.breach_rate[i]:.0%}",
                per.p50_minutes[i],
                per.p90_minutes[i],
                int(per.test_drives[i]),
                "" if np.isnan(per.callback_rate[i]) else f"{per.callback_rate[i]:.0%}",
            ]
            for i in worst
        ],
    )
    s = sla.summary()
    ctx.line(
        f"all dealers: {s['breaches']} breaches ({s['breach_rate']:.0%}); "
        f"post-test-drive callbacks within 30 min: {s['callback_rate']:.0%} of {s['test_drives']}"
    )
    r = recall.summary()
    ctx.line(f"defeated leads: {r['defeated']}, worth recalling after 30 days: {r['candidates']}")
