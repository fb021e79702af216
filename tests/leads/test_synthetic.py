"""The references of the other test modules, run on the synthetic dataset."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from autoops._time import to_datetime
from autoops.leads import (
    GradingPolicy,
    assign_leads,
    dedupe_leads,
    grade_leads,
    reactivation_candidates,
    sla_report,
)
from autoops.models import normalize_phones

from .reference import dedupe_reference
from .test_grade import reference as grade_reference
from .test_reactivate import reference as reactivation_reference


@pytest.fixture(scope="module")
def data() -> Any:
    from autoops.datasets import synthetic

    return synthetic(people=400, seed=3)


def _as_of(data: Any) -> Any:
    return to_datetime(max(data.leads.created_at.max(), data.as_of))


def test_dedupe_matches_reference(data: Any) -> None:
    leads = data.leads
    r = dedupe_leads(leads, window="30d")
    keys = normalize_phones(leads.phone).e164.tolist()
    times = leads.created_at.astype(np.int64).tolist()
    kept, previous = dedupe_reference(leads.lead_id.tolist(), times, keys, 30 * 86_400_000_000)
    assert r.kept_id.tolist() == kept and r.previous_id.tolist() == previous
    assert r.summary()["duplicates"] > 0


def test_dedupe_matches_duckdb(data: Any) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("pandas")
    from .duck import dedupe_duckdb

    leads = data.leads
    r = dedupe_leads(leads, window="30d")
    keys = normalize_phones(leads.phone).e164.tolist()
    kept = dedupe_duckdb(keys, leads.created_at.astype(np.int64).tolist(), 30 * 86_400_000_000)
    assert r.kept_id.tolist() == leads.lead_id[kept].tolist()


def test_grading_matches_reference(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from . import test_grade

    as_of = _as_of(data)
    monkeypatch.setattr(test_grade, "AS_OF", as_of)
    leads = data.leads
    rows = np.arange(min(len(leads), 150))
    cols = {k: v[rows] for k, v in leads._columns().items()}
    cols["grade"] = np.full(len(rows), None, dtype=object)
    cols.pop("last_contact_at")
    ev = data.events
    e164 = normalize_phones(ev.phone).e164
    g = grade_leads(cols, ev, as_of=as_of)
    from autoops.leads import GradingPolicy

    lead_e164 = normalize_phones(cols["phone"]).e164
    ref_leads = [
        {
            "e164": lead_e164[i],
            "created_at": to_datetime(cols["created_at"][i]),
            "status": cols["status"][i],
            "horizon": int(cols["stated_horizon_days"][i]),
            "touchpoint": cols["touchpoint"][i],
        }
        for i in range(len(rows))
    ]
    wanted = set(lead_e164.tolist()) - {None}
    ref_events = [
        {
            "e164": e164[j],
            "ts": to_datetime(ev.ts[j]),
            "event": ev.event[j],
            "category": ev.category[j],
        }
        for j in np.flatnonzero([p in wanted for p in e164.tolist()])
    ]
    expected = grade_reference(ref_leads, ref_events, GradingPolicy())
    # the reference has no leads without a phone: compare those with one
    has = np.array([p is not None for p in lead_e164.tolist()])
    assert [e[0] for e, h in zip(expected, has, strict=True) if h] == g.suggested[has].tolist()
    np.testing.assert_allclose(
        g.score[has], [e[1] for e, h in zip(expected, has, strict=True) if h], atol=1e-9
    )


def test_quotes_grade_as_price_negotiated(data: Any) -> None:
    """The dataset's quote events (a price negotiated after a test drive) fire the rule."""
    ev = data.events
    as_of = _as_of(data)
    g = grade_leads(data.leads, ev, as_of=as_of)
    reason = g.reason.astype(str)
    negotiated = np.isin(reason, ["price_negotiated", "price_negotiated+stale"])
    assert (reason == "price_negotiated").sum() > 0
    assert set(g.suggested[reason == "price_negotiated"].tolist()) == {"H"}
    # every such lead's person has a quote at or after the lead's capture, up to as_of
    e164 = normalize_phones(ev.phone).e164
    quote_at: dict[str, list[int]] = {}
    cutoff = np.datetime64(as_of.replace(tzinfo=None), "us").astype(np.int64)
    for p, t, name in zip(
        e164.tolist(), ev.ts.astype(np.int64).tolist(), ev.event.tolist(), strict=True
    ):
        if name == "quote" and p is not None and t <= cutoff:
            quote_at.setdefault(p, []).append(t)
    lead_e164 = normalize_phones(data.leads.phone).e164
    created = data.leads.created_at.astype(np.int64)
    expected = np.array(
        [
            p is not None and any(t >= c for t in quote_at.get(p, []))
            for p, c in zip(lead_e164.tolist(), created.tolist(), strict=True)
        ]
    )
    closed = np.isin(reason, ["delivered", "ordered", "order_cancelled", "defeated"])
    # exactly the leads with a quote since capture that no closing rule took first
    assert (negotiated == (expected & ~closed)).all()
    # without the rule the same leads would only show the test drive
    no_quote = grade_leads(
        data.leads, ev, as_of=as_of, policy=GradingPolicy(negotiation_events=("none",))
    )
    assert set(no_quote.reason[negotiated].tolist()) <= {"test_drive_done", "test_drive_done+stale"}


