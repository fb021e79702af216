"""Columns in, tables out.

Every algorithm in autoops runs on numpy columns. :func:`columns` turns what a
user holds (a mapping of arrays, a pandas, polars or pyarrow table, or one of
autoops's own tables) into a ``dict`` of numpy arrays once, at the edge, with
errors that list the columns that *are* there. :class:`Tabular` gives result
and dataset classes ``to_pandas()``, ``to_polars()``, ``to_arrow()`` and
``to_dicts()`` from a single ``_columns()`` method, loading each extra lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._factorize import factorize_objects, few_objects
from autoops._optional import available, require
from autoops._parallel import take
from autoops.errors import InvalidInput

__all__ = [
    "NULL",
    "Tabular",
    "arrow_dictionary",
    "arrow_strings",
    "as_array",
    "columns",
    "encode",
    "factorize",
    "present",
    "source_columns",
]

NULL: npt.NDArray[Any] = np.array(None, dtype=object)
"""A 0-d object array holding ``None``: the typed "missing" for ``np.where`` and ``np.select``."""


def present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which entries of an object column are not ``None``.

    Examples:
        >>> present(np.array(["a", None], dtype=object)).tolist()
        [True, False]
    """
    mask: npt.NDArray[np.bool_] = np.not_equal(values, NULL)
    return mask


def as_array(values: Any, *, field: str = "ts", assume_tz: str | None = None) -> npt.NDArray[Any]:
    """Turn one column (numpy, list, pandas/polars series, arrow array) into numpy.

    Strings become ``object`` arrays holding ``str`` or ``None``: in a pandas
    text column (object, ``str`` or ``string`` dtype) every marker pandas counts
    as missing (``None``, ``NaN``, ``NA``, ``NaT``) becomes ``None``, and so does
    a null in an Arrow or polars column. Numeric columns keep ``NaN``, and a null in
    a polars float column becomes ``NaN`` (integers with nulls stay exact, as
    ``object`` arrays of ``int`` and ``None``). Temporal
    pandas, polars and Arrow columns become UTC ``datetime64[us]``: naive ones are
    refused (naming *field*) unless *assume_tz* names their zone.

    Examples:
        >>> as_array(["a", None, "c"])
        array(['a', None, 'c'], dtype=object)
        >>> as_array(np.arange(3))
        array([0, 1, 2])
        >>> import pandas as pd
        >>> as_array(pd.Series(["a", float("nan")], dtype="str"))
        array(['a', None], dtype=object)
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "U":
            return values.astype(object)
        return values
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        if _temporal(values):
            from autoops._time import to_utc_us

            return to_utc_us(values, field=field, assume_tz=assume_tz)
        if values.dtype.kind in "OSU" or arrow_strings(values) is not None:
            text: npt.NDArray[Any] = values.to_numpy(dtype=object, na_value=None)
            return text
        arr: npt.NDArray[Any] = values.to_numpy()
        return arr.astype(object) if arr.dtype.kind in "UO" else arr
    if module == "polars":
        if values.dtype.is_temporal():
            from autoops._time import to_utc_us

            return to_utc_us(values, field=field, assume_tz=assume_tz)
        if values.dtype.is_float() or (values.dtype.is_numeric() and values.null_count() == 0):
            # (a float column's nulls read as NaN, as pandas reads a missing float)
            return np.asarray(values.to_numpy())
        return np.array(values.to_list(), dtype=object)
    if module == "pyarrow":
        return as_array(values.to_pandas(), field=field, assume_tz=assume_tz)
    items = list(values)
    if not items or any(v is None or isinstance(v, str) for v in items):
        return np.array(items, dtype=object)  # not via numpy's "U", which drops trailing NULs
    guess = np.asarray(items)
    return guess.astype(object) if guess.dtype.kind in "UO" else guess


def encode(values: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Integer codes (``-1`` where missing) and the distinct values of one column.

    The contract of :func:`~autoops._factorize.factorize_objects` (only a
    missing value gets -1; equal strings share a code; ``distinct[codes]``
    gives the values back), for any column :func:`as_array` reads. Arrow-backed
    string columns (pyarrow arrays and chunked arrays, polars ``String``
    series, pandas ``str``/``string[pyarrow]``/``ArrowDtype`` columns) are
    dictionary-encoded by Arrow, so only the distinct values become Python
    strings. Other columns go through :func:`as_array` and
    ``factorize_objects``. Missing values are ``None`` in numpy and lists,
    nulls in Arrow and polars, and whatever pandas counts as missing (None,
    NaN, NA, NaT) in any pandas column, numeric ones included (where
    ``as_array`` keeps ``NaN``).

    Examples:
        >>> codes, distinct = encode(["b", None, "a", "b"])
        >>> codes.tolist(), distinct[codes[codes >= 0]].tolist()
        ([0, -1, 1, 0], ['b', 'a', 'b'])
        >>> import pyarrow as pa
        >>> codes, distinct = encode(pa.chunked_array([["b", None], ["", "b"]]))
        >>> codes.tolist(), distinct.tolist()
        ([0, -1, 1, 0], ['b', ''])
    """
    arrow = arrow_strings(values)
    if arrow is None:
        module = type(values).__module__.split(".")[0]
        if module == "pyarrow":
            return encode(values.to_pandas())
        if module == "pandas" and not _temporal(values):
            # pandas marks missing values with None, NaN, NA or NaT: all are missing here
            return factorize_objects(values.to_numpy(dtype=object, na_value=None))
        return factorize_objects(np.asarray(as_array(values), dtype=object))
    codes, dictionary = arrow_dictionary(arrow)
    distinct: npt.NDArray[Any] = dictionary.to_numpy(zero_copy_only=False)
    return codes.astype(np.int64), distinct


