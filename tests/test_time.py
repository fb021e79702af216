"""``autoops._time.utc_offsets`` against ``zoneinfo`` row by row, in every zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._time import utc_offsets

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
LO = int(np.datetime64("1900-01-01", "us").astype(np.int64))
HI = int(np.datetime64("2100-01-01", "us").astype(np.int64))
ZONES = sorted(available_timezones() - {"Factory"})


def reference(us: list[int], tz: str) -> list[int]:
    zone = ZoneInfo(tz)
    one = timedelta(microseconds=1)
    return [
        ((EPOCH + timedelta(microseconds=u)).astimezone(zone).utcoffset() or timedelta(0)) // one
        for u in us
    ]


@settings(max_examples=150)
@given(
    tz=st.sampled_from(ZONES),
    us=st.lists(st.integers(LO, HI), min_size=1, max_size=40),
)
def test_random_instants_match_zoneinfo(tz: str, us: list[int]) -> None:
    got = utc_offsets(np.array(us, dtype=np.int64).view("datetime64[us]"), tz)
    assert got.tolist() == reference(us, tz)


@pytest.mark.parametrize(
    ("tz", "change"),
    [
        ("Australia/Adelaide", "2025-10-04T16:30:00"),  # +09:30 -> +10:30
        ("Australia/Lord_Howe", "2025-10-04T15:30:00"),  # +10:30 -> +11:00, a half-hour step
        ("Pacific/Chatham", "2025-09-27T14:00:00"),  # +12:45 -> +13:45
        ("America/St_Johns", "2025-03-09T05:30:00"),  # -03:30 -> -02:30
        ("Europe/Berlin", "2025-03-30T01:00:00"),
    ],
)
def test_every_microsecond_around_a_change(tz: str, change: str) -> None:
    at = int(np.datetime64(change, "us").astype(np.int64))
    us = [at - 3_600_000_000, at - 1, at, at + 1, at + 3_600_000_000]
    got = utc_offsets(np.array(us, dtype=np.int64).view("datetime64[us]"), tz)
    want = reference(us, tz)
    assert got.tolist() == want
    assert want[1] != want[2]  # the case really straddles a change


def test_nat_rows_get_zero_and_wide_spans_use_distinct_hours() -> None:
    ts = np.array(["NaT", "1700-06-01T00:00", "2300-06-01T00:00"], dtype="datetime64[us]")
    got = utc_offsets(ts, "Asia/Shanghai")
    us = ts.view(np.int64)[1:].tolist()
    assert got.tolist() == [0, *reference(us, "Asia/Shanghai")]


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_aware_polars_datetimes_are_read_as_their_utc_integers(unit: str) -> None:
    """An aware polars ``Datetime`` column is read from its integers (UTC instants), with
    nulls as NaT: the instants the route through pandas gives; a naive one still needs
    *assume_tz*."""
    pl = pytest.importorskip("polars")
    from autoops._time import _from_pandas, to_utc_us
    from autoops.errors import InvalidInput

    rng = np.random.default_rng(5)
    per_second = {"ns": 10**9, "us": 10**6, "ms": 10**3}[unit]
    ints = rng.integers(-(10**9), 2 * 10**9, 500) * per_second + rng.integers(0, per_second, 500)
    series = pl.Series(ints.tolist(), dtype=pl.Int64).cast(pl.Datetime(unit, "UTC"))
    series = series.dt.convert_time_zone("America/St_Johns").scatter([3, 7], None)
    got = to_utc_us(series)
    want = _from_pandas(series.to_pandas(), "ts", None)
    assert got.dtype == np.dtype("datetime64[us]")
    assert np.array_equal(got, want, equal_nan=True) and np.isnat(got[[3, 7]]).all()
    naive = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)  # UTC wall times
    with pytest.raises(InvalidInput, match="assume_tz"):
        to_utc_us(naive)
    assert np.array_equal(to_utc_us(naive, assume_tz="UTC"), got, equal_nan=True)
