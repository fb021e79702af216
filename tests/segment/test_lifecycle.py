"""Lifecycle stages and value orientation against DuckDB, edges and the dataset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.segment import LifecycleRules, lifecycle_stages, value_orientation

from .reference import lifecycle_ref, orientation_ref
from .strategies import AS_OF, AS_OF_US, HOUR_US, hours

DAY = np.timedelta64(1, "D").astype("timedelta64[us]")
FUNNEL = (
    "lead",
    "visit",
    "test_drive",
    "small_order",
    "big_order",
    "delivery",
    "refund",
    "click",
    "push_sent",
)
STATUSES = ("new", "assigned", "defeated", "ordered")
CATS = ("spec", "price", "test_report", "lifestyle", "travel", "community", None)


@st.composite
def funnel_tables(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(0, 30))
    person = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    event = draw(st.lists(st.sampled_from(FUNNEL), min_size=n, max_size=n))
    off = draw(
        st.lists(
            st.one_of(hours, st.sampled_from([-24 * 10, -24 * 11, -24 * 9])), min_size=n, max_size=n
        )
    )
    k = draw(st.integers(0, 6))
    lp = draw(st.lists(st.integers(0, 7), min_size=k, max_size=k))
    ls = draw(st.lists(st.sampled_from(STATUSES), min_size=k, max_size=k))
    lo = draw(st.lists(hours, min_size=k, max_size=k))
    owners = draw(st.lists(st.integers(0, 8), max_size=2))

    def to_ts(hs):  # type: ignore[no-untyped-def]
        return AS_OF + np.array(hs, dtype=np.int64).astype("timedelta64[h]").astype(
            "timedelta64[us]"
        )

    return {
        "person": np.array(person, dtype=np.int64),
        "event": np.array(event, dtype=object),
        "ts": to_ts(off),
        "lead_person": np.array(lp, dtype=np.int64),
        "lead_status": np.array(ls, dtype=object),
        "lead_ts": to_ts(lo),
        "owners": np.array(owners, dtype=np.int64),
    }


@settings(max_examples=50, deadline=None)
@given(funnel_tables())
def test_lifecycle_matches_duckdb(tab):  # type: ignore[no-untyped-def]
    rules = LifecycleRules(dormant_after="10d")
    leads = {
        "person": tab["lead_person"],
        "status": tab["lead_status"],
        "created_at": tab["lead_ts"],
    }
    res = lifecycle_stages(
        tab["person"],
        tab["event"],
        tab["ts"],
        as_of=AS_OF,
        rules=rules,
        leads=leads,
        owners=tab["owners"],
    )
    ref = lifecycle_ref(
        tab["person"],
        tab["event"],
        tab["ts"],
        AS_OF_US,
        10 * 24 * HOUR_US,
        lead_person=tab["lead_person"],
        lead_status=tab["lead_status"],
        lead_ts=tab["lead_ts"],
        owners=tab["owners"],
    )
    assert list(zip(res.person.tolist(), res.stage.tolist(), strict=True)) == ref


def test_stage_rules_one_by_one() -> None:
    ts = np.full(2, AS_OF - DAY)
    one = lambda evs: lifecycle_stages([1] * len(evs), evs, ts[: len(evs)], as_of=AS_OF).stage[0]  # noqa: E731
    assert one(["test_drive", "delivery"]) == "owner"
    assert one(["small_order", "refund"]) == "intent"  # refunded: back to intent
    assert one(["small_order", "big_order"]) == "ordered"
    assert one(["click"]) == "potential"
    assert one(["lead"]) == "intent"
    old = lifecycle_stages([1], ["lead"], [AS_OF - 181 * DAY], as_of=AS_OF)
    assert old.stage.tolist() == ["dormant"]
    edge = lifecycle_stages([1], ["lead"], [AS_OF - 180 * DAY], as_of=AS_OF)
    assert edge.stage.tolist() == ["intent"]  # exactly on the window edge: still active


def test_defeated_needs_every_lead_lost_and_future_leads_ignored() -> None:
    leads = {
        "person": np.array([1, 2, 2, 3]),
        "status": np.array(["defeated", "defeated", "new", "defeated"], dtype=object),
        "created_at": np.array([AS_OF - DAY, AS_OF - DAY, AS_OF - DAY, AS_OF + DAY]),
    }
    res = lifecycle_stages([1, 2, 3], ["click"] * 3, [AS_OF] * 3, as_of=AS_OF, leads=leads)
    assert res.stage.tolist() == ["defeated", "intent", "potential"]


def test_rules_validation() -> None:
    with pytest.raises(ConfigError, match="owner_events"):
        LifecycleRules(owner_events=())
    assert LifecycleRules(intent_events="lead").intent_events == ("lead",)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(CATS), hours), max_size=30))
def test_orientation_matches_duckdb(rows):  # type: ignore[no-untyped-def]
    person = np.array([p for p, _, _ in rows], dtype=np.int64)
    cat = np.array([c for _, c, _ in rows], dtype=object)
    ts = AS_OF + np.array([h for _, _, h in rows], dtype=np.int64).astype("timedelta64[h]").astype(
        "timedelta64[us]"
    )
    res = value_orientation(person, cat, ts, as_of=AS_OF)
    ref = orientation_ref(person, cat, ts, AS_OF_US)
    got = list(
        zip(
            res.person.tolist(),
            res.rational.tolist(),
            res.emotional.tolist(),
            res.orientation.tolist(),
            strict=True,
        )
    )
    assert got == ref


def test_orientation_event_filter_and_errors() -> None:
    res = value_orientation(
        [1, 1], ["spec", "travel"], [AS_OF] * 2, event=["content_view", "click"], as_of=AS_OF
    )
    assert res.orientation.tolist() == ["rational"]
    with pytest.raises(ConfigError, match="both rational and emotional"):
        value_orientation([1], ["spec"], [AS_OF], as_of=AS_OF, emotional=["spec"])


def test_on_the_synthetic_dataset() -> None:
    from autoops.datasets import synthetic

    data = synthetic(people=400, seed=3)
    ev = data.events
    res = lifecycle_stages(
        "true_person_id",
        "event",
        "ts",
        data=ev,
        as_of=data.as_of,
        leads=data.leads,
        lead_person="true_person_id",
    )
    ref = lifecycle_ref(
        ev.true_person_id,
        ev.event,
        ev.ts,
        int(data.as_of.astype(np.int64)),
        180 * 24 * HOUR_US,
        lead_person=data.leads.true_person_id,
        lead_status=data.leads.status,
        lead_ts=data.leads.created_at,
    )
    assert list(zip(res.person.tolist(), res.stage.tolist(), strict=True)) == ref
    ori = value_orientation(
        "true_person_id", "category", "ts", event="event", data=ev, as_of=data.as_of
    )
    truth = dict(zip(data.people.person_id.tolist(), data.people.orientation.tolist(), strict=True))
    decided = [
        (truth[p], o)
        for p, o in zip(ori.person.tolist(), ori.orientation.tolist(), strict=True)
        if p in truth and o in ("rational", "emotional")
    ]
    assert sum(t == o for t, o in decided) / len(decided) > 0.8  # recovers the generator's truth
