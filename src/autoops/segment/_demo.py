"""Demo step: activity tiers, RFM segments, the intent matrix and a campaign audience."""

from __future__ import annotations

from typing import Any

import numpy as np

from autoops._demo import DemoContext
from autoops.segment import (
    activity_tiers,
    attr,
    count,
    intent_matrix,
    intent_scores,
    lifecycle_stages,
    rfm,
    score,
)

__all__ = ["step"]


def step(ctx: DemoContext) -> None:
    """Segment the synthetic private domain; share the results with later steps.

    Leaves in ``ctx.shared``: ``activity_tiers``, ``rfm``, ``intent_scores``,
    ``intent_matrix`` (per One ID when identity ran, else per true person),
    ``audience`` (people-table person ids of the campaign audience, int64),
    ``audience_rule`` (the :class:`~autoops.segment.Audience`) and
    ``audience_result``.
    """
    data = ctx.data
    ev = data.events
    as_of = data.as_of
    one_id = ctx.shared.get("one_id")
    person: Any = one_id if one_id is not None else ev.true_person_id
    unit = "One ID" if one_id is not None else "true person"

    with ctx.progress("segmenting"):
        tiers = activity_tiers(person, ev.ts, touchpoint=ev.touchpoint, event=ev.event, as_of=as_of)
        spend = ~np.isnan(ev.amount)
        values = rfm(person[spend], ev.ts[spend], ev.amount[spend], as_of=as_of)
        scores = intent_scores(person, ev.event, ev.ts, as_of=as_of, window="90d")
        matrix = intent_matrix(scores, as_of=as_of)
    ctx.shared.update(activity_tiers=tiers, rfm=values, intent_scores=scores, intent_matrix=matrix)

    ctx.section(f"Segments (per {unit}, as of the end of the period)")
    ctx.line(
        "Activity tiers: private-domain interactions in the last 30 days (high ≥ 8, medium ≥ 3, low ≥ 1)"
    )
    ctx.table(["tier", "people", "share"], _rows(tiers.summary().rows()))
    ctx.line()
    ctx.line("RFM segments on after-sales and mall spend (people with at least one transaction)")
    rows = [r for r in values.summary().rows() if r[0] != "no_transactions"]
    buyers = sum(r[1] for r in rows) or 1
    ctx.table(["segment", "people", "share"], [[r[0], r[1], f"{r[1] / buyers:.1%}"] for r in rows])
    ctx.line()
    ctx.line("Lead intent matrix (intent score in 90 days × days since the last intent action)")
    table = matrix.table()
    ctx.table(list(table.data), [list(r) for r in table.rows()])
    ctx.line(f"high/hot strategy: {matrix.strategy('high', 'hot')}")

    # a campaign audience over the people table (CRM ids, so channels can look up contacts)
    with ctx.progress("building the audience"):
        people_scores = intent_scores(
            ev.true_person_id,
            ev.event,
            ev.ts,
            as_of=as_of,
            window="90d",
            people=data.people.person_id,
        )
        stages = lifecycle_stages(
            ev.true_person_id,
            ev.event,
            ev.ts,
            as_of=as_of,
            leads=data.leads,
            lead_person="true_person_id",
            people=data.people.person_id,
        )
        rule = (
            (attr("member") == True)  # noqa: E712 - builds a predicate
            & (score("intent") >= 30)
            & (count("test_drive", within="90d") >= 1)
            & ~score("stage").isin(["ordered", "owner"])
        )
        result = rule.evaluate(
            data.people,
            events=ev,
            as_of=as_of,
            scores={"intent": people_scores, "stage": (stages.person, stages.stage)},
            event_columns={"person": "true_person_id"},
        )
    ctx.shared["audience"] = result.ids.astype(np.int64)
    ctx.shared["audience_rule"] = rule
    ctx.shared["audience_result"] = result
    ctx.line()
    ctx.line(f"Audience: {rule!r}")
    ctx.line(
        f"  {len(result):,} of {len(data.people):,} people; stored as JSON ({len(rule.to_json())} bytes)"
    )
    if len(result):
        lines = str(result.explain(result.ids[0])).splitlines()
        for line in lines[:1] + lines[2:]:
            ctx.line(f"  {line}")


def _rows(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [[name, people, f"{share:.1%}"] for name, people, share in rows]
