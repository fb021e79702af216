"""Text encoding by identity, blocked time windows, lazy person codes, sort-free ntile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autoops.segment._scan as scan
from autoops.errors import InvalidInput
from autoops.segment._common import group_people, person_codes
from autoops.segment._rfm import ntile, ntile_ranks
from autoops.segment._scan import Coded, not_none, text_codes, text_groups, time_rows


def _fresh(text: str) -> str:
    """An equal string held by a new object (not the interned one)."""
    return "".join(list(text))


def _column(rng: np.random.Generator, n: int) -> np.ndarray:
    vocab = np.array(["click", "favourite", "login", None, "test_drive"], dtype=object)
    values = vocab[rng.integers(0, len(vocab), n)]
    # equal strings in other objects, and values the sample cannot see (odd rows)
    values[1::997] = _fresh("click")
    values[3::1999] = _fresh("rare")
    values[5:6] = float("nan")
    return values


def _brute(values: np.ndarray, groups: list[tuple[str, ...]]) -> list[int]:
    out = []
    for v in values.tolist():
        out.append(next((j for j, g in enumerate(groups) if any(v == x for x in g)), -1))
    return out


@pytest.mark.parametrize("n", [1, 50, 20_000])
def test_identity_groups_match_value_comparisons(n: int) -> None:
    rng = np.random.default_rng(n)
    values = _column(rng, n)
    groups = [("click",), ("rare", "favourite"), ("absent",)]
    assert text_groups(values, groups).tolist() == _brute(values, groups)
    rows = np.flatnonzero(rng.random(n) < 0.4)
    assert text_groups(values, groups, rows).tolist() == _brute(values[rows], groups)
    enc = text_codes(values, rows)
    decoded = [None if c < 0 else enc.categories[c] for c in enc.codes.tolist()]
    expected = values[rows].tolist()
    assert [d == e or (d != d and e != e) for d, e in zip(decoded, expected, strict=True)] == [
        True
    ] * len(rows)
    assert not_none(values).tolist() == [v is not None for v in values.tolist()]


def test_many_distinct_and_strided_columns_fall_back_to_hashing() -> None:
    values = np.array([f"id{i % 3000}" for i in range(12_000)], dtype=object)
    assert scan._identity_lookup(values, None, None) is None
    enc = text_codes(values)
    assert enc.categories[enc.codes].tolist() == values.tolist()
    strided = _column(np.random.default_rng(3), 9000)[::2]
    assert scan._addresses(strided) is None
    assert text_groups(strided, [("click",)]).tolist() == _brute(strided, [("click",)])
    coded = Coded(np.array([1, -1, 0]), np.array(["a", "b"], dtype=object))
    assert text_groups(coded, [("b",), ("a",)], np.array([0, 2])).tolist() == [0, 1]


def test_unseen_objects_equal_to_known_values_share_their_code() -> None:
    values = np.array(["a", "b"] * 5000, dtype=object)
    values[7777] = _fresh("a")  # outside the sample, equal to a sampled value
    values[8889] = None
    enc = text_codes(values)
    assert len(enc.categories) == 2
    assert enc.codes[7777] == enc.codes[0] and enc.codes[8889] == -1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-50, 50), max_size=40),
    st.integers(-60, 60),
    st.one_of(st.none(), st.integers(0, 30)),
    st.sampled_from([1, 3, 8, 1 << 16]),
)
def test_time_rows_match_a_mask(times, hi, span, block):  # type: ignore[no-untyped-def]
    arr = np.array(times, dtype=np.int64)
    lo = None if span is None else hi - span
    old = scan._BLOCK
    scan._BLOCK = block
    try:
        got = time_rows(arr, hi, lo)
    finally:
        scan._BLOCK = old
    mask = (arr <= hi) & (arr >= (lo if lo is not None else np.iinfo(np.int64).min))
    expected = np.flatnonzero(mask)
    if got is None:
        assert mask.all()
    else:
        assert got.tolist() == expected.tolist()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-3, 2000), min_size=1, max_size=40),
    st.one_of(st.none(), st.lists(st.integers(-3, 2000), max_size=10)),
    st.booleans(),
)
def test_person_codes_match_group_people(person, universe, huge):  # type: ignore[no-untyped-def]
    p = np.array(person, dtype=np.int64) * (10**9 if huge else 1)
    u = None if universe is None else np.array(universe, dtype=np.int32)
    ids, codes_of = person_codes(p, u, fields=("person", "people"))
    expected, (codes, _) = group_people(p, u)
    assert ids.tolist() == expected.tolist()
    assert codes_of(None).tolist() == codes.tolist()
    rows = np.arange(0, len(p), 2)
    assert codes_of(rows).tolist() == codes[rows].tolist()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 6), max_size=60),
    st.integers(2, 10),
    st.booleans(),
)
def test_ntile_ranks_match_a_stable_sort(values, bins, as_float):  # type: ignore[no-untyped-def]
    arr = np.array(values, dtype=np.float64 if as_float else np.int64)
    order = np.argsort(arr, kind="stable")
    expected = np.empty(len(arr), dtype=np.int64)
    expected[order] = ntile(len(arr), bins)
    assert ntile_ranks(arr, bins).tolist() == expected.tolist()


@pytest.fixture(params=[False, True], ids=["one thread", "threads"])
def small_blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans in blocks of 64 rows, on one thread or split between threads."""
    monkeypatch.setattr(scan, "_BLOCK", 64)
    monkeypatch.setattr(scan, "_WINDOW_BLOCK", 64)
    if request.param:
        monkeypatch.setattr(scan, "PARALLEL_MIN", 100)


