"""``autoops._tabular.encode``: the same codes from every column form as ``factorize_objects``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._factorize import factorize_objects
from autoops._tabular import as_array, encode

# short strings from a small alphabet (so values repeat), with "" and non-ASCII
strings = st.text(alphabet="ab é中😀\x00", max_size=3)
columns = st.lists(st.none() | strings, max_size=60)


def _chunked(values: list[str | None], cuts: list[int]) -> Any:
    bounds = [0, *sorted(c % (len(values) + 1) for c in cuts), len(values)]
    return [values[a:b] for a, b in itertools.pairwise(bounds)]


#: every form a user may hand over, built from a list of str / None and cut points
FORMS: dict[str, Callable[[list[str | None], list[int]], Any]] = {
    "numpy object": lambda v, c: np.array(v, dtype=object),
    "pyarrow string": lambda v, c: pa.array(v, type=pa.string()),
    "pyarrow large_string": lambda v, c: pa.array(v, type=pa.large_string()),
    "pyarrow string_view": lambda v, c: pa.array(v, type=pa.string_view()),
    "pyarrow chunked": lambda v, c: pa.chunked_array(_chunked(v, c), type=pa.string()),
    "pyarrow sliced": lambda v, c: pa.array(["x", *v], type=pa.string())[1:],
    "polars": lambda v, c: pl.Series(v, dtype=pl.String),
    "polars chunked": lambda v, c: pl.concat(
        [pl.Series(p, dtype=pl.String) for p in _chunked(v, c)], rechunk=False
    ),
    "pandas object": lambda v, c: pd.Series(v, dtype=object),
    "pandas str (default storage)": lambda v, c: pd.Series(v, dtype="str"),
    "pandas string[pyarrow]": lambda v, c: pd.Series(v, dtype="string[pyarrow]"),
    "pandas string[python]": lambda v, c: pd.Series(v, dtype="string[python]"),
    "pandas str, python storage": lambda v, c: pd.Series(
        v, dtype=pd.StringDtype("python", na_value=np.nan)
    ),
    "pandas ArrowDtype": lambda v, c: pd.Series(v, dtype=pd.ArrowDtype(pa.large_string())),
    "pandas chunked arrow": lambda v, c: pd.Series(
        pd.arrays.ArrowExtensionArray(pa.chunked_array(_chunked(v, c), type=pa.string()))
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
@settings(max_examples=60)
@given(values=columns, cuts=st.lists(st.integers(0, 60), max_size=4))
def test_encode_agrees_with_factorize_objects(
    form: str, values: list[str | None], cuts: list[int]
) -> None:
    column = FORMS[form](values, cuts)
    codes, distinct = encode(column)
    ref_codes, ref_distinct = factorize_objects(np.array(values, dtype=object))
    assert codes.dtype == np.int64
    assert distinct.dtype == object
    # both number the values in the order they first appear
    assert codes.tolist() == ref_codes.tolist()
    assert distinct.tolist() == ref_distinct.tolist()
    assert all(type(v) is str for v in distinct.tolist())
    # and give the column back: only missing values are -1
    back = [None if c < 0 else distinct[c] for c in codes.tolist()]
    assert back == values


def test_arrow_backed_columns_are_encoded_by_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    import autoops._tabular as tab

    def refuse(values: Any) -> Any:
        raise AssertionError("an Arrow-backed column was converted to Python strings")

    monkeypatch.setattr(tab, "as_array", refuse)
    monkeypatch.setattr(tab, "factorize_objects", refuse)
    values = ["b", None, "a", "b"]
    for form in ("pyarrow chunked", "polars", "pandas str (default storage)", "pandas ArrowDtype"):
        assert encode(FORMS[form](values, [2]))[0].tolist() == [0, -1, 1, 0]


@pytest.mark.parametrize(
    ("column", "values"),
    [
        (np.array([3, 1, 3]), [3, 1, 3]),
        (pa.array([3, None, 3]), [3.0, None, 3.0]),
        (pl.Series([3, None, 3]), [3, None, 3]),
        (pd.Series([1.5, np.nan, 1.5]), [1.5, None, 1.5]),
        (pd.Series(["a", 1, None, np.nan, pd.NA, "a"], dtype=object), ["a", 1, None, None, None, "a"]),
        (pd.Series([2, None, 2], dtype="Int64"), [2, None, 2]),
    ],
    ids=["numpy int", "arrow int", "polars int", "pandas float", "pandas object",
         "pandas Int64"],
)  # fmt: skip
def test_other_columns(column: Any, values: list[Any]) -> None:
    """Non-string columns go through as_array; pandas' missing markers are all missing."""
    codes, distinct = encode(column)
    back = [None if c < 0 else distinct[c] for c in codes.tolist()]
    assert [str(v) for v in back] == [str(v) for v in values]
    assert len(set(map(str, distinct.tolist()))) == len(distinct)


@settings(max_examples=60, deadline=None)
@given(values=columns, cuts=st.lists(st.integers(0, 60), max_size=3))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_as_array_gives_the_strings_back_with_none_for_missing(
    form: str, values: list[str | None], cuts: list[int]
) -> None:
    got = as_array(FORMS[form](values, cuts))
    assert got.dtype == object
    assert got.tolist() == values


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_as_array_reads_every_pandas_missing_marker_in_text_as_none(missing: Any) -> None:
    for dtype in (object, "str", "string"):
        got = as_array(pd.Series(["a", missing], dtype=dtype))
        assert got.tolist() == ["a", None], dtype


def test_as_array_of_a_list_keeps_trailing_nuls() -> None:
    assert as_array(["a\x00", "b"]).tolist() == ["a\x00", "b"]
