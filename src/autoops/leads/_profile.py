"""Grade profiles: what each lead grade means for a maker, and when to call next."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import US, parse_duration, to_datetime
from autoops.errors import ConfigError
from autoops.leads._result import is_none
from autoops.models import LeadGrade

__all__ = ["GRADE_DEFINITIONS", "GradeProfile", "next_followup_due"]

#: grade → (中文, English) definitions used in docs, reports and the demo.
GRADE_DEFINITIONS: Mapping[str, tuple[str, str]] = {
    "H": ("H 级：7 天内购车（热线索）", "hot: expected to buy within the H horizon"),
    "A": ("A 级：15 天内购车", "expected to buy within the A horizon"),
    "B": ("B 级：30 天内购车", "expected to buy within the B horizon"),
    "C": ("C 级：3 个月内购车", "expected to buy within the C horizon"),
    "N": ("N 级：新线索，未定级", "new lead, not graded yet"),
    "O": ("O 级：已订车（小定/大定）", "ordered (small or big order)"),
    "D": ("D 级：已交车", "delivered"),
    "T": ("T 级：退订", "order cancelled (deposit refunded)"),
    "F": ("F 级：战败", "defeated: bought elsewhere or gave up"),
}

_ACTIVE = ("H", "A", "B", "C")
_CLOSED = ("O", "D", "T", "F")


def _grade_key(value: Any, key: str) -> str:
    try:
        return LeadGrade(getattr(value, "value", value)).value
    except ValueError as exc:
        raise ConfigError(f"unknown grade {value!r}; use one of HABCNODTF", key=key) from exc


def _days_map(value: Mapping[Any, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for grade, days in dict(value).items():
        g = _grade_key(grade, "horizons")
        if g not in _ACTIVE:
            raise ConfigError(
                f"only H, A, B and C have a purchase horizon, not {g}", key="horizons"
            )
        if not isinstance(days, int) or days <= 0:
            raise ConfigError(f"{g}: horizon must be a positive number of days", key="horizons")
        out[g] = days
    return out


def _interval_map(value: Mapping[Any, Any]) -> dict[str, timedelta]:
    out: dict[str, timedelta] = {}
    for grade, interval in dict(value).items():
        g = _grade_key(grade, "followup")
        if g in _CLOSED:
            raise ConfigError(f"{g} is closed and takes no follow-up interval", key="followup")
        out[g] = parse_duration(interval, key=f"followup.{g}")
    return out


@attrs.frozen(slots=True)
class GradeProfile:
    """A maker's grade definitions: purchase horizon and follow-up interval per grade.

    ``horizons`` maps each active grade (H, A, B, C) to the longest purchase
    horizon in days it stands for; a stated horizon of *d* days grades as the
    first of H, A, B, C whose horizon is at least *d*, and as C beyond C's.
    ``followup`` maps H, A, B, C and N to the longest allowed time between two
    contacts (for N: from capture to the first contact). O (ordered), D
    (delivered), T (order cancelled) and F (defeated) need no follow-up.

    Two presets ship: :meth:`common` (H ≤ 7 days, A ≤ 15, B ≤ 30, C ≤ 90) and
    :meth:`three_week` (H ≤ 7, A ≤ 14, B ≤ 21, C ≤ 90, next contact within 2,
    5, 7 and 14 days).

    Args:
        name: a label for reports.
        horizons: grade → days, strictly increasing H < A < B < C.
        followup: grade → interval (``"2d"`` or a ``timedelta``) for H, A, B, C, N.

    Raises:
        ConfigError: a missing or unknown grade, non-increasing horizons, a
            non-positive interval; the message names the key.

    Examples:
        >>> p = GradeProfile.common()
        >>> p.grade_for_horizon(10), p.followup_interval("H")
        ('A', datetime.timedelta(days=2))
        >>> GradeProfile.from_json(p.to_json()) == p
        True
    """

    name: str
    horizons: dict[str, int] = attrs.field(converter=_days_map)
    followup: dict[str, timedelta] = attrs.field(converter=_interval_map)

    def __attrs_post_init__(self) -> None:
        missing = [g for g in _ACTIVE if g not in self.horizons]
        if missing:
            raise ConfigError(f"missing horizon for {', '.join(missing)}", key="horizons")
        days = [self.horizons[g] for g in _ACTIVE]
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ConfigError("horizons must increase strictly from H to C", key="horizons")
        missing = [g for g in (*_ACTIVE, "N") if g not in self.followup]
        if missing:
            raise ConfigError(
                f"missing follow-up interval for {', '.join(missing)}", key="followup"
            )

    @classmethod
    def common(cls) -> GradeProfile:
        """The common definition: H 7 days, A 15, B 30, C 90; call every 2/4/7/14 days.

        New (N) leads get their first call within one day.

        Examples:
            >>> GradeProfile.common().horizons
            {'H': 7, 'A': 15, 'B': 30, 'C': 90}
        """
        return cls(
            name="common",
            horizons={"H": 7, "A": 15, "B": 30, "C": 90},
            followup={"H": "2d", "A": "4d", "B": "7d", "C": "14d", "N": "1d"},
        )

    @classmethod
    def three_week(cls) -> GradeProfile:
        """The 7/14/21-day definition: next contact due within 2, 5 and 7 days.

        C (up to 90 days) is called every 14 days; N within one day.

        Examples:
            >>> p = GradeProfile.three_week()
            >>> p.horizons["B"], p.followup_interval("B")
            (21, datetime.timedelta(days=7))
        """
        return cls(
            name="three_week",
            horizons={"H": 7, "A": 14, "B": 21, "C": 90},
            followup={"H": "2d", "A": "5d", "B": "7d", "C": "14d", "N": "1d"},
        )

    @classmethod
    def presets(cls) -> dict[str, GradeProfile]:
        """The shipped presets by name.

        Examples:
            >>> sorted(GradeProfile.presets())
            ['common', 'three_week']
        """
        return {"common": cls.common(), "three_week": cls.three_week()}

    def grade_for_horizon(self, days: int) -> str:
        """The grade for a stated purchase horizon of *days* (``0`` = now).

        Examples:
            >>> GradeProfile.common().grade_for_horizon(7)
            'H'
            >>> GradeProfile.common().grade_for_horizon(365)
            'C'
        """
        for g in _ACTIVE:
            if days <= self.horizons[g]:
                return g
        return "C"

    def horizon_grades(self, days: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """Vectorised :meth:`grade_for_horizon`; negative days (unknown) give ``None``.

        Examples:
            >>> import numpy as np
            >>> GradeProfile.common().horizon_grades(np.array([0, 8, 31, -1])).tolist()
            ['H', 'A', 'C', None]
        """
        edges = np.array([self.horizons[g] for g in _ACTIVE], dtype=np.int64)
        idx = np.minimum(np.searchsorted(edges, days, side="left"), len(edges) - 1)
        out = np.array(_ACTIVE, dtype=object)[idx]
        out[days < 0] = None
        return out

    def followup_interval(self, grade: Any) -> timedelta | None:
        """Longest allowed gap before the next contact, or ``None`` for O/D/T/F.

        ``None`` (ungraded) is treated as N.

        Examples:
            >>> GradeProfile.three_week().followup_interval("A")
            datetime.timedelta(days=5)
            >>> GradeProfile.common().followup_interval("F") is None
            True
        """
        g = "N" if grade is None else _grade_key(grade, "grade")
        return self.followup.get(g)

    def interval_us(self, grades: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """Follow-up interval per grade in microseconds, ``-1`` for closed grades.

        Examples:
            >>> import numpy as np
            >>> GradeProfile.common().interval_us(np.array(["H", None, "O"], dtype=object)).tolist()
            [172800000000, 86400000000, -1]
        """
        one = timedelta(microseconds=1)
        table = {g: self.followup[g] // one for g in self.followup}
        table.update({g: -1 for g in _CLOSED})
        keys = np.array(sorted(table), dtype=object)
        vals = np.array([table[k] for k in keys.tolist()], dtype=np.int64)
        filled = np.where(is_none(grades), "N", grades).astype(str)
        unknown = ~np.isin(filled, keys.astype(str))
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise ConfigError(f"unknown grade {filled[row]!r} at row {row}", key="grade")
        return vals[np.searchsorted(keys.astype(str), filled)]

    def to_json(self) -> str:
        """Serialise to JSON (intervals as seconds); round-trips through :meth:`from_json`.

        Examples:
            >>> '"H": 7' in GradeProfile.common().to_json()
            True
        """
        return json.dumps(
            {
                "name": self.name,
                "horizons": self.horizons,
                "followup": {g: f"{int(t.total_seconds())}s" for g, t in self.followup.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> GradeProfile:
        """Read a profile written by :meth:`to_json`.

        Raises:
            ConfigError: unknown keys or bad values, naming the key.

        Examples:
            >>> GradeProfile.from_json(GradeProfile.three_week().to_json()).name
            'three_week'
        """
        data = json.loads(text)
        unknown = sorted(set(data) - {"name", "horizons", "followup"})
        if unknown:
            raise ConfigError("unknown key; allowed: followup, horizons, name", key=unknown[0])
        return cls(**data)


def next_followup_due(
    lead: Any,
    *,
    profile: GradeProfile | None = None,
    last_contact_at: datetime | None = None,
) -> Any:
    """When the next contact of a lead is due under *profile*'s interval for its grade.

    The clock starts at the last contact, or at capture (``created_at``) when
    there was none: due = start + interval(grade). Ungraded leads count as N.
    O, D, T and F need no follow-up and give ``None``. Intervals are elapsed
    time (no business hours; use :func:`sla_report` for business-hours SLAs).

    *lead* is one :class:`autoops.models.Lead` (returns an aware UTC
    ``datetime`` or ``None``), or a table with ``created_at``, ``grade`` and an
    optional ``last_contact_at`` column (returns a UTC ``datetime64[us]``
    array, ``NaT`` where none is due).

    Args:
        lead: a ``Lead`` or a table of leads.
        profile: the grade profile; :meth:`GradeProfile.common` by default.
        last_contact_at: for a single ``Lead``, its last contact (aware).

    Raises:
        InvalidInput: naive timestamps or missing columns.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.models import Lead
        >>> lead = Lead(lead_id="L1", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
        ...             touchpoint="app", grade="A")
        >>> next_followup_due(lead).isoformat()
        '2026-05-05T00:00:00+00:00'
        >>> next_followup_due(lead, profile=GradeProfile.three_week()).isoformat()
        '2026-05-06T00:00:00+00:00'
    """
    from autoops.leads._input import read_leads, utc_scalar

    profile = profile or GradeProfile.common()
    if hasattr(lead, "model_dump"):
        interval = profile.followup_interval(lead.grade)
        if interval is None:
            return None
        start = utc_scalar(last_contact_at or lead.created_at, "last_contact_at")
        return to_datetime(start + np.timedelta64(interval // timedelta(microseconds=1), "us"))
    cols = read_leads(lead, ("created_at", "grade"), optional=("last_contact_at",))
    starts = cols["created_at"].astype(US)
    if "last_contact_at" in cols:
        last = cols["last_contact_at"]
        starts = np.where(np.isnat(last), starts, last)
    intervals = profile.interval_us(cols["grade"])
    out = (starts.astype(np.int64) + intervals).view(US)
    out[intervals < 0] = np.datetime64("NaT")
    return out
