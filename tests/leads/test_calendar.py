from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.leads import BusinessCalendar

from .reference import business_due_reference

BASE_DAY = (date(2026, 3, 2) - date(1970, 1, 1)).days  # a Monday


def test_issue_example_and_edges() -> None:
    cal = BusinessCalendar(open="09:00", close="18:00")
    local = np.array(
        ["2026-03-02T17:55", "2026-03-02T18:00", "2026-03-02T07:00"], dtype="datetime64[us]"
    )
    start = local - np.timedelta64(8, "h")  # Shanghai is UTC+8
    due = cal.add(start, "2h") + np.timedelta64(8, "h")
    assert due.astype(str).tolist() == [
        "2026-03-03T10:55:00.000000",
        "2026-03-03T11:00:00.000000",
        "2026-03-02T11:00:00.000000",
    ]
    # a deadline that lands on closing time stays on that day
    at_close = cal.add(np.array(["2026-03-02T08:00"], dtype="datetime64[us]"), "2h")
    assert str(at_close[0] + np.timedelta64(8, "h")) == "2026-03-02T18:00:00.000000"
    assert cal.elapsed(start, cal.add(start, "2h")).tolist() == [7_200_000_000] * 3
    assert (
        cal.add(np.array(["NaT"], dtype="datetime64[us]"), "1h")[0] != cal.add(start[:1], "1h")[0]
    )


def test_holidays_and_makeup_days() -> None:
    cal = BusinessCalendar(
        weekdays=range(5), holidays=["2026-10-01", "2026-10-02"], workdays=["2026-10-10"]
    )
    # Wed 30 Sep 17:00 local + 2h: skips 1-2 Oct (holidays), 3-4 (weekend) -> Mon 5 Oct 10:00
    start = np.array(["2026-09-30T09:00"], dtype="datetime64[us]")
    assert str(cal.add(start, "2h")[0]) == "2026-10-05T02:00:00.000000"
    assert cal.is_workday(date(2026, 10, 10)) and not cal.is_workday(date(2026, 10, 1))


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 21 * 1440),
    duration=st.integers(1, 3 * 600),
    open_h=st.integers(6, 11),
    length_h=st.integers(1, 10),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    holidays=st.sets(st.integers(0, 25), max_size=4),
)
def test_add_matches_minute_walk(
    start: int, duration: int, open_h: int, length_h: int, weekdays: set[int], holidays: set[int]
) -> None:
    hol_dates = [date(2026, 3, 2) + timedelta(days=d) for d in holidays]
    cal = BusinessCalendar(
        open=f"{open_h:02d}:00",
        close=f"{open_h + length_h:02d}:00",
        weekdays=weekdays,
        holidays=hol_dates,
        tz="UTC",
    )

    def workday(day: int) -> bool:
        d = date(1970, 1, 1) + timedelta(days=day)
        return d.weekday() in weekdays and d not in hol_dates

    start_min = BASE_DAY * 1440 + start
    expected = business_due_reference(
        start_min, duration, open_h * 60, (open_h + length_h) * 60, workday
    )
    arr = np.array([start_min], dtype="datetime64[m]").astype("datetime64[us]")
    due = cal.add(arr, f"{duration}min")
    assert int(due.astype("datetime64[m]").astype(np.int64)[0]) == expected
    assert int(cal.elapsed(arr, due)[0]) == duration * 60_000_000


def test_config_errors_and_json() -> None:
    with pytest.raises(ConfigError, match="close"):
        BusinessCalendar(open="18:00", close="09:00")
    with pytest.raises(ConfigError, match="weekdays"):
        BusinessCalendar(weekdays=[7])
    with pytest.raises(ConfigError, match="holidays"):
        BusinessCalendar(holidays=["not-a-date"])
    with pytest.raises(ConfigError, match="tz"):
        BusinessCalendar(tz="Mars/Olympus")
    with pytest.raises(ConfigError, match="colour"):
        BusinessCalendar.from_json('{"colour": "red"}')
    cal = BusinessCalendar(
        open="08:30", weekdays=[0, 1, 2], holidays=["2026-01-01"], workdays=["2026-01-04"]
    )
    assert BusinessCalendar.from_json(cal.to_json()) == cal
