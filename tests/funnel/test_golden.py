"""Every golden case of SEMANTICS.md, plus the two settled edge cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from autoops.funnel import Exclusion, Funnel, Step, compute

DAY = 86_400
BASE = np.datetime64("2026-03-01T00:00:00", "us")
D0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def log(*rows: tuple[str, float], **props: list[Any]) -> dict[str, Any]:
    names = [r[0] for r in rows]
    ts = BASE + np.array([int(r[1] * 1_000_000) for r in rows], dtype="timedelta64[us]")
    out: dict[str, Any] = {
        "one_id": np.ones(len(rows), dtype=np.int64),
        "event": np.array(names, dtype=object),
        "ts": ts,
    }
    for key, values in props.items():
        out[key] = np.array(values, dtype=object)
    return out


def depth(f: Funnel, ev: dict[str, Any]) -> int:
    r = compute(f, ev)
    return int(r.depth[0]) if len(r.units) else 0


def test_case_1_repeat_after_conversion() -> None:
    assert depth(Funnel(steps=["A", "B"]), log(("A", 0), ("B", 1), ("A", 2))) == 2


def test_case_2_repeated_step() -> None:
    f = Funnel(steps=["A", "A", "B"])
    assert depth(f, log(("A", 0), ("A", 1), ("B", 2))) == 3
    assert depth(f, log(("A", 0), ("B", 1))) == 1


def test_case_3_window_is_inclusive() -> None:
    f = Funnel(steps=["A", "B"], window="14d")
    w = 14 * DAY
    assert depth(f, log(("A", 0), ("B", w))) == 2
    assert depth(f, log(("A", 0), ("B", w + 1))) == 1


def test_case_4_range_limits_step_1_only() -> None:
    f = Funnel(steps=["A", "B"], window="14d", entry_range=(D0, D0 + timedelta(days=30)))
    assert depth(f, log(("A", 29 * DAY), ("B", 39 * DAY))) == 2


def test_case_4b_entry_before_range_is_not_entered() -> None:
    f = Funnel(
        steps=["A", "B"],
        window="14d",
        entry_range=(D0 + timedelta(days=1), D0 + timedelta(days=30)),
    )
    assert depth(f, log(("A", DAY - 1), ("B", DAY + 1))) == 0


def test_case_5_best_versus_first_entry() -> None:
    ev = log(("A", 0), ("A", 20 * DAY), ("B", 21 * DAY))
    assert depth(Funnel(steps=["A", "B"], window="14d"), ev) == 2
    assert depth(Funnel(steps=["A", "B"], window="14d", entry="first"), ev) == 1


@pytest.mark.parametrize(("repeats", "expected"), [("break", 2), ("tolerate", 3)])
def test_case_7_strict_repeats(repeats: str, expected: int) -> None:
    f = Funnel(steps=["A", "B", "C"], order="strict", strict_repeats=repeats)
    assert depth(f, log(("A", 0), ("B", 1), ("B", 2), ("C", 3))) == expected


def test_case_9_exclusion_between_steps() -> None:
    f = Funnel(steps=["A", "B"], exclusions=[Exclusion(step=Step(event="X"))])
    assert depth(f, log(("A", 0), ("X", 1), ("B", 2))) == 1
    assert depth(Funnel(steps=["A", "B"]), log(("A", 0), ("X", 1), ("B", 2))) == 2


def test_case_10_hold_on_order_id() -> None:
    ev = log(("small_order", 0), ("big_order", 1), order_id=["1", "2"])
    assert depth(Funnel(steps=["small_order", "big_order"], hold=["order_id"]), ev) == 1
    assert depth(Funnel(steps=["small_order", "big_order"]), ev) == 2


def test_edge_a_exclusion_row_breaks_whatever_else_it_matches() -> None:
    # the middle B also matches the exclusion: it breaks A→B(2) but may itself be B
    f = Funnel(steps=["A", "B"], exclusions=[Exclusion(step=Step(event="B"))])
    assert depth(f, log(("A", 0), ("B", 1), ("B", 2))) == 2
    f2 = Funnel(steps=["A", "C"], exclusions=[Exclusion(step=Step(event=["B", "C"]))])
    assert depth(f2, log(("A", 0), ("C", 1))) == 2  # the chain's own row is not an exclusion
    assert depth(f2, log(("A", 0), ("C", 1), ("C", 2))) == 2


def test_edge_b_first_entry_with_null_hold_value() -> None:
    f = Funnel(steps=["small_order", "big_order"], hold=["order_id"], entry="first")
    ev = log(("small_order", 0), ("small_order", 1), ("big_order", 2), order_id=[None, "1", "1"])
    assert depth(f, ev) == 1
    assert depth(f.model_copy(update={"entry": "best"}), ev) == 2


def test_automotive_funnel_with_refund() -> None:
    f = Funnel.automotive()
    steps = ["lead", "visit", "test_drive", "small_order", "refund", "big_order", "delivery"]
    ev = log(
        *[(s, i * DAY) for i, s in enumerate(steps)],
        order_id=[None, None, None, "o1", "o1", "o1", "o1"],
    )
    assert depth(f, ev) == 4
    ok = log(
        *[(s, i * DAY) for i, s in enumerate(steps) if s != "refund"],
        order_id=[None] * 3 + ["o1"] * 3,
    )
    r = compute(f, ok)
    assert int(r.depth[0]) == 6
    assert r.time_to_convert()["median_s"] == 6 * DAY  # delivery on day 6


def test_hold_on_two_fields() -> None:
    ev = log(("small_order", 0), ("big_order", 1), order_id=["1", "1"], dealer=["D1", "D2"])
    f = Funnel(steps=["small_order", "big_order"], hold=["order_id", "dealer"])
    assert depth(f, ev) == 1
    ev_same = log(("small_order", 0), ("big_order", 1), order_id=["1", "1"], dealer=["D1", "D1"])
    assert depth(f, ev_same) == 2
    ev_null = log(("small_order", 0), ("big_order", 1), order_id=["1", "1"], dealer=[None, None])
    assert depth(f, ev_null) == 1  # null never matches


def test_numeric_hold_values_with_nan() -> None:
    ev = log(("small_order", 0), ("big_order", 1), ("big_order", 2))
    ev["order_id"] = np.array([7.0, np.nan, 7.0])
    f = Funnel(steps=["small_order", "big_order"], hold=["order_id"])
    r = compute(f, ev)
    assert int(r.depth[0]) == 2 and r.chain_row[0].tolist() == [0, 2]
