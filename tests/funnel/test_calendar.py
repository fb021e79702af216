"""Calendar maths against numpy's own calendar and the shared time helpers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._time import local_naive
from autoops.funnel._calendar import (
    local_to_utc,
    local_us,
    period_index,
    period_labels,
    period_start_local,
)

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]
instants = st.lists(st.integers(-(10**15), 4 * 10**15), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(us=instants, tz=st.sampled_from(ZONES))
def test_local_us_matches_local_naive(us: list[int], tz: str) -> None:
    t = np.asarray(us, dtype=np.int64)
    want = local_naive(t.view("datetime64[us]"), tz).view(np.int64)
    assert local_us(t, tz).tolist() == want.tolist()


@settings(max_examples=100, deadline=None)
@given(us=instants)
def test_period_index_matches_numpy_calendar(us: list[int]) -> None:
    local = np.asarray(us, dtype=np.int64).view("datetime64[us]")
    assert (
        period_index(local, "month").tolist()
        == local.astype("datetime64[M]").astype(np.int64).tolist()
    )
    assert (
        period_index(local, "day").tolist()
        == local.astype("datetime64[D]").astype(np.int64).tolist()
    )
    weeks = period_index(local, "week")
    starts = period_start_local(weeks, "week").astype("datetime64[D]")
    # a week starts on the Monday on or before the day
    assert np.all((starts.astype(np.int64) + 3) % 7 == 0)
    assert np.all(local.astype("datetime64[D]") - starts < np.timedelta64(7, "D"))


def test_labels_and_round_trip() -> None:
    starts_local = period_start_local(np.array([672]), "month")  # 2026-01
    utc = local_to_utc(starts_local, "Asia/Shanghai")
    assert str(utc[0]) == "2025-12-31T16:00:00.000000"
    assert period_labels(utc, "month", "Asia/Shanghai") == ["2026-01"]
