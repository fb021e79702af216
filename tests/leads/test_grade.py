from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import GradeProfile, GradingPolicy, grade_leads

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
AS_OF = T0 + timedelta(days=40)
PHONES = ["13955501234", "+86 139 5550 1235", "13955501236"]
E164 = ["+8613955501234", "+8613955501235", "+8613955501236"]
EVENTS = [
    "visit",
    "test_drive",
    "content_view",
    "login",
    "wecom_reply",
    "small_order",
    "refund",
    "delivery",
    "click",
    "quote",
]
STATUSES = [
    "new",
    "contacted",
    "visited",
    "test_driven",
    "ordered",
    "delivered",
    "order_cancelled",
    "defeated",
]
FEATURE_EVENTS = {
    "visit": {"visit"},
    "test_drive": {"test_drive"},
    "content": {"content_view", "page_view", "click", "favourite", "share", "comment"},
    "app": {"login", "app_open", "check_in", "post"},
    "reply": {"wecom_reply"},
}
# the domain table of autoops.models.TouchpointKind, written out
PRIVATE = {
    "app",
    "mini_program",
    "website",
    "official_account",
    "wecom",
    "showroom",
    "hotline",
    "head_unit",
    "dealer_crm",
}


def reference(
    leads: list[dict[str, object]], events: list[dict[str, object]], policy: GradingPolicy
) -> list[tuple[str, float]]:
    """Plain-Python grading: one lead at a time, one event at a time."""
    out = []
    hl = policy.half_life.total_seconds()
    for lead in leads:
        created = lead["created_at"]
        mine = [e for e in events if e["e164"] == lead["e164"] and e["ts"] <= AS_OF]
        value = {k: 0.0 for k in policy.weights}
        h = lead["horizon"]
        value["horizon"] = 1 - min(h, 90) / 90 if h >= 0 else 0.0  # type: ignore[operator]
        value["private_touchpoint"] = 1.0 if lead["touchpoint"] in PRIVATE else 0.0
        for e in mine:
            if e["ts"] < AS_OF - policy.lookback:  # type: ignore[operator]
                continue
            w = 0.5 ** ((AS_OF - e["ts"]).total_seconds() / hl)  # type: ignore[operator]
            if e["event"] == "content_view" and e["category"] == "price":
                value["price_content"] += w
                continue
            for name, names in FEATURE_EVENTS.items():
                if e["event"] in names:
                    value[name] += w
        score = sum(
            policy.weights[k][0] * min(value[k], policy.weights[k][1]) / policy.weights[k][1]
            for k in value
        )
        after = [e for e in mine if e["ts"] >= created]  # type: ignore[operator]
        last = {
            name: max((e["ts"] for e in after if e["event"] in names), default=None)
            for name, names in {"order": {"small_order", "big_order"}, "refund": {"refund"}}.items()
        }
        has = {
            n: any(e["event"] == n for e in after)
            for n in ("delivery", "test_drive", *policy.negotiation_events)
        }
        cancelled = (
            last["order"] is not None
            and last["refund"] is not None
            and last["refund"] >= last["order"]
        )
        status = lead["status"]
        if status == "delivered" or has["delivery"]:
            g = "D"
        elif status == "ordered" or (last["order"] is not None and not cancelled):
            g = "O"
        elif status == "order_cancelled" or cancelled:
            g = "T"
        elif status == "defeated":
            g = "F"
        elif any(has[n] for n in policy.negotiation_events):
            g = "H"  # a price negotiated (quote) comes before the test-drive rule
        elif status == "test_driven" or has["test_drive"]:
            g = "H"
        elif h >= 0:  # type: ignore[operator]
            g = GradeProfile.common().grade_for_horizon(h)  # type: ignore[arg-type]
        elif any(
            value[k] > 0
            for k in ("visit", "test_drive", "price_content", "content", "app", "reply")
        ):
            g = "H" if score >= 60 else "A" if score >= 40 else "B" if score >= 20 else "C"
        else:
            g = "N"
        last_touch = max([e["ts"] for e in mine] + [created])  # type: ignore[type-var]
        if g in ("H", "A", "B") and AS_OF - last_touch > policy.stale_after:  # type: ignore[operator]
            g = "C"
        out.append((g, score))
    return out


