"""Shared input handling for the segmentation functions.

Every function in :mod:`autoops.segment` takes columns either as arrays
(numpy, pandas/polars series, lists) or as column *names* together with a
``data=`` table. This module turns both into numpy arrays once, at the edge,
groups person ids into dense codes without sorting when it can, converts
``as_of`` and windows to integer microseconds (UTC), and renders small summary
tables.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table
from autoops._factorize import factorize_objects
from autoops._masking import mask_value
from autoops._optional import require
from autoops._tabular import Tabular, as_array, columns, source_columns
from autoops._time import parse_duration, to_utc_us
from autoops.errors import InvalidInput

__all__ = [
    "OUTBOUND_EVENTS",
    "Coded",
    "SummaryTable",
    "as_of_us",
    "background",
    "display_id",
    "duration_us",
    "group_people",
    "person_codes",
    "private_touchpoints",
    "read_columns",
    "text_codes",
    "text_groups",
    "time_rows",
    "ts_us",
    "window_groups",
]

#: Outbound or system events: never person-initiated, never counted as activity.
OUTBOUND_EVENTS: tuple[str, ...] = ("push_sent", "message_delivered", "system")

_INT64_MIN = np.iinfo(np.int64).min
T = TypeVar("T")


@attrs.frozen(slots=True)
class Coded:
    """A dictionary-encoded text column: integer codes (-1 = missing) into categories.

    Read from pandas/polars categoricals and arrow dictionary arrays, so that
    matching a few names costs one lookup per category, not per row.
    """

    codes: npt.NDArray[np.int64]
    categories: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Coded:
        return Coded(self.codes[index], self.categories)

    def to_objects(self) -> npt.NDArray[Any]:
        """The column as an object array of ``str`` / ``None``."""
        table = np.empty(len(self.categories) + 1, dtype=object)
        table[:-1] = self.categories
        out: npt.NDArray[Any] = table[self.codes]
        return out


def coded(values: Any) -> Coded | None:
    """The codes and categories of a categorical / dictionary column, else ``None``."""
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        cat = getattr(values, "cat", None) if hasattr(values, "dtype") else None
        if cat is not None and str(values.dtype) == "category":
            codes = np.asarray(cat.codes.to_numpy(), dtype=np.int64)
            cats = np.asarray(cat.categories.to_numpy(), dtype=object)
            return Coded(codes, np.array([str(c) for c in cats.tolist()], dtype=object))
        if type(values).__name__ == "Categorical":
            cats = np.asarray(values.categories.to_numpy(), dtype=object)
            return Coded(
                np.asarray(values.codes, dtype=np.int64),
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
        if self.table is None or not len(ids):
            return self.table is not None
        back = self.table[ids.astype(np.int64, copy=False) - self.lo]
        return bool(np.array_equal(back, np.arange(ids.size, dtype=np.int64)))

    def rows(self, person: npt.NDArray[Any], field: str) -> npt.NDArray[np.int64]:
        """The row of each id in *person* (-1 for ids not in the table)."""
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


def not_none(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Per row: the value is not ``None`` (an identity test; NaN counts as present)."""
    addr = _addresses(values)
    if addr is not None:
        found: npt.NDArray[np.bool_] = addr != np.uint64(id(None))
        return found
    return np.asarray(values != None, dtype=bool)  # noqa: E711 - elementwise, not identity


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
        return category_lut(values, [names])[values.codes] >= 0
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


def category_lut(enc: Coded, groups: Sequence[Sequence[str]]) -> npt.NDArray[np.int64]:
    """Per category (plus a trailing slot for code -1): the first group naming it, else -1.

    ``category_lut(enc, groups)[enc.codes]`` is then each row's group.
    """
    lut = np.full(len(enc.categories) + 1, -1, dtype=np.int64)
    for j in range(len(groups) - 1, -1, -1):
        hit = np.zeros(len(enc.categories), dtype=bool)
        for item in groups[j]:
            hit |= np.asarray(enc.categories == item, dtype=bool)
        lut[:-1][hit] = j
    return lut


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


#: the most distinct objects the identity pass keeps before handing over to hashing
_SMALL_VOCABULARY = 1024
_SAMPLE = 4096


