from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.leads._codes import codes_of, in_set, index_of, sorted_codes

WORDS = ["visit", "login", "click", None, "价格", ""]


def _check(values: np.ndarray) -> None:
    codes, uniq = codes_of(values)
    # same value <=> same code; None <=> -1; uniques are distinct and in first-seen order
    seen: dict[object, int] = {}
    for v, c in zip(values.tolist(), codes.tolist(), strict=True):
        if v is None:
            assert c == -1
            continue
        assert uniq[c] == v
        assert seen.setdefault(v, c) == c
    assert len(uniq) == len(seen) == len(set(uniq.tolist()))
    assert uniq.tolist() == list(seen)


@settings(max_examples=60, deadline=None)
@given(picks=st.lists(st.integers(0, len(WORDS) - 1), max_size=60), big=st.booleans())
def test_codes_match_a_dictionary(picks: list[int], big: bool) -> None:
    pool = np.array(WORDS, dtype=object)
    values = pool[np.array(picks, dtype=np.int64)] if picks else np.zeros(0, dtype=object)
    if big and picks:
        # large enough for the by-reference path; equal values held by distinct objects too
        values = np.tile(values, 5000 // len(values) + 1)
        values[::7] = np.array(["vis" + "it"] * len(values[::7]), dtype=object)
    _check(values)


def test_sorted_codes_in_set_and_index_of() -> None:
    values = np.array(["b", None, "a", "b"], dtype=object)
    codes, uniq = sorted_codes(values)
    assert codes.tolist() == [1, -1, 0, 1] and uniq.tolist() == ["a", "b"]
    assert in_set(values, ["b"]).tolist() == [True, False, False, True]
    keys = np.array(["L1", "L2", "L3"], dtype=object)
    probe = np.array(["L3", None, "L9", "L1"], dtype=object)
    assert index_of(keys, probe).tolist() == [2, -1, -1, 0]


def test_unique_check_and_lookup_by_hash_compare_values() -> None:
    import pytest

    from autoops.errors import InvalidInput
    from autoops.leads._input import read_leads_indexed

    def rows_of(ids: list[object], probe: list[object]) -> list[int]:
        leads = {"lead_id": np.array(ids, dtype=object)}
        found = read_leads_indexed(leads, (), probes=[np.array(probe, dtype=object)])[1]
        return found[0].tolist()

    assert hash(-1) == hash(-2)  # CPython: a real collision between different ids
    # colliding ids (the fallback): each probe finds its own row
    assert rows_of([-1, -2, 5], [-2, 5, 7, -1, None]) == [1, 2, -1, 0, -1]
    # distinct id hashes: a probe with an id's hash but another value is not linked
    assert rows_of([-1, "a"], [-2, "a", -1, None]) == [-1, 1, 0, -1]
    with pytest.raises(InvalidInput, match=r"rows \[1, 3\]"):
        read_leads_indexed({"lead_id": np.array(["x", "b", -1, "b", -2], dtype=object)}, ())


SPELLINGS = st.sampled_from(
    [
        "{}",
        "+86{}",
        "0086{}",
        "86{}",
        "+86 {}",
        "({}",
        "{}-",
        "+{}",
        "８６{}",
        " {}",
        "0{}",
        "{}9",
        "+0086{}",
        "86-{}",
        " " * 13 + "{}",  # 24 characters: still read
        " " * 14 + "{}",  # 25 characters: too long for normalize_phones
    ]
)
NUMBERS = st.sampled_from(
    ["13800138000", "19912345678", "12012345678", "1380013800", "01065529988", "4008105050"]
)


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.one_of(st.none(), st.tuples(SPELLINGS, NUMBERS)), max_size=40))
def test_phone_keys_agree_with_normalize_phones(rows: list[tuple[str, str] | None]) -> None:
    # the integer fast path for plain mobiles must group and classify like the shared normaliser
    from autoops.leads._link import KEY_STATUS, phone_keys
    from autoops.models import normalize_phones

    values = np.array([None if r is None else r[0].format(r[1]) for r in rows], dtype=object)
    codes, status = phone_keys(values)
    batch = normalize_phones(values)
    expected = np.where(batch.valid, "ok", np.where(batch.missing, "missing", "invalid"))
    assert [KEY_STATUS[s] for s in status.tolist()] == expected.tolist()
    assert ((codes >= 0) == batch.valid).all()
    e164 = batch.e164.tolist()
    for i in range(len(values)):
        for j in range(len(values)):
            if codes[i] >= 0 and codes[j] >= 0:
                assert (codes[i] == codes[j]) == (e164[i] == e164[j])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(-3, 3), max_size=60))
def test_stable_order_is_a_stable_argsort(values: list[int]) -> None:
    from autoops.leads._codes import stable_order

    arr = np.array(values, dtype=np.int64)
    assert stable_order(arr).tolist() == np.argsort(arr, kind="stable").tolist()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.one_of(st.none(), st.tuples(SPELLINGS, NUMBERS)), max_size=30),
    odd=st.lists(
        st.sampled_from([13800138000, float("nan"), b"13800138000", "138\ud8000138000", "é"]),
        max_size=2,
    ),
)
def test_person_codes_same_with_and_without_arrow(
    rows: list[tuple[str, str] | None], odd: list[Any]
) -> None:
    # leads and events are coded together: through Arrow when every value is a str or None,
    # else (numbers, NaN, bytes, unencodable text) by codes_of; both give the same codes
    import sys

    from autoops.leads._link import person_codes, phone_keys
    from autoops.models import normalize_phones

    values = np.array([None if r is None else r[0].format(r[1]) for r in rows] + odd, dtype=object)
    half = len(values) // 2
    with_arrow = person_codes(values[:half], values[half:])
    keys = phone_keys(values)
    saved = sys.modules.get("pyarrow")
    sys.modules["pyarrow"] = None  # type: ignore[assignment]  # import pyarrow fails
    try:
        without = person_codes(values[:half], values[half:])
        keys_without = phone_keys(values)
    finally:
        if saved is None:
            del sys.modules["pyarrow"]
        else:
            sys.modules["pyarrow"] = saved
    codes = np.concatenate(with_arrow)
    # the codes are dense in first-seen order either way, so they are equal, not just alike
    assert codes.tolist() == np.concatenate(without).tolist() == keys[0].tolist()
    assert keys[1].tolist() == keys_without[1].tolist()
    assert ((codes >= 0) == normalize_phones(values).valid).all()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.sampled_from(["", "+", "86", "+86", "0086", "+0086", "00", "0", "++86", "+860"]),
            st.from_regex(r"1[0-9]{8,12}|[0-9]{0,16}", fullmatch=True),
        ).map("".join)
        | st.text(alphabet="0123456789+ -１", max_size=20),
        max_size=30,
    )
)
def test_arrow_mobiles_match_mobile_numbers(values: list[str]) -> None:
    # the Arrow reader of digit-only spellings agrees with mobile_numbers wherever it reads,
    # and reads every spelling of ASCII digits (after at most one "+") that mobile_numbers reads
    import re

    import pyarrow as pa

    from autoops.leads._link import _arrow_mobiles
    from autoops.models._phone import mobile_numbers

    got = _arrow_mobiles(pa.array(values, type=pa.large_string()))
    want = mobile_numbers(np.array([*values, "x" * 11], dtype=str))[:-1]
    simple = np.array([re.fullmatch(r"\+?[0-9]*", v) is not None for v in values], dtype=bool)
    assert (got[got > 0] == want[got > 0]).all()
    assert ((got > 0) == (want > 0) & simple).all()
