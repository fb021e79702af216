"""Activity tiers: the DuckDB reference, window edges, filters and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.segment import OUTBOUND_EVENTS, activity_tiers
from autoops.segment._common import private_touchpoints

from .reference import tiers_ref
from .strategies import AS_OF, AS_OF_US, HOUR_US, event_tables

DAY = np.timedelta64(1, "D").astype("timedelta64[us]")


def _rows(res):  # type: ignore[no-untyped-def]
    return list(zip(res.person.tolist(), res.interactions.tolist(), res.tier.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(event_tables(), st.sampled_from([1, 7, 30]), st.booleans(), st.booleans())
def test_matches_duckdb(tab, days, use_filters, with_universe):  # type: ignore[no-untyped-def]
    th = (5, 3, 1)
    people = None
    if with_universe:
        people = np.array(["p9"], dtype=object) if tab["person"].dtype == object else np.array([9])
    kw = {"touchpoint": tab["touchpoint"], "event": tab["event"]} if use_filters else {}
    res = activity_tiers(
        tab["person"], tab["ts"], as_of=AS_OF, window=f"{days}d", thresholds=th, people=people, **kw
    )
    ref = tiers_ref(
        tab["person"],
        tab["ts"],
        AS_OF_US,
        days * 24 * HOUR_US,
        th,
        touchpoint=tab["touchpoint"] if use_filters else None,
        event=tab["event"] if use_filters else None,
        touchpoints=private_touchpoints(),
        exclude=OUTBOUND_EVENTS,
        people=people,
    )
    assert _rows(res) == [tuple(r) for r in ref]


def test_window_edges_are_included() -> None:
    ts = np.array(
        [
            AS_OF - 30 * DAY,
            AS_OF - 30 * DAY - np.timedelta64(1, "us"),
            AS_OF,
            AS_OF + np.timedelta64(1, "us"),
        ]
    )
    res = activity_tiers([1, 2, 3, 4], ts, as_of=AS_OF, window="30d")
    assert res.interactions.tolist() == [1, 0, 1, 0]
    assert res.tier.tolist() == ["low", "inactive", "low", "inactive"]


def test_private_domain_by_default_and_filter_parameter() -> None:
    ts = np.full(4, AS_OF)
    tp = ["app", "douyin", "wecom", "xiaohongshu"]
    assert activity_tiers([1] * 4, ts, touchpoint=tp, as_of=AS_OF).interactions.tolist() == [2]
    assert activity_tiers(
        [1] * 4, ts, touchpoint=tp, as_of=AS_OF, touchpoints=None
    ).interactions.tolist() == [4]
    assert activity_tiers(
        [1] * 4, ts, touchpoint=tp, as_of=AS_OF, touchpoints=["douyin"]
    ).interactions.tolist() == [1]
    ev = ["push_sent", "click", "system", "click"]
    res = activity_tiers([1] * 4, ts, touchpoint=tp, event=ev, as_of=AS_OF, touchpoints=None)
    assert res.interactions.tolist() == [2]


def test_thresholds_boundaries_and_defaults() -> None:
    counts = [8, 7, 3, 2, 1]
    person = np.repeat(np.arange(5), counts)
    res = activity_tiers(person, np.full(len(person), AS_OF), as_of=AS_OF)
    assert res.tier.tolist() == ["high", "medium", "medium", "low", "low"]
    assert res.thresholds == {"high": 8, "medium": 3, "low": 1}


def test_empty_and_universe() -> None:
    res = activity_tiers(
        np.array([], dtype=np.int64),
        np.array([], dtype="datetime64[us]"),
        as_of=AS_OF,
        people=[3, 1],
    )
    assert res.person.tolist() == [1, 3] and res.tier.tolist() == ["inactive", "inactive"]
    assert res.summary().to_dicts()[-1]["people"] == 2


def test_errors() -> None:
    with pytest.raises(ConfigError, match="strictly decreasing"):
        activity_tiers([1], [AS_OF], as_of=AS_OF, thresholds=(1, 2, 3))
    with pytest.raises(ConfigError, match="unknown \\['hi'\\]"):
        activity_tiers([1], [AS_OF], as_of=AS_OF, thresholds={"hi": 3, "medium": 2, "low": 1})
    with pytest.raises(ConfigError, match="window"):
        activity_tiers([1], [AS_OF], as_of=AS_OF, window="soon")
    with pytest.raises(InvalidInput, match=r"person \(row 1\)"):
        activity_tiers(np.array(["a", None], dtype=object), [AS_OF, AS_OF], as_of=AS_OF)
    with pytest.raises(InvalidInput, match=r"ts \(row 0\)"):
        activity_tiers([1], np.array(["NaT"], dtype="datetime64[us]"), as_of=AS_OF)
    with pytest.raises(InvalidInput, match="as_of"):
        activity_tiers([1], [AS_OF], as_of=None)


def test_repr_and_tables() -> None:
    res = activity_tiers([1, 2], [AS_OF, AS_OF], as_of=AS_OF)
    assert repr(res) == "ActivityTiers(people=2, window=30d, high=0, medium=0, low=2, inactive=0)"
    assert "<table>" in res._repr_html_()
    assert res.to_pandas()["tier"].tolist() == ["low", "low"]