@pytest.mark.usefixtures("small_blocks")
def test_window_groups_match_a_mask_and_value_comparisons() -> None:
    rng = np.random.default_rng(11)
    n = 9000
    times = rng.integers(0, 1000, n).astype(np.int64)
    events = _column(rng, n)
    touch = np.array(["app", "wecom", None], dtype=object)[rng.integers(0, 3, n)]
    groups_e = [("click",), ("rare", "login")]
    groups_t = [("wecom",)]
    for lo in (None, 300):
        rows, (ge, gt) = scan.window_groups(
            times, 700, lo, [(events, groups_e), (touch, groups_t)], field="ts"
        )
        expected = np.flatnonzero((times <= 700) & (times >= (lo if lo is not None else -1)))
        assert rows.tolist() == expected.tolist()
        assert ge.tolist() == _brute(events[rows], groups_e)
        assert gt.tolist() == _brute(touch[rows], groups_t)
    coded = Coded(np.zeros(n, dtype=np.int64), np.array(["click"], dtype=object))
    rows, (gc,) = scan.window_groups(times, 10, 0, [(coded, groups_e)])
    assert rows.tolist() == np.flatnonzero(times <= 10).tolist() and set(gc.tolist()) <= {0}
    times[5000] = np.iinfo(np.int64).min
    with pytest.raises(InvalidInput, match=r"when \(row 5000\): missing timestamp"):
        scan.window_groups(times, 700, 300, [(events, groups_e)], field="when")


@pytest.mark.usefixtures("small_blocks")
def test_member_rows_match_a_mask() -> None:
    rng = np.random.default_rng(12)
    n = 9000
    person = rng.integers(-5, 60, n).astype(np.int64)
    person[:3] = [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 50]
    wanted = rng.random(50) < 0.3  # ids 0..49; the rest (negative, 50+) never match
    member = np.concatenate([[False], wanted, [False]])  # member[id + 1]
    rows = scan.member_rows(person, member, -1)
    known = (person >= 0) & (person < 50)
    assert rows.tolist() == np.flatnonzero(known & wanted[np.where(known, person, 0)]).tolist()
    assert scan.member_rows(person, np.zeros(52, dtype=bool), -1).size == 0


def test_lut_take_reads_the_last_slot_for_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_BLOCK", 7)  # several blocks and a short last one
    lut = np.array([5, -1, 9, -3], dtype=np.int8)  # three categories, then the slot for -1
    codes = np.array([0, -1, 2, 1, 1, -1, 0, 2, 2, 0, -1, 1, 2, 0, 0, 1], dtype=np.int8)
    expected = [int(lut[c]) for c in codes.tolist()]
    assert scan.lut_take(lut, codes).tolist() == expected
    assert scan.lut_take(lut, codes.astype(np.intp)).tolist() == expected
