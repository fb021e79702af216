"""Arrow string columns read straight from their buffers equal the Python-string route."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._tabular import encode
from autoops.identity._normalize import to_text
from autoops.identity._prepare import _ascii_text, _encode_column

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")

ascii_values = st.lists(
    st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=127), max_size=12)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(ascii_values, st.booleans(), st.integers(0, 3))
def test_ascii_dictionary_text_equals_python_strings(
    values: list[str | None], large: bool, skip: int
) -> None:
    arr = pa.array(values, type=pa.large_string() if large else pa.string())
    arr = arr.slice(min(skip, len(values) - 1))  # a non-zero offset into the buffers
    dictionary = pc.dictionary_encode(arr).dictionary
    text = _ascii_text(dictionary)
    expected = to_text(dictionary.to_numpy(zero_copy_only=False))
    if text is None:  # no characters at all: the caller takes the Python-string route
        assert all(len(v) == 0 for v in dictionary.to_pylist())
        return
    assert text.dtype == expected.dtype
    assert text.tobytes() == expected.tobytes()


def test_non_ascii_and_encoded_columns_keep_python_strings() -> None:
    assert _ascii_text(pa.array(["ä", "b"])) is None
    (codes, distinct), raw = _encode_column(pa.chunked_array([["b", None], ["a", "b"]]))
    assert codes.tolist() == [0, -1, 1, 0]
    assert distinct.dtype.kind == "U" and distinct.tolist() == ["b", "a"]
    assert raw().tolist() == ["b", "a"] and raw().dtype == object
    (codes, distinct), raw = _encode_column(pa.chunked_array([["ä", None], ["b", "ä"]]))
    assert codes.tolist() == [0, -1, 1, 0] and distinct.tolist() == ["ä", "b"]
    # an object column of strings is read the Arrow way too; any other value keeps encode's
    (codes, distinct), raw = _encode_column(np.array(["x", None, "x"], dtype=object))
    assert codes.tolist() == [0, -1, 0] and distinct.tolist() == ["x"]
    assert distinct.dtype.kind == "U" and raw().tolist() == ["x"]
    (codes, distinct), raw = _encode_column(np.array(["x", b"x", None, 1], dtype=object))
    assert codes.tolist() == [0, 1, -1, 2] and raw() is distinct


object_values = st.lists(
    st.one_of(
        st.none(),
        st.text(max_size=6),
        st.sampled_from(["a", "b", "13800138000", "", "x\x00", "ä"]),
        st.binary(max_size=3),
        st.integers(0, 3),
        st.just(float("nan")),
    ),
    max_size=25,
)
string_values = st.lists(
    st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["a", "+86 138", "", "x\x00"])),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(string_values, object_values), st.booleans())
def test_object_columns_encode_as_pandas_factorize_does(values: list[object], series: bool) -> None:
    """The codes and distinct values of an object column are encode's (pandas.factorize's),
    whether Arrow reads it (strings and None only) or not (anything else)."""
    import pandas as pd

    col = np.array(values, dtype=object)
    expected_codes, expected = encode(pd.Series(col, dtype=object) if series else col)
    (codes, distinct), raw = _encode_column(pd.Series(col, dtype=object) if series else col)
    assert codes.tolist() == expected_codes.tolist()
    assert raw().tolist() == expected.tolist()
    if distinct.dtype.kind == "U":  # read from Arrow's buffers
        assert distinct.tobytes() == to_text(expected).tobytes()
    else:
        assert distinct.tolist() == expected.tolist()


@pytest.mark.parametrize("hash_bits", [None, 2])
def test_object_columns_read_through_their_distinct_objects(
    hash_bits: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects repeated in any order, and equal strings held by distinct objects, give
    pandas.factorize's codes and values (each object is copied into Arrow once)."""
    import pandas as pd

    from autoops.identity import _encode

    rng = np.random.default_rng(3)
    pool = np.array([f"13{v:09d}" for v in range(3000)] + [None], dtype=object)
    col = pool[rng.integers(0, len(pool), 70_000)]
    # other objects holding the same strings (fresh copies), and a long non-ASCII value
    fresh = rng.integers(0, len(col), 5000)
    col[fresh] = np.array([None if v is None else "".join(list(v)) for v in col[fresh]],
                          dtype=object)  # fmt: skip
    if hash_bits is not None:  # the references' hashes collide: runs regrouped exactly
        mix64 = _encode.mix64
        top = np.uint64(((1 << hash_bits) - 1) << (64 - hash_bits))

        def weak(x, copy=True):  # type: ignore[no-untyped-def]
            out = mix64(x, copy=copy)
            out &= top
            return out

        monkeypatch.setattr(_encode, "mix64", weak)
    # strided views too (their references read through the strides)
    for values in (col, np.append(col, "ä" * 40), col[::-1], col[1::3]):
        expected_codes, expected = pd.factorize(values)
        (codes, distinct), raw = _encode_column(values)
        assert codes.tolist() == expected_codes.tolist()
        assert raw().tolist() == expected.tolist()
        if distinct.dtype.kind == "U":  # short ASCII values: read from Arrow's buffers
            assert distinct.tobytes() == to_text(expected).tobytes()
        else:
            assert distinct.tolist() == expected.tolist()


def test_only_columns_whose_objects_repeat_are_read_through_them() -> None:
    from autoops._factorize import Addresses
    from autoops.identity._prepare import _repeats

    rng = np.random.default_rng(4)
    pool = np.array([f"u{v:09d}" for v in range(50_000)], dtype=object)
    shared = pool[rng.integers(0, len(pool), 400_000)]  # about 8 rows per object
    fresh = np.array([f"u{v:09d}" for v in rng.integers(0, 10**9, 400_000)], dtype=object)
    sparse = np.where(rng.random(400_000) < 0.7, None, fresh)  # None repeats, nothing else
    assert _repeats(np.asarray(Addresses(shared)))
    assert not _repeats(np.asarray(Addresses(fresh)))
    assert not _repeats(np.asarray(Addresses(sparse)))
    small = pool[rng.integers(0, 400, 1000)]  # small columns: counted exactly
    assert _repeats(np.asarray(Addresses(small)))
    assert not _repeats(np.asarray(Addresses(fresh[:1000])))