def _addresses(values: npt.NDArray[Any]) -> npt.NDArray[np.uint64] | None:
    """The object pointers of a contiguous object array, as a read-only uint64 view.

    Only identity is read from them: equal addresses mean the same object, so
    the same value. The view borrows *values*' buffer; callers keep *values*
    alive while they use it.
    """
    if (
        not isinstance(values, np.ndarray)
        or values.dtype != object
        or not values.flags.c_contiguous
        or len(values) == 0
        or ctypes.sizeof(ctypes.c_void_p) != 8
    ):
        return None
    buf = (ctypes.c_uint64 * len(values)).from_address(values.ctypes.data)
    view: npt.NDArray[np.uint64] = np.frombuffer(memoryview(buf).cast("B"), dtype=np.uint64)
    view.flags.writeable = False
    return view


_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)


def _perfect_hash(keys: npt.NDArray[np.uint64]) -> tuple[np.uint64, np.uint64, int] | None:
    """(multiplier, shift, bits): ``(key * multiplier) >> shift`` is distinct for every key."""
    for bits in range(max(1, (len(keys) - 1).bit_length()) + 1, 17):
        shift = np.uint64(64 - bits)
        for mult in _MULTIPLIERS:
            m = np.uint64(mult)
            if len(np.unique((keys * m) >> shift)) == len(keys):
                return m, shift, bits
    return None


