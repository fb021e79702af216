"""Input handling: person grouping, categorical columns, as_of forms."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import InvalidInput
from autoops.segment import (
    activity_tiers,
    attr,
    count,
    intent_scores,
    lifecycle_stages,
    tag,
    value_orientation,
)
from autoops.segment._common import (
    Coded,
    RowMap,
    as_of_us,
    coded,
    group_people,
    isin_text,
)

from .strategies import AS_OF, AS_OF_US, event_tables


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 10**12), max_size=30), st.lists(st.integers(-5, 40), max_size=30))
def test_group_people_matches_unique(a, b):  # type: ignore[no-untyped-def]
    x, y = np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
    uniques, (cx, cy) = group_people(x, y)
    expected = np.unique(np.concatenate([x, y]))
    assert uniques.tolist() == expected.tolist()
    assert uniques[cx].tolist() == x.tolist() and uniques[cy].tolist() == y.tolist()


def test_group_people_strings_and_errors() -> None:
    uniques, (codes,) = group_people(np.array(["b", "a", "b"], dtype=object))
    assert uniques.tolist() == ["a", "b"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(InvalidInput, match="mix numbers and strings"):
        group_people(np.array([1, 2]), np.array(["a"], dtype=object), fields=("person", "people"))
    with pytest.raises(InvalidInput, match=r"person \(row 1\): missing person id"):
        group_people(np.array([1.0, np.nan]), fields=("person",))


def test_as_of_forms_agree() -> None:
    forms = [
        AS_OF,
        "2026-02-01T08:00:00+08:00",
        datetime(2026, 2, 1, tzinfo=timezone.utc),
    ]
    assert {as_of_us(f) for f in forms} == {AS_OF_US}
    with pytest.raises(InvalidInput, match="naive"):
        as_of_us(datetime(2026, 2, 1))
    with pytest.raises(InvalidInput, match="NaT"):
        as_of_us(np.datetime64("NaT"))


@settings(max_examples=25, deadline=None)
@given(event_tables(min_size=1))
def test_categorical_columns_give_the_same_results(tab):  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {
            "person": tab["person"],
            "ts": pd.Series(tab["ts"]).dt.tz_localize("UTC"),
            "event": tab["event"],
            "touchpoint": tab["touchpoint"],
        }
    )
    cat = frame.astype({"event": "category", "touchpoint": "category"})
    forms = [frame, cat, pl.from_pandas(cat), pa.Table.from_pandas(cat, preserve_index=False)]
    seen = []
    for data in forms:
        tiers = activity_tiers(
            "person", "ts", touchpoint="touchpoint", event="event", data=data, as_of=AS_OF
        )
        scores = intent_scores("person", "event", "ts", data=data, as_of=AS_OF)
        stages = lifecycle_stages("person", "event", "ts", data=data, as_of=AS_OF)
        kinds = value_orientation(
            "person",
            "touchpoint",
            "ts",
            data=data,
            as_of=AS_OF,
            rational=["app"],
            emotional=["wecom"],
        )
        seen.append(
            (
                tiers.interactions.tolist(),
                scores.score.tolist(),
                stages.stage.tolist(),
                kinds.orientation.tolist(),
            )
        )
    assert all(s == seen[0] for s in seen)
    assert isinstance(coded(cat["event"]), Coded)
    assert isinstance(coded(pl.from_pandas(cat)["event"]), Coded)


def test_coded_membership_and_audience_counts() -> None:
    c = Coded(np.array([0, 1, -1, 1]), np.array(["a", "b"], dtype=object))
    assert isin_text(c, ["b"]).tolist() == [False, True, False, True]
    assert c.to_objects().tolist() == ["a", "b", None, "b"]
    assert c[1:].codes.tolist() == [1, -1, 1]
    pd = pytest.importorskip("pandas")
    events = pd.DataFrame(
        {
            "person": [1, 1, 2],
            "event": pd.Categorical(["click", "click", "share"]),
            "ts": pd.Series([AS_OF] * 3).dt.tz_localize("UTC"),
        }
    )
    people = {"person_id": [1, 2]}
    assert (count("click") >= 2).evaluate(people, events=events, as_of=AS_OF).ids.tolist() == [1]
    with pytest.raises(InvalidInput, match="available: click, share"):
        (count("clik") >= 2).evaluate(people, events=events, as_of=AS_OF)
    assert (attr("person_id") == 2).evaluate(people).ids.tolist() == [2]


def test_pandas_speedups_agree_with_plain_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    import autoops.segment._common as common

    rng = np.random.default_rng(7)
    vocab = np.array(["app", "wecom", "douyin", None, "showroom"], dtype=object)
    values = vocab[rng.integers(0, 5, 120_000)]
    with_pandas = isin_text(values, ["app", "showroom", "nope"])
    tags = np.array(
        ["family, price_sensitive", "", None, "ev_interest ,family", "vip"] * 3, dtype=object
    )
    people = {"person_id": np.arange(len(tags)), "tags": tags}
    rule = tag("family") | tag("vip")
    fast = rule.evaluate(people).ids.tolist()
    monkeypatch.setattr(common, "_pandas", lambda: None)
    assert isin_text(values, ["app", "showroom", "nope"]).tolist() == with_pandas.tolist()
    assert rule.evaluate(people).ids.tolist() == fast == [0, 3, 4, 5, 8, 9, 10, 13, 14]


_I64 = np.iinfo(np.int64)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(_I64.min, _I64.max - 200),
    st.integers(0, 40),
    st.sampled_from([1, 1, 2, 3]),
    st.booleans(),
    st.lists(
        st.one_of(st.integers(-50, 150), st.sampled_from([_I64.min, _I64.max, 0, -1])),
        max_size=40,
    ),
)
def test_row_map_matches_a_dict(start, size, step, shuffle, offsets):  # type: ignore[no-untyped-def]
    """Rows of ids (consecutive, gappy or reversed); unknown and extreme ids give -1."""
    ids = np.arange(size, dtype=np.int64) * step + np.int64(start)
    if shuffle:
        ids = ids[::-1].copy()
    mapper = RowMap(ids)
    assert mapper.distinct(ids) or size == 0  # False means "check"
    near = [
        o if o in (_I64.min, _I64.max) else min(max(start + o, _I64.min), _I64.max) for o in offsets
    ]
    person = np.array(near, dtype=np.int64)
    where = {int(v): i for i, v in enumerate(ids.tolist())}
    expected = [where.get(int(v), -1) for v in person.tolist()]
    assert mapper.rows(person, "person").tolist() == expected
    unsigned = person[person >= 0]
    expected_u = [where.get(int(v), -1) for v in unsigned.tolist()]
    assert mapper.rows(unsigned.astype(np.uint64), "person").tolist() == expected_u
    huge = np.array([2**64 - 1, *unsigned.tolist()], dtype=np.uint64)  # beyond int64
    assert mapper.rows(huge, "person").tolist() == [-1, *expected_u]
