"""Time handling shared by every capability.

Conventions:

* Internally, instants are ``numpy.datetime64[us]`` holding **UTC**. A numpy
  ``datetime64`` array that a user passes in is taken as UTC (numpy has no
  time zones); say so in every docstring that accepts one.
* Python ``datetime`` values and pandas/polars/arrow columns must be
  timezone-aware. A naive value is refused with :class:`InvalidInput` naming the
  field and the first offending row, unless the caller names the zone to assume
  (``assume_tz="Asia/Shanghai"``).
* Calendar questions (which day, week or month) are answered in a named zone,
  ``Asia/Shanghai`` by default, with :func:`local_naive`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from autoops.errors import ConfigError, InvalidInput

__all__ = [
    "DEFAULT_TZ",
    "US",
    "aware",
    "local_naive",
    "local_us",
    "parse_duration",
    "to_datetime",
    "to_utc_us",
    "utc_offsets",
]

DEFAULT_TZ = "Asia/Shanghai"
US = np.dtype("datetime64[us]")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s|ms)\s*$")
_UNIT_US = {
    "w": 7 * 86_400_000_000,
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "min": 60_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_duration(value: str | timedelta | np.timedelta64, *, key: str = "duration") -> timedelta:
    """Parse ``"30d"``, ``"2h"``, ``"30min"``, ``"45s"``, ``"1w"`` into a timedelta.

    A duration must be positive; zero or negative durations raise
    :class:`ConfigError` naming *key*.

    Examples:
        >>> parse_duration("30d")
        datetime.timedelta(days=30)
        >>> parse_duration("30min")
        datetime.timedelta(seconds=1800)
        >>> parse_duration("0d", key="window")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: window: must be a positive duration, got '0d' [config_error]
    """
    if isinstance(value, np.timedelta64):
        value = timedelta(microseconds=int(value.astype("timedelta64[us]").astype(np.int64)))
    if isinstance(value, timedelta):
        result = value
    else:
        match = _DURATION.match(str(value))
        if match is None:
            msg = f"cannot read {value!r} as a duration; use forms like '30d', '2h', '30min', '45s'"
            raise ConfigError(msg, key=key)
        result = timedelta(microseconds=float(match.group(1)) * _UNIT_US[match.group(2)])
    if result <= timedelta(0):
        raise ConfigError(f"must be a positive duration, got {value!r}", key=key)
    return result


def aware(value: datetime, *, field: str = "ts", assume_tz: str | None = None) -> datetime:
    """Return *value* timezone-aware, refusing naive values unless *assume_tz* is named.

    Examples:
        >>> aware(datetime(2026, 1, 31, 23, 59), assume_tz="Asia/Shanghai").isoformat()
        '2026-01-31T23:59:00+08:00'
        >>> aware(datetime(2026, 1, 1), field="occurred_at")
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: occurred_at: naive datetime 2026-01-01T00:00:00; make it timezone-aware or pass assume_tz='Asia/Shanghai' [naive_datetime]
    """
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        if assume_tz is None:
            msg = (
                f"naive datetime {value.isoformat()}; make it timezone-aware "
                f"or pass assume_tz='{DEFAULT_TZ}'"
            )
            raise InvalidInput(msg, field=field, code="naive_datetime")
        return value.replace(tzinfo=ZoneInfo(assume_tz))
    return value


def _from_datetimes(values: Iterable[Any], field: str, assume_tz: str | None) -> npt.NDArray[Any]:
    items = list(values)
    out = np.empty(len(items), dtype=np.int64)
    nat = np.iinfo(np.int64).min
    for i, item in enumerate(items):
        if item is None:
            out[i] = nat
            continue
        if isinstance(item, str):
            try:
                item = datetime.fromisoformat(item.replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidInput(
                    f"cannot parse {item!r} as a timestamp", field=field, row=i
                ) from exc
        if isinstance(item, date) and not isinstance(item, datetime):
            raise InvalidInput("a date is not an instant; pass a datetime", field=field, row=i)
        if not isinstance(item, datetime):
            raise InvalidInput(
                f"expected a datetime, got {type(item).__name__}", field=field, row=i
            )
        if item.tzinfo is None or item.tzinfo.utcoffset(item) is None:
            if assume_tz is None:
                msg = f"naive datetime; make it timezone-aware or pass assume_tz='{DEFAULT_TZ}'"
                raise InvalidInput(msg, field=field, row=i, code="naive_datetime")
            item = item.replace(tzinfo=ZoneInfo(assume_tz))
        out[i] = (item - _EPOCH) // timedelta(microseconds=1)
    return out.view(US)


def to_utc_us(values: Any, *, field: str = "ts", assume_tz: str | None = None) -> npt.NDArray[Any]:
    """Convert a column of instants to a ``datetime64[us]`` UTC numpy array.

    Accepts a numpy ``datetime64`` array (taken as UTC), a pandas Series or
    index, a polars Series, a pyarrow array, or any sequence of aware
    ``datetime`` objects or ISO-8601 strings with an offset. Missing values
    become ``NaT``; callers decide whether NaT is an error.

    Raises:
        InvalidInput: a naive value without *assume_tz*, naming the first row.

    Examples:
        >>> from datetime import datetime, timezone
        >>> to_utc_us([datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc)])
        array(['2026-01-31T16:00:00.000000'], dtype='datetime64[us]')
        >>> to_utc_us(["2026-02-01T00:00:00+08:00"])
        array(['2026-01-31T16:00:00.000000'], dtype='datetime64[us]')
        >>> to_utc_us([datetime(2026, 1, 1)], field="created_at")
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: created_at (row 0): naive datetime; make it timezone-aware or pass assume_tz='Asia/Shanghai' [naive_datetime]
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return values.astype(US)
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(values, field, assume_tz)
    if module == "polars":
        aware = _from_polars(values)
        return aware if aware is not None else _from_pandas(values.to_pandas(), field, assume_tz)
    if module == "pyarrow":
        return _from_pandas(values.to_pandas(), field, assume_tz)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        raise InvalidInput("numbers are not timestamps; pass datetime64 or datetimes", field=field)
    return _from_datetimes(values, field, assume_tz)