lead_st = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 30),
        st.sampled_from(STATUSES),
        st.sampled_from([-1, 0, 10, 20, 60, 200]),
        st.sampled_from(["app", "douyin", "showroom"]),
    ),
    min_size=1,
    max_size=8,
)
event_st = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(-200, 45),
        st.sampled_from(EVENTS),
        st.sampled_from([None, "price", "spec"]),
    ),
    max_size=25,
)


def _build(
    lrows: list[tuple[int, int, str, int, str]], erows: list[tuple[int, int, str, str | None]]
) -> tuple[
    dict[str, list[object]],
    dict[str, list[object]],
    list[dict[str, object]],
    list[dict[str, object]],
]:
    leads = {
        "lead_id": [f"L{i}" for i in range(len(lrows))],
        "created_at": [T0 + timedelta(days=d) for _, d, _, _, _ in lrows],
        "phone": [PHONES[p] for p, _, _, _, _ in lrows],
        "status": [s for _, _, s, _, _ in lrows],
        "stated_horizon_days": [h for _, _, _, h, _ in lrows],
        "touchpoint": [t for _, _, _, _, t in lrows],
        "grade": [None] * len(lrows),
    }
    events = {
        "ts": [T0 + timedelta(days=d) for _, d, _, _ in erows],
        "event": [e for _, _, e, _ in erows],
        "phone": [PHONES[p] for p, _, _, _ in erows],
        "category": [c for _, _, _, c in erows],
    }
    ref_leads = [
        {
            "e164": E164[p],
            "created_at": T0 + timedelta(days=d),
            "status": s,
            "horizon": h,
            "touchpoint": t,
        }
        for p, d, s, h, t in lrows
    ]
    ref_events = [
        {"e164": E164[p], "ts": T0 + timedelta(days=d), "event": e, "category": c}
        for p, d, e, c in erows
    ]
    return leads, events, ref_leads, ref_events


@settings(max_examples=120, deadline=None)
@given(lrows=lead_st, erows=event_st)
def test_matches_brute_force(
    lrows: list[tuple[int, int, str, int, str]], erows: list[tuple[int, int, str, str | None]]
) -> None:
    leads, events, ref_leads, ref_events = _build(lrows, erows)
    policy = GradingPolicy()
    g = grade_leads(leads, events, as_of=AS_OF, policy=policy)
    expected = reference(ref_leads, ref_events, policy)
    assert g.suggested.tolist() == [e[0] for e in expected]
    np.testing.assert_allclose(g.score, [e[1] for e in expected], rtol=1e-9, atol=1e-9)
    # contributions add up to the score, bounded by 100
    np.testing.assert_allclose(g.contributions.sum(axis=1), g.score)
    assert ((g.score >= 0) & (g.score <= 100 + 1e-9)).all()


@settings(max_examples=40, deadline=None)
@given(lrows=lead_st, erows=event_st, perm_seed=st.integers(0, 1000))
def test_pure_function_of_inputs(
    lrows: list[tuple[int, int, str, int, str]],
    erows: list[tuple[int, int, str, str | None]],
    perm_seed: int,
) -> None:
    leads, events, _, _ = _build(lrows, erows)
    first = grade_leads(leads, events, as_of=AS_OF)
    again = grade_leads(leads, events, as_of=AS_OF)
    assert (
        first.suggested.tolist() == again.suggested.tolist() and (first.score == again.score).all()
    )
    perm = np.random.default_rng(perm_seed).permutation(len(lrows))
    shuffled = {k: [v[i] for i in perm] for k, v in leads.items()}
    eperm = np.random.default_rng(perm_seed + 1).permutation(len(erows))
    shuffled_events = {k: [v[i] for i in eperm] for k, v in events.items()}
    other = grade_leads(shuffled, shuffled_events, as_of=AS_OF)
    assert other.suggested.tolist() == first.suggested[perm].tolist()
    np.testing.assert_allclose(other.score, first.score[perm])


