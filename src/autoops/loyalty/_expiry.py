"""Expiry policies: when a lot of points lapses, computed in the program's time zone."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import DEFAULT_TZ, local_naive, utc_offsets
from autoops.errors import ConfigError

__all__ = ["NEVER", "ExpiryPolicy"]

NEVER = 2**62
"""Sentinel expiry (microseconds since the epoch) for lots that never expire."""

_KINDS = ("never", "days", "end_of_month", "end_of_year", "end_of_year_after_next")
_DAYS = re.compile(r"^\s*(\d+)\s*d(ays?)?\s*$")
_SECOND = 1_000_000
_DAY = 86_400 * _SECOND


@attrs.frozen
class ExpiryPolicy:
    """When earned points expire, counted from the earn (or unlock) instant.

    Kinds, all to the last second of a day in the program's time zone *tz*:

    * ``never``;
    * ``days`` (``"30d"``): the end of the day *N* days after the earn day —
      earned 2024-01-15 10:00 with 30 days expires 2024-02-14 23:59:59;
    * ``end_of_month``, ``end_of_year``: the last second of the earn month/year;
    * ``end_of_year_after_next``: the last second of the year two years after
      the earn year (earned in 2024 → 2026-12-31 23:59:59).

    A lot is expired at and after its ``expires_at`` instant.

    Attributes:
        kind: one of the kinds above.
        days: the number of days for ``days``.
        tz: the program's time zone.

    Raises:
        ConfigError: unknown kind or a non-positive day count (key ``expiry``).

    Examples:
        >>> from datetime import datetime
        >>> from zoneinfo import ZoneInfo
        >>> p = ExpiryPolicy.parse("30d")
        >>> earned = datetime(2024, 1, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        >>> str(p.expires_at(earned).astimezone(ZoneInfo("Asia/Shanghai")))
        '2024-02-14 23:59:59+08:00'
        >>> ExpiryPolicy.parse("end_of_year_after_next").expires_at(earned).year
        2026
    """

    kind: str = "never"
    days: int = 0
    tz: str = DEFAULT_TZ

    def __attrs_post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError(
                f"unknown expiry policy {self.kind!r}; use one of {_KINDS}", key="expiry"
            )
        if self.kind == "days" and self.days <= 0:
            raise ConfigError("days must be a positive number of days", key="expiry")

    @classmethod
    def parse(cls, spec: str | ExpiryPolicy | None, *, tz: str = DEFAULT_TZ) -> ExpiryPolicy:
        """Read ``"never"``, ``"30d"``, ``"end_of_month"``, ``"end_of_year"`` or ``"end_of_year_after_next"``.

        Examples:
            >>> ExpiryPolicy.parse("365d").days
            365
        """
        if isinstance(spec, ExpiryPolicy):
            return spec
        if spec is None:
            return cls("never", tz=tz)
        match = _DAYS.match(spec)
        if match:
            return cls("days", int(match.group(1)), tz)
        return cls(spec.strip(), 0, tz)

    def expires_at_us(self, base_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Vectorised: expiry instants (µs since epoch, UTC) for earn instants *base_us*.

        Examples:
            >>> p = ExpiryPolicy.parse("end_of_month")
            >>> base = np.array([np.datetime64("2024-01-15T02:00", "us").astype(np.int64)])
            >>> p.expires_at_us(base).view("datetime64[us]")
            array(['2024-01-31T15:59:59.000000'], dtype='datetime64[us]')
        """
        base_us = np.asarray(base_us, dtype=np.int64)
        if self.kind == "never":
            return np.full(base_us.shape, NEVER, dtype=np.int64)
        local = local_naive(base_us.view("datetime64[us]"), self.tz)
        if self.kind == "days":
            day = local.astype("datetime64[D]")
            end_local = (day + np.timedelta64(self.days + 1, "D")).astype("datetime64[us]")
        elif self.kind == "end_of_month":
            month = local.astype("datetime64[M]")
            end_local = (month + np.timedelta64(1, "M")).astype("datetime64[us]")
        else:
            year = local.astype("datetime64[Y]")
            extra = 1 if self.kind == "end_of_year" else 3
            end_local = (year + np.timedelta64(extra, "Y")).astype("datetime64[us]")
        wall = end_local.astype(np.int64) - _SECOND
        guess = wall - utc_offsets(base_us.view("datetime64[us]"), self.tz)
        out: npt.NDArray[np.int64] = wall - utc_offsets(guess.view("datetime64[us]"), self.tz)
        return out

    def expires_at(self, base: datetime) -> datetime | None:
        """The expiry instant (aware, UTC) for one earn instant; ``None`` for ``never``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> ExpiryPolicy.parse("never").expires_at(datetime(2024, 1, 1, tzinfo=timezone.utc)) is None
            True
        """
        if self.kind == "never":
            return None
        from autoops.loyalty._rows import from_us, to_us

        return from_us(int(self.expires_at_us(np.array([to_us(base)]))[0]))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict.

        Examples:
            >>> ExpiryPolicy.parse("30d").to_json()
            {'kind': 'days', 'days': 30, 'tz': 'Asia/Shanghai'}
        """
        return {"kind": self.kind, "days": self.days, "tz": self.tz}
