"""Engagement features from touchpoint events, linked to leads by phone."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._time import US
from autoops.leads._input import read_table
from autoops.leads._link import person_codes

__all__ = ["ENGAGEMENT", "EventView", "lex_position", "read_events"]

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
    """Events reduced to what lead functions need: person code, time, event name, category."""

    __slots__ = (
        "category",
        "code",
        "event",
        "event_code",
        "event_names",
        "is_price",
        "lead_code",
        "ts",
    )

    def __init__(self, leads_phone: npt.NDArray[Any], events: Any, as_of_us: int) -> None:
        ev = read_table(
            events, ("ts", "event", "phone"), optional=("category",), what="events", times=("ts",)
        )
        ts = ev["ts"].astype(US).astype(np.int64)
        keep = (ts <= as_of_us) & ~np.isnat(ev["ts"].astype(US)) & (ev["phone"] != None)  # noqa: E711
        lead_code, code = person_codes(leads_phone, ev["phone"][keep])
        self.lead_code = lead_code
        self.code = code
        self.ts = ts[keep]
        self.event = ev["event"][keep].astype(object)
        cat = ev.get("category")
        self.category = (
            cat[keep].astype(object)
            if cat is not None
            else np.full(len(self.ts), None, dtype=object)
        )
        names, codes = np.unique(self.event.astype(str), return_inverse=True)
        self.event_names = names
        self.event_code = codes.reshape(-1)
        self.is_price = np.asarray(self.category == "price", dtype=bool)

    def event_in(self, names: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        """Rows whose event name is one of *names*."""
        wanted = np.flatnonzero(np.isin(self.event_names, np.array(names, dtype=str)))
        table = np.zeros(len(self.event_names) + 1, dtype=bool)
        table[wanted] = True
        result: npt.NDArray[np.bool_] = table[self.event_code]
        return result

    def feature_mask(self, name: str) -> npt.NDArray[np.bool_]:
        """Rows counted by engagement feature *name* (price content is not also 'content')."""
        events, category = ENGAGEMENT[name]
        mask = self.event_in(events) & (self.code >= 0)
        if category is not None:
            mask &= self.category == category
        if name == "content":
            mask &= ~(self.event_in(("content_view",)) & self.is_price)
        result: npt.NDArray[np.bool_] = mask
        return result

    def last_of(self, names: tuple[str, ...], n_codes: int) -> npt.NDArray[np.int64]:
        """Latest time per person code of events in *names* (int64 min when none)."""
        out = np.full(n_codes, np.iinfo(np.int64).min, dtype=np.int64)
        rows = self.event_in(names) & (self.code >= 0)
        np.maximum.at(out, self.code[rows], self.ts[rows])
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
