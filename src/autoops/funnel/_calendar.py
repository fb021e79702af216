"""Calendar arithmetic in a named zone: wall-clock times, period numbers and labels.

Instants are UTC µs (``datetime64[us]`` or int64). Wall-clock times in a zone
come from :func:`autoops._time.utc_offsets` (a cached table per zone), never a lookup per row;
months come from integer civil-calendar maths on a per-day table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import local_naive, local_us, utc_offsets

__all__ = [
    "HOUR",
    "HOUR_TABLE_HOURS",
    "HourPeriods",
    "day_period",
    "local_to_utc",
    "local_us",
    "next_start",
    "period_index",
    "period_labels",
    "period_reader",
    "period_start_local",
]

Arr = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]
_DAY = 86_400_000_000
HOUR = 3_600_000_000
"""An hour in µs."""
HOUR_TABLE_HOURS = 1_000_000
"""The most UTC hours (about 114 years) that rows may span for their periods to be read
from a table per hour (:class:`HourPeriods`; the table's passes cost a few tens of bytes
an hour, so a stray timestamp must not build one of hundreds of MB); rows spanning more
take another path."""


def _civil_months(days: I64) -> I64:
    """Months since 1970-01 of days since 1970-01-01 (proleptic Gregorian, integer maths)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = np.where(m <= 2, y + 1, y)
    return np.asarray((y - 1970) * 12 + (m - 1), dtype=np.int64)


def period_index(local: Arr, period: str) -> I64:
    """Calendar period number of wall-clock times (days, Monday weeks or months).

    *local* is naive wall-clock ``datetime64`` (or int64 µs).

    Examples:
        >>> import numpy as np
        >>> local = np.array(["2026-01-05T20:00", "2026-01-06T06:00"], "datetime64[us]")
        >>> period_index(local, "day").tolist(), period_index(local, "month").tolist()
        ([20458, 20459], [672, 672])
    """
    us = np.asarray(local).view(np.int64) if np.asarray(local).dtype.kind == "M" else local
    return day_period(np.floor_divide(np.asarray(us, dtype=np.int64), _DAY), period)


