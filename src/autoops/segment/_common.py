"""Shared input handling for the segmentation functions.

Every function in :mod:`autoops.segment` takes columns either as arrays
(numpy, pandas/polars series, lists) or as column *names* together with a
``data=`` table. This module turns both into numpy arrays once, at the edge,
groups person ids into dense codes without sorting when it can, converts
``as_of`` and windows to integer microseconds (UTC), and renders small summary
tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table
from autoops._masking import mask_value
from autoops._optional import require
from autoops._tabular import Tabular, as_array, columns, source_columns
from autoops._time import parse_duration, to_utc_us
from autoops.errors import InvalidInput
from autoops.segment._scan import (
    Coded,
    _identity_codes,
    category_lut,
    lut_take,
    text_codes,
)

__all__ = [
    "OUTBOUND_EVENTS",
    "Coded",
    "SummaryTable",
    "as_of_us",
    "display_id",
    "duration_us",
    "group_people",
    "person_codes",
    "private_touchpoints",
    "read_columns",
    "ts_us",
]

#: Outbound or system events: never person-initiated, never counted as activity.
OUTBOUND_EVENTS: tuple[str, ...] = ("push_sent", "message_delivered", "system")

_INT64_MIN = np.iinfo(np.int64).min


def coded(values: Any) -> Coded | None:
    """The codes and categories of a categorical / dictionary column, else ``None``."""
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        cat = getattr(values, "cat", None) if hasattr(values, "dtype") else None
        if cat is not None and str(values.dtype) == "category":
            codes = np.asarray(cat.codes.to_numpy())  # signed, as small as pandas made it
            cats = np.asarray(cat.categories.to_numpy(), dtype=object)
            return Coded(codes, np.array([str(c) for c in cats.tolist()], dtype=object))
        if type(values).__name__ == "Categorical":
            cats = np.asarray(values.categories.to_numpy(), dtype=object)
            return Coded(
                np.asarray(values.codes),
                np.array([str(c) for c in cats.tolist()], dtype=object),
            )
        return None
    if module == "polars":
        dtype_name = type(values.dtype).__name__
        if dtype_name in ("Categorical", "Enum"):
            try:
                return coded(values.to_arrow())
            except ImportError:  # no pyarrow: read as strings
                return None
        return None
    if module == "pyarrow":
        pa = require("pyarrow", "arrow")
        arr = values
        if isinstance(arr, pa.ChunkedArray):
            if not pa.types.is_dictionary(arr.type):
                return None
            arr = arr.unify_dictionaries().combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        if isinstance(arr, pa.DictionaryArray):
            idx = arr.indices
            codes = np.full(len(idx), -1, dtype=np.int64)
            valid = ~np.asarray(idx.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            codes[valid] = np.asarray(idx.drop_null().to_numpy(), dtype=np.int64)
            return Coded(codes, np.array(arr.dictionary.to_pylist(), dtype=object))
    return None


def read_columns(data: Any, what: str, *, text: Iterable[str] = (), **given: Any) -> dict[str, Any]:
    """Resolve each argument to a numpy array (or ``None`` when not given).

    With *data*, a string argument names a column of *data*; otherwise every
    argument is itself a column. Lengths must agree. Keys in *text* keep a
    categorical / dictionary column as :class:`Coded` instead of strings.
    """
    out: dict[str, Any] = {}
    text_keys = set(text)
    names = {key: value for key, value in given.items() if isinstance(value, str)}
    if names and data is None:
        key, value = next(iter(names.items()))
        msg = f"got the column name {value!r} but no data= table to read it from"
        raise InvalidInput(msg, field=key, code="missing_data")
    raw: Any = {}
    if names:
        raw = source_columns(data)
        plain = sorted(
            {v for k, v in names.items() if k not in text_keys or coded(raw.get(v)) is None}
        )
        read = columns(data, plain, what=what) if plain else {}
    for key, value in given.items():
        if value is None:
            out[key] = None
            continue
        source = raw.get(value) if isinstance(value, str) else value
        fast = coded(source) if key in text_keys and source is not None else None
        if fast is not None:
            out[key] = fast
        elif isinstance(value, str):
            out[key] = read[value]
        else:
            out[key] = as_array(value)
    lengths = {key: len(arr) for key, arr in out.items() if arr is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{key}={n}" for key, n in lengths.items())
        raise InvalidInput(f"{what} columns differ in length: {detail}", code="ragged")
    return out


def as_of_us(value: Any) -> int:
    """``as_of`` (aware datetime, ``numpy.datetime64`` taken as UTC, ISO string) in µs UTC."""
    if value is None:
        raise InvalidInput("as_of is required: the instant the segments describe", field="as_of")
    if isinstance(value, np.datetime64):
        arr = np.array([value]).astype("datetime64[us]")
    elif isinstance(value, datetime | str):
        arr = to_utc_us([value], field="as_of")
    else:
        arr = to_utc_us(as_array([value]) if not hasattr(value, "tz") else [value], field="as_of")
    out = int(arr.astype(np.int64)[0])
    if out == _INT64_MIN:
        raise InvalidInput("as_of must not be NaT", field="as_of")
    return out


def ts_us(
    values: npt.NDArray[Any], *, field: str = "ts", allow_nat: bool = False
) -> npt.NDArray[np.int64]:  # allow_nat=True also when the caller checks (window_groups)
    """Timestamps as int64 µs UTC; NaT is an error naming the first row unless allowed."""
    if isinstance(values, np.ndarray) and values.dtype == np.dtype("datetime64[us]"):
        arr = values.view(np.int64)  # read-only use: no copy
    else:
        arr = to_utc_us(values, field=field).astype(np.int64)
    if not allow_nat and arr.size and arr.min() == _INT64_MIN:  # NaT is the int64 minimum
        nat = arr == _INT64_MIN
        if nat.any():
            bad = np.flatnonzero(nat)
            raise InvalidInput("missing timestamp (NaT)", field=field, row=int(bad[0]), code="nat")
    return arr


def duration_us(value: str | timedelta | np.timedelta64, *, key: str) -> int:
    """A positive duration (``"30d"``, ``timedelta``) in microseconds."""
    return int(parse_duration(value, key=key) // timedelta(microseconds=1))


def group_people(
    *arrays: npt.NDArray[Any] | None, fields: Sequence[str] = ()
) -> tuple[npt.NDArray[Any], list[npt.NDArray[np.int64] | None]]:
    """Sorted distinct person ids over all *arrays* and each array's codes into them.

    Integers with a compact range are grouped by a presence table (linear
    time); other integers by sorting; strings by sorting their ``str`` values.
    ``None`` (or NaN) is refused with an error naming the field and the row.
    """
    present = [a for a in arrays if a is not None]
    names = list(fields) + [f"person{i}" for i in range(len(fields), len(arrays))]
    for arr, name in zip(arrays, names, strict=False):
        if arr is None:
            continue
        if arr.dtype.kind == "f":
            bad = np.flatnonzero(np.isnan(arr))
            if bad.size:
                raise InvalidInput(
                    "missing person id", field=name, row=int(bad[0]), code="null_person"
                )
        if arr.dtype == object:
            bad = np.flatnonzero(np.array([v is None for v in arr.tolist()], dtype=bool))
            if bad.size:
                raise InvalidInput(
                    "missing person id", field=name, row=int(bad[0]), code="null_person"
                )
    if not present:
        return np.empty(0, dtype=np.int64), [None for _ in arrays]
    kinds = {a.dtype.kind for a in present if a.size} or {"i"}
    if kinds <= {"i", "u", "b"}:
        ints = [a if a.dtype == np.int64 else a.astype(np.int64) for a in present]
        uniques, codes = _group_ints(ints)
    elif kinds <= {"i", "u", "b", "f"}:
        floats = [a.astype(np.float64, copy=False) for a in present]
        flat = np.concatenate(floats) if len(floats) > 1 else floats[0]
        uniques, inverse = np.unique(flat, return_inverse=True)
        codes = _split(inverse.astype(np.int64), [len(a) for a in floats])
    else:
        texts = []
        for arr, name in zip(arrays, names, strict=False):
            if arr is None:
                continue
            if arr.dtype.kind not in "OUS" and arr.size:
                msg = "person ids mix numbers and strings across inputs"
                raise InvalidInput(msg, field=name, code="mixed_person")
            texts.append(arr.astype(str))
        flat = np.concatenate(texts) if len(texts) > 1 else texts[0]
        uniques, inverse = np.unique(flat, return_inverse=True)
        uniques = uniques.astype(object)
        codes = _split(inverse.astype(np.int64), [len(a) for a in texts])
    it = iter(codes)
    return uniques, [None if a is None else next(it) for a in arrays]


def _split(inverse: npt.NDArray[np.int64], sizes: list[int]) -> list[npt.NDArray[np.int64]]:
    bounds = np.cumsum([0, *sizes])
    return [inverse[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]


def _group_ints(
    ints: list[npt.NDArray[np.int64]],
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.int64]]]:
    total = sum(len(a) for a in ints)
    nonempty = [a for a in ints if a.size]
    if not nonempty:
        return np.empty(0, dtype=np.int64), [np.empty(0, dtype=np.int64) for _ in ints]
    lo = min(int(a.min()) for a in nonempty)
    hi = max(int(a.max()) for a in nonempty)
    span = hi - lo + 1
    if span <= 4 * total + 1024:
        seen = np.zeros(span, dtype=bool)
        for a in nonempty:
            seen[a - lo] = True
        uniques = np.flatnonzero(seen).astype(np.int64) + lo
        rank = np.cumsum(seen, dtype=np.int64) - 1
        if lo == 0:
            return uniques, [rank[a] for a in ints]
        return uniques, [rank[a - lo] for a in ints]
    flat = np.concatenate(ints) if len(ints) > 1 else ints[0]
    uniques, inverse = np.unique(flat, return_inverse=True)
    return uniques.astype(np.int64), _split(inverse.astype(np.int64), [len(a) for a in ints])


def person_codes(
    person: npt.NDArray[Any], universe: npt.NDArray[Any] | None, fields: Sequence[str]
) -> tuple[npt.NDArray[Any], Callable[[npt.NDArray[np.int64] | None], npt.NDArray[np.int64]]]:
    """Sorted distinct ids of *person* and *universe*, and a function giving codes of rows.

    The same grouping as :func:`group_people`, but codes are only computed for
    the rows a caller asks for (``None`` = all): integer ids in a compact
    range are found by one scatter into a presence table, and only the rows
    that survive the filters are then looked up.
    """
    arrays = [a for a in (person, universe) if a is not None]
    if arrays and all(a.dtype.kind in "iub" for a in arrays):
        ints = [a if a.dtype == np.int64 else a.astype(np.int64) for a in arrays]
        nonempty = [a for a in ints if a.size]
        if nonempty:
            lo = min(int(a.min()) for a in nonempty)
            hi = max(int(a.max()) for a in nonempty)
            total = sum(a.size for a in ints)
            below = max(0, -lo)  # negative ids live at the end (numpy's negative indexing)
            size = max(hi, -1) + 1 + below
            if size <= 4 * total + 1024 and lo >= -1024:
                seen = np.zeros(size, dtype=bool)
                for arr in nonempty:
                    seen[arr] = True
                ordered = np.concatenate([seen[size - below :], seen[: size - below]])
                rank_sorted = np.cumsum(ordered, dtype=np.int64) - 1
                ids = np.flatnonzero(ordered).astype(np.int64) - below
                rank = np.concatenate([rank_sorted[below:], rank_sorted[:below]])
                column = ints[0]

                def lookup(rows: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64]:
                    out: npt.NDArray[np.int64] = rank[column if rows is None else column[rows]]
                    return out

                return ids, lookup
    ids, (codes, _) = group_people(person, universe, fields=fields)
    assert codes is not None
    all_codes = codes

    def given(rows: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64]:
        return all_codes if rows is None else all_codes[rows]

    return ids, given


class RowMap:
    """Maps person ids to rows of a table of distinct ids (-1 when absent).

    Integer ids in a compact range use a lookup table, so only the rows that
    survive earlier (cheap) filters are ever mapped.
    """

    def __init__(self, ids: npt.NDArray[Any]) -> None:
        self.ids = ids
        self.table: npt.NDArray[np.int64] | None = None
        self.lo = 0
        #: ids are ``lo, lo + 1, ...`` (row = id - lo): no table, distinct for sure
        self.consecutive = False
        if ids.dtype.kind == "i" and ids.size:
            lo = int(ids[0])
            if int(ids[-1]) - lo == ids.size - 1 and bool(np.all(ids[1:] > ids[:-1])):
                self.lo, self.consecutive = lo, True
                return
        if ids.dtype.kind in "iu" and ids.size:
            lo, hi = int(ids.min()), int(ids.max())
            if hi - lo + 1 <= 4 * ids.size + 1024:
                self.lo = lo
                self.table = np.full(hi - lo + 1, -1, dtype=np.int64)
                self.table[ids - lo] = np.arange(ids.size, dtype=np.int64)

    def distinct(self, ids: npt.NDArray[Any]) -> bool:
        """Whether *ids* (the ids the map was built from) are all different.

        ``True`` is certain; ``False`` means "check": without a lookup table
        nothing was learnt.
        """
        if self.consecutive:
            return True
        if self.table is None or not len(ids):
            return self.table is not None
        back = self.table[ids.astype(np.int64, copy=False) - self.lo]
        return bool(np.array_equal(back, np.arange(ids.size, dtype=np.int64)))

    def rows(self, person: npt.NDArray[Any], field: str) -> npt.NDArray[np.int64]:
        """The row of each id in *person* (-1 for ids not in the table)."""
        signed = self.ids.dtype.kind == "i" and (self.consecutive or self.table is not None)
        if signed and person.dtype.kind == "u":
            beyond = person > np.iinfo(np.int64).max  # no such (signed) person id
            unsigned_rows = self.rows(person.astype(np.int64), field)
            if beyond.any():
                unsigned_rows[beyond] = -1
            return unsigned_rows
        if self.consecutive and person.dtype.kind == "i":
            # wrapping subtraction, unsigned test: exactly lo <= id < lo + size
            local = person.astype(np.int64, copy=False) - np.int64(self.lo)
            found_rows: npt.NDArray[np.int64] = np.where(
                local.view(np.uint64) < self.ids.size, local, np.int64(-1)
            )
            return found_rows
        if self.table is not None and person.dtype.kind in "iu":
            inside_all = (
                person.dtype.kind == "i"
                and person.size
                and int(person.min()) >= self.lo
                and int(person.max()) - self.lo < self.table.size
            )
            if inside_all:  # every id inside the table: one lookup per row
                found: npt.NDArray[np.int64] = (
                    self.table[person] if self.lo == 0 else self.table[person - self.lo]
                )
                return found
            local = person.astype(np.int64, copy=False) - self.lo
            inside = local.view(np.uint64) < self.table.size  # negatives wrap to huge
            out: npt.NDArray[np.int64] = np.where(
                inside, self.table.take(local, mode="clip"), np.int64(-1)
            )
            return out
        uniques, (pcodes, ecodes) = group_people(self.ids, person, fields=("person_id", field))
        assert pcodes is not None and ecodes is not None
        row_of = np.full(len(uniques), -1, dtype=np.int64)
        row_of[pcodes] = np.arange(self.ids.size, dtype=np.int64)
        mapped: npt.NDArray[np.int64] = row_of[ecodes]
        return mapped


def private_touchpoints() -> tuple[str, ...]:
    """Values of the private-domain touchpoint kinds (``TouchpointKind.domain``)."""
    from autoops.models import Domain, TouchpointKind

    return tuple(kind.value for kind in TouchpointKind if kind.domain is Domain.PRIVATE)


def isin_text(values: npt.NDArray[Any] | Coded, wanted: Iterable[str]) -> npt.NDArray[np.bool_]:
    """Vectorised membership of a text column in a few strings.

    One lookup per category for a :class:`Coded` column; a long object column
    is dictionary-encoded first (:func:`text_codes`), so each row costs an
    integer lookup, not a string comparison per wanted name.
    """
    names = list(wanted)
    if not isinstance(values, Coded) and len(values) >= 4096:
        enc = _identity_codes(values, None)
        if enc is not None:
            values = enc
    if isinstance(values, Coded):
        matched: npt.NDArray[np.bool_] = lut_take(category_lut(values, [names]), values.codes) >= 0
        return matched
    if len(names) >= 2 and len(values) >= 100_000 and _plain_strings(values):
        pd = _pandas()
        if pd is not None:  # one hash lookup per row instead of one comparison per name
            found: npt.NDArray[np.bool_] = (
                pd.Series(values, dtype=object, copy=False).isin(names).to_numpy()
            )
            return found
    out = np.zeros(len(values), dtype=bool)
    for item in names:
        out |= values == item
    return out


def _pandas() -> Any:
    """pandas if installed (an optional speed-up for object columns), else ``None``."""
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is an optional extra
        return None
    return pandas


def _plain_strings(values: npt.NDArray[Any]) -> bool:
    # hash-based lookups need exact str (a str Enum hashes by name); check a sample
    if values.dtype != object:
        return False
    step = max(len(values) // 64, 1)
    return all(type(v) is str or v is None for v in values[::step].tolist())


def factorize_text(values: npt.NDArray[Any] | Coded) -> Coded | None:
    """Dictionary-encode a text column (``None`` when it does not hold strings)."""
    if isinstance(values, Coded):
        return values
    if values.dtype.kind in "US":
        return text_codes(values.astype(object))
    if not _plain_strings(values):
        return None
    return text_codes(values)


def present_names(values: npt.NDArray[Any] | Coded) -> list[str]:
    """The distinct strings of a text column (for error messages)."""
    if isinstance(values, Coded):
        used = np.unique(values.codes[values.codes >= 0])
        return sorted(str(v) for v in values.categories[used].tolist())
    return sorted({str(v) for v in set(values.tolist()) if v is not None})


def display_id(value: object) -> str:
    """A person id for display: integers as is, strings masked."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    return mask_value(value)


