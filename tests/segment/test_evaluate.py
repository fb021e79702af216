"""Audience evaluation: DuckDB reference, explain, scores, errors, the dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import InvalidInput
from autoops.segment import _evaluate as evaluate_module
from autoops.segment import attr, count, intent_scores, score, tag

from .reference import audience_ref
from .strategies import (
    AS_OF,
    AS_OF_US,
    EVENTS,
    event_tables,
    people_tables,
    rules,
    rules_with_counts,
)


def _people_frame(people):  # type: ignore[no-untyped-def]
    joined = people["joined_at"].astype(np.int64)
    return pd.DataFrame(
        {
            "person_id": people["person_id"],
            "city": people["city"],
            "age": pd.array(
                np.where(np.isnan(people["age"]), None, people["age"]), dtype="Float64"
            ),
            "member": people["member"],
            "joined_at": pd.array(
                np.where(np.isnat(people["joined_at"]), None, joined), dtype="Int64"
            ),
            "tags": people["tags"],
            "score_intent": pd.array(
                np.where(np.isnan(people["intent"]), None, people["intent"]), dtype="Float64"
            ),
        }
    )


def _events_frame(ev):  # type: ignore[no-untyped-def]
    return pd.DataFrame(
        {
            "person": ev["person"],
            "event": ev["event"],
            "ts": ev["ts"].astype(np.int64),
            "touchpoint": ev["touchpoint"],
        }
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(rules(), rules_with_counts()), people_tables(), event_tables(string_ids=False))
def test_matches_duckdb(rule, people, ev):  # type: ignore[no-untyped-def]
    table = {k: v for k, v in people.items() if k != "intent"}
    # every event name occurs once, for a person outside the people table
    k = len(EVENTS)
    ev = {
        "person": np.concatenate([ev["person"], np.full(k, 99)]),
        "event": np.concatenate([ev["event"], np.array(EVENTS, dtype=object)]),
        "ts": np.concatenate([ev["ts"], np.full(k, AS_OF)]),
        "touchpoint": np.concatenate([ev["touchpoint"], np.full(k, "app", dtype=object)]),
    }
    ref = audience_ref(
        rule.to_json(), _people_frame(people), _events_frame(ev), AS_OF_US, ts_cols={"joined_at"}
    )
    found = []
    # every person's events counted, then only the events of people the leaves leave undecided
    for share in (-1.0, 1.0):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(evaluate_module, "FEW_UNDECIDED", share)
            res = rule.evaluate(table, events=ev, as_of=AS_OF, scores={"intent": people["intent"]})
        assert res.ids.tolist() == ref
        assert res.mask.sum() == len(res)
        found.append(res)
    # categorical event and touchpoint columns: the event's rows found from the codes
    coded = {
        **ev,
        "event": pd.Categorical(ev["event"]),
        "touchpoint": pd.Categorical(ev["touchpoint"]),
    }
    res = rule.evaluate(table, events=coded, as_of=AS_OF, scores={"intent": people["intent"]})
    assert res.ids.tolist() == ref
    found.append(res)
    # string categoricals in the people table: each predicate decided once per category
    frame = {**table, "city": pd.Categorical(table["city"]), "tags": pd.Categorical(table["tags"])}
    res = rule.evaluate(frame, events=ev, as_of=AS_OF, scores={"intent": people["intent"]})
    assert res.ids.tolist() == ref
    found.append(res)
    full, *others = found
    for other in others:
        assert other.summary().rows() == full.summary().rows()
        for pid in table["person_id"][:3].tolist():
            assert str(other.explain(pid)) == str(full.explain(pid))


def test_issue_audience_on_a_small_table() -> None:
    people = {
        "person_id": np.array([1, 2, 3, 4]),
        "city": np.array(["Shanghai", "Shanghai", "Beijing", "Shanghai"], dtype=object),
        "tags": np.array(["family", "price_sensitive, family", "", None], dtype=object),
    }
    day = np.timedelta64(1, "D").astype("timedelta64[us]")
    events = {
        "person": np.array([1, 2, 3, 4, 4]),
        "event": np.array(["test_drive"] * 4 + ["click"], dtype=object),
        "ts": np.array([AS_OF - 30 * day, AS_OF - day, AS_OF - day, AS_OF - 31 * day, AS_OF]),
    }
    rule = (
        (attr("city") == "Shanghai")
        & (count("test_drive", within="30d") >= 1)
        & ~tag("price_sensitive")
    )
    res = rule.evaluate(people, events=events, as_of=AS_OF)
    assert res.ids.tolist() == [1]  # 30 days exactly is inside the window; 31 is not
    assert 1 in res and 2 not in res
    text = str(res.explain(2))
    assert text.splitlines()[0] == "person 2: not in the audience"
    assert "✓ tag('price_sensitive')  [tags='price_sensitive, family']" in text
    assert "✓ count('test_drive', within='30d') >= 1  [count test_drive=1]" in text
    assert str(res.explain(4)).count("✗") == 3  # the AND, the count, the tag under NOT
    summary = dict(res.summary().rows())
    assert summary["attr('city') == 'Shanghai'"] == 3


def test_scores_join_by_person_and_missing_is_false() -> None:
    people = {"person_id": np.array([10, 11, 12]), "tags": np.array(["", "", ""], dtype=object)}
    scores = intent_scores(
        [10, 10, 12], ["favourite", "test_drive", "click"], [AS_OF] * 3, as_of=AS_OF
    )
    res = (score("intent") >= 60).evaluate(people, scores={"intent": scores})
    assert res.ids.tolist() == [10]
    res2 = (~(score("intent") >= 60)).evaluate(people, scores={"intent": scores})
    assert res2.ids.tolist() == [
        11,
        12,
    ]  # 11 has no score: the comparison is false, its negation true
    pairs = (score("stage") == "owner").evaluate(
        people, scores={"stage": (np.array([12, 10]), np.array(["owner", "intent"], dtype=object))}
    )
    assert pairs.ids.tolist() == [12]


def test_errors_list_what_is_available() -> None:
    people = {"person_id": [1, 2], "city": ["a", "b"], "tags": ["", ""]}
    with pytest.raises(
        InvalidInput, match="people has no column 'citty'; available: city, person_id, tags"
    ):
        (attr("citty") == "a").evaluate(people)
    with pytest.raises(InvalidInput, match=r"no score named 'intnet'; available: intent"):
        (score("intnet") > 1).evaluate(people, scores={"intent": [1.0, 2.0]})
    with pytest.raises(InvalidInput, match="holds strings"):
        (attr("city") > 3).evaluate(people)
    with pytest.raises(InvalidInput, match="needs events="):
        (count("click") > 1).evaluate(people)
    events = {"person": [1], "event": ["click"], "ts": [AS_OF]}
    with pytest.raises(InvalidInput, match="needs as_of="):
        (count("click") > 1).evaluate(people, events=events)
    with pytest.raises(InvalidInput, match="event 'clik' never occurs in events; available: click"):
        (count("clik") > 1).evaluate(people, events=events, as_of=AS_OF)
    with pytest.raises(InvalidInput, match="duplicate person ids"):
        (attr("city") == "a").evaluate({"person_id": [1, 1], "city": ["a", "b"]})
    with pytest.raises(InvalidInput, match="not in the people table"):
        (attr("city") == "a").evaluate(people).explain(99)
    with pytest.raises(InvalidInput, match="unknown keys \\['who'\\]"):
        (count("click") > 1).evaluate(
            people, events=events, as_of=AS_OF, event_columns={"who": "person"}
        )


def test_timestamps_numbers_booleans_and_masking() -> None:
    people = {
        "person_id": np.array(["u1", "u2"], dtype=object),
        "joined_at": np.array(["2025-03-01T00:00", "NaT"], dtype="datetime64[us]"),
        "member": np.array([True, False]),
        "phone": np.array(["13812345678", None], dtype=object),
    }
    assert (attr("joined_at") >= "2025-01-01T00:00:00+08:00").evaluate(people).ids.tolist() == [
        "u1"
    ]
    assert (attr("member") == False).evaluate(people).ids.tolist() == ["u2"]  # noqa: E712
    assert attr("phone").exists().evaluate(people).ids.tolist() == ["u1"]
    explained = str(attr("phone").exists().evaluate(people).explain("u1"))
    assert "13812345678" not in explained and "138****5678" in explained
    with pytest.raises(InvalidInput, match="ISO strings"):
        (attr("joined_at") >= 3).evaluate(people)
    with pytest.raises(InvalidInput, match="holds booleans"):
        (attr("member") == 1).evaluate(people)


@pytest.mark.parametrize("share", [-1.0, 1.0])  # count everyone / only the undecided
def test_on_the_synthetic_dataset_against_duckdb(
    monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    from autoops.datasets import synthetic

    monkeypatch.setattr(evaluate_module, "FEW_UNDECIDED", share)

    data = synthetic(people=300, seed=5)
    ev = data.events
    scores = intent_scores(
        "true_person_id", "event", "ts", data=ev, as_of=data.as_of, people=data.people.person_id
    )
    rule = (
        attr("city").isin(["Shanghai", "Beijing"])
        & (
            (count("test_drive", within="90d") >= 1)
            | (count("click", within="30d", touchpoints=["app"]) >= 2)
        )
        & ~tag("price_sensitive")
        & (score("intent") >= 16)
        & attr("age").between(20, 60)
    )
    res = rule.evaluate(
        data.people,
        events=ev,
        as_of=data.as_of,
        scores={"intent": scores},
        event_columns={"person": "true_person_id"},
    )
    people = data.people.to_pandas()[["person_id", "city", "age", "tags"]]
    by_person = dict(zip(scores.person.tolist(), scores.score.tolist(), strict=True))
    people["score_intent"] = [by_person[p] for p in people["person_id"]]
    events = pd.DataFrame(
        {
            "person": ev.true_person_id,
            "event": ev.event,
            "ts": ev.ts.astype(np.int64),
            "touchpoint": ev.touchpoint,
        }
    )
    assert res.ids.tolist() == audience_ref(
        rule.to_json(), people, events, int(data.as_of.astype(np.int64))
    )
    assert len(res) > 0
    summary = dict(res.summary().rows())
    assert summary["count('test_drive', within='90d') >= 1"] == int(
        events.loc[
            (events["event"] == "test_drive")
            & (events["ts"] <= int(data.as_of.astype(np.int64)))
            & (events["ts"] >= int((data.as_of - np.timedelta64(90, "D")).astype(np.int64))),
            "person",
        ]
        .isin(people["person_id"])
        .groupby(events["person"])
        .any()
        .sum()
    )
    pl = pytest.importorskip("polars")
    again = rule.evaluate(
        data.people.to_polars(),
        events=pl.from_pandas(ev.to_pandas()),
        as_of=data.as_of,
        scores={"intent": scores},
        event_columns={"person": "true_person_id"},
    )
    assert again.ids.tolist() == res.ids.tolist()


def test_string_person_ids_and_events_of_unknown_people() -> None:
    people = {"person_id": np.array(["a", "b"], dtype=object)}
    events = {
        "person": np.array(["b", "zz", "b", "a"], dtype=object),
        "event": np.array(["click", "click", "click", "share"], dtype=object),
        "ts": np.array([AS_OF] * 4),
    }
    res = (count("click") >= 2).evaluate(people, events=events, as_of=AS_OF)
    assert res.ids.tolist() == ["b"]
    ints = {"person_id": np.array([10**12, 5])}
    ev2 = {
        "person": np.array([5, 5, 7, 10**12]),
        "event": np.array(["click"] * 4, dtype=object),
        "ts": np.array([AS_OF] * 4),
    }
    assert (count("click") == 1).evaluate(ints, events=ev2, as_of=AS_OF).ids.tolist() == [10**12]


def test_undecided_people_only_read_their_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate_module, "FEW_UNDECIDED", 1.0)
    people = {"person_id": np.array([1, 2, 3]), "city": np.array(["a", "b", "a"], dtype=object)}
    ts = np.array([AS_OF, np.datetime64("NaT"), AS_OF]).astype("datetime64[us]")
    events = {
        "person": np.array([1, 2, 3]),
        "event": np.array(["click"] * 3, dtype=object),
        "ts": ts,
    }
    rule = (attr("city") == "a") & (count("click") >= 1)
    res = rule.evaluate(people, events=events, as_of=AS_OF)
    assert res.ids.tolist() == [1, 3]  # person 2's row (NaT) is never read
    with pytest.raises(InvalidInput, match=r"ts \(row 1\): missing timestamp"):
        res.summary()  # counting everyone reads it
    with pytest.raises(InvalidInput, match=r"ts \(row 1\): missing timestamp"):
        ((attr("city") == "b") & (count("click") >= 1)).evaluate(people, events=events, as_of=AS_OF)
