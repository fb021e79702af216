"""Hypothesis strategies for small event tables around a fixed as_of."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

AS_OF = np.datetime64("2026-02-01T00:00:00", "us")
AS_OF_US = int(AS_OF.astype(np.int64))
HOUR_US = 3_600_000_000
EVENTS = ("click", "favourite", "test_drive", "share", "push_sent", "app_open")
TOUCHPOINTS = ("app", "wecom", "douyin", "showroom", "xiaohongshu")

# offsets in hours: from 40 days before as_of to 2 days after (30d = -720 is an edge)
hours = st.one_of(st.integers(-24 * 40, 48), st.sampled_from([-720, -719, -721, 0, 1, -168, -2160]))


@st.composite
def event_tables(
    draw: Any, *, min_size: int = 0, max_size: int = 40, string_ids: bool | None = None
) -> dict[str, Any]:
    """Columns person, ts, event, touchpoint, amount (cents / 100, no NaN)."""
    n = draw(st.integers(min_size, max_size))
    strings = draw(st.booleans()) if string_ids is None else string_ids
    ids = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    offs = draw(st.lists(hours, min_size=n, max_size=n))
    events = draw(st.lists(st.sampled_from(EVENTS), min_size=n, max_size=n))
    tps = draw(st.lists(st.sampled_from(TOUCHPOINTS), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-500, 50_000), min_size=n, max_size=n))
    person = (
        np.array([f"p{i}" for i in ids], dtype=object) if strings else np.array(ids, dtype=np.int64)
    )
    return {
        "person": person,
        "ts": AS_OF
        + np.array(offs, dtype=np.int64).astype("timedelta64[h]").astype("timedelta64[us]"),
        "event": np.array(events, dtype=object),
        "touchpoint": np.array(tps, dtype=object),
        "amount": np.array(cents, dtype=np.float64) / 100.0,
    }
