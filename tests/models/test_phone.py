"""Phone normalisation: a table of shapes, good and bad, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.models import normalize_phone, normalize_phones

M = "+8613812345678"
GOOD = [
    ("13812345678", M, "mobile"),
    ("138 1234 5678", M, "mobile"),
    ("138-1234-5678", M, "mobile"),
    ("138.1234.5678", M, "mobile"),
    ("+86 138 1234 5678", M, "mobile"),
    ("+86-138-1234-5678", M, "mobile"),
    ("+8613812345678", M, "mobile"),
    ("86-138-1234-5678", M, "mobile"),
    ("8613812345678", M, "mobile"),
    ("86 13812345678", M, "mobile"),
    ("008613812345678", M, "mobile"),
    ("0086 138 1234 5678", M, "mobile"),
    ("(+86)13812345678", M, "mobile"),
    ("(+86) 138 1234 5678", M, "mobile"),
    ("（+86）13812345678", M, "mobile"),
    ("１３８１２３４５６７８", M, "mobile"),
    ("＋８６ １３８ １２３４ ５６７８", M, "mobile"),
    (" 13812345678 ", M, "mobile"),
    ("\t138 1234\u30005678", M, "mobile"),
    ("+86 138-0013-8000", "+8613800138000", "mobile"),
    ("008613800138000", "+8613800138000", "mobile"),
    ("8613800138000", "+8613800138000", "mobile"),
    ("138 0013 8000", "+8613800138000", "mobile"),
    ("19912345678", "+8619912345678", "mobile"),
    ("17012345678", "+8617012345678", "mobile"),
    ("010-6552-9988", "+861065529988", "landline"),
    ("010 65529988", "+861065529988", "landline"),
    ("021-54321234", "+862154321234", "landline"),
    ("0755-1234-5678", "+8675512345678", "landline"),
    ("0571-8765432", "+865718765432", "landline"),
    ("+86 10 6552 9988", "+861065529988", "landline"),
    ("+86 (0)10 6552 9988", "+861065529988", "landline"),
    ("+86 755 1234 5678", "+8675512345678", "landline"),
    ("400-810-5050", "+864008105050", "service"),
    ("4008105050", "+864008105050", "service"),
    ("800 820 8820", "+868008208820", "service"),
]
BAD = [
    ("1380013800", "too few digits for a mobile number"),
    ("138001380", "too few digits for a mobile number"),
    ("10086", "too few digits for a mobile number"),
    ("11111111111", "not a Chinese mobile prefix (must start 13-19)"),
    ("12345678901", "not a Chinese mobile prefix (must start 13-19)"),
    ("10012345678", "not a Chinese mobile prefix (must start 13-19)"),
    ("138123456789", "unrecognised number format"),
    ("1381234567890123", "too many digits"),
    ("abc", "contains letters or symbols"),
    ("138-1234-567x", "contains letters or symbols"),
    ("138*1234*5678", "contains letters or symbols"),
    ("13812345678+", "contains letters or symbols"),
    ("021-1234567", "unrecognised number format"),
    ("9" * 30, "too long"),
    ("+", "unrecognised number format"),
]


@pytest.mark.parametrize(("raw", "e164", "kind"), GOOD)
def test_good_shapes(raw: str, e164: str, kind: str) -> None:
    result = normalize_phone(raw)
    assert (result.e164, result.kind, result.reason) == (e164, kind, None)


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_bad_shapes_have_reasons(raw: str, reason: str) -> None:
    result = normalize_phone(raw)
    assert (result.e164, result.kind, result.reason) == (None, "invalid", reason)
    assert not result.valid


def test_table_is_large_enough() -> None:
    assert len(GOOD) + len(BAD) >= 40


def test_missing_is_not_invalid() -> None:
    batch = normalize_phones([None, "", "13812345678"])
    assert batch.missing.tolist() == [True, True, False]
    assert batch.valid.tolist() == [False, False, True]
    assert batch.reason.tolist() == [None, None, None]


def test_vectorised_equals_scalar_on_the_table() -> None:
    raws = [r for r, *_ in GOOD] + [r for r, _ in BAD]
    batch = normalize_phones(np.array(raws, dtype=object))
    for i, raw in enumerate(raws):
        one = normalize_phone(raw)
        assert (batch.e164[i], batch.reason[i]) == (one.e164, one.reason)


def test_foreign_numbers_use_phonenumbers() -> None:
    pytest.importorskip("phonenumbers")
    assert normalize_phone("+1 650 253 0000").e164 == "+16502530000"
    assert normalize_phone("0044 20 7946 0958").e164 == "+442079460958"
    assert normalize_phone("+1 000 000 0000").reason == "not a valid number for its country"


def test_spans_chunks() -> None:
    raws = np.array(["13812345678", "bad"] * 600_001, dtype=object)
    batch = normalize_phones(raws)
    assert int(batch.valid.sum()) == 600_001
    assert batch.reason[-1] == "contains letters or symbols"


def test_area_codes_agree_with_and_without_the_trunk_zero() -> None:
    # no area code starts with 11 (found by the idempotence property below: the
    # local form was a landline, its E.164 form not)
    for raw in ["01100000000", "+861100000000", "011 1234 5678"]:
        assert normalize_phone(raw).kind == "invalid", raw
    for raw, e164 in [("010 1234 5678", "+861012345678"), ("0755 1234 5678", "+8675512345678")]:
        once = normalize_phone(raw)
        assert (once.kind, once.e164) == ("landline", e164)
        assert normalize_phone(e164).kind == "landline"


phone_text = st.text(alphabet="0123456789 +-()１３８０", max_size=20)


@given(phone_text)
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalize_phone(raw)
    if once.e164 is not None:
        assert normalize_phone(once.e164).e164 == once.e164


@given(
    st.sampled_from(["13", "15", "17", "18", "19"]),
    st.integers(0, 10**9 - 1),
    st.sampled_from(["{}", "+86 {}", "86{}", "0086{}", "(+86){}"]),
)
def test_every_mobile_shape_gives_the_same_e164(prefix: str, rest: int, shape: str) -> None:
    number = f"{prefix}{rest:09d}"
    assert normalize_phone(shape.format(number)).e164 == f"+86{number}"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda pad, prefix, number, tail: pad + prefix + number + tail,
            st.sampled_from(["", " ", " " * 9, " " * 14]),
            st.sampled_from(["", "+86", "+86 ", "0086", "86", "(+86)", "+1"]),
            st.from_regex(r"1[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{2}", fullmatch=True),
            st.sampled_from(["", " ", "x"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_mobile_numbers_is_the_fast_path_of_normalize_phones(values: list[str]) -> None:
    from autoops.models._phone import mobile_numbers

    number = mobile_numbers(np.array(values, dtype=str))
    batch = normalize_phones(np.array(values, dtype=object))
    read = number > 0
    # whatever the fast path reads, normalize_phones reads the same mobile
    assert all(batch.valid[read])
    assert batch.e164[read].tolist() == ["+86" + str(n) for n in number[read]]
    # spellings past normalize_phones' 24-character limit are never read
    assert not any(read[[len(v) > 24 for v in values]])
