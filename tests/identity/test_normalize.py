"""Vectorised helpers against their plain-Python meaning: regex scans, phone patterns, hashes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.identity._normalize import (
    _VECTOR_PATTERNS,
    Status,
    canonical_mobiles,
    hash_strings,
    lower,
    normalize_values,
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
    # blocked patterns see normalised values, stripped of surrounding white space (where
    # re's "$" would also match before a final newline)
    values = [v.strip(" \t\r\n\u3000\u00a0") for v in values]
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


def _canonical_reference(value: str) -> str:
    """canonical_mobiles for one value, in plain Python (the rule of its docstring)."""
    if len(value) > 24:  # longer than normalize_phones reads
        return value
    text = re.sub(r"[ \-()]", "", value)
    for prefix, size in (("+86", 14), ("0086", 15), ("86", 13), ("", 11)):
        if len(text) == size and text.startswith(prefix):
            digits = text[len(prefix) :]
            if re.fullmatch(r"1[3-9][0-9]{9}", digits):
                return digits
            break
    return value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(shapes, st.text(alphabet="0123456789 -()+x\x00", max_size=30)),
                min_size=1, max_size=20))  # fmt: skip
def test_canonical_mobiles_equal_plain_python(values: list[str]) -> None:
    out = canonical_mobiles(np.array(values, dtype=object))
    assert out.tolist() == [_canonical_reference(v) for v in values]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(shapes, st.none()), min_size=1, max_size=20))
def test_phone_forms_equal_normalize_phones(values: list[str | None]) -> None:
    from autoops.identity import MergeRules
    from autoops.models import normalize_phones

    raw = np.array(list(dict.fromkeys(values)), dtype=object)  # None included
    text, status, _ = normalize_values(MergeRules.unprotected()["phone"], raw,
                                       block_defaults=False)  # fmt: skip
    batch = normalize_phones(raw)
    ok = batch.valid & ~np.equal(batch.kind, "service")
    assert (status == Status.OK).tolist() == ok.tolist()
    assert text[ok].tolist() == batch.e164[ok].tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="aZ-09_@.QxÄßİ", max_size=12), st.text(max_size=6)),
                min_size=1, max_size=20))  # fmt: skip
def test_lower_equals_str_lower(values: list[str]) -> None:
    text = np.array(values, dtype=str)
    assert lower(text).tolist() == np.strings.lower(text).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="aZq-0", max_size=6), min_size=1, max_size=20),
       st.sampled_from([1, 3, 1 << 15]))  # fmt: skip
def test_lower_in_blocks_equals_str_lower(values: list[str], chunk: int) -> None:
    """Blocks of any size, with or without capitals (then the text itself comes back)."""
    import autoops.identity._normalize as normalize

    text = np.array(values, dtype=str)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(normalize, "_CHUNK", chunk)
        got = lower(text)
    expected = np.strings.lower(text)
    assert got.dtype == expected.dtype
    assert got.tolist() == expected.tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=" \t\n\u3000\u00a0\x00ab", max_size=5), min_size=1, max_size=20))
def test_as_text_equals_strip(values: list[str]) -> None:
    from autoops.identity._normalize import _STRIP, _as_text, to_text

    for arr in (np.array(values, dtype=str), np.array(values, dtype=object)):
        got = _as_text(arr)
        expected = np.strings.strip(to_text(arr), _STRIP)
        assert got.dtype == expected.dtype
        assert got.tolist() == expected.tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="0-\x00ab", max_size=5), min_size=1, max_size=20))
def test_first_character_filter_changes_no_blocked_value(values: list[str]) -> None:
    """The device pattern ``^[0\\-]+$`` read only where the first character can match."""
    import autoops.identity._normalize as normalize
    from autoops.identity import MergeRules

    device = MergeRules.automotive_default()["device_id"]
    arr = np.array(values, dtype=object)
    fast = normalize_values(device, arr, block_defaults=True)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(normalize, "_FIRST_CHARS", {})
        every = normalize_values(device, arr, block_defaults=True)
    for a, b in zip(fast, every, strict=True):
        assert a.tolist() == b.tolist()
