"""Engagement features from touchpoint events, linked to leads by phone."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._time import US
from autoops.leads._codes import codes_of
from autoops.leads._input import read_table
from autoops.leads._link import person_codes

__all__ = ["ENGAGEMENT", "EventView", "last_per_code", "lex_position", "read_events"]

_NAT = np.iinfo(np.int64).min

#: engagement feature → (event names, content category or None)
ENGAGEMENT: dict[str, tuple[tuple[str, ...], str | None]] = {
    "visit": (("visit",), None),
    "test_drive": (("test_drive",), None),
    "price_content": (("content_view",), "price"),
    "content": (("content_view", "page_view", "click", "favourite", "share", "comment"), None),
    "app": (("login", "app_open", "check_in", "post"), None),
    "reply": (("wecom_reply",), None),
}


class EventView:
    """Events reduced to integer columns: person code, time (int64 us), event and category codes.

    Every string column is factorised once (hash-based); nothing downstream
    touches a string again.
    """

    __slots__ = (
        "category_code",
        "category_names",
        "code",
        "event_code",
        "event_names",
        "lead_code",
        "ts",
    )

    def __init__(self, leads_phone: npt.NDArray[Any], events: Any, as_of_us: int) -> None:
        ev = read_table(
            events, ("ts", "event", "phone"), optional=("category",), what="events", times=("ts",)
        )
        ts = ev["ts"].astype(US, copy=False).view(np.int64)
        lead_code, code = person_codes(leads_phone, ev["phone"])
        usable = (ts <= as_of_us) & (ts != _NAT) & (code >= 0)
        rows = None if usable.all() else np.flatnonzero(usable)  # usually every event

        def kept(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return values if rows is None else values[rows]

        self.lead_code = lead_code
        self.code = kept(code)
        self.ts = kept(ts)
        event_code, names = codes_of(ev["event"])
        self.event_names = names.astype(str)
        self.event_code = kept(event_code)
        cat = ev.get("category")
        if cat is None:
            self.category_code = np.full(len(self.ts), -1, dtype=np.int64)
            self.category_names = np.zeros(0, dtype=str)
        else:
            cat_code, cat_names = codes_of(cat)
            self.category_code = kept(cat_code)
            self.category_names = cat_names.astype(str)

    def _lookup(
        self, names: npt.NDArray[Any], codes: npt.NDArray[np.int64], wanted: tuple[str, ...]
    ) -> npt.NDArray[np.bool_]:
        table = np.zeros(len(names) + 1, dtype=bool)  # the last slot is code -1 (None)
        table[:-1] = np.isin(names, np.array(wanted, dtype=str))
        result: npt.NDArray[np.bool_] = table[codes]
        return result

    def event_in(self, names: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        """Rows whose event name is one of *names*."""
        return self._lookup(self.event_names, self.event_code, names)

    def category_is(self, name: str) -> npt.NDArray[np.bool_]:
        """Rows whose category is *name*."""
        return self._lookup(self.category_names, self.category_code, (name,))

    def feature_mask(self, name: str) -> npt.NDArray[np.bool_]:
        """Rows counted by engagement feature *name* (price content is not also 'content')."""
        return self._feature_rule(name, self.event_code, self.category_code)

    def _feature_rule(
        self, name: str, event_code: npt.NDArray[np.int64], category_code: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        events, category = ENGAGEMENT[name]
        mask = self._lookup(self.event_names, event_code, events)
        if category is not None:
            mask &= self._lookup(self.category_names, category_code, (category,))
        if name == "content":
            price = self._lookup(self.category_names, category_code, ("price",))
            mask &= ~(self._lookup(self.event_names, event_code, ("content_view",)) & price)
        return mask

    def feature_index(self, names: tuple[str, ...]) -> npt.NDArray[np.int64]:
        """Per row, the position in *names* of the engagement feature it counts for (-1: none).

        The features are disjoint, so a row counts for at most one. The rule of
        :meth:`feature_mask` is applied to every distinct (event, category) pair
        once; the rows then need a single table lookup.
        """
        ke, kc = len(self.event_names) + 1, len(self.category_names) + 1
        # every (event, category) pair, as codes + 1 (so None, code -1, is pair slot 0)
        pair_event = np.repeat(np.arange(ke), kc) - 1
        pair_category = np.tile(np.arange(kc), ke) - 1
        table = np.full(ke * kc, -1, dtype=np.int64)
        for j, name in enumerate(names):
            table[self._feature_rule(name, pair_event, pair_category)] = j
        # the rows' pair slots (event + 1) * kc + category + 1, built in one array
        slot = self.event_code * kc
        slot += self.category_code
        slot += kc + 1
        out: npt.NDArray[np.int64] = table[slot]
        return out

    def last_of(self, names: tuple[str, ...], n_codes: int) -> npt.NDArray[np.int64]:
        """Latest time per person code of events in *names* (int64 min when none)."""
        return last_per_code(self.code, self.ts, self.event_in(names), n_codes)


def last_per_code(
    code: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    rows: npt.NDArray[np.bool_] | None,
    n_codes: int,
) -> npt.NDArray[np.int64]:
    """Maximum *ts* per code over the selected rows (int64 min for codes without a row)."""
    out = np.full(n_codes, _NAT, dtype=np.int64)
    c = code if rows is None else code[rows]
    t = ts if rows is None else ts[rows]
    np.maximum.at(out, c, t)
    return out


def read_events(leads_phone: npt.NDArray[Any], events: Any, as_of_us: int) -> EventView:
    """Events up to *as_of* with a phone, coded like the leads' phones."""
    return EventView(leads_phone, events, as_of_us)


def lex_position(
    data_g: npt.NDArray[np.int64],
    data_t: npt.NDArray[np.int64],
    q_g: npt.NDArray[np.int64],
    q_t: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For data sorted by (g, t): how many rows are <= (q_g, q_t) lexicographically."""
    n, m = len(data_g), len(q_g)
    g = np.concatenate((data_g, q_g))
    t = np.concatenate((data_t, q_t))
    flag = np.concatenate((np.zeros(n, dtype=np.int8), np.ones(m, dtype=np.int8)))
    order = np.lexsort((flag, t, g))  # data before queries at equal (g, t): counted as <=
    is_data = flag[order] == 0
    before = np.cumsum(is_data) - is_data
    out = np.empty(m, dtype=np.int64)
    q_rows = order[~is_data] - n
    out[q_rows] = before[~is_data]
    return out
