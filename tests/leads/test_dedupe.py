from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import dedupe_leads
from autoops.models import normalize_phones

from .reference import dedupe_reference

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PHONES = ["13800138001", "+86 138 0013 8001", "13900139002", "15000000003", "1234", None]


def _leads(n_rows: list[tuple[int, int, int]]) -> dict[str, object]:
    return {
        "lead_id": [f"L{i}" for i in range(len(n_rows))],
        "created_at": [T0 + timedelta(hours=h) for h, _, _ in n_rows],
        "phone": [PHONES[p] for _, p, _ in n_rows],
        "dealer_id": [f"D{d}" if d else None for _, _, d in n_rows],
        # up to 12 touchpoints and None: both ways of counting distinct touchpoints run
        "touchpoint": [TOUCHPOINTS[h % len(TOUCHPOINTS)] for h, _, _ in n_rows],
    }


TOUCHPOINTS = ["app", "douyin", None, *(f"t{i}" for i in range(10))]


rows_st = st.lists(
    st.tuples(st.integers(0, 24 * 90), st.integers(0, len(PHONES) - 1), st.integers(0, 2)),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, window_h=st.integers(1, 24 * 40), scope=st.sampled_from(["brand", "dealer"]))
def test_matches_brute_force(rows: list[tuple[int, int, int]], window_h: int, scope: str) -> None:
    leads = _leads(rows)
    result = dedupe_leads(leads, window=f"{window_h}h", scope=scope)
    e164 = normalize_phones(np.array(leads["phone"], dtype=object)).e164.tolist()
    keys = [
        None if p is None else (p, d if scope == "dealer" else None)
        for p, d in zip(e164, leads["dealer_id"], strict=True)  # type: ignore[call-overload]
    ]
    times = [h * 3_600_000_000 for h, _, _ in rows]
    kept, previous = dedupe_reference(list(leads["lead_id"]), times, keys, window_h * 3_600_000_000)  # type: ignore[call-overload]
    assert result.kept_id.tolist() == kept
    assert result.previous_id.tolist() == previous
    for i, k in enumerate(kept):
        cycle = [j for j in range(len(kept)) if kept[j] == k]
        touches = {leads["touchpoint"][j] for j in cycle} - {None}  # type: ignore[index]
        assert result.cycle_size[i] == len(cycle)
        assert result.touchpoint_count[i] == len(touches)


@settings(max_examples=40, deadline=None)
@given(rows=rows_st, window_h=st.integers(1, 24 * 40), scope=st.sampled_from(["brand", "dealer"]))
def test_matches_duckdb_sql(rows: list[tuple[int, int, int]], window_h: int, scope: str) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("pandas")
    from .duck import dedupe_duckdb

    leads = _leads(rows)
    result = dedupe_leads(leads, window=f"{window_h}h", scope=scope)
    e164 = normalize_phones(np.array(leads["phone"], dtype=object)).e164.tolist()
    keys = [
        None if p is None else f"{p}|{d if scope == 'dealer' else ''}"
        for p, d in zip(e164, leads["dealer_id"], strict=True)  # type: ignore[call-overload]
    ]
    times = [h * 3_600_000_000 for h, _, _ in rows]
    kept = dedupe_duckdb(keys, times, window_h * 3_600_000_000)
    assert result.kept_id.tolist() == [leads["lead_id"][k] for k in kept]  # type: ignore[index]


@settings(max_examples=100, deadline=None)
@given(rows=rows_st, window_h=st.integers(1, 24 * 40))
def test_idempotent(rows: list[tuple[int, int, int]], window_h: int) -> None:
    leads = _leads(rows)
    first = dedupe_leads(leads, window=f"{window_h}h")
    keep = ~first.is_duplicate
    again = dedupe_leads(
        {k: np.array(v, dtype=object)[keep] for k, v in leads.items()}, window=f"{window_h}h"
    )
    assert not again.is_duplicate.any()
    # the kept lead of a kept lead is itself
    index = {lid: i for i, lid in enumerate(first.lead_id.tolist())}
    for kid in first.kept_id.tolist():
        assert first.kept_id[index[kid]] == kid
    assert len(first) == len(rows)


def test_phone_forms_are_one_person_and_window_edge() -> None:
    leads = {
        "lead_id": ["a", "b", "c", "d"],
        "created_at": [
            T0,
            T0 + timedelta(days=1),
            T0 + timedelta(days=30) - timedelta(microseconds=1),
            T0 + timedelta(days=30),
        ],
        "phone": ["138 0013 8000", "+8613800138000", "008613800138000", "13800138000"],
        "touchpoint": ["douyin", "app", "app", "website"],
    }
    r = dedupe_leads(leads, window="30d")
    assert r.kept_id.tolist() == ["a", "a", "a", "d"]
    assert r.previous_id.tolist() == [None, None, None, "a"]
    assert r.cycle.tolist() == [1, 1, 1, 2]
    assert r.cycle_size.tolist() == [3, 3, 3, 1]
    assert r.touchpoint_count.tolist() == [2, 2, 2, 1]
    att = r.attachments()
    assert att["lead_id"].tolist() == ["b", "c"] and set(att["kept_id"].tolist()) == {"a"}


def test_ties_keep_input_order_and_scope_series() -> None:
    leads = {
        "lead_id": ["x", "y", "z"],
        "created_at": [T0, T0, T0],
        "phone": ["13800138000"] * 3,
        "series": ["S7", "S9", "S7"],
    }
    assert dedupe_leads(leads).kept_id.tolist() == ["x", "x", "x"]
    assert dedupe_leads(leads, scope="series").kept_id.tolist() == ["x", "y", "x"]


def test_one_id_key_and_models() -> None:
    from autoops.models import Lead

    models = [
        Lead(lead_id="L1", created_at=T0, touchpoint="app", identifiers={"phone": "13800138000"}),
        Lead(
            lead_id="L2",
            created_at=T0 + timedelta(days=2),
            touchpoint="douyin",
            identifiers={"phone": "13800138000"},
        ),
    ]
    assert dedupe_leads(models).kept_id.tolist() == ["L1", "L1"]
    cols = {"lead_id": ["a", "b", "c"], "created_at": [T0] * 3, "one_id": [7, 7, -1]}
    assert dedupe_leads(cols, key="one_id").kept_id.tolist() == ["a", "a", "c"]


def test_bad_input() -> None:
    ok = {"lead_id": ["a"], "created_at": [T0], "phone": ["13800138000"]}
    with pytest.raises(ConfigError, match="scope"):
        dedupe_leads(ok, scope="galaxy")
    with pytest.raises(ConfigError, match="window"):
        dedupe_leads(ok, window="0d")
    with pytest.raises(InvalidInput, match="naive"):
        dedupe_leads({"lead_id": ["a"], "created_at": [datetime(2026, 1, 1)], "phone": ["1"]})
    with pytest.raises(InvalidInput, match="duplicate lead_id"):
        dedupe_leads({"lead_id": ["a", "a"], "created_at": [T0, T0], "phone": [None, None]})
    with pytest.raises(InvalidInput, match="one_id"):
        dedupe_leads(ok, key="one_id")
    r = dedupe_leads(
        {"lead_id": ["a", "b"], "created_at": [T0, T0], "phone": ["not a phone", None]}
    )
    assert r.key_status.tolist() == ["invalid", "missing"] and r.summary()["without_key"] == 2
    assert "138" not in repr(r)
