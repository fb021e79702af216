"""Hypothesis strategies: small event logs and funnel specs using every option."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from hypothesis import strategies as st

from autoops.funnel import Condition, Exclusion, Funnel, Step

EVENTS = ["A", "B", "C", "D", "X"]
BASE = np.datetime64("2026-01-01T00:00:00", "us")
MINUTE = 60_000_000
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@st.composite
def logs(
    draw: Any, units: int = 5, max_rows: int = 7, scale: int = 1, min_units: int = 1
) -> dict[str, Any]:
    """Events of a few units: duplicate timestamps, properties, hold values.

    A catalogue unit (id 999) holds one row of every event so that every step
    name is known; it takes part in every comparison like any other unit.
    """
    unit_ids, names, ts, props, orders = [], [], [], [], []
    for u in range(draw(st.integers(min_units, units))):
        for _ in range(draw(st.integers(0, max_rows))):
            unit_ids.append(u)
            names.append(draw(st.sampled_from(EVENTS)))
            ts.append(draw(st.integers(0, 12)))
            props.append(draw(st.sampled_from([0, 1, 2, None])))
            orders.append(draw(st.sampled_from(["o1", "o2", None])))
    for i, name in enumerate(EVENTS):
        unit_ids.append(999)
        names.append(name)
        ts.append(100 + i)
        props.append(1)
        orders.append("o1")
    perm = draw(st.permutations(range(len(names))))
    take = np.asarray(perm, dtype=np.int64)
    return {
        "one_id": np.asarray(unit_ids, dtype=np.int64)[take],
        "event": np.asarray(names, dtype=object)[take],
        "ts": (BASE + np.asarray(ts, dtype=np.int64) * MINUTE * scale).astype("datetime64[us]")[
            take
        ],
        "p": np.asarray(props, dtype=object)[take],
        "order_id": np.asarray(orders, dtype=object)[take],
    }


@st.composite
def steps(draw: Any) -> Step:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return Step(
            event=draw(st.sampled_from(EVENTS[:4])), where=[Condition(column="p", op=">=", value=1)]
        )
    if kind == 1:
        return Step(
            event=draw(st.lists(st.sampled_from(EVENTS[:4]), min_size=2, max_size=2, unique=True))
        )
    return Step(event=draw(st.sampled_from(EVENTS[:4])))


@st.composite
def funnels(draw: Any, order: str | None = None, scale: int = 1) -> Funnel:
    """Ordered or strict funnels with every option drawn."""
    k = draw(st.integers(2, 4))
    data: dict[str, Any] = {
        "steps": [draw(steps()) for _ in range(k)],
        "window": f"{draw(st.sampled_from([2, 4, 6, 30])) * scale}min",
        "order": order or draw(st.sampled_from(["ordered", "ordered", "strict"])),
        "entry": draw(st.sampled_from(["best", "first"])),
    }
    if data["order"] == "strict":
        data["strict_repeats"] = draw(st.sampled_from(["break", "tolerate"]))
    if draw(st.booleans()):
        a = draw(st.integers(0, 8))
        data["entry_range"] = (
            T0 + timedelta(minutes=a * scale),
            T0 + timedelta(minutes=(a + draw(st.integers(1, 6))) * scale),
        )
    if draw(st.booleans()):
        data["step_windows"] = [
            draw(st.sampled_from([None, f"{scale}min", f"{3 * scale}min"])) for _ in range(k - 1)
        ]
    if draw(st.booleans()):
        data["min_gaps"] = [draw(st.sampled_from([None, f"{scale}min"])) for _ in range(k - 1)]
    if draw(st.booleans()):
        after = draw(st.integers(1, k - 1))
        before = draw(st.integers(after + 1, k))
        data["exclusions"] = [
            Exclusion(
                step=Step(event=draw(st.sampled_from(["X", "D"]))), after=after, before=before
            )
        ]
    if draw(st.booleans()):
        lo = draw(st.integers(1, k))
        hi = draw(st.integers(lo, k))
        data["hold"] = {"order_id": list(range(lo, hi + 1))}
    return Funnel(**data)


@st.composite
def day_logs(draw: Any, max_days: int = 80) -> tuple[Any, Any, int]:
    """(int32 unit codes, int32 day numbers, the number of units) of up to 200 rows,
    the days in order (an append-only log) or not."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, n_units = draw(st.integers(1, 200)), draw(st.integers(1, 30))
    d0, n_days = draw(st.integers(0, 20_000)), draw(st.integers(1, max_days))
    units = rng.integers(0, n_units, n).astype(np.int32)
    day = (d0 + rng.integers(0, n_days, n)).astype(np.int32)
    return units, np.sort(day) if draw(st.booleans()) else day, n_units


def distinct_by(units: Any, key: Any, lo: int, hi: int) -> list[int]:
    """How many distinct units each key value lo..hi holds (a set per value)."""
    return [len(set(units[key == k].tolist())) for k in range(lo, hi + 1)]
