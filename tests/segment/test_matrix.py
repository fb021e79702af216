"""Intent matrix: bands against a DuckDB reference, cells, strategies, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.segment import DEFAULT_STRATEGIES, intent_matrix, intent_scores

from .reference import matrix_ref
from .strategies import AS_OF, AS_OF_US, HOUR_US

DAY = np.timedelta64(1, "D").astype("timedelta64[us]")
EDGE_SCORES = [0.0, 29.999, 30.0, 59.99, 60.0, 70.0, 100.0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(EDGE_SCORES), st.floats(0, 100)),
            st.one_of(
                st.none(),
                st.sampled_from([0, 7 * 24, 7 * 24 + 1, 30 * 24, 90 * 24, 91 * 24]),
                st.integers(0, 3000),
            ),
        ),
        max_size=30,
    )
)
def test_matches_duckdb(rows):  # type: ignore[no-untyped-def]
    scores = np.array([s for s, _ in rows], dtype=np.float64)
    ages = [a for _, a in rows]
    last = np.array(
        ["NaT" if a is None else AS_OF - np.timedelta64(a, "h") for a in ages],
        dtype="datetime64[us]",
    )
    m = intent_matrix(scores, last, as_of=AS_OF)
    last_us = [None if a is None else AS_OF_US - a * HOUR_US for a in ages]
    bands = [
        ("hot", 7 * 24 * HOUR_US),
        ("warm", 30 * 24 * HOUR_US),
        ("cold", 90 * 24 * HOUR_US),
        ("lapsed", None),
    ]
    ref = matrix_ref(scores, last_us, AS_OF_US, {"high": 60, "medium": 30, "low": 0}, bands)
    assert list(zip(m.intent_band.tolist(), m.recency_band.tolist(), strict=True)) == ref
    assert int(m.counts.sum()) == len(rows)
    for i, a in enumerate(m.intent_labels):
        for j, b in enumerate(m.recency_labels):
            assert len(m.people(a, b)) == m.counts[i, j]


def test_from_intent_scores_and_cells() -> None:
    res = intent_scores(
        [1] * 6 + [2, 3],
        ["click"] * 5 + ["favourite", "click", "test_drive"],
        [AS_OF - DAY] * 6 + [AS_OF - 40 * DAY, AS_OF - 200 * DAY],
        as_of=AS_OF,
    )
    m = intent_matrix(res, as_of=AS_OF)
    assert m.intent_band.tolist() == ["high", "low", "medium"]
    assert m.recency_band.tolist() == ["hot", "cold", "lapsed"]
    assert m.people("high", "hot").tolist() == [1]
    assert m.strategy("medium", "lapsed") == DEFAULT_STRATEGIES["medium/lapsed"]
    table = m.table()
    assert table.rows()[0] == ("high", 1, 0, 0, 0)
    assert len(m.summary()) == 12
    assert m.to_pandas()["strategy"].tolist()[0] == DEFAULT_STRATEGIES["high/hot"]


def test_custom_bands_and_strategies() -> None:
    m = intent_matrix(
        np.array([10.0, 90.0]),
        np.array([AS_OF, AS_OF - 5 * DAY]),
        as_of=AS_OF,
        person=np.array(["a", "b"], dtype=object),
        intent_bands={"hot_lead": 80, "rest": 0},
        recency_bands={"this_week": "7d", "older": None},
        strategies={"hot_lead/this_week": "call now"},
    )
    assert m.strategy("hot_lead", "this_week") == "call now"
    assert m.strategy("rest", "older") == "unassigned"
    assert m.people("hot_lead", "this_week").tolist() == ["b"]


def test_errors() -> None:
    seen = np.array([AS_OF])
    with pytest.raises(InvalidInput, match=r"scores \(row 0\)"):
        intent_matrix(np.array([101.0]), seen, as_of=AS_OF)
    with pytest.raises(InvalidInput, match=r"last_seen \(row 0\): last_seen is after as_of"):
        intent_matrix(np.array([1.0]), seen + DAY, as_of=AS_OF)
    with pytest.raises(ConfigError, match="catch-all"):
        intent_matrix(np.array([1.0]), seen, as_of=AS_OF, recency_bands={"hot": "7d"})
    with pytest.raises(ConfigError, match="start at 0"):
        intent_matrix(np.array([1.0]), seen, as_of=AS_OF, intent_bands={"high": 50})
    with pytest.raises(ConfigError, match="unknown cells"):
        intent_matrix(np.array([1.0]), seen, as_of=AS_OF, strategies={"high/tepid": "x"})
    m = intent_matrix(np.array([1.0]), seen, as_of=AS_OF)
    with pytest.raises(InvalidInput, match="available: \\['high', 'medium', 'low'\\]"):
        m.people("top", "hot")