def _from_polars(series: Any) -> npt.NDArray[Any] | None:
    """A timezone-aware polars ``Datetime`` column as UTC ``datetime64[us]`` (its
    integers are UTC instants already: no copy through pandas, nor pyarrow), or None
    for any other column.

    >>> import polars as pl
    >>> s = pl.Series([0, None], dtype=pl.Datetime("ms", "Asia/Shanghai"))
    >>> _from_polars(s).tolist()[1] is None, str(_from_polars(s)[0])
    (True, '1970-01-01T00:00:00.000000')
    """
    import polars as pl

    dtype = series.dtype
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        return None
    ints = series.to_physical().fill_null(np.iinfo(np.int64).min).to_numpy()
    out: npt.NDArray[Any] = np.asarray(ints).view(f"datetime64[{dtype.time_unit}]").astype(US)
    return out


def _from_pandas(series: Any, field: str, assume_tz: str | None) -> npt.NDArray[Any]:
    import pandas as pd

    if not isinstance(series, pd.Series | pd.Index):
        series = pd.Series(series)
    if series.dtype == object:
        return _from_datetimes(series.tolist(), field, assume_tz)
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        if assume_tz is None:
            msg = (
                f"naive timestamps; make the column timezone-aware or pass assume_tz='{DEFAULT_TZ}'"
            )
            raise InvalidInput(msg, field=field, row=0, code="naive_datetime")
        series = pd.Series(series).dt.tz_localize(assume_tz)
    utc = pd.Series(series).dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(utc.to_numpy(dtype="datetime64[us]"))


def to_datetime(value: np.datetime64) -> datetime:
    """Turn one UTC ``datetime64`` into an aware UTC ``datetime``.

    Examples:
        >>> to_datetime(np.datetime64("2026-01-31T16:00:00", "us"))
        datetime.datetime(2026, 1, 31, 16, 0, tzinfo=datetime.timezone.utc)
    """
    micros = int(np.asarray(value).astype("datetime64[us]").astype(np.int64))
    return _EPOCH + timedelta(microseconds=micros)


_HOUR_US = 3_600_000_000
_SECOND_US = 1_000_000
#: hours a dense per-zone table may span (about 23 years; building one that wide takes about 0.4 s);
#: wider inputs look up their distinct hours instead
_DENSE_HOURS = 200_000


