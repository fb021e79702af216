"""Funnel spec: validation naming the key, JSON round trips."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings

from autoops.errors import ConfigError
from autoops.funnel import Condition, Exclusion, Funnel, Step

from .strategies import funnels


@settings(max_examples=200, deadline=None)
@given(f=funnels())
def test_json_round_trip(f: Funnel) -> None:
    again = Funnel.from_json(f.to_json())
    assert again == f
    assert again.to_json() == f.to_json()


def test_automotive_round_trip_and_shape() -> None:
    f = Funnel.automotive(window="45d", breakdown="touchpoint")
    assert Funnel.from_json(f.to_json()) == f
    assert f.window_us == 45 * 86_400_000_000
    assert f.exclusions[0].step.events == ("refund",)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"steps": []}, "steps"),
        ({"steps": ["a"], "window": "soon"}, "window"),
        ({"steps": ["a", "b"], "step_windows": ["1d", "1d"]}, "step_windows"),
        ({"steps": ["a", "b"], "min_gaps": ["0s"]}, "min_gaps.0"),
        ({"steps": ["a", "b", "c"], "hold": {"order_id": [1, 3]}}, "hold.order_id"),
        ({"steps": ["a", "b"], "attribution": "step:3"}, "attribution"),
        ({"steps": ["a", "b"], "order": "sideways"}, "order"),
        ({"steps": ["a", "b"], "strict_repeats": "tolerate"}, "strict_repeats"),
        (
            {"steps": ["a", "b"], "exclusions": [Exclusion(step=Step(event="x"), after=2)]},
            "exclusions.0",
        ),
        ({"steps": ["a", "b"], "order": "open", "hold": ["o"]}, "hold"),
    ],
)
def test_invalid_specs_name_the_key(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Funnel(**kwargs)  # type: ignore[arg-type]
    assert info.value.key == key


def test_entry_range_must_be_aware_and_ordered() -> None:
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ConfigError) as info:
        Funnel(steps=["a"], entry_range=(t, t - timedelta(days=1)))
    assert info.value.key == "entry_range"
    with pytest.raises(ConfigError, match="naive"):
        Funnel(steps=["a"], entry_range=(datetime(2026, 1, 1), datetime(2026, 2, 1)))


def test_step_and_condition_validation() -> None:
    with pytest.raises(ConfigError) as info:
        Step()
    assert info.value.key == "event"
    assert Step(where=[Condition(column="p", op="is_null")]).label == "p" + "is_null" + "None"
    with pytest.raises(ConfigError, match="JSON"):
        Funnel.from_json("{not json")
    f = Funnel(steps=["a", "b"], window=timedelta(hours=2))
    assert f.window_us == 2 * 3_600_000_000
