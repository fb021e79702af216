"""Business-hours calendar: deadlines and elapsed business time, vectorised.

A :class:`BusinessCalendar` says when a dealer is open: daily hours in a named
time zone, the weekdays it works, public holidays and make-up working days
(调休). Time outside those hours does not count toward a follow-up deadline.

The implementation maps every instant *t* to ``B(t)``, the number of business
microseconds since a reference day (a non-decreasing step-and-ramp function),
so ``elapsed(a, b) = B(b) - B(a)`` and ``add(t, d)`` is the earliest instant
whose ``B`` equals ``B(t) + d``. Both are whole-array numpy operations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import DEFAULT_TZ, US, local_us, parse_duration, utc_offsets
from autoops.errors import ConfigError

__all__ = ["BusinessCalendar", "local_us"]

_DAY_US = 86_400_000_000
_EPOCH_DAY = date(1970, 1, 1)


def _parse_time(value: str | time, key: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"cannot read {value!r} as a time of day like '09:00'", key=key) from exc


def _time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _dates(values: Iterable[date | str], key: str) -> frozenset[date]:
    out = set()
    for value in values:
        if isinstance(value, date):
            out.add(value)
            continue
        try:
            out.add(date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ConfigError(
                f"cannot read {value!r} as a date like '2026-10-01'", key=key
            ) from exc
    return frozenset(out)


def _open_time(value: str | time) -> time:
    return _parse_time(value, "open")


def _close_time(value: str | time) -> time:
    return _parse_time(value, "close")


def _holiday_dates(values: Iterable[date | str]) -> frozenset[date]:
    return _dates(values, "holidays")


def _workday_dates(values: Iterable[date | str]) -> frozenset[date]:
    return _dates(values, "workdays")


def _weekday_set(values: Iterable[int]) -> frozenset[int]:
    return frozenset(int(v) for v in values)


def _check_weekdays(_inst: Any, _attr: Any, value: frozenset[int]) -> None:
    if not value or any(d not in range(7) for d in value):
        raise ConfigError(
            "weekdays must be a non-empty set of 0 (Monday) .. 6 (Sunday)", key="weekdays"
        )


@attrs.frozen(slots=True)
class BusinessCalendar:
    """Opening hours of a dealer network, for SLA deadlines.

    Business time runs from ``open`` to ``close`` (local wall clock in ``tz``)
    on working days: a day is a working day if it is in ``workdays`` (its
    weekday is in ``weekdays`` and it is not a holiday), or it is listed in
    ``workdays``, the make-up working days (调休) that override a weekend.
    ``holidays`` override ``weekdays``. Showrooms in China open every day, so
    the default works all seven days from 09:00 to 18:00 Asia/Shanghai.

    Deadlines: ``add(t, d)`` returns the earliest instant at which *d* of
    business time has passed since *t*; a start outside hours begins at the
    next opening, and a deadline that lands exactly on closing time stays on
    that day (it does not roll over to the next opening).

    Args:
        open: opening time, ``"09:00"`` or a ``datetime.time``.
        close: closing time, later than *open* on the same day.
        weekdays: the working weekdays, 0 = Monday .. 6 = Sunday.
        holidays: dates (``date`` or ISO strings) that are closed.
        workdays: make-up working days, open even if their weekday is not.
        tz: the IANA zone of the wall clock.

    Raises:
        ConfigError: bad times, *close* not after *open*, bad weekdays or dates.

    Examples:
        >>> import numpy as np
        >>> from autoops.leads import BusinessCalendar
        >>> cal = BusinessCalendar(open="09:00", close="18:00")
        >>> start = np.array(["2026-03-02T09:55"], dtype="datetime64[us]")  # 17:55 Shanghai
        >>> cal.add(start, "2h")  # due 10:55 next day, in UTC
        array(['2026-03-03T02:55:00.000000'], dtype='datetime64[us]')
    """

    open: time = attrs.field(default=time(9), converter=_open_time)
    close: time = attrs.field(default=time(18), converter=_close_time)
    weekdays: frozenset[int] = attrs.field(
        default=frozenset(range(7)), converter=_weekday_set, validator=_check_weekdays
    )
    holidays: frozenset[date] = attrs.field(default=frozenset(), converter=_holiday_dates)
    workdays: frozenset[date] = attrs.field(default=frozenset(), converter=_workday_dates)
    tz: str = DEFAULT_TZ

    def __attrs_post_init__(self) -> None:
        if _time_us(self.close) <= _time_us(self.open):
            raise ConfigError(
                f"close {self.close.isoformat()} must be after open {self.open.isoformat()}",
                key="close",
            )
        try:
            utc_offsets(np.array(["2026-01-01"], dtype=US), self.tz)
        except Exception as exc:
            raise ConfigError(f"unknown time zone {self.tz!r}", key="tz") from exc

    @property
    def day_length(self) -> timedelta:
        """Business time in one working day.

        Examples:
            >>> BusinessCalendar().day_length
            datetime.timedelta(seconds=32400)
        """
        return timedelta(microseconds=_time_us(self.close) - _time_us(self.open))

    def is_workday(self, day: date) -> bool:
        """Whether *day* (a local calendar date) is a working day.

        Examples:
            >>> from datetime import date
            >>> cal = BusinessCalendar(weekdays={0, 1, 2, 3, 4}, workdays=["2026-10-10"])
            >>> cal.is_workday(date(2026, 10, 10)), cal.is_workday(date(2026, 10, 11))
            (True, False)
        """
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    # -- vectorised core -------------------------------------------------------------

    def _workday_table(self, first: int, last: int) -> npt.NDArray[np.bool_]:
        days = np.arange(first, last + 1, dtype=np.int64)
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
        flags = np.isin(weekday, np.array(sorted(self.weekdays), dtype=np.int64))
        for day in self.holidays:
            k = (day - _EPOCH_DAY).days - first
            if 0 <= k < len(flags):
                flags[k] = False
        for day in self.workdays:
            k = (day - _EPOCH_DAY).days - first
            if 0 <= k < len(flags):
                flags[k] = True
        return flags

    def _business_clock(
        self, local_us: npt.NDArray[np.int64], first: int, flags: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.int64]:
        """B(t) for local wall-clock microseconds, relative to day *first*."""
        day = local_us // _DAY_US
        tod = local_us - day * _DAY_US
        k = day - first
        before = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
        length = _time_us(self.close) - _time_us(self.open)
        inside = np.clip(tod - _time_us(self.open), 0, length)
        inside = np.where(flags[k], inside, 0)
        return before[k] * length + inside

    def _span(self, local_us: npt.NDArray[np.int64], extra_days: int) -> tuple[int, int]:
        day = local_us // _DAY_US
        return int(day.min()) - 1, int(day.max()) + extra_days + 1

    def elapsed(self, start: npt.NDArray[Any], end: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """Business microseconds between *start* and *end* (UTC ``datetime64`` arrays).

        ``NaT`` on either side gives -1. When *end* is before *start* the result
        is negative.

        Examples:
            >>> import numpy as np
            >>> cal = BusinessCalendar()
            >>> a = np.array(["2026-03-02T09:55"], dtype="datetime64[us]")  # 17:55 local
            >>> b = np.array(["2026-03-03T01:30"], dtype="datetime64[us]")  # 09:30 next day
            >>> int(cal.elapsed(a, b)[0]) // 60_000_000  # minutes
            35
        """
        start = np.asarray(start, dtype=US)
        end = np.asarray(end, dtype=US)
        ok = ~(np.isnat(start) | np.isnat(end))
        out = np.full(len(start), -1, dtype=np.int64)
        if not ok.any():
            return out
        a = local_us(start[ok], self.tz)
        b = local_us(end[ok], self.tz)
        both = np.concatenate((a, b))
        first, last = self._span(both, 0)
        flags = self._workday_table(first, last)
        out[ok] = self._business_clock(b, first, flags) - self._business_clock(a, first, flags)
        return out

    def add(self, start: npt.NDArray[Any], duration: str | timedelta) -> npt.NDArray[Any]:
        """Deadline: the earliest instant *duration* of business time after *start*.

        *start* is a UTC ``datetime64`` array; ``NaT`` stays ``NaT``. The result
        is UTC ``datetime64[us]``.

        Raises:
            ConfigError: *duration* is not a positive duration.

        Examples:
            >>> import numpy as np
            >>> cal = BusinessCalendar(open="09:00", close="18:00", weekdays=range(5))
            >>> friday = np.array(["2026-03-06T09:00"], dtype="datetime64[us]")  # Fri 17:00
            >>> cal.add(friday, "2h")  # Monday 10:00 local
            array(['2026-03-09T02:00:00.000000'], dtype='datetime64[us]')
        """
        dur = parse_duration(duration, key="duration") // timedelta(microseconds=1)
        start = np.asarray(start, dtype=US)
        out = np.full(len(start), np.datetime64("NaT"), dtype=US)
        ok = ~np.isnat(start)
        if not ok.any():
            return out
        local = local_us(start[ok], self.tz)
        length = _time_us(self.close) - _time_us(self.open)
        # generous horizon: the working days needed plus a year of closures
        need = int(dur // length) + 2
        per_week = max(1, len(self.weekdays))
        extra = need * 7 // per_week + 7 + 366
        first, last = self._span(local, extra)
        flags = self._workday_table(first, last)
        target = self._business_clock(local, first, flags) + dur
        # business day ordinal m holds B in (m*length, (m+1)*length]
        m = (target - 1) // length
        tod = target - m * length + _time_us(self.open)
        work_idx = np.flatnonzero(flags)
        if m.max() >= len(work_idx):  # pragma: no cover - defensive: horizon too short
            raise ConfigError("deadline beyond the calendar horizon", key="duration")
        due_local = (first + work_idx[m]) * _DAY_US + tod
        # local wall clock back to UTC: offset at the guess, then refine once
        off = utc_offsets(due_local.view(US), self.tz)
        off = utc_offsets((due_local - off).view(US), self.tz)
        out[ok] = (due_local - off).view(US)
        return out

    # -- serialisation ---------------------------------------------------------------

    def to_json(self) -> str:
        """Serialise to JSON (round-trips through :meth:`from_json`).

        Examples:
            >>> cal = BusinessCalendar(holidays=["2026-10-01"])
            >>> BusinessCalendar.from_json(cal.to_json()) == cal
            True
        """
        return json.dumps(
            {
                "open": self.open.isoformat(),
                "close": self.close.isoformat(),
                "weekdays": sorted(self.weekdays),
                "holidays": sorted(d.isoformat() for d in self.holidays),
                "workdays": sorted(d.isoformat() for d in self.workdays),
                "tz": self.tz,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> BusinessCalendar:
        """Read a calendar written by :meth:`to_json`.

        Raises:
            ConfigError: an unknown key or a bad value, naming the key.

        Examples:
            >>> BusinessCalendar.from_json('{"open": "08:30"}').open
            datetime.time(8, 30)
        """
        data = json.loads(text)
        allowed = {"open", "close", "weekdays", "holidays", "workdays", "tz"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"unknown key; allowed: {', '.join(sorted(allowed))}", key=unknown[0])
        return cls(**data)
