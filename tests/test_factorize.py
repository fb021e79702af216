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


# a pool of values whose objects repeat: equal strings as distinct objects, None, NaN,
# and numbers that compare equal across types
_POOL = ["lead", "".join(["le", "ad"]), "visit", None, float("nan"), 1, 1.0, True, "", "访问"]


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(_POOL) - 1), min_size=1, max_size=400),
    step=st.integers(1, 50),
    rare=st.lists(st.integers(0, 399), max_size=5),
)
def test_few_objects_factorize_as_every_row_would(
    picks: list[int], step: int, rare: list[int]
) -> None:
    """Rows numbered by their few objects give ``_tabular.factorize``'s codes and values
    exactly as hashing every row does, with objects the sample misses (*rare* rows get
    objects of their own, made at run time, so only the second round finds them)."""
    from autoops import _tabular

    values = np.empty(len(picks), dtype=object)
    values[:] = [_POOL[i] for i in picks]
    for r in rare:
        if r < len(values):
            values[r] = "".join(["vi", "sit"])  # equal to "visit", another object
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fac, "_FEW_MIN_ROWS", 1)
        m.setattr(fac, "_FEW_SAMPLE", max(1, len(values) // step))
        m.setattr(fac, "_FEW_SPAN", 7)  # several spans on the threads
        few = fac.few_objects(values)
        got = _tabular.factorize(values)
    assert few is not None
    at, objects, first = few
    assert all(objects[a] is v for a, v in zip(at.tolist(), values, strict=True))
    assert [int(np.argmax(at == i)) for i in range(len(objects))] == first.tolist()
    codes, distinct = fac.factorize_objects(values)
    order = np.argsort(distinct.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    want = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1) if len(distinct) else codes
    assert got[0].tolist() == want.tolist()
    assert got[1].astype(str).tolist() == distinct[order].astype(str).tolist()


def test_few_objects_steps_aside_for_many_objects_and_short_columns() -> None:
    many = np.array([str(i) for i in range(fac.FEW_OBJECTS + 1)] * 20, dtype=object)
    assert fac.few_objects(many) is None  # more objects than the table takes
    assert fac.few_objects(np.array(["a", "b"] * 10, dtype=object)) is None  # short
    long = np.array(["a", "b"] * 40_000, dtype=object)
    at, objects, first = fac.few_objects(long)  # type: ignore[misc]
    assert objects[at[:3]].tolist() == ["a", "b", "a"] and sorted(first.tolist()) == [0, 1]
