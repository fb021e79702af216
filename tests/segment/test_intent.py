"""Intent scores: the domain example, the DuckDB reference, decay and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.segment import IntentWeights, intent_scores

from .reference import intent_ref
from .strategies import AS_OF, AS_OF_US, HOUR_US, event_tables

DAY = np.timedelta64(1, "D").astype("timedelta64[us]")


def test_domain_example_five_clicks_and_a_favourite_is_70() -> None:
    res = intent_scores([1] * 6, ["click"] * 5 + ["favourite"], [AS_OF - DAY] * 6, as_of=AS_OF)
    assert res.score.tolist() == [70.0]
    full = intent_scores(
        [1] * 9, ["click"] * 7 + ["favourite", "test_drive"], [AS_OF] * 9, as_of=AS_OF
    )
    assert full.score.tolist() == [100.0]  # capped at 5 clicks


@settings(max_examples=60, deadline=None)
@given(event_tables(min_size=1), st.sampled_from([None, 7, 30]))
def test_matches_duckdb(tab, window_days):  # type: ignore[no-untyped-def]
    w = IntentWeights.default()
    window = None if window_days is None else f"{window_days}d"
    res = intent_scores(tab["person"], tab["event"], tab["ts"], as_of=AS_OF, window=window)
    ref = intent_ref(
        tab["person"],
        tab["event"],
        tab["ts"],
        AS_OF_US,
        dict(w.weights),
        dict(w.caps),
        window_us=None if window_days is None else window_days * 24 * HOUR_US,
    )
    assert res.person.tolist() == [r[0] for r in ref]
    assert res.score.tolist() == [r[1] for r in ref]  # same arithmetic, bit for bit
    last = [None if np.isnat(t) else int(t.astype(np.int64)) for t in res.last_seen]
    assert last == [r[2] for r in ref]
    for i, action in enumerate(w.actions):
        assert res.counts[action].tolist() == [r[3 + i] for r in ref]


@settings(max_examples=40, deadline=None)
@given(event_tables(min_size=1), st.sampled_from([1, 14]))
def test_decay_matches_duckdb(tab, half_days):  # type: ignore[no-untyped-def]
    w = IntentWeights({"click": 2, "share": 1}, {"click": 3, "share": 2}, version="t")
    past = tab["ts"] <= AS_OF
    res = intent_scores(
        tab["person"], tab["event"], tab["ts"], as_of=AS_OF, weights=w, half_life=f"{half_days}d"
    )
    ref = intent_ref(
        tab["person"],
        tab["event"],
        tab["ts"],
        AS_OF_US,
        dict(w.weights),
        dict(w.caps),
        half_life_us=half_days * 24 * HOUR_US,
    )
    assert res.person.tolist() == [r[0] for r in ref]
    np.testing.assert_allclose(res.score, [r[1] for r in ref], rtol=1e-12, atol=1e-12)
    assert past.any() or (res.score == 0).all()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=3, max_size=3), st.integers(0, 2))
def test_bounded_monotone_and_flat_beyond_cap(counts, which):  # type: ignore[no-untyped-def]
    actions = ["click", "favourite", "test_drive"]

    def score(cs):  # type: ignore[no-untyped-def]
        act = [a for a, c in zip(actions, cs, strict=True) for _ in range(c)]
        res = intent_scores([0] * len(act), act, [AS_OF] * len(act), as_of=AS_OF, people=[0])
        return float(res.score[0])

    base = score(counts)
    bumped = list(counts)
    bumped[which] += 1
    assert 0.0 <= base <= 100.0
    assert score(bumped) >= base
    caps = [5, 1, 1]
    if counts[which] >= caps[which]:
        assert score(bumped) == base


def test_half_life_halves_contribution() -> None:
    w = IntentWeights({"click": 1}, {"click": 1})
    res = intent_scores([1], ["click"], [AS_OF - 14 * DAY], as_of=AS_OF, weights=w, half_life="14d")
    assert res.score.tolist() == [50.0]
    assert res.half_life is not None and res.half_life.days == 14


def test_future_rows_ignored_and_unweighted_actions_ignored() -> None:
    res = intent_scores(
        [1, 1, 2], ["click", "click", "share"], [AS_OF, AS_OF + DAY, AS_OF], as_of=AS_OF
    )
    assert res.counts["click"].tolist() == [1.0, 0.0]
    assert res.score.tolist() == [8.0, 0.0]
    assert np.isnat(res.last_seen[1])


def test_weights_config_and_errors() -> None:
    w = IntentWeights.default()
    assert IntentWeights.from_json(w.to_json()) == w
    with pytest.raises(ConfigError, match=r"weights\.click"):
        IntentWeights({"click": -1}, {"click": 1})
    with pytest.raises(ConfigError, match="malformed JSON"):
        IntentWeights.from_json("{")
    with pytest.raises(ConfigError, match="unknown keys"):
        IntentWeights.from_json('{"weights": {}, "caps": {}, "colour": 1}')
    with pytest.raises(ConfigError, match="caps are required"):
        intent_scores([1], ["click"], [AS_OF], as_of=AS_OF, weights={"click": 1})
    res = intent_scores(
        [1], ["click"], [AS_OF], as_of=AS_OF, weights={"click": 1}, caps={"click": 2}
    )
    assert res.score.tolist() == [50.0] and res.config.version == "custom"
    with pytest.raises(InvalidInput, match="differ in length"):
        intent_scores([1, 2], ["click"], [AS_OF], as_of=AS_OF)


def test_summary_repr_tables() -> None:
    res = intent_scores(["a", "b"], ["click", "favourite"], [AS_OF, AS_OF], as_of=AS_OF)
    assert res.summary().to_dicts()[0] == {"score": "0-10", "people": 1, "share": 0.5}
    assert list(res.to_pandas().columns) == [
        "person",
        "score",
        "count_click",
        "count_favourite",
        "count_test_drive",
        "last_seen",
    ]
    assert repr(res).startswith("IntentScores(people=2")