def arrow_dictionary(arrow: Any) -> tuple[npt.NDArray[np.signedinteger[Any]], Any]:
    """Codes (``-1`` for null) and the Arrow array of distinct values of an Arrow string
    array or chunked array, by Arrow's dictionary encoding.

    Examples:
        >>> import pyarrow as pa
        >>> codes, dictionary = arrow_dictionary(pa.chunked_array([["b", None], ["a", "b"]]))
        >>> codes.tolist(), dictionary.to_pylist()
        ([0, -1, 1, 0], ['b', 'a'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks == 1:
        arrow = arrow.chunk(0)
    elif isinstance(arrow, pa.ChunkedArray):
        # one contiguous array (64-bit offsets cannot overflow) is faster to encode than
        # unifying the chunks' dictionaries, which costs chunks x distinct values
        if arrow.type == pa.string():
            arrow = arrow.cast(pa.large_string())
        arrow = arrow.combine_chunks()
    encoded = pc.dictionary_encode(arrow)
    codes: npt.NDArray[np.signedinteger[Any]] = encoded.indices.fill_null(-1).to_numpy()
    return codes, encoded.dictionary


def arrow_strings(values: Any) -> Any:
    """The column as a pyarrow (chunked) array of strings, or None if it is not Arrow-backed.

    Arrow-backed are pyarrow string arrays, polars ``String`` series and pandas
    ``str`` / ``string[pyarrow]`` / ``ArrowDtype`` string columns; nothing is copied
    except for pandas, whose Arrow array is wrapped.

    Examples:
        >>> import pyarrow as pa
        >>> arrow_strings(pa.array(["a", None])).to_pylist()
        ['a', None]
        >>> arrow_strings(np.array(["a"], dtype=object)) is None
        True
    """
    module = type(values).__module__.split(".")[0]
    if module == "polars":  # (polars hands over Arrow arrays through pyarrow)
        return values.to_arrow() if str(values.dtype) == "String" and available("pyarrow") else None
    if module == "pandas":
        dtype = values.dtype
        arrow_type = getattr(dtype, "pyarrow_dtype", None)  # pandas.ArrowDtype
        # "pyarrow_numpy": pandas 2.1-2.2's name for the storage of the future ``str`` dtype
        arrow_storage = getattr(dtype, "storage", None) in ("pyarrow", "pyarrow_numpy")
        if not arrow_storage and not _is_string_type(arrow_type):
            return None
        import pyarrow as pa

        return pa.array(values.array)
    if module == "pyarrow" and hasattr(values, "type") and _is_string_type(values.type):
        return values
    return None


def _temporal(values: Any) -> bool:
    """Whether a pandas column holds timestamps (read as UTC microseconds by :func:`as_array`)."""
    return hasattr(values.dtype, "tz") or str(values.dtype).startswith("datetime64")


def _is_string_type(arrow_type: Any) -> bool:
    return str(arrow_type) in ("string", "large_string", "string_view")


def columns(
    table: Any,
    names: Sequence[str],
    *,
    optional: Iterable[str] = (),
    what: str = "table",
    assume_tz: str | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Read columns *names* (required) and *optional* (if present) from *table*.

    *table* may be a mapping of column name to values, a pandas, polars or
    pyarrow table, or an autoops table (anything with ``_columns()``). Temporal
    columns come out as UTC ``datetime64[us]`` (see :func:`as_array`; *assume_tz*
    names the zone of naive ones).

    Raises:
        InvalidInput: a required column is missing; the message lists those present.

    Examples:
        >>> cols = columns({"one_id": [1, 2], "event": ["lead", "visit"]}, ["one_id", "event"])
        >>> cols["event"]
        array(['lead', 'visit'], dtype=object)
        >>> columns({"one_id": [1]}, ["one_id", "ts"], what="events")
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: ts: events has no column 'ts'; available: one_id [missing_column]
    """
    source = source_columns(table)
    out: dict[str, npt.NDArray[Any]] = {}
    for name in names:
        if name not in source:
            available = ", ".join(sorted(source)) or "(none)"
            msg = f"{what} has no column {name!r}; available: {available}"
            raise InvalidInput(msg, field=name, code="missing_column")
        out[name] = as_array(source[name], field=name, assume_tz=assume_tz)
    for name in optional:
        if name in source:
            out[name] = as_array(source[name], field=name, assume_tz=assume_tz)
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise InvalidInput(f"{what} columns differ in length: {sorted(lengths)}", code="ragged")
    return out