def _identity_lookup(
    values: npt.NDArray[Any],
    rows: npt.NDArray[np.int64] | None,
    groups: Sequence[Sequence[str]] | None,
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[Any]] | None:
    """Codes (or, with *groups*, group numbers) of ``values[rows]`` from object identity.

    Text columns built from a vocabulary (``vocab[codes]``, a categorical read
    as objects, strings interned by a parser) hold few distinct objects. The
    distinct addresses of a sample get a collision-free multiplicative hash
    into a small table; every row is then looked up in cache-sized blocks,
    and its address checked against the table, so no object is dereferenced
    per row. Only the distinct objects are factorised by value (with
    :func:`autoops._factorize.factorize_objects`), so equal strings held by
    different objects still share a code; addresses the sample missed are
    found by the check and coded after the loop. ``None`` when the column
    holds many distinct objects (then hashing each value is the better way).
    """
    addr = _addresses(values)
    if addr is None:
        return None
    m = len(addr) if rows is None else len(rows)
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    step = max(1, m // _SAMPLE)
    sample_rows = np.arange(0, m, step, dtype=np.int64)
    sample = addr[sample_rows] if rows is None else addr[rows[sample_rows]]
    uniq, first = np.unique(sample, return_index=True)
    if len(uniq) > _SMALL_VOCABULARY:
        return None
    found = _perfect_hash(uniq)
    if found is None:  # pragma: no cover - four multipliers and up to 16 bits always suffice
        return None
    mult, shift, bits = found
    rep = sample_rows[first]
    objects = values[rep] if rows is None else values[rows[rep]]
    value_codes, categories = factorize_objects(objects)
    out_of_code = _group_table(categories, groups)
    slots = (uniq * mult) >> shift
    keys = np.zeros(1 << bits, dtype=np.uint64)  # no object lives at address 0
    keys[slots] = uniq
    # group numbers are few: one byte per row keeps the output (and what reads it) small
    small = groups is not None and len(groups) < 127
    kind = np.int8 if small else np.int64
    table = np.full(1 << bits, -1, dtype=kind)
    table[slots] = out_of_code[value_codes]
    out = np.empty(m, dtype=kind)

    def scan(a: int, b: int) -> list[npt.NDArray[np.int64]]:
        tmp = np.empty(min(b - a, _BLOCK), dtype=np.uint64)
        found: list[npt.NDArray[np.int64]] = []
        for s in range(a, b, _BLOCK):
            e = min(s + _BLOCK, b)
            block = addr[s:e] if rows is None else addr[rows[s:e]]
            slot = tmp[: e - s]
            np.multiply(block, mult, out=slot)
            np.right_shift(slot, shift, out=slot)
            index = slot.view(np.int64)
            bad = keys.take(index) != block
            table.take(index, out=out[s:e])
            if bad.any():
                found.append(np.flatnonzero(bad) + s)
        return found

    misses = [part for found in run_ranges(m, scan) for part in found]
    if not misses:
        return out, categories
    miss = np.concatenate(misses)
    if miss.size > max(_SAMPLE, m // 8):
        return None
    at = miss if rows is None else rows[miss]
    extra, first, inverse = np.unique(addr[at], return_index=True, return_inverse=True)
    if len(uniq) + len(extra) > _SMALL_VOCABULARY:
        return None
    # the new objects may equal known values: factorise known values and new objects together
    both, merged = factorize_objects(np.concatenate([categories, values[at[first]]]))
    known = both[: len(categories)]
    if not np.array_equal(known, np.arange(len(categories))):  # pragma: no cover - codes keep order
        return None
    new_out = _group_table(merged, groups)[both[len(categories) :]]
    out[miss] = new_out[inverse.reshape(-1)]
    return out, merged


class _IdentityTable:
    """The identity lookup of one object column: sampled addresses → group number.

    Built from a strided sample of the column; :meth:`lookup` maps a block of
    addresses to group numbers (int8) and flags the addresses the sample did
    not see, which the caller resolves by value afterwards.
    """

    def __init__(self, values: npt.NDArray[Any], groups: Sequence[Sequence[str]]) -> None:
        self.ok = False
        addr = _addresses(values)
        if addr is None or len(groups) >= 127:
            return
        self.values, self.addr, self.groups = values, addr, groups
        step = max(1, len(addr) // _SAMPLE)
        uniq, first = np.unique(addr[::step], return_index=True)
        found = _perfect_hash(uniq) if len(uniq) <= _SMALL_VOCABULARY else None
        if found is None:
            return
        self.mult, self.shift, bits = found
        value_codes, categories = factorize_objects(values[first * step])
        slots = (uniq * self.mult) >> self.shift
        self.keys = np.zeros(1 << bits, dtype=np.uint64)  # no object lives at address 0
        self.keys[slots] = uniq
        self.table = np.full(1 << bits, -1, dtype=np.int8)
        self.table[slots] = _group_table(categories, groups)[value_codes]
        self.ok = True

    def lookup(
        self, block: npt.NDArray[np.uint64], tmp: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
        """Group numbers of a block of addresses, and which addresses were unknown."""
        slot = tmp[: len(block)]
        np.multiply(block, self.mult, out=slot)
        np.right_shift(slot, self.shift, out=slot)
        index = slot.view(np.int64)
        bad: npt.NDArray[np.bool_] = self.keys.take(index) != block
        out: npt.NDArray[np.int8] = self.table.take(index)
        return out, bad

    def by_value(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
        """Group numbers of *rows* found by value (for the addresses the sample missed)."""
        codes, categories = factorize_objects(self.values[rows])
        lut = category_lut(Coded(codes, categories), self.groups).astype(np.int8)
        found: npt.NDArray[np.int8] = lut[codes]
        return found


#: rows kept in one block and their group numbers per text column
_Part = tuple[npt.NDArray[np.int64], list[npt.NDArray[np.integer[Any]]]]


def window_groups(
    times: npt.NDArray[np.int64],
    hi: int,
    lo: int | None,
    texts: Sequence[tuple[npt.NDArray[Any] | Coded, Sequence[Sequence[str]]]],
    *,
    field: str = "ts",
    select: Callable[[list[npt.NDArray[np.integer[Any]]]], npt.NDArray[np.bool_]] | None = None,
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.integer[Any]]]]:
    """Rows with ``lo <= times <= hi`` and, per text column, their group numbers.

    One fused pass: each cache-sized block of *times* is filtered and the
    text columns are looked up (by identity, :class:`_IdentityTable`) only at
    the rows kept, split between threads for long inputs. With *select*
    (group arrays → mask) only the rows it accepts are returned, decided block
    by block. ``NaT`` is an error naming the first such row. Columns that
    cannot be looked up by identity are encoded after the time filter with
    :func:`text_groups`.
    """
    tables = [_IdentityTable(v, g) if not isinstance(v, Coded) else None for v, g in texts]
    if not all(t is not None and t.ok for t in tables):
        _check_nat(times, field)
        rows = time_rows(times, hi, lo)
        if rows is None:
            rows = np.arange(len(times), dtype=np.int64)
        found = [text_groups(v, g, rows) for v, g in texts]
        if select is None:
            return rows, found
        mask = select(found)
        return rows[mask], [g[mask] for g in found]
    ready = [t for t in tables if t is not None]
    n = len(times)
    start = lo if lo is not None else np.iinfo(np.int64).min
    if hi < start:
        return np.zeros(0, dtype=np.int64), [np.zeros(0, dtype=np.int8) for _ in texts]
    span = np.uint64(hi - start)
    base = np.int64(start)

    def scan(a: int, b: int) -> list[_Part] | int:
        parts: list[_Part] = []
        tmp = np.empty(min(b - a, _BLOCK), dtype=np.int64)
        slots = np.empty(min(b - a, _BLOCK), dtype=np.uint64)
        for s in range(a, b, _BLOCK):
            block = times[s : min(s + _BLOCK, b)]
            if block.min() == _INT64_MIN:
                return s + int(np.flatnonzero(block == _INT64_MIN)[0])
            d = tmp[: len(block)]
            np.subtract(block, base, out=d)
            inside = d.view(np.uint64) <= span
            whole = bool(inside.all())  # every row in the window: slices, not gathers
            idx = None if whole else np.flatnonzero(inside) + s
            groups: list[npt.NDArray[np.integer[Any]]] = []
            for t in ready:
                g, bad = t.lookup(t.addr[s : s + len(block)] if idx is None else t.addr[idx], slots)
                if bad.any():  # objects the sample missed: by value
                    at = np.flatnonzero(bad)
                    g[at] = t.by_value(at + s if idx is None else idx[at])
                groups.append(g)
            if select is not None:
                keep = select(groups)
                idx = np.flatnonzero(keep) + s if idx is None else idx[keep]
                groups = [g[keep] for g in groups]
            elif idx is None:
                idx = np.arange(s, s + len(block), dtype=np.int64)
            parts.append((idx, groups))
        return parts

    results = run_ranges(n, scan)
    nat = [r for r in results if isinstance(r, int)]
    if nat:
        raise InvalidInput("missing timestamp (NaT)", field=field, row=min(nat), code="nat")
    parts = [p for r in results if not isinstance(r, int) for p in r]
    if not parts:
        return np.zeros(0, dtype=np.int64), [np.zeros(0, dtype=np.int8) for _ in texts]
    rows = np.concatenate([p[0] for p in parts])
    return rows, [np.concatenate([p[1][j] for p in parts]) for j in range(len(ready))]


def _check_nat(times: npt.NDArray[np.int64], field: str) -> None:
    if times.size and times.min() == _INT64_MIN:
        row = int(np.flatnonzero(times == _INT64_MIN)[0])
        raise InvalidInput("missing timestamp (NaT)", field=field, row=row, code="nat")


def _group_table(
    categories: npt.NDArray[Any], groups: Sequence[Sequence[str]] | None
) -> npt.NDArray[np.int64]:
    """Output per category code, with ``[-1]`` (None) last: the code itself or its group."""
    if groups is None:
        return np.append(np.arange(len(categories), dtype=np.int64), -1)
    return category_lut(Coded(np.zeros(0, dtype=np.int64), categories), groups)


def _identity_codes(values: npt.NDArray[Any], rows: npt.NDArray[np.int64] | None) -> Coded | None:
    """:func:`_identity_lookup` as a :class:`Coded` column."""
    found = _identity_lookup(values, rows, None)
    if found is None:
        return None
    codes, categories = found
    return Coded(codes.astype(np.int64, copy=False), categories)


def text_codes(
    values: npt.NDArray[Any] | Coded, rows: npt.NDArray[np.int64] | None = None
) -> Coded:
    """Dictionary-encode ``values[rows]`` (all rows when *rows* is ``None``) once.

    A :class:`Coded` column is sliced; an object column with few distinct
    objects is grouped by identity (:func:`_identity_lookup`); anything else
    is hashed by :func:`autoops._factorize.factorize_objects`. Codes are
    ``-1`` for ``None``; values that compare equal share a code.
    """
    if isinstance(values, Coded):
        return values if rows is None else values[rows]
    fast = _identity_codes(values, rows)
    if fast is not None:
        return fast
    sub = values if rows is None else values[rows]
    codes, categories = factorize_objects(np.asarray(sub, dtype=object))
    return Coded(codes, categories)


def text_groups(
    values: npt.NDArray[Any] | Coded,
    groups: Sequence[Sequence[str]],
    rows: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.integer[Any]]:
    """Per row of ``values[rows]``: the index of the first group holding its value, else -1.

    The column is encoded once (:func:`text_codes`) and the groups are matched
    on its distinct values only. The result is a small integer type (int8
    for fewer than 127 groups).
    """
    if not isinstance(values, Coded):
        fast = _identity_lookup(values, rows, groups)
        if fast is not None:
            return fast[0]
    enc = text_codes(values, rows)
    lut = category_lut(enc, groups)
    if len(groups) < 127:
        lut = lut.astype(np.int8)
    out: npt.NDArray[np.integer[Any]] = lut[enc.codes]
    return out


def factorize_text(values: npt.NDArray[Any] | Coded) -> Coded | None:
    """Dictionary-encode a text column (``None`` when it does not hold strings)."""
    if isinstance(values, Coded):
        return values
    if values.dtype.kind in "US":
        return text_codes(values.astype(object))
    if not _plain_strings(values):
        return None
    return text_codes(values)


_BLOCK = 1 << 16


def time_rows(
    times: npt.NDArray[np.int64], hi: int, lo: int | None = None
) -> npt.NDArray[np.int64] | None:
    """Rows with ``lo <= times <= hi`` (``lo=None``: no lower edge); ``None`` if every row.

    Scans in cache-sized blocks with one unsigned comparison per row
    (``times - lo`` as uint64 is at most ``hi - lo`` exactly inside the
    window), so only *times* itself streams from memory.
    """
    n = len(times)
    if hi < (lo if lo is not None else hi):
        return np.zeros(0, dtype=np.int64)
    start = lo if lo is not None else np.iinfo(np.int64).min
    span = np.uint64(hi - start)
    base = np.int64(start)

    def scan(a: int, b: int) -> list[npt.NDArray[np.int64]] | None:
        parts: list[npt.NDArray[np.int64]] = []
        every = True
        tmp = np.empty(min(b - a, _BLOCK), dtype=np.int64)
        for s in range(a, b, _BLOCK):
            block = times[s : min(s + _BLOCK, b)]
            d = tmp[: len(block)]
            np.subtract(block, base, out=d)
            inside = d.view(np.uint64) <= span
            if every and inside.all():
                continue
            if every:  # the first block with a gap: earlier blocks were full
                parts = [np.arange(a, s, dtype=np.int64)]
                every = False
            hit = np.flatnonzero(inside)
            hit += s
            parts.append(hit)
        return None if every else parts

    ranges = split_ranges(n)
    results = run_ranges(n, scan, ranges)
    if all(found is None for found in results):
        return None
    pieces: list[npt.NDArray[np.int64]] = []
    for found, (a, b) in zip(results, ranges, strict=True):
        pieces.extend([np.arange(a, b, dtype=np.int64)] if found is None else found)
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


#: scans of at least this many rows are split between threads (numpy releases the GIL)
PARALLEL_MIN = 1 << 20
_POOL: list[ThreadPoolExecutor] = []


def _threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def split_ranges(n: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges, whole blocks each, one per thread for long scans."""
    threads = _threads() if n >= PARALLEL_MIN else 1
    if threads == 1:
        return [(0, n)]
    blocks = -(-n // _BLOCK)
    cuts = [min(n, (blocks * i // threads) * _BLOCK) for i in range(threads + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(threads) if cuts[i] < cuts[i + 1]]


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=3, thread_name_prefix="autoops-segment"))
    return _POOL[0]


def background(work: Callable[..., T], *args: Any) -> Future[T]:
    """Run ``work(*args)`` on the worker threads (inline when there is one core)."""
    if _threads() > 1:
        return _pool().submit(work, *args)
    done: Future[T] = Future()
    try:
        done.set_result(work(*args))
    except Exception as exc:  # delivered through the future, as from a thread
        done.set_exception(exc)
    return done


def run_ranges(
    n: int, work: Callable[[int, int], T], ranges: list[tuple[int, int]] | None = None
) -> list[T]:
    """``work(start, stop)`` over :func:`split_ranges`, the first range on this thread."""
    ranges = split_ranges(n) if ranges is None else ranges
    if len(ranges) == 1:
        return [work(*ranges[0])]
    later = [_pool().submit(work, a, b) for a, b in ranges[1:]]
    first = work(*ranges[0])
    return [first, *(f.result() for f in later)]


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
