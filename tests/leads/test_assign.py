from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import AssignPolicy, assign_leads, quota_sequence

from .reference import assign_reference, quota_reference

T0 = datetime(2026, 5, 1, 1, tzinfo=timezone.utc)  # 09:00 Shanghai
CITIES = [
    ("Hangzhou", "Zhejiang"),
    ("Ningbo", "Zhejiang"),
    ("Wenzhou", "Zhejiang"),
    ("Suzhou", "Jiangsu"),
]


def _dealers(specs: list[tuple[int, int, float]]) -> dict[str, list[object]]:
    return {
        "dealer_id": [f"D{i}" for i in range(len(specs))],
        "city": [CITIES[c][0] for c, _, _ in specs],
        "province": [CITIES[c][1] for c, _, _ in specs],
        "daily_capacity": [cap for _, cap, _ in specs],
        "weight": [w for _, _, w in specs],
        "performance": [0.5] * len(specs),
        "lat": [30.0 + i for i in range(len(specs))],
        "lon": [120.0 + i for i in range(len(specs))],
    }


def _leads(rows: list[tuple[int, int]]) -> dict[str, list[object]]:
    return {
        "lead_id": [f"L{i}" for i in range(len(rows))],
        "created_at": [T0 + timedelta(hours=h) for _, h in rows],
        "city": [CITIES[c][0] for c, _ in rows],
        "province": [CITIES[c][1] for c, _ in rows],
    }


dealer_st = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from([0.5, 1.0, 2.0, 3.0])),
    min_size=1,
    max_size=6,
)
lead_st = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60)), max_size=50)


def _area_ok(
    leads: dict[str, list[object]], dealers: dict[str, list[object]], i: int, did: str
) -> bool:
    k = int(did[1:])
    city, prov = leads["city"][i], leads["province"][i]
    if dealers["city"][k] == city:
        return True
    serves_city = any(c == city for c in dealers["city"])
    return not serves_city and dealers["province"][k] == prov


@settings(max_examples=120, deadline=None)
@given(
    specs=dealer_st,
    rows=lead_st,
    strategy=st.sampled_from(["nearest", "round_robin", "capacity", "performance"]),
    seed=st.integers(0, 3),
)
def test_capacity_and_area_are_respected(
    specs: list[tuple[int, int, float]], rows: list[tuple[int, int]], strategy: str, seed: int
) -> None:
    dealers, leads = _dealers(specs), _leads(rows)
    as_of = T0 + timedelta(days=5)
    r = assign_leads(leads, dealers, strategy=strategy, as_of=as_of, seed=seed)
    again = assign_leads(leads, dealers, strategy=strategy, as_of=as_of, seed=seed)
    assert r.dealer_id.tolist() == again.dealer_id.tolist()  # deterministic
    loads = Counter(
        (d, str(day))
        for d, day in zip(r.dealer_id.tolist(), r.day.tolist(), strict=True)
        if d is not None
    )
    for (did, _), k in loads.items():
        assert k <= dealers["daily_capacity"][int(did[1:])]
    for i, did in enumerate(r.dealer_id.tolist()):
        if did is not None:
            assert _area_ok(leads, dealers, i, did)
        else:
            # reported, never forced: no serving dealer, or every serving dealer full that day
            assert r.reason[i] in ("no_dealer_in_area", "capacity_exhausted")
            serving = [k for k in range(len(specs)) if _area_ok(leads, dealers, i, f"D{k}")]
            if r.reason[i] == "no_dealer_in_area":
                assert not serving
            else:
                assert all(loads[(f"D{k}", str(r.day[i]))] >= specs[k][1] for k in serving)


@settings(max_examples=80, deadline=None)
@given(
    weights=st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 7.0]), min_size=1, max_size=6),
    seats=st.integers(0, 60),
)
def test_quota_sequence_matches_exact_reference_and_stays_within_one(
    weights: list[float], seats: int
) -> None:
    got, _offsets = quota_sequence(
        np.zeros(len(weights), dtype=np.int64), np.array(weights), np.array([seats])
    )
    expected = quota_reference(weights, seats)
    assert got.tolist() == expected
    total = sum(weights)
    counts = [0] * len(weights)
    for n, entry in enumerate(got.tolist(), start=1):
        counts[entry] += 1
        assert all(abs(c - n * w / total) < 1 for c, w in zip(counts, weights, strict=True))