def test_reactivation_matches_reference(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from . import test_reactivate

    as_of = _as_of(data)
    monkeypatch.setattr(test_reactivate, "AS_OF", as_of)
    leads = data.leads
    cols = {k: v for k, v in leads._columns().items() if k != "last_contact_at"}
    cols["defeated_at"] = leads.created_at + np.timedelta64(3, "D")
    ev = data.events
    r = reactivation_candidates(cols, ev, as_of=as_of)
    e164 = normalize_phones(cols["phone"]).e164
    has = np.array([p is not None for p in e164.tolist()])
    ref_leads = [
        {
            "phone": e164[i],
            "created_at": to_datetime(cols["created_at"][i]),
            "defeated_at": to_datetime(cols["defeated_at"][i]),
            "status": cols["status"][i],
        }
        for i in np.flatnonzero(has)
    ]
    ev_e164 = normalize_phones(ev.phone).e164
    wanted = set(e164.tolist()) - {None}
    ref_events = [
        {
            "phone": ev_e164[j],
            "ts": to_datetime(ev.ts[j]),
            "event": ev.event[j],
            "category": ev.category[j],
        }
        for j in np.flatnonzero([p in wanted for p in ev_e164.tolist()])
    ]
    expected = reactivation_reference(ref_leads, ref_events)
    assert r.reason[has].tolist() == [e[0] for e in expected]


def test_sla_matches_duckdb(data: Any) -> None:
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    as_of = _as_of(data)
    r = sla_report(data.leads, data.contacts, first_contact_within="30min", as_of=as_of)
    con = duckdb.connect()
    leads = pd.DataFrame(
        {
            "lead_id": data.leads.lead_id,
            "created_at": data.leads.created_at,
            "rn": np.arange(len(data.leads)),
        }
    )
    contacts = pd.DataFrame({"lead_id": data.contacts.lead_id, "ts": data.contacts.ts})
    con.register("leads", leads)
    con.register("contacts", contacts)
    day, length = 86_400_000_000, 9 * 3_600_000_000
    local = "(epoch_us(l.created_at) + 28800000000)"
    sql = f"""
    WITH first AS (
        SELECT c.lead_id, min(c.ts) AS first_ts FROM contacts c JOIN leads l USING (lead_id)
        WHERE c.ts >= l.created_at GROUP BY c.lead_id
    ), b AS (
        SELECT l.rn, f.first_ts,
            ({local} // {day}) * {length}
              + least(greatest({local} % {day} - 32400000000, 0), {length}) + 1800000000 AS target
        FROM leads l LEFT JOIN first f USING (lead_id)
    )
    SELECT rn, epoch_us(first_ts) AS first_us,
        ((target - 1) // {length}) * {day} + 32400000000
          + (target - ((target - 1) // {length}) * {length}) - 28800000000 AS due_us
    FROM b ORDER BY rn
    """
    out = con.execute(sql).df()
    assert (out["due_us"].to_numpy(np.int64) == r.due.astype(np.int64)).all()
    first = out["first_us"]
    has = first.notna().to_numpy()
    assert (has == ~np.isnat(r.first_contact_at)).all()
    assert (first[has].to_numpy(np.int64) == r.first_contact_at[has].astype(np.int64)).all()
    per = r.per_dealer()
    assert per.leads.sum() == len(data.leads)


def test_assignment_properties(data: Any) -> None:
    as_of = _as_of(data)
    leads = {**data.leads._columns(), "dealer_id": np.full(len(data.leads), None, dtype=object)}
    dealers = data.dealers
    cap = dict(zip(dealers.dealer_id.tolist(), dealers.daily_capacity.tolist(), strict=True))
    city = dict(zip(dealers.dealer_id.tolist(), dealers.city.tolist(), strict=True))
    prov = dict(zip(dealers.dealer_id.tolist(), dealers.province.tolist(), strict=True))
    served = set(dealers.city.tolist())
    for strategy in ("nearest", "round_robin", "capacity", "performance"):
        r = assign_leads(leads, dealers, strategy=strategy, as_of=as_of, seed=1, staff=data.staff)
        loads = Counter(
            (d, str(day)) for d, day in zip(r.dealer_id.tolist(), r.day.tolist(), strict=True) if d
        )
        assert all(k <= cap[d] for (d, _), k in loads.items())
        for i, d in enumerate(r.dealer_id.tolist()):
            if d is None:
                assert r.reason[i] in ("no_dealer_in_area", "capacity_exhausted", "no_area")
            elif leads["city"][i] in served:
                assert city[d] == leads["city"][i]
            else:
                assert prov[d] == leads["province"][i]
        staff_dealer = dict(
            zip(data.staff.staff_id.tolist(), data.staff.dealer_id.tolist(), strict=True)
        )
        assert all(
            staff_dealer[s] == d
            for s, d in zip(r.staff_id.tolist(), r.dealer_id.tolist(), strict=True)
            if s
        )
