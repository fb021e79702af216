"""Reading lead, event and dealer inputs into numpy columns, once, at the edge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._tabular import as_array, columns
from autoops._time import US, to_utc_us
from autoops.errors import InvalidInput
from autoops.leads._codes import codes_of
from autoops.leads._result import is_none

__all__ = ["read_leads", "read_leads_indexed", "read_table", "to_instant", "utc_scalar"]

_LEAD_FIELDS = (
    "lead_id",
    "created_at",
    "touchpoint",
    "name",
    "dealer_id",
    "series",
    "city",
    "province",
    "grade",
    "status",
    "stated_horizon_days",
)
_ID_FIELDS = ("phone", "device_id")


def _is_model_list(table: Any) -> bool:
    return (
        isinstance(table, Sequence)
        and not isinstance(table, str | bytes)
        and len(table) > 0
        and hasattr(table[0], "model_dump")
    )


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _models_to_columns(records: Sequence[Any]) -> dict[str, Any]:
    cols: dict[str, list[Any]] = {name: [] for name in (*_LEAD_FIELDS, *_ID_FIELDS)}
    for record in records:
        for name in _LEAD_FIELDS:
            value = _enum_value(getattr(record, name, None))
            if name == "stated_horizon_days" and value is None:
                value = -1
            cols[name].append(value)
        ids = getattr(record, "identifiers", None)
        for name in _ID_FIELDS:
            cols[name].append(getattr(ids, name, None) if ids is not None else None)
    out: dict[str, Any] = {k: np.array(v, dtype=object) for k, v in cols.items()}
    out["stated_horizon_days"] = np.array(cols["stated_horizon_days"], dtype=np.int64)
    out["created_at"] = to_utc_us(cols["created_at"], field="created_at")
    return out


def read_table(
    table: Any,
    names: Sequence[str],
    *,
    optional: Sequence[str] = (),
    what: str = "leads",
    times: Sequence[str] = (),
) -> dict[str, npt.NDArray[Any]]:
    """Columns of *table* (a mapping, a dataframe, an autoops table or ``Lead`` models).

    Timestamp columns named in *times* are converted to UTC ``datetime64[us]``;
    naive values are refused by :func:`autoops._time.to_utc_us`.
    """
    source: Any = _models_to_columns(table) if _is_model_list(table) else table
    if isinstance(table, Sequence) and not isinstance(table, str | bytes) and len(table) == 0:
        source = {name: np.array([], dtype=object) for name in (*names, *optional)}
    cols = columns(source, names, optional=optional, what=what)
    for name in times:
        if name in cols:
            cols[name] = to_utc_us(cols[name], field=name)
    return cols


def read_leads(
    leads: Any, names: Sequence[str], *, optional: Sequence[str] = ()
) -> dict[str, npt.NDArray[Any]]:
    """Lead columns with ``lead_id`` checked (present, unique) and times in UTC."""
    return read_leads_indexed(leads, names, optional=optional)[0]


def read_leads_indexed(
    leads: Any,
    names: Sequence[str],
    *,
    optional: Sequence[str] = (),
    probes: Sequence[npt.NDArray[Any]] = (),
) -> tuple[dict[str, npt.NDArray[Any]], list[npt.NDArray[np.int64]]]:
    """:func:`read_leads`, plus the lead row of every value in each of *probes* (-1: none).

    A hash join: the ids' Python hashes, sorted once, check that the ids are
    unique and look up the probes' hashes (``searchsorted``); a probe matches
    only when its value equals the id found, so a hash collision can never
    link a wrong lead. Ids whose hashes collide (never seen in practice) fall
    back to factorising ids and probes together.
    """
    cols = read_table(
        leads,
        ("lead_id", *names),
        optional=optional,
        what="leads",
        times=("created_at", "last_contact_at", "defeated_at"),
    )
    ids = cols["lead_id"].astype(object)
    n = len(ids)
    missing = np.flatnonzero(is_none(ids))
    if len(missing):
        raise InvalidInput("lead_id is missing", field="lead_id", row=int(missing[0]))
    probe_arrays = [np.asarray(p, dtype=object) for p in probes]
    hashes = _hashes(ids)
    if not probe_arrays:
        _check_unique(ids, hashes, np.sort(hashes))
        return _finish(cols, ids), []
    order = np.argsort(hashes)
    ordered = hashes[order]
    if _check_unique(ids, hashes, ordered):
        found = [_lookup(ids, order, ordered, p) for p in probe_arrays]
        return _finish(cols, ids), found
    codes, uniq = codes_of(np.concatenate([ids, *probe_arrays]))
    row_of = np.full(len(uniq) + 1, -1, dtype=np.int64)  # the last slot answers code -1
    row_of[codes[:n]] = np.arange(n, dtype=np.int64)
    found = []
    start = n
    for p in probe_arrays:
        found.append(row_of[codes[start : start + len(p)]])
        start += len(p)
    return _finish(cols, ids), found


def _hashes(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    return np.fromiter(map(hash, values), dtype=np.int64, count=len(values))


def _lookup(
    ids: npt.NDArray[Any],
    order: npt.NDArray[np.intp],
    ordered: npt.NDArray[np.int64],
    probe: npt.NDArray[Any],
) -> npt.NDArray[np.int64]:
    """Row of each probe value among *ids* (distinct hashes, sorted as *ordered*); -1: none."""
    out = np.full(len(probe), -1, dtype=np.int64)
    if not len(ordered) or not len(probe):
        return out
    h = _hashes(probe)
    by_hash = np.argsort(h)  # sorted queries make searchsorted walk forward (cache friendly)
    pos = np.empty(len(h), dtype=np.intp)
    pos[by_hash] = np.minimum(np.searchsorted(ordered, h[by_hash]), len(ordered) - 1)
    hit = np.flatnonzero(ordered[pos] == h)
    rows = order[pos[hit]]
    same = np.asarray(ids[rows] == probe[hit], dtype=bool)
    out[hit[same]] = rows[same]
    return out


def _check_unique(
    ids: npt.NDArray[Any], hashes: npt.NDArray[np.int64], ordered: npt.NDArray[np.int64]
) -> bool:
    """Raise on a repeated lead id, naming the first repeated id's first two rows.

    Distinct Python hashes prove distinct values, so only rows whose hash
    repeats (real duplicates, or a rare collision) are compared by value.
    Returns whether all hashes are distinct.
    """
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return True
    rows = np.flatnonzero(np.isin(hashes, repeated))
    codes, uniq = codes_of(ids[rows])
    if len(uniq) == len(rows):
        return False  # hash collisions only
    per_code = np.bincount(codes, minlength=len(uniq))
    twice = int(np.flatnonzero(per_code > 1)[0])
    pair = [int(r) for r in rows[np.flatnonzero(codes == twice)[:2]]]
    raise InvalidInput("duplicate lead_id", field="lead_id", row=pair)


def _finish(
    cols: dict[str, npt.NDArray[Any]], ids: npt.NDArray[Any]
) -> dict[str, npt.NDArray[Any]]:
    cols["lead_id"] = ids
    if "created_at" in cols:
        nat = np.flatnonzero(np.isnat(cols["created_at"]))
        if len(nat):
            raise InvalidInput("created_at is missing", field="created_at", row=int(nat[0]))
    if "stated_horizon_days" in cols:
        cols["stated_horizon_days"] = _int_column(cols["stated_horizon_days"])
    return cols


def _int_column(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), -1, values).astype(np.int64)
    codes, uniq = codes_of(values)
    table = np.array([-1 if v != v else int(v) for v in uniq.tolist()] + [-1], dtype=np.int64)
    out: npt.NDArray[np.int64] = table[codes]
    return out


def utc_scalar(value: Any, field: str) -> np.datetime64:
    """One aware ``datetime`` (or ``datetime64`` taken as UTC) as ``datetime64[us]``."""
    arr = to_instant([value], field)
    if np.isnat(arr[0]):
        raise InvalidInput("a time is required", field=field)
    return arr[0]  # type: ignore[no-any-return]


def to_instant(values: Any, field: str) -> npt.NDArray[Any]:
    """A column of instants as UTC ``datetime64[us]``."""
    if isinstance(values, list | tuple) and values and isinstance(values[0], np.datetime64):
        return np.array(values, dtype=US)
    return to_utc_us(
        as_array(values) if not isinstance(values, list | tuple) else values, field=field
    )
