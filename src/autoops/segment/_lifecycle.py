"""Lifecycle stages (潜客 → 意向 / 战败 → 车主) and value orientation (理性 / 感性)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular, columns
from autoops.errors import ConfigError
from autoops.segment._common import (
    OUTBOUND_EVENTS,
    SummaryTable,
    as_of_us,
    count_table,
    display_id,
    duration_us,
    group_people,
    isin_text,
    read_columns,
    ts_us,
)

__all__ = [
    "ORIENTATIONS",
    "STAGES",
    "LifecycleRules",
    "LifecycleStages",
    "ValueOrientation",
    "lifecycle_stages",
    "value_orientation",
]

#: Stage names, in the order the rules are tried.
STAGES: tuple[str, ...] = ("owner", "ordered", "defeated", "dormant", "intent", "potential")
#: Orientation labels.
ORIENTATIONS: tuple[str, ...] = ("rational", "emotional", "balanced", "unknown")


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _duration(value: str | timedelta) -> timedelta:
    return timedelta(microseconds=duration_us(value, key="dormant_after"))


@attrs.frozen(slots=True)
class LifecycleRules:
    """The configurable rules behind :func:`lifecycle_stages`.

    Attributes:
        owner_events: events that make a person an owner (交车).
        order_events: order events (小定, 大定).
        refund_events: events that cancel one order (a refunded small order).
        intent_events: funnel events that show purchase intent (留资, 到店, 试驾).
        defeated_statuses: lead statuses that mean the lead was lost (战败).
        dormant_after: no person-initiated event for this long makes a
            non-owner, non-ordered person dormant.
        exclude_events: events that are not person-initiated (never activity).

    Raises:
        ConfigError: an empty event list or a bad duration; names the key.

    Examples:
        >>> LifecycleRules().dormant_after
        datetime.timedelta(days=180)
        >>> LifecycleRules(dormant_after="0d")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: dormant_after: must be a positive duration, ...
    """

    owner_events: tuple[str, ...] = attrs.field(default=("delivery",), converter=_names)
    order_events: tuple[str, ...] = attrs.field(
        default=("small_order", "big_order"), converter=_names
    )
    refund_events: tuple[str, ...] = attrs.field(default=("refund",), converter=_names)
    intent_events: tuple[str, ...] = attrs.field(
        default=("lead", "visit", "test_drive"), converter=_names
    )
    defeated_statuses: tuple[str, ...] = attrs.field(default=("defeated",), converter=_names)
    dormant_after: timedelta = attrs.field(default=timedelta(days=180), converter=_duration)
    exclude_events: tuple[str, ...] = attrs.field(default=OUTBOUND_EVENTS, converter=_names)

    def __attrs_post_init__(self) -> None:
        for key in ("owner_events", "order_events", "intent_events"):
            if not getattr(self, key):
                raise ConfigError("needs at least one event name", key=key)


@attrs.frozen(slots=True, repr=False)
class LifecycleStages(Tabular):
    """Per-person lifecycle stage (rows sorted by person id).

    Attributes:
        person: distinct person ids, sorted.
        stage: one of ``STAGES``.
        last_active: the latest person-initiated event or lead at or before
            ``as_of`` (UTC; NaT if none).
        rules: the :class:`LifecycleRules` applied.
        as_of: the instant described (UTC).

    Examples:
        >>> res = lifecycle_stages([1, 2], ["lead", "delivery"], ["2026-01-20T00:00:00+08:00"] * 2,
        ...                        as_of="2026-02-01T00:00:00+08:00")
        >>> res
        LifecycleStages(people=2, owner=1, ordered=0, defeated=0, dormant=0, intent=1, potential=0)
    """

    person: npt.NDArray[Any]
    stage: npt.NDArray[Any]
    last_active: npt.NDArray[np.datetime64]
    rules: LifecycleRules
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {"person": self.person, "stage": self.stage, "last_active": self.last_active}

    def summary(self) -> SummaryTable:
        """People per stage, in rule order.

        Examples:
            >>> res = lifecycle_stages([1, 2], ["delivery", "page_view"],
            ...                        ["2026-01-20T00:00:00+08:00"] * 2,
            ...                        as_of="2026-02-01T00:00:00+08:00")
            >>> res.summary().rows()[0]
            ('owner', 1, 0.5)
        """
        return count_table("Lifecycle stages", "stage", STAGES, self.stage)

    def __repr__(self) -> str:
        counts = {name: int((self.stage == name).sum()) for name in STAGES}
        return short_repr("LifecycleStages", people=len(self.person), **counts)

    def _repr_html_(self) -> str:
        rows = [
            [display_id(p), s]
            for p, s in zip(self.person[:10].tolist(), self.stage[:10].tolist(), strict=True)
        ]
        return self.summary()._repr_html_() + html_table(repr(self), ["person", "stage"], rows)


def lifecycle_stages(
    person: Any,
    event: Any,
    ts: Any,
    *,
    as_of: Any,
    rules: LifecycleRules | None = None,
    leads: Any = None,
    lead_person: str = "person",
    lead_status: str = "status",
    lead_ts: str = "created_at",
    owners: Any = None,
    people: Any = None,
    data: Any = None,
) -> LifecycleStages:
    """The lifecycle stage of each person from funnel events and lead statuses.

    Only events and leads at or before *as_of* count (lead statuses are taken
    as they are now). The first rule that holds gives the stage:

    1. ``owner``: an owner event (``delivery``), or the person is in *owners*.
    2. ``ordered``: more order events (``small_order``, ``big_order``) than
       refund events (``refund`` cancels one refundable small order).
    3. ``defeated``: the person has leads and every one has a defeated status
       (``defeated``).
    4. ``dormant``: no person-initiated event (any event not in
       ``exclude_events``) and no lead created in
       ``[as_of - dormant_after, as_of]`` (180 days by default; both edges
       included).
    5. ``intent``: an intent event (``lead``, ``visit``, ``test_drive``), an
       order event (so a refunded small order falls back to intent) or a lead.
    6. ``potential``: everyone else (fans and followers).

    Every person in the events, the leads, *owners* or *people* is reported.

    Args:
        person: person id per event, or a column name of *data*.
        event: event name per row, or a name.
        ts: event instants (aware datetimes or UTC ``datetime64``), or a name.
        as_of: the instant described.
        rules: a :class:`LifecycleRules` (default rules when ``None``).
        leads: optional leads table with columns *lead_person*, *lead_status*
            and *lead_ts* (for example ``data.leads`` with
            ``lead_person="true_person_id"``).
        lead_person: the leads' person column.
        lead_status: the leads' status column (``LeadStatus`` values).
        lead_ts: the leads' creation time column.
        owners: optional ids of known owners.
        people: optional ids of everyone to report.
        data: a table to read the named event columns from.

    Returns:
        A :class:`LifecycleStages` result, one row per person sorted by id.

    Raises:
        InvalidInput: a missing timestamp or person (naming the row) or column.

    Examples:
        >>> res = lifecycle_stages(
        ...     [1, 1, 2, 3, 4],
        ...     ["lead", "small_order", "test_drive", "page_view", "page_view"],
        ...     ["2026-01-10T00:00:00+08:00", "2026-01-20T00:00:00+08:00",
        ...      "2026-01-25T00:00:00+08:00", "2026-01-25T00:00:00+08:00",
        ...      "2025-01-25T00:00:00+08:00"],
        ...     as_of="2026-02-01T00:00:00+08:00")
        >>> res.stage.tolist()
        ['ordered', 'intent', 'potential', 'dormant']
    """
    rules = LifecycleRules() if rules is None else rules
    cols = read_columns(data, "events", text=("event",), person=person, event=event, ts=ts)
    person_arr, event_arr, ts_arr = cols["person"], cols["event"], cols["ts"]
    assert person_arr is not None and event_arr is not None and ts_arr is not None
    cutoff = as_of_us(as_of)
    times = ts_us(ts_arr, field="ts")
    lead_p = lead_s = None
    lead_times = None
    if leads is not None:
        lc = columns(leads, [lead_person, lead_status, lead_ts], what="leads")
        lead_p, lead_s = lc[lead_person], lc[lead_status]
        lead_times = ts_us(lc[lead_ts], field=lead_ts)
    owner_ids = None if owners is None else read_columns(None, "owners", owners=owners)["owners"]
    universe = None if people is None else read_columns(None, "people", people=people)["people"]
    ids, (codes, lcodes, ocodes, _) = group_people(
        person_arr, lead_p, owner_ids, universe, fields=("person", lead_person, "owners", "people")
    )
    assert codes is not None
    n = len(ids)
    past = times <= cutoff
    c = codes[past]
    ev = event_arr[past]
    t = times[past]

    def count(names: tuple[str, ...]) -> npt.NDArray[np.int64]:
        return np.bincount(c[isin_text(ev, names)], minlength=n).astype(np.int64)

    owner = count(rules.owner_events) > 0
    if ocodes is not None:
        owner[ocodes] = True
    ordered = count(rules.order_events) > count(rules.refund_events)
    active_rows = ~isin_text(ev, rules.exclude_events)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, c[active_rows], t[active_rows])
    intent = count(rules.intent_events + rules.order_events) > 0
    defeated = np.zeros(n, dtype=bool)
    if lcodes is not None and lead_s is not None and lead_times is not None:
        current = lead_times <= cutoff
        lc_now = lcodes[current]
        n_leads = np.bincount(lc_now, minlength=n)
        lost = isin_text(lead_s[current], rules.defeated_statuses)
        n_lost = np.bincount(lc_now[lost], minlength=n)
        defeated = (n_leads > 0) & (n_lost == n_leads)
        intent |= n_leads > 0
        np.maximum.at(last, lc_now, lead_times[current])
    window = rules.dormant_after // timedelta(microseconds=1)
    dormant = last < cutoff - window
    code = np.full(n, 5, dtype=np.int64)
    for i, flag in reversed(list(enumerate((owner, ordered, defeated, dormant, intent)))):
        code[flag] = i
    return LifecycleStages(
        person=ids,
        stage=np.array(STAGES, dtype=object)[code],
        last_active=last.view("datetime64[us]").copy(),
        rules=rules,
        as_of=np.datetime64(cutoff, "us"),
    )


@attrs.frozen(slots=True, repr=False)
class ValueOrientation(Tabular):
    """Per-person rational / emotional orientation from content engagement.

    Attributes:
        person: distinct person ids, sorted.
        rational: views of rational content (spec, price, test report).
        emotional: views of emotional content (lifestyle, travel, community).
        orientation: ``"rational"``, ``"emotional"``, ``"balanced"`` or ``"unknown"``.
        as_of: the instant described (UTC).

    Examples:
        >>> res = value_orientation([1, 1], ["spec", "travel"], ["2026-01-20T00:00:00+08:00"] * 2,
        ...                         as_of="2026-02-01T00:00:00+08:00")
        >>> res
        ValueOrientation(people=1, rational=0, emotional=0, balanced=1, unknown=0)
    """

    person: npt.NDArray[Any]
    rational: npt.NDArray[np.int64]
    emotional: npt.NDArray[np.int64]
    orientation: npt.NDArray[Any]
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "person": self.person,
            "rational": self.rational,
            "emotional": self.emotional,
            "orientation": self.orientation,
        }

    def summary(self) -> SummaryTable:
        """People per orientation.

        Examples:
            >>> res = value_orientation([1, 2], ["spec", "travel"],
            ...                         ["2026-01-20T00:00:00+08:00"] * 2,
            ...                         as_of="2026-02-01T00:00:00+08:00")
            >>> res.summary().rows()[:2]
            [('rational', 1, 0.5), ('emotional', 1, 0.5)]
        """
        return count_table("Value orientation", "orientation", ORIENTATIONS, self.orientation)

    def __repr__(self) -> str:
        counts = {name: int((self.orientation == name).sum()) for name in ORIENTATIONS}
        return short_repr("ValueOrientation", people=len(self.person), **counts)

    def _repr_html_(self) -> str:
        rows = [
            [display_id(p), int(r), int(e), o]
            for p, r, e, o in zip(
                self.person[:10].tolist(),
                self.rational[:10],
                self.emotional[:10],
                self.orientation[:10].tolist(),
                strict=True,
            )
        ]
        head = ["person", "rational", "emotional", "orientation"]
        return self.summary()._repr_html_() + html_table(repr(self), head, rows)


def value_orientation(
    person: Any,
    category: Any,
    ts: Any,
    *,
    as_of: Any,
    event: Any = None,
    content_events: Iterable[str] = ("content_view",),
    rational: Iterable[str] = ("spec", "price", "test_report"),
    emotional: Iterable[str] = ("lifestyle", "travel", "community"),
    window: str | timedelta | None = None,
    people: Any = None,
    data: Any = None,
) -> ValueOrientation:
    """Rational vs emotional value orientation from the content people engage with.

    Counts, per person, rows at or before *as_of* (and, with *window*, at or
    after ``as_of - window``) whose *category* is in *rational* or in
    *emotional*; when *event* is given only rows whose event is in
    *content_events* count. Orientation: ``rational`` when rational views
    outnumber emotional ones, ``emotional`` when the reverse, ``balanced`` on
    a tie with at least one view, ``unknown`` with none.

    Args:
        person: person id per row, or a column name of *data*.
        category: content category per row (``None`` allowed), or a name.
        ts: instants (aware datetimes or UTC ``datetime64``), or a name.
        as_of: the instant described.
        event: optional event name per row, or a name.
        content_events: the events that count when *event* is given.
        rational: rational content categories.
        emotional: emotional content categories.
        window: optional look-back window.
        people: optional ids of everyone to report.
        data: a table to read named columns from.

    Returns:
        A :class:`ValueOrientation` result, one row per person sorted by id.

    Raises:
        InvalidInput: a missing timestamp or person, naming the row.
        ConfigError: a category listed as both rational and emotional.

    Examples:
        >>> res = value_orientation(["a", "a", "a", "b", "c"],
        ...                         ["spec", "price", "travel", "community", None],
        ...                         ["2026-01-20T00:00:00+08:00"] * 5,
        ...                         as_of="2026-02-01T00:00:00+08:00")
        >>> res.orientation.tolist()
        ['rational', 'emotional', 'unknown']
    """
    rat, emo = _names(rational), _names(emotional)
    both = sorted(set(rat) & set(emo))
    if both:
        raise ConfigError(
            f"categories listed as both rational and emotional: {both}", key="rational"
        )
    window_us = None if window is None else duration_us(window, key="window")
    cols = read_columns(
        data,
        "events",
        text=("category", "event"),
        person=person,
        category=category,
        ts=ts,
        event=event,
    )
    person_arr, cat_arr, ts_arr = cols["person"], cols["category"], cols["ts"]
    assert person_arr is not None and cat_arr is not None and ts_arr is not None
    cutoff = as_of_us(as_of)
    times = ts_us(ts_arr, field="ts")
    universe = None if people is None else read_columns(None, "people", people=people)["people"]
    ids, (codes, _) = group_people(person_arr, universe, fields=("person", "people"))
    assert codes is not None
    n = len(ids)
    keep = times <= cutoff
    if window_us is not None:
        keep &= times >= cutoff - window_us
    ev = cols["event"]
    if ev is not None:
        keep &= isin_text(ev, _names(content_events))
    r = np.bincount(codes[keep & isin_text(cat_arr, rat)], minlength=n).astype(np.int64)
    e = np.bincount(codes[keep & isin_text(cat_arr, emo)], minlength=n).astype(np.int64)
    code = np.full(n, 3, dtype=np.int64)
    code[(r == e) & (r > 0)] = 2
    code[e > r] = 1
    code[r > e] = 0
    return ValueOrientation(
        person=ids,
        rational=r,
        emotional=e,
        orientation=np.array(ORIENTATIONS, dtype=object)[code],
        as_of=np.datetime64(cutoff, "us"),
    )
