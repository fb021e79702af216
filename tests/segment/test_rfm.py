"""RFM: the DuckDB reference, ties, edges and errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.segment import RFMThresholds, ntile, rfm

from .reference import rfm_ref
from .strategies import AS_OF, AS_OF_US, event_tables

DAY = np.timedelta64(1, "D").astype("timedelta64[us]")


def _rows(res):  # type: ignore[no-untyped-def]
    out = []
    for i, p in enumerate(res.person.tolist()):
        last = None if np.isnat(res.last_ts[i]) else int(res.last_ts[i].astype(np.int64))
        out.append(
            (
                p,
                int(res.frequency[i]),
                round(res.monetary[i] * 100),
                last,
                int(res.r[i]),
                int(res.f[i]),
                int(res.m[i]),
                res.segment[i],
            )
        )
    return out


def _ref_rows(rows):  # type: ignore[no-untyped-def]
    return [(p, f, int(c), last, r, fs, ms, seg) for p, f, c, last, r, fs, ms, seg in rows]


@settings(max_examples=60, deadline=None)
@given(event_tables(), st.integers(2, 6), st.booleans())
def test_matches_duckdb_quantiles(tab, bins, with_universe):  # type: ignore[no-untyped-def]
    people = None
    if with_universe:
        people = (
            np.array(["p9", "p0"], dtype=object)
            if tab["person"].dtype == object
            else np.array([9, 0])
        )
    res = rfm(tab["person"], tab["ts"], tab["amount"], as_of=AS_OF, bins=bins, people=people)
    ref = rfm_ref(tab["person"], tab["ts"], tab["amount"], AS_OF_US, bins, people=people)
    assert _rows(res) == _ref_rows(ref)


@settings(max_examples=30, deadline=None)
@given(event_tables())
def test_matches_duckdb_thresholds(tab):  # type: ignore[no-untyped-def]
    th = RFMThresholds(recency_days=(1, 7, 30), frequency=(2, 3, 5), monetary=(10, 100, 300))
    res = rfm(tab["person"], tab["ts"], tab["amount"], as_of=AS_OF, method=th)
    ref = rfm_ref(tab["person"], tab["ts"], tab["amount"], AS_OF_US, th.bins, thresholds=th)
    assert _rows(res) == _ref_rows(ref)


def test_ties_split_by_person_id() -> None:
    # six people with identical figures: buckets by person id, larger buckets first
    ts = np.full(6, AS_OF - DAY)
    res = rfm(np.array([5, 3, 1, 0, 2, 4]), ts, np.full(6, 10.0), as_of=AS_OF, bins=4)
    assert res.person.tolist() == [0, 1, 2, 3, 4, 5]
    assert res.r.tolist() == [1, 1, 2, 2, 3, 4]
    assert res.f.tolist() == res.m.tolist() == res.r.tolist()


def test_one_event_people_and_future_rows() -> None:
    res = rfm([1, 2, 2], [AS_OF - DAY, AS_OF + DAY, AS_OF], [5.0, 7.0, 3.0], as_of=AS_OF, bins=2)
    assert res.frequency.tolist() == [1, 1]  # the row after as_of is ignored
    assert res.monetary.tolist() == [5.0, 3.0]
    assert res.recency_days.tolist() == [1.0, 0.0]  # a row exactly at as_of counts


def test_no_transactions_reported_not_dropped() -> None:
    res = rfm([1], [AS_OF + DAY], [5.0], as_of=AS_OF, people=[1, 2])
    assert res.person.tolist() == [1, 2]
    assert res.segment.tolist() == ["no_transactions", "no_transactions"]
    assert np.isnan(res.recency_days).all() and np.isnat(res.last_ts).all()
    assert res.summary().to_dicts()[-1] == {"segment": "no_transactions", "people": 2, "share": 1.0}


def test_empty_input() -> None:
    res = rfm(
        np.array([], dtype=np.int64),
        np.array([], dtype="datetime64[us]"),
        np.array([]),
        as_of=AS_OF,
    )
    assert len(res.person) == 0
    assert res.summary().rows()[0] == ("champions", 0, pytest.approx(float("nan"), nan_ok=True))


def test_nan_amount_is_an_error_naming_the_row() -> None:
    with pytest.raises(InvalidInput, match=r"amount \(row 1\)"):
        rfm([1, 2], [AS_OF, AS_OF], [1.0, float("nan")], as_of=AS_OF)


def test_monetary_is_exact_in_fen() -> None:
    res = rfm([1] * 3, [AS_OF] * 3, [0.1, 0.2, 0.3], as_of=AS_OF)
    assert res.monetary.tolist() == [0.6]


def test_time_zones_do_not_change_results() -> None:
    sh = timezone(timedelta(hours=8))
    ts_sh = [datetime(2026, 1, 31, 23, 0, tzinfo=sh), datetime(2026, 1, 1, 8, 0, tzinfo=sh)]
    ts_utc = [t.astimezone(timezone.utc) for t in ts_sh]
    a = rfm([1, 2], ts_sh, [1.0, 2.0], as_of=datetime(2026, 2, 1, 8, tzinfo=sh))
    b = rfm([1, 2], ts_utc, [1.0, 2.0], as_of=np.datetime64("2026-02-01T00:00:00", "us"))
    assert _rows(a) == _rows(b)
    with pytest.raises(InvalidInput, match="naive"):
        rfm([1], [datetime(2026, 1, 1)], [1.0], as_of=AS_OF)


def test_columns_by_name_from_tables() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    data = {"who": [1, 1, 2], "when": [AS_OF - DAY, AS_OF, AS_OF], "amount": [1.0, 2.0, 3.0]}
    base = _rows(rfm(data["who"], np.array(data["when"]), data["amount"], as_of=AS_OF, bins=2))
    df = pd.DataFrame({**data, "when": pd.Series(np.array(data["when"])).dt.tz_localize("UTC")})
    assert _rows(rfm("who", "when", "amount", data=df, as_of=AS_OF, bins=2)) == base
    assert _rows(rfm("who", "when", "amount", data=pl.from_pandas(df), as_of=AS_OF, bins=2)) == base
    with pytest.raises(InvalidInput, match="available: amount, when, who"):
        rfm("person", "when", "amount", data=df, as_of=AS_OF)
    with pytest.raises(InvalidInput, match="no data= table"):
        rfm("who", "when", "amount", as_of=AS_OF)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="bins"):
        rfm([1], [AS_OF], [1.0], as_of=AS_OF, bins=1)
    with pytest.raises(ConfigError, match="method"):
        rfm([1], [AS_OF], [1.0], as_of=AS_OF, method="kmeans")
    with pytest.raises(ConfigError, match="strictly increasing"):
        RFMThresholds((30, 10), (1, 2), (1, 2))
    with pytest.raises(ConfigError, match="equally many"):
        RFMThresholds((30,), (1, 2), (1, 2))


@given(st.integers(0, 60), st.integers(1, 12))
def test_ntile_sizes(n, bins):  # type: ignore[no-untyped-def]
    t = ntile(n, bins)
    assert (np.diff(t) >= 0).all()
    sizes = np.bincount(t, minlength=bins + 1)[1:]
    if n >= bins:
        assert sizes.max() - sizes.min() <= 1 and (np.diff(sizes) <= 0).all()
    else:
        assert t.tolist() == list(range(1, n + 1))


def test_result_tables_and_reprs() -> None:
    res = rfm(["13812345678", "b"], [AS_OF, AS_OF], [1.0, 2.0], as_of=AS_OF, bins=2)
    assert repr(res) == "RFM(people=2, with_transactions=2, bins=2)"
    html = res._repr_html_()
    assert "13812345678" not in html and "138****5678" in html
    df = res.to_pandas()
    assert list(df.columns) == [
        "person",
        "last_ts",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "segment",
    ]
    assert res.to_polars().height == 2
