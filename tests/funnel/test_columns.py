"""Row ordering and column reading helpers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.funnel._columns import condition_mask, dense_codes, is_nondecreasing, sort_rows


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    n=st.integers(0, 60),
    time_ordered=st.booleans(),
    with_tie=st.booleans(),
    wide=st.booleans(),
)
def test_sort_rows_matches_lexsort(
    data: st.DataObject, n: int, time_ordered: bool, with_tie: bool, wide: bool
) -> None:
    unit = np.asarray(
        data.draw(st.lists(st.integers(0, 70_000), min_size=n, max_size=n)), dtype=np.int64
    )
    top = 2**62 if wide else 5  # wide: unit + ts bits exceed 63, radix path
    ts = np.asarray(
        data.draw(st.lists(st.integers(0, top), min_size=n, max_size=n)), dtype=np.int64
    )
    if time_ordered:
        ts = np.sort(ts)
    tie = (
        np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
        if with_tie
        else None
    )
    keys = (np.arange(n),) + ((tie,) if tie is not None else ()) + (ts, unit)
    want = np.lexsort(keys)
    assert sort_rows(unit, ts, tie).tolist() == want.tolist()
    labels = np.cumsum(np.asarray(data.draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))))
    assert sort_rows(unit, ts, tie, labels).tolist() == labels[want].tolist()
    if time_ordered and tie is None:  # the caller vouches for the time order
        assert sort_rows(unit, None, None, labels).tolist() == labels[want].tolist()


def test_sort_rows_with_few_rows_of_a_long_log() -> None:
    # a few matching rows out of time order, far into a long log, with timestamps
    # spanning decades: the labels (input rows) do not fit beside the wide key
    rng = np.random.default_rng(7)
    n = 25
    unit = rng.integers(0, 3, n)
    ts = rng.integers(0, 2**55, n)  # 55-bit µs offsets (about a thousand years)
    labels = np.sort(rng.choice(10**7, n, replace=False)).astype(np.int64)
    want = np.lexsort((np.arange(n), ts, unit))
    assert sort_rows(unit, ts, None, labels).tolist() == labels[want].tolist()


def test_is_nondecreasing_across_chunks() -> None:
    v = np.arange(2**20 + 10, dtype=np.int64)
    assert is_nondecreasing(v) and is_nondecreasing(v[:1]) and is_nondecreasing(v[:0])
    for at in (1, 2**20 - 1, 2**20, 2**20 + 1, len(v) - 1):
        w = v.copy()
        w[at] = w[at - 1] - 1  # one descent, on either side of a chunk edge
        assert not is_nondecreasing(w)


def test_dense_codes() -> None:
    codes, uniques = dense_codes(np.array([7, 3, 7, 10**15]))
    assert codes.tolist() == [1, 0, 1, 2] and uniques.tolist() == [3, 7, 10**15]
    codes, uniques = dense_codes(np.array([5, 2, 5]))
    assert codes.tolist() == [1, 0, 1] and uniques.tolist() == [2, 5]


def test_sort_rows_very_wide_keys_take_dense_ranks() -> None:
    # 63-bit times over 2**21 rows: too wide for the two packed sorts
    rng = np.random.default_rng(3)
    n = 2**21 + 5
    ts = rng.integers(0, 2**63 - 1, n, dtype=np.int64)
    ts[::7] = ts[1::7][: len(ts[::7])]  # ties, kept in input order
    unit = np.zeros(n, dtype=np.int64)
    want = np.argsort(ts, kind="stable")
    assert np.array_equal(sort_rows(unit, ts, None), want)


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["app", "wecom", "douyin", "1", ""]),
    st.integers(-2, 2),
    st.sampled_from([1.0, 2.5, float("nan")]),
)


@settings(max_examples=200, deadline=None)
@given(col=st.lists(_VALUES, max_size=40), wanted=st.lists(_VALUES, min_size=1, max_size=8))
def test_in_on_object_columns_equals_comparing_value_by_value(
    col: list[object], wanted: list[object]
) -> None:
    # five values or more are looked up in a set: same rows as comparing each value
    arr = np.empty(len(col) + 1, dtype=object)
    arr[: len(col)] = col
    arr[-1] = [1, 2]  # an unhashable cell: then compared value by value
    expect = [x is not None and any(v is not None and bool(x == v) for v in wanted) for x in col]
    assert condition_mask(arr[:-1], "in", wanted).tolist() == expect
    assert condition_mask(arr, "in", wanted).tolist() == [*expect, False]
