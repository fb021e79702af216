"""Blocking plain mobiles by their numbers gives what the text checks give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.identity import MergeRules, _normalize
from autoops.identity._normalize import normalize_forms

SPECIAL = [
    "13111111111", "13222222222", "19999999999", "13888888888", "18888888888",
    "13812345678", "13887654321", "13123456789", "15512345678", "13800138000",
    "13900000000", "13800000000", "14000000000", "+86 138 1234 5678", "13012345678",
    "400-800-1234", "12345678", "0000", "--", "+8613811111111", "13911111112",
]  # fmt: skip

numbers = st.integers(13_000_000_000, 19_999_999_999).map(str)
shaped = st.sampled_from(SPECIAL) | numbers | numbers.map(lambda s: "+86 " + s)


def _both(values: list[str], rules: MergeRules, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = np.array(values, dtype=object)
    phone = rules["phone"]
    fast = normalize_forms(phone, raw, block_defaults=rules.block_defaults)
    monkeypatch.setattr(_normalize, "INTEGER_MOBILES", False)
    slow = normalize_forms(phone, raw, block_defaults=rules.block_defaults)
    monkeypatch.setattr(_normalize, "INTEGER_MOBILES", True)
    for a, b in zip(fast, slow, strict=True):
        if a is None:
            assert b is None
        else:
            np.testing.assert_array_equal(a, b)


@settings(max_examples=150, deadline=None)
@given(st.lists(shaped, min_size=1, max_size=40, unique=True))
def test_integer_blocking_equals_text_blocking(values: list[str]) -> None:
    with pytest.MonkeyPatch.context() as m:
        _both(values, MergeRules.automotive_default(), m)


def test_special_numbers_and_user_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = MergeRules.automotive_default()
    _both(SPECIAL, rules, monkeypatch)
    custom = rules.replace("phone", blocked=["+8613912345678", "+86139123456780", "x"])
    _both([*SPECIAL, "13912345678"], custom, monkeypatch)
    # a user pattern without a numeric form sends every form through the text checks
    regex = rules.replace("phone", blocked_patterns=[r"^\+86139", r"12345678|87654321"])
    _both([*SPECIAL, "13912345670"], regex, monkeypatch)
    blocked = normalize_forms(rules["phone"], np.array(SPECIAL, dtype=object), block_defaults=True)
    assert (blocked[2] == 3).sum() >= 8  # the same-digit, sequence and listed numbers


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(13_000_000_000, 19_999_999_999), max_size=30))
def test_e164_mobiles_spell_the_numbers(numbers: list[int]) -> None:
    """The plain mobiles' forms built digit by digit are ``"+86"`` and the number."""
    from autoops.identity._normalize import _e164_mobiles

    text = _e164_mobiles(np.array(numbers, dtype=np.int64))
    assert text.dtype == np.dtype("<U14")
    assert text.tolist() == [f"+86{v}" for v in numbers]