def test_entered_grade_is_authoritative_and_reasons() -> None:
    leads = {
        "lead_id": ["a", "b"],
        "created_at": [T0, T0],
        "phone": [PHONES[0], PHONES[1]],
        "status": ["contacted", "contacted"],
        "grade": ["C", None],
        "last_contact_at": [AS_OF - timedelta(days=1), None],
    }
    events = {
        "ts": [T0 + timedelta(days=39)] * 2,
        "event": ["test_drive", "quote"],
        "phone": [PHONES[0], PHONES[1]],
    }
    g = grade_leads(leads, events, as_of=AS_OF)
    assert g.grade.tolist() == ["C", "H"] and g.suggested.tolist() == ["H", "H"]
    assert g.reason.tolist() == ["test_drive_done", "price_negotiated"]
    assert g.agrees.tolist() == [False, False]
    stale = grade_leads(
        {**leads, "last_contact_at": [None, None]},
        None,
        as_of=AS_OF + timedelta(days=90),
        policy=GradingPolicy(stale_after="30d"),
    )
    assert stale.suggested.tolist() == ["N", "N"]
    horizon = grade_leads(
        {"lead_id": ["h"], "created_at": [T0], "stated_horizon_days": [10]},
        None,
        as_of=AS_OF + timedelta(days=30),
    )
    assert horizon.suggested.tolist() == ["C"] and horizon.reason.tolist() == [
        "stated_horizon+stale"
    ]
    assert g.to_pandas().shape[0] == 2 and "c_visit" in g.to_pandas().columns


def test_bad_input_and_policy() -> None:
    with pytest.raises(ConfigError, match="thresholds"):
        GradingPolicy(thresholds=(10.0, 20.0, 5.0))
    with pytest.raises(ConfigError, match="weights"):
        GradingPolicy(weights={"vibes": (1, 1)})
    with pytest.raises(InvalidInput, match="as_of"):
        grade_leads({"lead_id": ["a"], "created_at": [T0]}, None, as_of=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="created_at"):
        grade_leads({"lead_id": ["a"]}, None, as_of=AS_OF)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["visit", "content_view", "click", "login", "wecom_reply", "quote"]),
            st.sampled_from([None, "price", "spec"]),
        ),
        max_size=30,
    )
)
def test_feature_index_matches_the_feature_masks(rows: list[tuple[str, str | None]]) -> None:
    from autoops.leads._features import ENGAGEMENT, read_events

    n = len(rows)
    events = {
        "ts": [datetime(2026, 1, 1, tzinfo=timezone.utc)] * n,
        "event": [e for e, _ in rows],
        "category": [c for _, c in rows],
        "phone": ["13800138000"] * n,
    }
    ev = read_events(np.array(["13800138000"], dtype=object), events, 2**62)
    names = tuple(ENGAGEMENT)
    expected = np.full(n, -1)
    for j, name in enumerate(names):
        mask = ev.feature_mask(name)
        assert not (mask & (expected >= 0)).any()  # the features are disjoint
        expected[mask] = j
    assert ev.feature_index(names).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.integers(-(10**12), 10**12) | st.integers(-3, 120), max_size=30),
    three_week=st.booleans(),
)
def test_horizon_codes_match_grade_for_horizon(days: list[int], three_week: bool) -> None:
    from autoops.leads._grade import _GRADES, _horizon_codes

    profile = GradeProfile.three_week() if three_week else GradeProfile.common()
    got = _horizon_codes(profile, np.array(days, dtype=np.int64)).tolist()
    want = [-1 if d < 0 else _GRADES.index(profile.grade_for_horizon(d)) for d in days]
    assert got == want


def test_without_a_grade_column_the_grade_is_the_suggestion() -> None:
    leads = {"lead_id": ["a", "b"], "created_at": [T0, T0], "status": ["ordered", "new"]}
    g = grade_leads(leads, None, as_of=T0)
    assert g.grade.tolist() == g.suggested.tolist() == ["O", "N"]
    assert g.entered.tolist() == [None, None] and g.agrees.tolist() == [False, False]
    g.grade[0] = "X"  # the columns are separate arrays
    assert g.suggested[0] == "O"
