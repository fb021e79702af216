"""Calendar arithmetic in a named zone: wall-clock times, period numbers and labels.

Instants are UTC µs (``datetime64[us]`` or int64). Wall-clock times in a zone
come from :func:`autoops._time.utc_offsets` (a cached table per zone), never a lookup per row;
months come from integer civil-calendar maths on a per-day table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._time import local_naive, local_us, utc_offsets
from autoops.errors import ConfigError

__all__ = [
    "day_period",
    "local_to_utc",
    "local_us",
    "next_start",
    "period_index",
    "period_labels",
    "period_start",
    "period_start_local",
]

Arr = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]
_DAY = 86_400_000_000


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


def period_start(local: Arr, interval: str) -> Arr:
    if interval == "month":
        return np.asarray(local.astype("datetime64[M]").astype("datetime64[us]"))
    if interval == "week":
        days = local.astype("datetime64[D]")
        # 1970-01-01 was a Thursday: Monday-based weeks
        dow = (days.astype(np.int64) + 3) % 7
        return np.asarray((days - dow.astype("timedelta64[D]")).astype("datetime64[us]"))
    if interval == "day":
        return local.astype("datetime64[D]").astype("datetime64[us]")
    raise ConfigError("use 'day', 'week' or 'month'", key="interval")


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
