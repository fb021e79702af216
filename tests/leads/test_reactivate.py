from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import reactivation_candidates

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
AS_OF = T0 + timedelta(days=100)
PHONES = ["13955501234", "+86 139 5550 1235", "13955501236"]
WEIGHTS = {
    "visit": (25.0, 1.0),
    "test_drive": (25.0, 1.0),
    "price_content": (20.0, 2.0),
    "content": (10.0, 5.0),
    "app": (10.0, 5.0),
    "reply": (10.0, 3.0),
}
NAMES = {
    "visit": {"visit"},
    "test_drive": {"test_drive"},
    "reply": {"wecom_reply"},
    "content": {"content_view", "page_view", "click", "favourite", "share", "comment"},
    "app": {"login", "app_open", "check_in", "post"},
}


def reference(
    leads: list[dict[str, object]], events: list[dict[str, object]]
) -> list[tuple[str, float]]:
    out = []
    for lead in leads:
        if lead["status"] != "defeated":
            out.append(("not_defeated", float("nan")))
            continue
        d_at = lead["defeated_at"]
        if AS_OF - d_at < timedelta(days=30):  # type: ignore[operator]
            out.append(("in_cool_off", float("nan")))
            continue
        others = [o for o in leads if o["phone"] == lead["phone"] and o["status"] != "defeated"]
        if any(o["created_at"] > lead["created_at"] for o in others):  # type: ignore[operator]
            out.append(("has_newer_lead", float("nan")))
            continue
        after = [e for e in events if e["phone"] == lead["phone"] and d_at < e["ts"] <= AS_OF]  # type: ignore[operator]
        if any(e["event"] in ("small_order", "big_order", "delivery") for e in after):
            out.append(("already_ordered", float("nan")))
            continue
        value = {k: 0.0 for k in WEIGHTS}
        for e in after:
            w = 0.5 ** ((AS_OF - e["ts"]).total_seconds() / (30 * 86400))  # type: ignore[operator]
            if e["event"] == "content_view" and e["category"] == "price":
                value["price_content"] += w
            else:
                for k, names in NAMES.items():
                    if e["event"] in names:
                        value[k] += w
        score = sum(WEIGHTS[k][0] * min(v, WEIGHTS[k][1]) / WEIGHTS[k][1] for k, v in value.items())
        parts = [k for k in WEIGHTS if value[k] > 0]
        out.append((",".join(parts) or "cool_off_passed", score))
    return out


@settings(max_examples=100, deadline=None)
@given(
    lrows=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 90),
            st.sampled_from(["defeated", "defeated", "contacted"]),
            st.integers(0, 40),
        ),
        min_size=1,
        max_size=8,
    ),
    erows=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 110),
            st.sampled_from(
                ["visit", "login", "content_view", "small_order", "wecom_reply", "click"]
            ),
            st.sampled_from([None, "price"]),
        ),
        max_size=20,
    ),
)
def test_matches_brute_force(
    lrows: list[tuple[int, int, str, int]], erows: list[tuple[int, int, str, str | None]]
) -> None:
    leads = {
        "lead_id": [f"L{i}" for i in range(len(lrows))],
        "created_at": [T0 + timedelta(days=d) for _, d, _, _ in lrows],
        "defeated_at": [T0 + timedelta(days=d + k) for _, d, _, k in lrows],
        "status": [s for _, _, s, _ in lrows],
        "phone": [PHONES[p] for p, _, _, _ in lrows],
    }
    events = {
        "ts": [T0 + timedelta(days=d) for _, d, _, _ in erows],
        "event": [e for _, _, e, _ in erows],
        "category": [c for _, _, _, c in erows],
        "phone": [PHONES[p] for p, _, _, _ in erows],
    }
    r = reactivation_candidates(leads, events, as_of=AS_OF)
    ref_leads = [
        {
            "phone": p,
            "created_at": T0 + timedelta(days=d),
            "defeated_at": T0 + timedelta(days=d + k),
            "status": s,
        }
        for p, d, s, k in lrows
    ]
    ref_events = [
        {"phone": p, "ts": T0 + timedelta(days=d), "event": e, "category": c}
        for p, d, e, c in erows
    ]
    expected = reference(ref_leads, ref_events)
    assert r.reason.tolist() == [e[0] for e in expected]
    np.testing.assert_allclose(r.score, [e[1] for e in expected], rtol=1e-9)
    cands = np.flatnonzero(r.candidate)
    assert sorted(r.rank[cands].tolist()) == list(range(1, len(cands) + 1))
    ranked = cands[np.argsort(r.rank[cands])]
    assert (np.diff(r.score[ranked]) <= 1e-12).all()


def test_exclusions_and_errors() -> None:
    leads = {
        "lead_id": ["a", "b"],
        "created_at": [T0, T0],
        "status": ["defeated", "defeated"],
        "defeat_reason": ["invalid_contact", "budget"],
    }
    r = reactivation_candidates(leads, None, as_of=AS_OF)
    assert r.reason.tolist() == ["excluded_reason:invalid_contact", "cool_off_passed"]
    assert r.summary() == {"defeated": 2, "candidates": 1, "excluded_reason": 1}
    with pytest.raises(ConfigError, match="cool_off"):
        reactivation_candidates(leads, None, as_of=AS_OF, cool_off="-1d")
    with pytest.raises(InvalidInput, match="status"):
        reactivation_candidates({"lead_id": ["a"], "created_at": [T0]}, None, as_of=AS_OF)