def source_columns(table: Any) -> Mapping[str, Any]:
    """The columns of *table* by name, unconverted (pandas/polars/arrow columns stay as they are).

    Examples:
        >>> sorted(source_columns({"b": [1], "a": [2]}))
        ['a', 'b']
    """
    if isinstance(table, Tabular):
        return table._columns()
    if isinstance(table, Mapping):
        return table
    module = type(table).__module__.split(".")[0]
    if module == "pandas":
        return {str(c): table[c] for c in table.columns}
    if module == "polars":
        return {c: table.get_column(c) for c in table.columns}
    if module == "pyarrow":
        return {c: table.column(c) for c in table.column_names}
    msg = (
        f"cannot read columns from {type(table).__name__}; pass a mapping of arrays "
        "or a pandas, polars or pyarrow table"
    )
    raise InvalidInput(msg, code="unsupported_table")


def factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Integer codes and the sorted unique values; ``None`` gets code -1.

    Hash-based (see :mod:`autoops._factorize`), then the few distinct values are
    sorted so that codes follow the values' order. A long column holding a few
    objects many times (:func:`~autoops._factorize.few_objects`) is numbered by
    object, and only the objects' values are hashed.

    Examples:
        >>> codes, uniques = factorize(np.array(["b", None, "a", "b"], dtype=object))
        >>> codes.tolist(), uniques.tolist()
        ([1, -1, 0, 1], ['a', 'b'])
        >>> factorize(np.array([None, None], dtype=object))[0].tolist()
        [-1, -1]
    """
    if values.dtype != object:
        uniques, inverse = np.unique(values, return_inverse=True)
        return inverse.astype(np.int64), uniques
    few = few_objects(values)
    if few is None:
        return _in_value_order(*factorize_objects(values))
    # a few objects over many rows: only their values are factorised, in the order of
    # their first rows (the codes and values a hash of every row gives), and each row
    # then reads its object's code
    at, objects, first = few
    by_first = np.argsort(first, kind="stable")
    by_object = np.empty(len(objects), dtype=np.int64)
    by_object[by_first], distinct = factorize_objects(objects[by_first])
    object_codes, distinct = _in_value_order(by_object, distinct)
    codes: npt.NDArray[np.int64] = take(object_codes, at)
    return codes, distinct


def _in_value_order(
    codes: npt.NDArray[np.int64], distinct: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """*codes* renumbered so that they follow the order of the *distinct* values' text."""
    if len(distinct) == 0:  # empty, or every value None
        return codes, distinct
    order = np.argsort(distinct.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    sorted_codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return sorted_codes, distinct[order]


class Tabular:
    """Mixin for column-holding classes: ``to_pandas()``, ``to_polars()``, ...

    Subclasses implement ``_columns()`` returning equal-length numpy arrays.
    ``datetime64`` columns hold UTC and come out timezone-aware, in the zone that
    ``_time_zone()`` names: UTC, unless the table counts calendar periods of another
    zone (retention, actives, funnel trends), whose starts then read as local
    midnights (a January cohort in Shanghai is ``2026-01-01 00:00+08:00``, the same
    instant as ``2025-12-31 16:00 UTC``).
    """

    __slots__ = ()

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        raise NotImplementedError

    def _time_zone(self) -> str:
        """The zone of the datetime columns' output (an IANA name)."""
        return "UTC"

    def __len__(self) -> int:
        cols = self._columns()
        return len(next(iter(cols.values()))) if cols else 0

    def to_dicts(self) -> list[dict[str, Any]]:
        """Rows as plain dicts (timestamps as aware datetimes, see :class:`Tabular`).

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=5, seed=1).people.to_dicts()[0]["person_id"]
            0
        """
        from zoneinfo import ZoneInfo

        from autoops._time import to_datetime

        tz = self._time_zone()
        zone = None if tz == "UTC" else ZoneInfo(tz)
        cols = self._columns()
        converted: dict[str, list[Any]] = {}
        for name, arr in cols.items():
            if arr.dtype.kind == "M":
                stamps = [None if np.isnat(v) else to_datetime(v) for v in arr]
                converted[name] = (
                    stamps if zone is None else [s and s.astimezone(zone) for s in stamps]
                )
            else:
                converted[name] = arr.tolist()
        return [
            dict(zip(converted, row, strict=True)) for row in zip(*converted.values(), strict=True)
        ]

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs the ``[pandas]`` extra).

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=5, seed=1).people.to_pandas().shape[0]
            5
        """
        pd = require("pandas", "pandas")
        tz = self._time_zone()
        data: dict[str, Any] = {}
        for name, arr in self._columns().items():
            if arr.dtype.kind == "M":
                data[name] = pd.Series(arr).dt.tz_localize("UTC").dt.tz_convert(tz)
            else:
                data[name] = arr
        return pd.DataFrame(data)

    def to_polars(self) -> Any:
        """A polars DataFrame (needs the ``[polars]`` extra).

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=5, seed=1).people.to_polars().height
            5
        """
        pl = require("polars", "polars")
        series = []
        for name, arr in self._columns().items():
            s = pl.Series(name, arr.tolist() if arr.dtype == object else arr)
            if arr.dtype.kind == "M":
                s = s.dt.replace_time_zone("UTC").dt.convert_time_zone(self._time_zone())
            series.append(s)
        return pl.DataFrame(series)

    def to_arrow(self) -> Any:
        """A pyarrow Table (needs the ``[arrow]`` extra).

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=5, seed=1).people.to_arrow().num_rows
            5
        """
        pa = require("pyarrow", "arrow")
        arrays = {}
        for name, arr in self._columns().items():
            if arr.dtype.kind == "M":
                # (numpy's values are taken as UTC instants; the zone is how they read)
                arrays[name] = pa.array(arr, type=pa.timestamp("us", tz=self._time_zone()))
            else:
                arrays[name] = pa.array(arr.tolist() if arr.dtype == object else arr)
        return pa.table(arrays)
