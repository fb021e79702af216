"""Hypothesis strategies for small event tables around a fixed as_of."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

AS_OF = np.datetime64("2026-02-01T00:00:00", "us")
AS_OF_US = int(AS_OF.astype(np.int64))
HOUR_US = 3_600_000_000
EVENTS = ("click", "favourite", "test_drive", "share", "push_sent", "app_open")
TOUCHPOINTS = ("app", "wecom", "douyin", "showroom", "xiaohongshu")

# offsets in hours: from 40 days before as_of to 2 days after (30d = -720 is an edge)
hours = st.one_of(st.integers(-24 * 40, 48), st.sampled_from([-720, -719, -721, 0, 1, -168, -2160]))


@st.composite
def event_tables(
    draw: Any, *, min_size: int = 0, max_size: int = 40, string_ids: bool | None = None
) -> dict[str, Any]:
    """Columns person, ts, event, touchpoint, amount (cents / 100, no NaN)."""
    n = draw(st.integers(min_size, max_size))
    strings = draw(st.booleans()) if string_ids is None else string_ids
    ids = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    offs = draw(st.lists(hours, min_size=n, max_size=n))
    events = draw(st.lists(st.sampled_from(EVENTS), min_size=n, max_size=n))
    tps = draw(st.lists(st.sampled_from(TOUCHPOINTS), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-500, 50_000), min_size=n, max_size=n))
    person = (
        np.array([f"p{i}" for i in ids], dtype=object) if strings else np.array(ids, dtype=np.int64)
    )
    return {
        "person": person,
        "ts": AS_OF
        + np.array(offs, dtype=np.int64).astype("timedelta64[h]").astype("timedelta64[us]"),
        "event": np.array(events, dtype=object),
        "touchpoint": np.array(tps, dtype=object),
        "amount": np.array(cents, dtype=np.float64) / 100.0,
    }


# --- audiences -------------------------------------------------------------------

CITIES = ("Shanghai", "Beijing", "Hangzhou", "O'Fallon")
TAGS = ("family", "price_sensitive", "ev_interest")
ISO = ("2025-06-01T00:00:00+08:00", "2026-01-01T00:00:00+00:00", "2026-01-31T16:00:00+00:00")


def _leaves(counts_only: bool = False) -> Any:
    from autoops.segment import attr, count, score, tag

    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])

    def cmp(field: Any, op: str, value: Any) -> Any:
        return {
            "==": field == value,
            "!=": field != value,
            "<": field < value,
            "<=": field <= value,
            ">": field > value,
            ">=": field >= value,
        }[op]

    city = st.sampled_from((*CITIES, "Nowhere"))
    num = st.one_of(st.integers(-1, 70), st.sampled_from([17.5, 30.0, 45.25]))
    within = st.sampled_from([None, "1d", "7d", "30d", "720h"])
    touch = st.one_of(
        st.none(), st.lists(st.sampled_from(TOUCHPOINTS), min_size=1, max_size=2, unique=True)
    )
    counted = st.builds(
        lambda e, w, t: count(e, within=w, touchpoints=t),
        st.sampled_from(EVENTS[:4]),
        within,
        touch,
    )
    counts = st.builds(cmp, counted, ops, st.integers(0, 3))
    if counts_only:
        return counts
    return st.one_of(
        st.builds(cmp, st.just(attr("city")), ops, city),
        st.builds(cmp, st.just(attr("age")), ops, num),
        st.builds(cmp, st.just(attr("joined_at")), ops, st.sampled_from(ISO)),
        st.builds(lambda v: attr("member") == v, st.booleans()),
        st.builds(lambda vs: attr("city").isin(vs), st.lists(city, min_size=1, max_size=3)),
        st.builds(
            lambda vs: attr("age").isin(vs), st.lists(st.integers(18, 70), min_size=1, max_size=3)
        ),
        st.builds(lambda a, b: attr("age").between(min(a, b), max(a, b)), num, num),
        st.builds(lambda a, b: attr("city").between(min(a, b), max(a, b)), city, city),
        st.builds(
            lambda f: f.exists(),
            st.sampled_from([attr("city"), attr("age"), attr("joined_at"), score("intent")]),
        ),
        st.builds(tag, st.sampled_from((*TAGS, "vip"))),
        st.builds(cmp, st.just(score("intent")), ops, st.sampled_from([0, 16, 30.0, 60, 70.0])),
        counts,
    )


def rules() -> Any:
    from autoops.segment import all_of, any_of

    return st.recursive(
        _leaves(),
        lambda inner: st.one_of(
            st.builds(lambda a, b: a & b, inner, inner),
            st.builds(lambda a, b: a | b, inner, inner),
            st.builds(lambda a: ~a, inner),
            st.builds(lambda xs: all_of(*xs), st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: any_of(*xs), st.lists(inner, min_size=1, max_size=3)),
        ),
        max_leaves=6,
    )


def rules_with_counts() -> Any:
    """Rules holding at least one count, joined to other predicates by AND, OR and NOT."""
    return st.builds(
        lambda rule, counted, how: {
            "and": rule & counted,
            "or": rule | counted,
            "and not": rule & ~counted,
            "not or": ~(counted | rule),
            "nested": (rule & counted) | (rule & ~counted & counted),
        }[how],
        rules(),
        _leaves(counts_only=True),
        st.sampled_from(["and", "or", "and not", "not or", "nested"]),
    )


@st.composite
def people_tables(draw: Any, max_size: int = 12) -> dict[str, Any]:
    """A people table: person_id, city, age, member, joined_at, tags, intent."""
    n = draw(st.integers(0, max_size))
    ids = draw(st.lists(st.integers(0, 14), min_size=n, max_size=n, unique=True))
    city = draw(st.lists(st.one_of(st.none(), st.sampled_from(CITIES)), min_size=n, max_size=n))
    age = draw(
        st.lists(
            st.one_of(st.just(float("nan")), st.integers(17, 70).map(float)), min_size=n, max_size=n
        )
    )
    member = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    joined = draw(st.lists(st.one_of(st.none(), st.integers(-400, 0)), min_size=n, max_size=n))
    sep = st.sampled_from([",", ", ", " , ", ",  "])
    tag_lists = st.lists(st.sampled_from(TAGS), max_size=3, unique=True)
    tags = draw(
        st.lists(
            st.one_of(st.none(), st.builds(lambda ts, s: s.join(ts), tag_lists, sep)),
            min_size=n,
            max_size=n,
        )
    )
    intent = draw(
        st.lists(
            st.one_of(st.just(float("nan")), st.sampled_from([0.0, 16.0, 30.0, 60.0, 70.0, 100.0])),
            min_size=n,
            max_size=n,
        )
    )
    return {
        "person_id": np.array(ids, dtype=np.int64),
        "city": np.array(city, dtype=object),
        "age": np.array(age, dtype=np.float64),
        "member": np.array(member, dtype=bool),
        "joined_at": np.array(
            ["NaT" if d is None else AS_OF + np.timedelta64(d, "D") for d in joined],
            dtype="datetime64[us]",
        ),
        "tags": np.array(tags, dtype=object),
        "intent": np.array(intent, dtype=np.float64),
    }
