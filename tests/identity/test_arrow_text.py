"""Arrow string columns read straight from their buffers equal the Python-string route."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    (codes, distinct), raw = _encode_column(np.array(["x", None, "x"], dtype=object))
    assert codes.tolist() == [0, -1, 0] and distinct.tolist() == ["x"] and raw() is distinct