class _HourTable:
    """Offsets of one zone for a run of consecutive UTC hours, with the changes inside them.

    ``start[k]`` is the offset at the start of hour ``first + k``. Where the offset
    at the end of the hour differs, ``change[k]`` is the first UTC µs of the new
    offset (found to the second, as the tz database gives them) and ``after[k]``
    the new offset; elsewhere ``change[k]`` is the largest int64.
    """

    def __init__(self, zone: ZoneInfo, hours: npt.NDArray[np.int64]) -> None:
        self.start = _offsets_at(zone, hours * _HOUR_US)
        self.after = end = _offsets_at(zone, (hours + 1) * _HOUR_US)
        self.crosses = end != self.start  # a bool table: a cheaper gather per row than change
        self.any_change = bool(self.crosses.any())
        self.change = np.full(len(hours), np.iinfo(np.int64).max, dtype=np.int64)
        for k in np.flatnonzero(self.crosses).tolist():
            # bisect on whole seconds for the first one with the new offset
            lo, hi = int(hours[k]) * 3600, (int(hours[k]) + 1) * 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offsets_at(zone, np.array([mid * _SECOND_US]))[0] == end[k]:
                    hi = mid
                else:
                    lo = mid
            self.change[k] = hi * _SECOND_US

    def lookup(self, us: npt.NDArray[np.int64], k: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        """Offsets at UTC µs *us*, whose hours sit at positions *k* of the table."""
        out: npt.NDArray[np.int64] = self.start[k]
        if not self.any_change:  # e.g. Asia/Shanghai since 1991: one gather and done
            return out
        crossing = np.flatnonzero(self.crosses[k])
        if len(crossing):
            at = k[crossing]
            late = us[crossing] >= self.change[at]
            out[crossing[late]] = self.after[at[late]]
        return out


def _offsets_at(zone: ZoneInfo, us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    one_us = timedelta(microseconds=1)
    return np.array(
        [
            ((_EPOCH + timedelta(microseconds=int(u))).astimezone(zone).utcoffset() or timedelta(0))
            // one_us
            for u in us.tolist()
        ],
        dtype=np.int64,
    )


#: per zone: (first hour, table); grows with a margin so that later calls reuse it
_DENSE_TABLES: dict[str, tuple[int, _HourTable]] = {}


def _dense_table(tz: str, lo: int, hi: int) -> tuple[int, _HourTable]:
    cached = _DENSE_TABLES.get(tz)
    if cached is not None and cached[0] <= lo and hi < cached[0] + len(cached[1].start):
        return cached
    if cached is not None:
        lo, hi = min(lo, cached[0]), max(hi, cached[0] + len(cached[1].start) - 1)
    lo, hi = lo - 24 * 31, hi + 24 * 400
    entry = (lo, _HourTable(ZoneInfo(tz), np.arange(lo, hi + 1, dtype=np.int64)))
    _DENSE_TABLES[tz] = entry
    return entry


def utc_offsets(ts_utc: npt.NDArray[Any], tz: str = DEFAULT_TZ) -> npt.NDArray[np.int64]:
    """The zone's UTC offset in microseconds at each instant of *ts_utc* (0 for NaT).

    One ``zoneinfo`` lookup per UTC hour spanned (kept in a per-zone table that
    later calls reuse), and an exact search to the second inside the few hours
    that hold a change, so zones that change on the half or quarter hour
    (``Australia/Adelaide``, ``Australia/Lord_Howe``, ``Pacific/Chatham``) are
    exact too. Cost: one pass over the rows, never a lookup per row.

    Examples:
        >>> ts = np.array(["2026-01-31T16:00:00"], dtype="datetime64[us]")
        >>> int(utc_offsets(ts)[0]) // 3_600_000_000
        8

        Adelaide moves from +09:30 to +10:30 at 16:30 UTC on 2025-10-04:

        >>> ts = np.array(["2025-10-04T16:29:59", "2025-10-04T16:30"], dtype="datetime64[us]")
        >>> (utc_offsets(ts, "Australia/Adelaide") // 60_000_000).tolist()
        [570, 630]
    """
    stamps = np.asarray(ts_utc).astype(US, copy=False)
    us = stamps.view(np.int64)
    valid = ~np.isnat(stamps)
    rows = None if valid.all() else np.flatnonzero(valid)
    t = us if rows is None else us[rows]
    if not len(t):
        return np.zeros(len(us), dtype=np.int64)
    hours = t // _HOUR_US
    lo, hi = int(hours.min()), int(hours.max())
    if hi - lo < _DENSE_HOURS:
        first, table = _dense_table(tz, lo, hi)
        offsets = table.lookup(t, np.subtract(hours, first, out=hours))
    else:
        distinct, k = np.unique(hours, return_inverse=True)
        offsets = _HourTable(ZoneInfo(tz), distinct).lookup(t, k.reshape(-1).astype(np.intp))
    if rows is None:
        return offsets
    out = np.zeros(len(us), dtype=np.int64)
    out[rows] = offsets
    return out


def local_naive(ts_utc: npt.NDArray[Any], tz: str = DEFAULT_TZ) -> npt.NDArray[Any]:
    """Wall-clock time in *tz* as naive ``datetime64[us]`` (for calendar bucketing).

    An interaction at 2026-01-31 23:59:59+08:00 is in January in Shanghai:

    Examples:
        >>> ts = np.array(["2026-01-31T15:59:59"], dtype="datetime64[us]")
        >>> local_naive(ts).astype("datetime64[M]")
        array(['2026-01'], dtype='datetime64[M]')
    """
    return local_us(ts_utc, tz).view(US)


def local_us(ts_utc: npt.NDArray[Any], tz: str = DEFAULT_TZ) -> npt.NDArray[np.int64]:
    """Wall-clock time in *tz* as int64 µs, from UTC ``datetime64[us]`` or int64 µs.

    Examples:
        >>> ts = np.array([1_769_875_199_000_000])  # 2026-01-31T15:59:59Z
        >>> (local_us(ts) - ts).tolist() == [8 * 3_600_000_000]
        True
    """
    arr = np.asarray(ts_utc)
    if arr.dtype.kind == "M":
        us = arr.astype(US, copy=False).view(np.int64)
    else:
        us = arr.astype(np.int64, copy=False)
    out: npt.NDArray[np.int64] = us + utc_offsets(us.view(US), tz)
    return out