@settings(max_examples=80, deadline=None)
@given(specs=dealer_st, rows=lead_st, seed=st.integers(0, 3))
def test_round_robin_matches_brute_force(
    specs: list[tuple[int, int, float]], rows: list[tuple[int, int]], seed: int
) -> None:
    dealers, leads = _dealers(specs), _leads(rows)
    r = assign_leads(
        leads, dealers, strategy="round_robin", as_of=T0 + timedelta(days=5), seed=seed
    )
    # rebuild the preference lists independently: quota order per area, then the area by weight
    rng = np.random.default_rng(seed)
    tie = np.empty(len(specs), dtype=np.int64)
    tie[rng.permutation(len(specs))] = np.arange(len(specs))
    areas: dict[tuple[str, str], list[int]] = {}
    for i in range(len(rows)):
        key = (str(leads["city"][i]), str(leads["province"][i]))
        areas.setdefault(
            key, [k for k in range(len(specs)) if _area_ok(leads, dealers, i, f"D{k}")]
        )
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    seen: Counter[tuple[str, str]] = Counter()
    seqs = {}
    for key, members in areas.items():
        members = sorted(members, key=lambda k: tie[k])
        n_in_area = sum(
            1 for i in range(len(rows)) if (leads["city"][i], leads["province"][i]) == key
        )
        seqs[key] = (
            [members[j] for j in quota_reference([specs[k][2] for k in members], n_in_area)]
            if members
            else []
        )
    prefs: list[list[int]] = [[] for _ in rows]
    for i in order:
        key = (str(leads["city"][i]), str(leads["province"][i]))
        members = areas[key]
        if not members:
            continue
        by_weight = sorted(members, key=lambda k: (-specs[k][2], tie[k]))
        prefs[i] = [seqs[key][seen[key]], *by_weight]
        seen[key] += 1
    local_day = [(T0 + timedelta(hours=h + 8)).date().toordinal() for _, h in rows]
    times = [h for _, h in rows]
    expected = assign_reference(
        [None] * len(rows), local_day, times, prefs, [c for _, c, _ in specs]
    )
    assert r.dealer_id.tolist() == [None if k < 0 else f"D{k}" for k in expected]


def test_round_robin_shares_when_uncapped() -> None:
    dealers = _dealers([(0, 10_000, 1.0), (0, 10_000, 2.0), (0, 10_000, 3.0)])
    leads = _leads([(0, h % 48) for h in range(600)])
    r = assign_leads(leads, dealers, strategy="round_robin", as_of=T0 + timedelta(days=3))
    counts = Counter(r.dealer_id.tolist())
    assert [counts[f"D{k}"] for k in range(3)] == [100, 200, 300]


def test_preassigned_owner_staff_and_errors() -> None:
    dealers = _dealers([(0, 5, 1.0), (0, 5, 1.0), (3, 5, 1.0)])
    leads = {
        **_leads([(0, 0), (0, 1), (0, 2), (0, 3)]),
        "dealer_id": ["D1", None, "D2", None],
        "phone": [None, "13955501234", None, None],
    }
    staff = {"staff_id": ["S1", "S2", "S3"], "dealer_id": ["D0", "D0", "D1"]}
    owners = {"+86 139 5550 1234": "D0"}
    r = assign_leads(
        leads, dealers, strategy="nearest", as_of=T0 + timedelta(days=1), owners=owners, staff=staff
    )
    assert r.dealer_id[0] == "D1" and r.reason[0] == "preassigned"
    assert r.dealer_id[1] == "D0" and r.reason[1] == "returning_owner"
    assert r.reason[2] != "preassigned" and r.dealer_id[2] in ("D0", "D1")  # D2 is out of area
    assert set(r.staff_id[r.dealer_id == "D0"].tolist()) <= {"S1", "S2"}
    assert r.to_pandas().shape[0] == 4
    with pytest.raises(InvalidInput, match="unknown dealer"):
        assign_leads(
            {**leads, "dealer_id": ["D9", None, None, None]}, dealers, as_of=T0 + timedelta(days=1)
        )
    ignored = assign_leads(
        {**leads, "dealer_id": ["D9", None, None, None]},
        dealers,
        as_of=T0 + timedelta(days=1),
        policy=AssignPolicy(unknown_dealer="ignore"),
    )
    assert ignored.dealer_id[0] is not None
    with pytest.raises(InvalidInput, match="no dealers"):
        assign_leads(leads, {k: [] for k in dealers}, as_of=T0 + timedelta(days=1))
    with pytest.raises(InvalidInput, match="after as_of"):
        assign_leads(leads, dealers, as_of=T0)
    with pytest.raises(InvalidInput, match="naive"):
        assign_leads(leads, dealers, as_of=datetime(2026, 6, 1))
    with pytest.raises(ConfigError, match="strategy"):
        assign_leads(leads, dealers, strategy="random", as_of=T0 + timedelta(days=1))
    with pytest.raises(ConfigError, match="fallback"):
        AssignPolicy(fallback="anywhere")
    no_fallback = assign_leads(
        _leads([(2, 0)]),
        dealers,
        as_of=T0 + timedelta(days=1),
        policy=AssignPolicy(fallback="none"),
    )
    assert no_fallback.reason.tolist() == ["no_dealer_in_area"]