def day_period(days: I64, period: str) -> I64:
    """:func:`period_index` of local day numbers (days since 1970-01-01).

    Examples:
        >>> import numpy as np
        >>> day_period(np.array([20458, 20459]), "month").tolist()
        [672, 672]
    """
    if period == "month":
        if len(days) == 0:
            return days
        d0, d1 = int(days.min()), int(days.max())
        if d1 - d0 > 1_000_000:
            return _civil_months(days)
        table = _civil_months(np.arange(d0, d1 + 1, dtype=np.int64))
        return np.asarray(table[days - d0], dtype=np.int64)
    if period == "week":
        return np.asarray((days + 3) // 7, dtype=np.int64)
    return np.asarray(days, dtype=np.int64)


def period_start_local(index: I64, period: str) -> Arr:
    if period == "month":
        return index.astype("datetime64[M]").astype("datetime64[us]")
    if period == "week":
        return (index * 7 - 3).astype("datetime64[D]").astype("datetime64[us]")
    return index.astype("datetime64[D]").astype("datetime64[us]")


def next_start(start: Arr, interval: str) -> Arr:
    if interval == "month":
        return np.asarray((start.astype("datetime64[M]") + 1).astype("datetime64[us]"))
    step = 7 if interval == "week" else 1
    return np.asarray(start + np.timedelta64(step, "D").astype("timedelta64[us]"))


def period_labels(starts_utc: Arr, period: str, tz: str) -> list[str]:
    """Calendar labels of period starts stored in UTC: ``2026-01`` or ``2026-01-05``.

    Examples:
        >>> import numpy as np
        >>> period_labels(np.array(["2025-12-31T16:00"], "datetime64[us]"), "month", "Asia/Shanghai")
        ['2026-01']
    """
    local = local_naive(np.asarray(starts_utc, dtype="datetime64[us]"), tz)
    unit = "M" if period == "month" else "D"
    return [str(x) for x in local.astype(f"datetime64[{unit}]")]


def local_to_utc(local: Arr, tz: str) -> Arr:
    """Wall-clock naive ``datetime64[us]`` in *tz* back to UTC (two offset passes)."""
    guess = local.astype(np.int64) - utc_offsets(local, tz)
    fixed = local.astype(np.int64) - utc_offsets(guess.view("datetime64[us]"), tz)
    return fixed.view("datetime64[us]")


@attrs.frozen
class HourPeriods:
    """The calendar period in *tz* of every UTC hour a range of instants spans (internal).

    An hour is *uniform* when the zone's offset and the period are the same at its
    first and last microsecond: the offset changes at most once inside an hour
    (the assumption of :func:`autoops._time.utc_offsets`), so local time runs on
    without a jump inside it and the period cannot change. The other hours are
    *odd* (a change of offset or a period start inside them, e.g. Kolkata's
    midnight at 18:30 UTC): their rows take the exact path.

    *monotone*: periods never decrease with time. They do unless the clock goes
    back across a period start (St John's went back from 00:00:59 to 23:01 of the
    day before until 2011): checked from hour to hour, and, in hours where the
    clock goes back by d, conservatively, by asking that no period start within
    [first local time - d, first local time + 1 h): the only local times the
    jump can revisit.

    >>> t = np.array(["2026-01-05T18:10", "2026-01-05T18:40"], "datetime64[us]").view(np.int64)
    >>> hours = HourPeriods.spanning(int(t[0]), int(t[1]), "Asia/Kolkata", "day")
    >>> hours.odd.tolist(), hours.monotone  # midnight falls inside the only hour
    ([0], True)
    >>> days = hours.reader()(t)  # 23:40 and 00:10 local
    >>> (days - days[0]).tolist()
    [0, 1]
    """

    tz: str
    period: str
    first_hour: int  # UTC hours since the epoch of periods[0]
    periods: I64  # the period of each hour's first microsecond
    odd: I64  # the hours (counted from first_hour) whose rows take the exact path
    monotone: bool

    @classmethod
    def spanning(cls, t_min: int, t_max: int, tz: str, period: str) -> HourPeriods | None:
        """The hours from UTC µs *t_min*'s to *t_max*'s; None when they are more than
        :data:`HOUR_TABLE_HOURS`."""
        h0, h1 = t_min // HOUR, t_max // HOUR
        if h1 - h0 > HOUR_TABLE_HOURS:
            return None
        first = np.arange(h0, h1 + 1, dtype=np.int64) * HOUR
        last = first + (HOUR - 1)
        at_first = local_us(first, tz)
        at_last = local_us(last, tz)
        periods = period_index(at_first, period)
        last_periods = period_index(at_last, period)
        shift_first, shift_last = at_first - first, at_last - last
        odd = (shift_last != shift_first) | (last_periods != periods)
        ends = np.empty(2 * len(periods), dtype=np.int64)
        ends[0::2], ends[1::2] = periods, last_periods
        monotone = bool(np.all(ends[1:] >= ends[:-1]))
        back = np.flatnonzero(shift_last < shift_first)
        if monotone and len(back):
            revisited = at_first[back] - (shift_first[back] - shift_last[back])
            lo = period_index(revisited, period)
            monotone = bool(np.all(lo == period_index(at_first[back] + (HOUR - 1), period)))
        return cls(tz, period, h0, periods, np.flatnonzero(odd), monotone)

    def reader(
        self, scale: int = 1, offset: int = 0, dtype: type[np.signedinteger[Any]] = np.int32
    ) -> Callable[[I64], npt.NDArray[np.signedinteger[Any]]]:
        """``read(t)``: ``scale · period + offset`` of UTC µs *t* within the span, as
        *dtype* (the caller makes sure the values fit). A row reads its hour's value
        from a table: one division a row instead of a zone offset looked up and added,
        then a second division; the rows of odd hours are computed exactly.

        >>> t = np.array(["2026-03-31T23:00", "2026-04-01T01:00"], "datetime64[us]")
        >>> months = HourPeriods.spanning(*t.view(np.int64).tolist(), "UTC", "month")
        >>> months.reader(scale=10, offset=-6720)(t.view(np.int64)).tolist()  # 672: 2026-01
        [20, 30]
        """
        # (the type's least value sends an hour's rows to the exact path; a real value
        # equal to it only costs them the exact path)
        odd_mark = np.iinfo(dtype).min
        table = (self.periods * scale + offset).astype(dtype)
        table[self.odd] = odd_mark
        has_odd = len(self.odd) > 0
        h0, tz, period = self.first_hour, self.tz, self.period

        def read(t: I64) -> npt.NDArray[np.signedinteger[Any]]:
            hour = t // HOUR
            hour -= h0
            out: npt.NDArray[np.signedinteger[Any]] = table[hour]
            if has_odd:
                at = np.flatnonzero(out == odd_mark)
                if len(at):
                    out[at] = period_index(local_us(t[at], tz), period) * scale + offset
            return out

        return read


def period_reader(
    ts: I64, tz: str, period: str, dtype: type[np.signedinteger[Any]] = np.int64
) -> Callable[[I64], npt.NDArray[np.signedinteger[Any]]]:
    """``read(t)``: the calendar period numbers in *tz* of UTC µs *t* within *ts*'s range,
    through :class:`HourPeriods` (one division a row), or exactly per row when *ts* spans
    more than :data:`HOUR_TABLE_HOURS`.

    >>> ts = np.array(["2026-01-05T18:10", "2026-01-05T18:40"], "datetime64[us]").view(np.int64)
    >>> days = period_reader(ts, "Asia/Kolkata", "day")(ts)
    >>> (days - days[0]).tolist()  # 23:40 and 00:10 local
    [0, 1]
    """

    def exact(t: I64) -> npt.NDArray[np.signedinteger[Any]]:
        return period_index(local_us(t, tz), period)

    hours = HourPeriods.spanning(int(ts.min()), int(ts.max()), tz, period) if len(ts) else None
    return exact if hours is None else hours.reader(dtype=dtype)