@attrs.frozen(slots=True, repr=False)
class SummaryTable(Tabular):
    """A small table of headline figures returned by every ``summary()``.

    Behaves like the other autoops tables: ``to_pandas()``, ``to_polars()``,
    ``to_dicts()``, ``len()``; prints as aligned text and renders as HTML in a
    notebook.

    Examples:
        >>> import numpy as np
        >>> t = SummaryTable("tiers", {"tier": np.array(["high", "low"], dtype=object),
        ...                            "people": np.array([3, 5])})
        >>> print(t)
        tiers
        tier  people
        high       3
        low        5
        >>> t.to_dicts()[1]
        {'tier': 'low', 'people': 5}
    """

    title: str
    data: Mapping[str, npt.NDArray[Any]]

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return dict(self.data)

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows as tuples of Python values.

        Examples:
            >>> import numpy as np
            >>> SummaryTable("t", {"a": np.array([1, 2])}).rows()
            [(1,), (2,)]
        """
        cols = [arr.tolist() for arr in self.data.values()]
        return list(zip(*cols, strict=True))

    def __str__(self) -> str:
        headers = list(self.data)
        cells = [[_fmt(v) for v in row] for row in self.rows()]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
        head = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
        lines = [self.title, head.rstrip()]
        for row in cells:
            parts = []
            for i, (value, width) in enumerate(zip(row, widths, strict=True)):
                numeric = self.data[headers[i]].dtype.kind in "iuf"
                parts.append(value.rjust(width) if numeric else value.ljust(width))
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return html_table(self.title, list(self.data), self.rows(), limit=50)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def count_table(
    title: str, label: str, labels: Sequence[str], values: npt.NDArray[Any]
) -> SummaryTable:
    """People per label, in the order of *labels*, with shares."""
    idx = _label_codes(values, labels)
    counts = np.bincount(idx, minlength=len(labels)).astype(np.int64)
    total = counts.sum()
    share = counts / total if total else np.full(len(labels), np.nan)
    return SummaryTable(
        title,
        {label: np.array(list(labels), dtype=object), "people": counts, "share": share},
    )


def _label_codes(values: npt.NDArray[Any], labels: Sequence[str]) -> npt.NDArray[np.int64]:
    out = np.full(len(values), -1, dtype=np.int64)
    for i, name in enumerate(labels):
        out[values == name] = i
    if (out < 0).any():
        missing = sorted({str(v) for v in values[out < 0].tolist()})
        raise InvalidInput(f"unexpected labels {missing}", code="unexpected_label")
    return out
