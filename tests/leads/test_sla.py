from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import BusinessCalendar, sla_report

from .reference import business_due_reference

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # Monday 08:00 Shanghai
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _minutes(dt: datetime) -> int:
    return int((dt - EPOCH).total_seconds() // 60)


@settings(max_examples=60, deadline=None)
@given(
    leads=st.lists(
        st.tuples(st.integers(0, 3 * 1440), st.sampled_from(["D1", "D2", None])),
        min_size=1,
        max_size=12,
    ),
    contacts=st.lists(st.tuples(st.integers(0, 11), st.integers(-120, 2 * 1440)), max_size=25),
    sla=st.sampled_from([30, 120, 600]),
    as_of_min=st.integers(0, 5 * 1440),
)
def test_matches_brute_force(
    leads: list[tuple[int, str | None]], contacts: list[tuple[int, int]], sla: int, as_of_min: int
) -> None:
    created = [T0 + timedelta(minutes=m) for m, _ in leads]
    lead_cols = {
        "lead_id": [f"L{i}" for i in range(len(leads))],
        "created_at": created,
        "dealer_id": [d for _, d in leads],
    }
    c_rows = [(i % len(leads), off) for i, off in contacts]
    contact_cols = {
        "lead_id": [f"L{i}" for i, _ in c_rows],
        "ts": [created[i] + timedelta(minutes=off) for i, off in c_rows],
    }
    as_of = T0 + timedelta(minutes=as_of_min)
    r = sla_report(lead_cols, contact_cols, first_contact_within=f"{sla}min", as_of=as_of)

    def workday(_day: int) -> bool:
        return True

    for i in range(len(leads)):
        local = _minutes(created[i]) + 8 * 60
        due = business_due_reference(local, sla, 9 * 60, 18 * 60, workday) - 8 * 60
        assert int(r.due[i].astype("datetime64[m]").astype(np.int64)) == due
        offs = [off for j, off in c_rows if j == i and off >= 0]
        if offs:
            first = _minutes(created[i]) + min(offs)
            assert r.first_contact_at[i] == np.datetime64(first, "m")
            assert bool(r.breached[i]) == (first > due)
            # business minutes by walking the clock
            walked = sum(
                1
                for t in range(_minutes(created[i]), first)
                if 9 * 60 <= (t + 8 * 60) % 1440 < 18 * 60
            )
            assert r.response_minutes[i] == walked
        else:
            assert np.isnat(r.first_contact_at[i]) and np.isnan(r.response_minutes[i])
            assert bool(r.breached[i]) == (due < _minutes(as_of))
            assert bool(r.pending[i]) == (due >= _minutes(as_of))
    per = r.per_dealer()
    assert per.leads.sum() == len(leads)
    assert per.breaches.sum() == r.breached.sum()
    assert r.early_contacts == sum(1 for _, off in c_rows if off < 0)
    # nearest-rank quantiles per dealer: the value at rank ceil(q * k) of the k sorted responses
    for j, dealer in enumerate(per.dealer_id.tolist()):
        mine = sorted(
            float(x)
            for x, d in zip(r.response_minutes.tolist(), lead_cols["dealer_id"], strict=True)
            if d == dealer and x == x
        )
        for q, got in ((0.5, per.p50_minutes[j]), (0.9, per.p90_minutes[j])):
            if mine:
                assert got == mine[max(math.ceil(q * len(mine)), 1) - 1]
            else:
                assert np.isnan(got)


def test_issue_example_callbacks_and_per_dealer() -> None:
    t = datetime(2026, 3, 2, 9, 55, tzinfo=timezone.utc)  # 17:55 Shanghai
    leads = {
        "lead_id": ["A", "B", "C"],
        "created_at": [t, t, t],
        "dealer_id": ["D1", "D1", "D2"],
        "phone": ["13955501234", "13955501235", None],
    }
    drive = t + timedelta(days=2)
    contacts = {
        "lead_id": ["A", "A", "B", "B", "ghost"],
        "ts": [
            t + timedelta(hours=17, minutes=1),
            drive + timedelta(minutes=20),
            t + timedelta(hours=16),
            drive + timedelta(hours=5),
            t,
        ],
        "after_test_drive": [False, True, False, True, False],
    }
    events = {
        "ts": [drive, drive, t - timedelta(days=1)],
        "event": ["test_drive"] * 3,
        "phone": ["+86 139 5550 1234", "13955501235", "13955501235"],
    }
    r = sla_report(
        leads, contacts, first_contact_within="2h", events=events, as_of=drive + timedelta(days=1)
    )
    assert str(r.due[0]) == "2026-03-03T02:55:00.000000"
    assert r.breached.tolist() == [True, False, True]  # A at 10:55+, B at 09:55 next day, C never
    assert r.callback_in_time.tolist() == [True, False, False]
    assert r.unknown_contacts == 1
    per = r.per_dealer()
    assert per.dealer_id.tolist() == ["D1", "D2"]
    assert (
        per.test_drives.tolist() == [2, 0]
        and per.callback_rate[0] == 0.5
        and np.isnan(per.callback_rate[1])
    )
    same = sla_report(
        leads,
        contacts,
        first_contact_within="2h",
        test_drives={"lead_id": ["A", "B"], "ts": [drive, drive]},
        as_of=drive + timedelta(days=1),
    )
    assert same.callback_in_time.tolist() == r.callback_in_time.tolist()
    cal = BusinessCalendar(weekdays=range(5))
    assert (
        sla_report(leads, contacts, business_hours=cal, holidays=["2026-03-03"]).due[0] > r.due[0]
    )
    assert "13955501234" not in r._repr_html_()


def test_bad_input() -> None:
    leads = {"lead_id": ["A"], "created_at": [T0], "dealer_id": ["D1"]}
    with pytest.raises(ConfigError, match="first_contact_within"):
        sla_report(leads, {"lead_id": [], "ts": []}, first_contact_within="soon")
    with pytest.raises(InvalidInput, match="naive"):
        sla_report(leads, {"lead_id": ["A"], "ts": [datetime(2026, 3, 2)]})
    with pytest.raises(InvalidInput, match="ts"):
        sla_report(leads, {"lead_id": ["A"]})
    with pytest.raises(ConfigError, match="close"):
        sla_report(leads, {"lead_id": [], "ts": []}, business_hours=("18:00", "09:00"))
