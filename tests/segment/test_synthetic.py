"""Every function against its DuckDB reference on the synthetic dataset."""

from __future__ import annotations

import numpy as np
import pytest

from autoops.datasets import synthetic
from autoops.segment import (
    OUTBOUND_EVENTS,
    IntentWeights,
    activity_tiers,
    intent_matrix,
    intent_scores,
    rfm,
    value_orientation,
)
from autoops.segment._common import private_touchpoints

from .reference import DAY_US, intent_ref, matrix_ref, orientation_ref, rfm_ref, tiers_ref


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic(people=600, seed=11)


def _as_of(data):  # type: ignore[no-untyped-def]
    return int(data.as_of.astype(np.int64))


def test_rfm(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    spend = ~np.isnan(ev.amount)
    args = (ev.true_person_id[spend], ev.ts[spend], ev.amount[spend])
    res = rfm(*args, as_of=data.as_of, people=data.people.person_id)
    ref = rfm_ref(*args, _as_of(data), 5, people=data.people.person_id)
    got = list(
        zip(
            res.person.tolist(),
            res.frequency.tolist(),
            np.rint(res.monetary * 100).astype(np.int64).tolist(),
            res.r.tolist(),
            res.f.tolist(),
            res.m.tolist(),
            res.segment.tolist(),
            strict=True,
        )
    )
    assert got == [(p, f, int(c), r, fs, ms, s) for p, f, c, _, r, fs, ms, s in ref]
    assert (res.frequency > 0).sum() > 50


def test_activity_tiers(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    res = activity_tiers(
        "true_person_id", "ts", touchpoint="touchpoint", event="event", data=ev, as_of=data.as_of
    )
    ref = tiers_ref(
        ev.true_person_id,
        ev.ts,
        _as_of(data),
        30 * DAY_US,
        (8, 3, 1),
        touchpoint=ev.touchpoint,
        event=ev.event,
        touchpoints=private_touchpoints(),
        exclude=OUTBOUND_EVENTS,
    )
    assert (
        list(zip(res.person.tolist(), res.interactions.tolist(), res.tier.tolist(), strict=True))
        == ref
    )
    assert len(set(res.tier.tolist())) >= 3


def test_intent_and_matrix(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    w = IntentWeights.default()
    res = intent_scores("true_person_id", "event", "ts", data=ev, as_of=data.as_of, window="90d")
    ref = intent_ref(
        ev.true_person_id,
        ev.event,
        ev.ts,
        _as_of(data),
        dict(w.weights),
        dict(w.caps),
        window_us=90 * DAY_US,
    )
    assert res.score.tolist() == [r[1] for r in ref]
    assert (res.score >= 60).any()
    m = intent_matrix(res, as_of=data.as_of)
    last = [None if np.isnat(t) else int(t.astype(np.int64)) for t in res.last_seen]
    bands = [("hot", 7 * DAY_US), ("warm", 30 * DAY_US), ("cold", 90 * DAY_US), ("lapsed", None)]
    expected = matrix_ref(
        res.score, last, _as_of(data), {"high": 60, "medium": 30, "low": 0}, bands
    )
    assert list(zip(m.intent_band.tolist(), m.recency_band.tolist(), strict=True)) == expected


def test_value_orientation(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    res = value_orientation(ev.true_person_id, ev.category, ev.ts, as_of=data.as_of)
    ref = orientation_ref(ev.true_person_id, ev.category, ev.ts, _as_of(data))
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
