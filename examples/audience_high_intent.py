"""Notebook-style example: high-intent people in Shanghai who test-drove in the last
30 days and have not ordered — built, checked, explained and stored.

Run: ``python examples/audience_high_intent.py`` (cells are marked ``# %%`` for
Jupyter / VS Code).
"""

from __future__ import annotations

# %% The synthetic car maker and the instant we describe
from autoops.datasets import synthetic
from autoops.segment import (
    Audience,
    attr,
    count,
    intent_matrix,
    intent_scores,
    lifecycle_stages,
    score,
)


def main() -> None:
    data = synthetic(people=20_000, seed=0)
    events, as_of = data.events, data.as_of
    print(data)

    # %% Intent scores (click 40 cap 5, favourite 30 cap 1, test drive 30 cap 1) over 90 days
    scores = intent_scores("true_person_id", "event", "ts", data=events, as_of=as_of, window="90d")
    print(scores)
    print(scores.summary())

    # %% Where people sit in the intent matrix
    matrix = intent_matrix(scores, as_of=as_of)
    print(matrix.table())

    # %% Lifecycle stages tell us who has already ordered or taken delivery
    stages = lifecycle_stages(
        "true_person_id",
        "event",
        "ts",
        data=events,
        as_of=as_of,
        leads=data.leads,
        lead_person="true_person_id",
    )
    print(stages.summary())

    # %% The audience: high intent, Shanghai, a test drive in the last 30 days, not ordered
    rule = (
        (score("intent") >= 60)
        & (attr("city") == "Shanghai")
        & (count("test_drive", within="30d") >= 1)
        & ~score("stage").isin(["ordered", "owner"])
    )
    result = rule.evaluate(
        data.people,
        events=events,
        as_of=as_of,
        scores={"intent": scores, "stage": (stages.person, stages.stage)},
        event_columns={"person": "true_person_id"},
    )
    print(rule)
    print(f"{len(result)} people in the audience")
    print(result.summary())

    # %% Why one person is in, and why a near miss is out
    if len(result):
        print(result.explain(int(result.ids[0])))
    shanghai_high = (score("intent") >= 60) & (attr("city") == "Shanghai")
    near = shanghai_high.evaluate(data.people, scores={"intent": scores})
    missed = [int(p) for p in near.ids if p not in result]
    if missed:
        print(result.explain(missed[0]))

    # %% Store the rule (for example in a database column) and run it again later
    text = rule.to_json()
    again = Audience.from_json(text)
    assert again == rule
    rerun = again.evaluate(
        data.people,
        events=events,
        as_of=as_of,
        scores={"intent": scores, "stage": (stages.person, stages.stage)},
        event_columns={"person": "true_person_id"},
    )
    assert rerun.ids.tolist() == result.ids.tolist()
    print(
        f"stored as {len(text)} bytes of JSON; the reloaded rule selects the same {len(rerun)} people"
    )


if __name__ == "__main__":
    main()
