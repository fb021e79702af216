"""Medals: rule-based, once per member, idempotent, award instant = the qualifying event."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.loyalty import Ledger, MedalRule, MedalRules

from .conftest import T0


def test_awards_once_and_idempotently(ledger: Ledger) -> None:
    rules = MedalRules.automotive_default()
    events = {
        "member_id": ["a"] * 11 + ["b", "b", None],
        "event": ["check_in"] * 11 + ["test_drive", "test_drive", "test_drive"],
        "ts": [T0 + timedelta(hours=h) for h in range(11)] + [T0, T0 + timedelta(days=1), T0],
    }
    first = rules.apply(events, ledger=ledger)
    got = sorted(zip(first.member_id, first.medal, first.awarded_at.tolist(), strict=True))
    assert got == [("a", "ten_check_ins", (T0 + timedelta(hours=9)).replace(tzinfo=None)),
                   ("b", "first_test_drive", T0.replace(tzinfo=None))]  # fmt: skip
    assert first.new.all()
    again = rules.apply(events, ledger=ledger)
    assert not again.new.any()
    assert [(m.member_id, m.medal) for m in ledger.medals()] == [("a", "ten_check_ins"),
                                                                ("b", "first_test_drive")]  # fmt: skip
    assert ledger.medals("a")[0].reason == "checked in 10 times"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=40), st.integers(1, 4))
def test_matches_brute_force(raw: list[tuple[int, int]], at_least: int) -> None:
    events = {"member_id": [f"m{m}" for m, _ in raw], "event": ["share"] * len(raw),
              "ts": [T0 + timedelta(hours=h) for _, h in raw]}  # fmt: skip
    out = MedalRules([MedalRule("sharer", "share", at_least)]).apply(events)
    expected = {}
    for m in {f"m{x}" for x, _ in raw}:
        times = sorted((h, i) for i, (x, h) in enumerate(raw) if f"m{x}" == m)
        if len(times) >= at_least:
            expected[m] = np.datetime64(
                (T0 + timedelta(hours=times[at_least - 1][0])).replace(tzinfo=None), "us"
            )
    assert dict(zip(out.member_id, out.awarded_at, strict=True)) == expected


def test_config_errors() -> None:
    with pytest.raises(ConfigError):
        MedalRules([MedalRule("x", "post"), MedalRule("x", "share")])
    with pytest.raises(ConfigError):
        MedalRule("", "post")
