"""encode_short gives Arrow's dictionary codes and _ascii_text's text, whatever the hash collisions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._tabular import arrow_dictionary
from autoops.identity import _encode
from autoops.identity._encode import encode_short
from autoops.identity._prepare import _ascii_text, _encode_column

pa = pytest.importorskip("pyarrow")

ascii_text = st.text(alphabet=st.characters(max_codepoint=127), max_size=40)
values = st.lists(
    st.one_of(
        st.none(),
        ascii_text,
        st.sampled_from(
            ["", "a", "a\x00", "\x00", "13800138000", "+86 13800138000", "ä", "x" * 32]
        ),
    ),
    min_size=1,
    max_size=60,
)


def _expected(arr):  # type: ignore[no-untyped-def]
    codes, dictionary = arrow_dictionary(arr)
    return codes.astype(np.int64), _ascii_text(dictionary), dictionary.to_pylist()


def _weak_mix64(keep: int):  # type: ignore[no-untyped-def]
    """mix64 keeping only its top *keep* bits: many values hash alike."""
    mix64 = _encode.mix64
    top = np.uint64(((1 << keep) - 1) << (64 - keep)) if keep else np.uint64(0)

    def weak(x, copy=True):  # type: ignore[no-untyped-def]
        out = mix64(x, copy=copy)
        out &= top
        return out

    return weak


@settings(max_examples=300, deadline=None)
@given(
    values,
    st.booleans(),
    st.integers(0, 3),
    st.sampled_from([None, 0, 1, 3]),
    st.sampled_from([None, 1, 3]),
)
def test_codes_and_text_equal_arrows(
    vals: list[str | None], large: bool, skip: int, hash_bits: int | None, block: int | None
) -> None:
    arr = pa.array(vals, type=pa.large_string() if large else pa.string())
    arr = arr.slice(min(skip, len(vals) - 1))  # a non-zero offset into the buffers
    old = _encode.mix64, _encode.BLOCK, _encode.SPAN
    if hash_bits is not None:
        _encode.mix64 = _weak_mix64(hash_bits)  # collisions: runs holding several values
    if block is not None:  # tiny blocks: every pass crosses block boundaries
        _encode.BLOCK = _encode.SPAN = block
    try:
        out = encode_short(arr)
    finally:
        _encode.mix64, _encode.BLOCK, _encode.SPAN = old
    present = [v for v in arr.to_pylist() if v is not None]
    qualifies = (
        bool(present)
        and all(v.isascii() for v in present)
        and 0 < max(len(v) for v in present) <= _encode.MAX_BYTES
    )
    assert (out is not None) == qualifies
    if out is None:
        return
    codes, text, distinct = _expected(arr)
    assert out.codes.tolist() == codes.tolist()
    assert text is not None and out.text.dtype == text.dtype
    assert out.text.tobytes() == text.tobytes()
    assert arr.take(out.rows).to_pylist() == distinct


def test_a_hash_collision_never_merges_two_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # every value hashes alike: the check of each row against the one before it finds it
    monkeypatch.setattr(_encode, "mix64", lambda x, copy=True: np.multiply(x, 0, out=x))
    col = pa.chunked_array([["b", None, "a"], ["b", "ab"]])
    out = encode_short(col.combine_chunks())
    assert out is not None and out.codes.tolist() == [0, -1, 1, 0, 2]
    (codes, distinct), raw = _encode_column(col)
    assert codes.tolist() == [0, -1, 1, 0, 2]
    assert distinct.tolist() == ["b", "a", "ab"] and raw().tolist() == ["b", "a", "ab"]
    monkeypatch.undo()
    out = encode_short(pa.array(["b", None, "a", "b", "ab"]))
    assert out is not None and out.codes.tolist() == [0, -1, 1, 0, 2]


@pytest.mark.parametrize("hash_bits", [None, 4])
def test_many_rows(hash_bits: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    vals = [f"13{v:09d}" for v in rng.integers(0, 5000, 100_000)]
    arr = pa.array([None if i % 7 == 0 else v for i, v in enumerate(vals)])
    if hash_bits is not None:  # 16 runs of about 300 values each, regrouped exactly
        monkeypatch.setattr(_encode, "mix64", _weak_mix64(hash_bits))
    out = encode_short(arr)
    codes, text, distinct = _expected(arr)
    assert out is not None and np.array_equal(out.codes, codes)
    assert text is not None and out.text.tobytes() == text.tobytes()
    assert arr.take(out.rows).to_pylist() == distinct


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-300, 300), min_size=1, max_size=40),
    st.sampled_from(["int64", "int32", "uint16"]),
)
def test_int_record_ids_proven_unique_only_when_distinct(ids: list[int], dtype: str) -> None:
    from autoops.identity._prepare import _int_tokens_unique, record_tokens

    arr = np.array([abs(i) if dtype == "uint16" else i for i in ids], dtype=dtype)
    tokens = record_tokens(arr)
    proven = _int_tokens_unique(arr)
    assert proven == (len(np.unique(arr)) == len(arr))  # a narrow span: always decided
    if proven:
        assert len(np.unique(tokens)) == len(tokens)
    assert not _int_tokens_unique(np.array([0, 10**6]))  # a wide span: left to the sort


def test_a_token_collision_of_distinct_int_ids_is_found() -> None:
    from autoops.identity._prepare import _bit0_partner, _int_tokens_unique, record_tokens

    a = np.array([12345, -7, 2**62], dtype=np.int64)
    b = _bit0_partner(a)
    assert (b != a).all() and (_bit0_partner(b) == a).all()
    assert (record_tokens(a) == record_tokens(b)).all()  # two ids, one token
    # the check looks the partners up among the ids
    assert _int_tokens_unique(np.arange(1000, dtype=np.int64) - 500)


def _first_seen_codes(values: list[int]) -> tuple[list[int], list[int]]:
    """Codes in first-seen order and each code's first position, by a dict."""
    code: dict[int, int] = {}
    first: list[int] = []
    for i, v in enumerate(values):
        if v not in code:
            code[v] = len(code)
            first.append(i)
    return [code[v] for v in values], first


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 40).map(lambda v: 16 * v + 2**47)),
        min_size=1,
        max_size=80,
    ),
    st.sampled_from([None, 0, 2]),
    st.sampled_from([None, 1, 3]),
)
def test_encode_words_numbers_values_in_first_seen_order(
    values: list[int], hash_bits: int | None, block: int | None
) -> None:
    # narrow values (addresses) are sorted as they are; wide ones by their hash, whose
    # collisions (a weakened hash) are regrouped exactly
    old = _encode.mix64, _encode.BLOCK, _encode.SPAN
    if hash_bits is not None:
        _encode.mix64 = _weak_mix64(hash_bits)
    if block is not None:
        _encode.BLOCK = _encode.SPAN = block
    try:
        codes, first, by_value = _encode.encode_words(np.array(values, dtype=np.uint64))
    finally:
        _encode.mix64, _encode.BLOCK, _encode.SPAN = old
    expected_codes, expected_first = _first_seen_codes(values)
    assert codes.tolist() == expected_codes
    assert first.tolist() == expected_first
    # every code once; in ascending values when the values are narrow (addresses)
    assert sorted(by_value.tolist()) == list(range(len(expected_first)))
    if max(values) - min(values) < 2**40:
        assert [values[i] for i in first[by_value]] == sorted(set(values))
