"""Activity tiers: high / medium / low / inactive by interactions in a window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular
from autoops.errors import ConfigError
from autoops.segment._common import (
    OUTBOUND_EVENTS,
    SummaryTable,
    as_of_us,
    count_table,
    display_id,
    duration_us,
    person_codes,
    private_touchpoints,
    read_columns,
    ts_us,
)
from autoops.segment._scan import window_groups

__all__ = ["TIERS", "ActivityTiers", "activity_tiers"]

#: Tier names from most to least active.
TIERS: tuple[str, ...] = ("high", "medium", "low", "inactive")
DEFAULT_THRESHOLDS: dict[str, int] = {"high": 8, "medium": 3, "low": 1}


@attrs.frozen(slots=True, repr=False)
class ActivityTiers(Tabular):
    """Per-person interaction counts and activity tiers (rows sorted by person id).

    Attributes:
        person: distinct person ids, sorted.
        interactions: qualifying interactions in the window.
        tier: ``"high"``, ``"medium"``, ``"low"`` or ``"inactive"``.
        thresholds: the minimum counts of high, medium and low.
        window: the window length.
        as_of: the end of the window (UTC).

    Examples:
        >>> res = activity_tiers([1, 2, 2], ["2026-01-30T00:00:00+08:00"] * 3,
        ...                      as_of="2026-02-01T00:00:00+08:00", thresholds=(3, 2, 1))
        >>> res
        ActivityTiers(people=2, window=30d, high=0, medium=1, low=1, inactive=0)
    """

    person: npt.NDArray[Any]
    interactions: npt.NDArray[np.int64]
    tier: npt.NDArray[Any]
    thresholds: Mapping[str, int]
    window: timedelta
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {"person": self.person, "interactions": self.interactions, "tier": self.tier}

    def summary(self) -> SummaryTable:
        """People per tier, from high to inactive, with shares.

        Examples:
            >>> res = activity_tiers([1, 1, 2], ["2026-01-30T00:00:00+08:00"] * 3,
            ...                      as_of="2026-02-01T00:00:00+08:00",
            ...                      thresholds={"high": 2, "medium": 1, "low": 1})
            Traceback (most recent call last):
            ...
            autoops.errors.ConfigError: thresholds: must be strictly decreasing ...
            >>> res = activity_tiers([1, 1, 2], ["2026-01-30T00:00:00+08:00"] * 3,
            ...                      as_of="2026-02-01T00:00:00+08:00",
            ...                      thresholds={"high": 3, "medium": 2, "low": 1})
            >>> res.summary().rows()
            [('high', 0, 0.0), ('medium', 1, 0.5), ('low', 1, 0.5), ('inactive', 0, 0.0)]
        """
        return count_table("Activity tiers", "tier", TIERS, self.tier)

    def __repr__(self) -> str:
        counts = {name: int((self.tier == name).sum()) for name in TIERS}
        return short_repr(
            "ActivityTiers", people=len(self.person), window=_fmt_window(self.window), **counts
        )

    def _repr_html_(self) -> str:
        rows = [
            [display_id(p), int(c), t]
            for p, c, t in zip(
                self.person[:10].tolist(),
                self.interactions[:10],
                self.tier[:10].tolist(),
                strict=True,
            )
        ]
        return self.summary()._repr_html_() + html_table(
            repr(self), ["person", "interactions", "tier"], rows
        )


def _fmt_window(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0):
        return f"{window.days}d"
    return str(window)


def _thresholds(value: Mapping[str, int] | tuple[int, int, int] | None) -> dict[str, int]:
    if value is None:
        return dict(DEFAULT_THRESHOLDS)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"high", "medium", "low"})
        missing = sorted({"high", "medium", "low"} - set(value))
        if unknown or missing:
            msg = f"needs exactly the keys high, medium, low; unknown {unknown}, missing {missing}"
            raise ConfigError(msg, key="thresholds")
        out = {name: value[name] for name in ("high", "medium", "low")}
    else:
        items = tuple(value)
        if len(items) != 3:
            raise ConfigError("give (high, medium, low) minimum counts", key="thresholds")
        out = dict(zip(("high", "medium", "low"), items, strict=True))
    for name, v in out.items():
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise ConfigError(
                f"{name} must be a positive integer count, got {v!r}", key="thresholds"
            )
    if not out["high"] > out["medium"] > out["low"]:
        raise ConfigError(
            f"must be strictly decreasing from high to low, got {out}", key="thresholds"
        )
    return {k: int(v) for k, v in out.items()}


def activity_tiers(
    person: Any,
    ts: Any,
    *,
    as_of: Any,
    window: str | timedelta = "30d",
    thresholds: Mapping[str, int] | tuple[int, int, int] | None = None,
    touchpoint: Any = None,
    event: Any = None,
    touchpoints: str | Iterable[str] | None = "private",
    exclude_events: Iterable[str] = OUTBOUND_EVENTS,
    people: Any = None,
    data: Any = None,
) -> ActivityTiers:
    """Tier people by their interactions in the window ending at *as_of*.

    An interaction is a row with ``as_of - window <= ts <= as_of`` (both edges
    included; later rows are ignored), whose *touchpoint* is one of
    *touchpoints* (by default the private-domain touchpoints, those whose
    ``TouchpointKind.domain`` is ``Domain.PRIVATE``; ``None`` counts every
    touchpoint) and whose *event* is not in *exclude_events* (by default the
    outbound and system events ``push_sent``, ``message_delivered``,
    ``system``, which no person initiates). The touchpoint and event filters
    apply only when those columns are given.

    A person is ``high`` with at least ``thresholds["high"]`` interactions,
    else ``medium`` with at least ``thresholds["medium"]``, else ``low`` with
    at least ``thresholds["low"]``, else ``inactive``. Defaults: 8 / 3 / 1 in
    30 days. Every person in the input or in *people* is reported, those with
    no qualifying rows as ``inactive``. Windows are exact durations, so the
    time zone plays no part.

    Args:
        person: person id per row, or a column name of *data*.
        ts: instants (aware datetimes or UTC ``datetime64``), or a name.
        as_of: the end of the window.
        window: the window length (``"30d"``, ``"2w"``, a ``timedelta``).
        thresholds: ``{"high": h, "medium": m, "low": l}`` or ``(h, m, l)``,
            strictly decreasing positive counts.
        touchpoint: touchpoint per row (``TouchpointKind`` values), or a name.
        event: event name per row, or a name.
        touchpoints: ``"private"``, ``None`` (all) or the touchpoint values to count.
        exclude_events: event names never counted.
        people: optional ids of everyone to report.
        data: a table to read named columns from.

    Returns:
        An :class:`ActivityTiers` result, one row per person sorted by id.

    Raises:
        InvalidInput: a missing timestamp or person (naming the row) or column.
        ConfigError: a bad *window* or *thresholds*.

    Examples:
        >>> res = activity_tiers(
        ...     [7, 7, 7, 8, 9],
        ...     ["2026-01-10T09:00:00+08:00", "2026-01-20T09:00:00+08:00",
        ...      "2026-01-25T09:00:00+08:00", "2026-01-25T09:00:00+08:00",
        ...      "2026-01-25T09:00:00+08:00"],
        ...     touchpoint=["app", "wecom", "app", "douyin", "app"],
        ...     event=["app_open", "wecom_reply", "click", "click", "push_sent"],
        ...     as_of="2026-02-01T00:00:00+08:00", thresholds=(3, 2, 1))
        >>> res.interactions.tolist(), res.tier.tolist()
        ([3, 0, 0], ['high', 'inactive', 'inactive'])
    """
    limits = _thresholds(thresholds)
    window_us = duration_us(window, key="window")
    cols = read_columns(
        data,
        "events",
        text=("touchpoint", "event"),
        person=person,
        ts=ts,
        touchpoint=touchpoint,
        event=event,
    )
    person_arr, ts_arr = cols["person"], cols["ts"]
    assert person_arr is not None and ts_arr is not None
    cutoff = as_of_us(as_of)
    times = ts_us(ts_arr, field="ts", allow_nat=True)  # window_groups checks
    universe = None if people is None else read_columns(None, "people", people=people)["people"]
    ids, codes_of = person_codes(person_arr, universe, fields=("person", "people"))
    # time first (one streaming pass); each text column is then encoded once, on the
    # rows left, and matched on its few distinct values
    tp, ev = cols["touchpoint"], cols["event"]
    texts: list[tuple[Any, list[tuple[str, ...]]]] = []
    wants_tp = False
    if tp is not None and touchpoints is not None:
        wants_tp = True
        wanted = (
            private_touchpoints()
            if touchpoints == "private"
            else _names(touchpoints, "touchpoints")
        )
        texts.append((tp, [wanted]))
    excluded = _names(exclude_events, "exclude_events")
    if ev is not None and excluded:
        texts.append((ev, [excluded]))
    # one fused pass: the time window, then each text column looked up on the rows kept

    def counted(groups: list[npt.NDArray[np.integer[Any]]]) -> npt.NDArray[np.bool_]:
        mask = np.ones(len(groups[0]), dtype=bool)
        for j, group in enumerate(groups):
            # the touchpoint column (first, when filtered) must match; events must not
            mask &= (group == 0) if wants_tp and j == 0 else (group != 0)
        return mask

    keep, _ = window_groups(
        times, cutoff, cutoff - window_us, texts, field="ts", select=counted if texts else None
    )
    counts = np.bincount(codes_of(keep), minlength=len(ids)).astype(np.int64)
    tier_code = np.full(len(ids), 3, dtype=np.int64)
    tier_code[counts >= limits["low"]] = 2
    tier_code[counts >= limits["medium"]] = 1
    tier_code[counts >= limits["high"]] = 0
    return ActivityTiers(
        person=ids,
        interactions=counts,
        tier=np.array(TIERS, dtype=object)[tier_code],
        thresholds=limits,
        window=timedelta(microseconds=window_us),
        as_of=np.datetime64(cutoff, "us"),
    )


def _names(values: str | Iterable[str], key: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigError(f"give a list of names, not the string {values!r}", key=key)
    out = tuple(str(getattr(v, "value", v)) for v in values)
    return out
