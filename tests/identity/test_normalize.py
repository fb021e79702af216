"""Vectorised helpers against their plain-Python meaning: regex scans, phone patterns, hashes."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.identity._normalize import (
    _VECTOR_PATTERNS,
    canonical_mobiles,
    hash_strings,
    search_many,
)

texts = st.lists(
    st.one_of(
        st.text(alphabet="+8613579\n-ab", max_size=16),
        st.text(alphabet="0-", max_size=6),
        st.builds(lambda d: "+861" + d, st.text(alphabet="0123456789", min_size=9, max_size=11)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(texts, st.sampled_from([r"^\+861(\d)\1{9}$", r"13|57", r"^a.*b$", r"b\n?-", r"\d{3}"]))
def test_search_many_equals_re_search(values: list[str], pattern: str) -> None:
    arr = np.array(values, dtype=str)
    got = search_many(re.compile(pattern, re.MULTILINE), arr)
    assert got.tolist() == [re.search(pattern, v) is not None for v in values]


@settings(max_examples=150, deadline=None)
@given(texts)
def test_vector_phone_patterns_equal_re_search(values: list[str]) -> None:
    arr = np.array(values, dtype=str)
    for pattern, fn in _VECTOR_PATTERNS.items():
        assert fn(arr).tolist() == [re.search(pattern, v) is not None for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=30))
def test_hash_is_per_value_not_per_batch(values: list[str | None]) -> None:
    arr = np.array(values, dtype=object)
    whole = hash_strings(arr)
    alone = np.array([hash_strings(np.array([v], dtype=object))[0] for v in values])
    assert whole.tolist() == alone.tolist()
    assert [(h == 0) for h in whole.tolist()] == [v is None for v in values]


digit = st.sampled_from("0123456789")
shapes = st.builds(
    lambda prefix, first, rest, sep, pad: (
        prefix + sep.join([first + rest[:2], rest[2:6], rest[6:]]) + pad
    ),
    st.sampled_from(["", "+86", "+86 ", "0086", "86", "86 ", "(+86)", "+1 ", "0"]),
    st.sampled_from(["1", "13", "15", "19", "12", "2", "0", "１"]),
    st.text(alphabet="0123456789", min_size=8, max_size=11),
    st.sampled_from(["", " ", "-", ") "]),
    st.sampled_from(["", " ", "x"]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(shapes, min_size=1, max_size=20))
def test_canonical_mobiles_read_like_the_raw_value(values: list[str]) -> None:
    from autoops.models import normalize_phones

    raw = np.array(values, dtype=object)
    canon = canonical_mobiles(raw)
    a, b = normalize_phones(raw), normalize_phones(canon)
    assert a.e164.tolist() == b.e164.tolist()
    assert a.kind.tolist() == b.kind.tolist()
    assert a.valid.tolist() == b.valid.tolist()
    assert a.reason.tolist() == b.reason.tolist()
