"""Hash-table factorisation against np.unique, with and without pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autoops._factorize as fac


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 5), max_size=200),
    st.one_of(st.none(), st.integers(1, 300)),
)
def test_factorize_u64_matches_unique(values: list[int], expected: int | None) -> None:
    arr = np.array(values, dtype=np.uint64)
    codes, uniq = fac.factorize_u64(arr, expected=expected)  # a wrong guess only retries
    assert np.array_equal(uniq[codes], arr)
    assert sorted(uniq.tolist()) == np.unique(arr).tolist()


objects = st.lists(
    st.one_of(
        st.none(),
        st.text(max_size=4),
        st.sampled_from([-1, -2, 1.0, float("nan"), pd.NA, pd.NaT]),
    ),
    max_size=60,
)


@pytest.mark.parametrize("use_pandas", [True, False])
@settings(max_examples=100, deadline=None)
@given(values=objects)
def test_factorize_objects_groups_equal_values(values: list[object], use_pandas: bool) -> None:
    old = fac.USE_PANDAS
    fac.USE_PANDAS = use_pandas
    try:
        codes, uniq = fac.factorize_objects(np.array(values, dtype=object))
    finally:
        fac.USE_PANDAS = old
    for v, c in zip(values, codes.tolist(), strict=True):
        if v is None:
            assert c == -1
        else:
            u = uniq[c]
            assert (u == v) is True or str(u) == str(v)  # NaN, NA and NaT group by their text
    assert sorted(set(codes[codes >= 0].tolist())) == list(range(len(uniq)))  # no unused value
    # -1 and -2 share a Python hash but never a group
    at = {v: i for i, v in enumerate(values) if type(v) is int}  # (pd.NA == -1 has no truth)
    if -1 in at and -2 in at:
        assert codes[at[-1]] != codes[at[-2]]


@pytest.mark.parametrize("expected", [1, 2, 7, None])
def test_small_guesses_grow_the_table_and_finish(expected: int | None) -> None:
    values = np.concatenate([np.arange(5000, dtype=np.uint64), np.arange(5000, dtype=np.uint64)])
    codes, uniq = fac.factorize_u64(values, expected=expected)
    assert len(uniq) == 5000
    assert np.array_equal(uniq[codes], values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**37), 2**37 - 1), max_size=50), st.booleans())
def test_sorted_codes_are_the_sorted_distinct_values(values: list[int], few: bool) -> None:
    arr = np.array([v % 5 if few else v for v in values], dtype=np.int64)
    codes, distinct = fac.sorted_codes(arr)
    expected, inverse = np.unique(arr, return_inverse=True)
    assert distinct.tolist() == expected.tolist() and codes.tolist() == inverse.tolist()
    # a value span and positions beyond 64 bits together: np.unique's, still exact
    wide = np.concatenate([arr, np.array([-(2**62), 2**62], dtype=np.int64)])
    codes, distinct = fac.sorted_codes(wide)
    assert (distinct[codes] == wide).all() and len(distinct) == len(np.unique(wide))
    assert (distinct[1:] > distinct[:-1]).all()


@settings(max_examples=100, deadline=None)
@given(values=objects)
def test_factorize_objects_groups_the_same_with_and_without_pandas(values: list[object]) -> None:
    """pandas' path (which takes NaN, NA and NaT for missing) and the hashing path give
    the same groups: only None is missing."""
    arr = np.array(values, dtype=object)
    old = fac.USE_PANDAS
    try:
        groups = []
        for use in (True, False):
            fac.USE_PANDAS = use
            codes = fac.factorize_objects(arr)[0].tolist()
            groups.append({frozenset(i for i, c in enumerate(codes) if c == g) for g in codes})
    finally:
        fac.USE_PANDAS = old
    assert groups[0] == groups[1]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["int8", "uint8", "int32", "uint32", "int64", "uint64", "float64"]),
    st.lists(st.integers(-(2**70), 2**70), max_size=60),
    st.sampled_from(["as drawn", "sorted", "reversed"]),
    st.integers(0, 3),
)
def test_unique_sorted_matches_np_unique(
    dtype: str, raw: list[int], order: str, shift: int
) -> None:
    """Every path (counted, in order already, sorted) gives np.unique's values and dtype:
    narrow and wide spans, values near the ends of the type, sorted and shuffled."""
    info = np.iinfo(dtype) if dtype != "float64" else None
    lo, hi = (info.min, info.max) if info is not None else (-(2**60), 2**60)
    # small spans near either end of the type, and wide spans
    values = [min(max(v >> (shift * 20), lo), hi) for v in raw]
    values = [hi - (v % 50) if shift == 3 and v % 2 else v for v in values]
    arr = np.array(values, dtype=dtype)
    if order != "as drawn":
        arr = np.sort(arr)[:: 1 if order == "sorted" else -1]
    got = fac.unique_sorted(arr)
    want = np.unique(arr)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
