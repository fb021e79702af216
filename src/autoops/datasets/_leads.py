"""Leads, follow-up contacts and consent, derived from the generated events."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._tabular import NULL, present
from autoops.datasets._events import HOUR_US, Funnel
from autoops.datasets._people import CITIES, DAY_US, GIVEN, SURNAMES, Dealers, Population, e164
from autoops.datasets._strings import format_digits, id_strings, pick

__all__ = ["make_consent", "make_leads"]

Array = npt.NDArray[Any]
MINUTE_US = 60_000_000


def make_leads(
    rng: np.random.Generator,
    pop: Population,
    dealers: Dealers,
    funnel: Funnel,
    events: dict[str, Array],
    end_us: int,
) -> tuple[dict[str, Array], dict[str, Array]]:
    """One lead per ``lead`` event, graded as consultants would; and their contacts."""
    rows = np.flatnonzero(events["event"] == "lead")
    m = len(rows)
    person = events["true_person_id"][rows]
    created = events["ts"][rows].astype(np.int64)
    real = person >= 0
    f = np.clip(np.searchsorted(funnel.person, person), 0, max(len(funnel.person) - 1, 0))
    prospect = real & (funnel.person[f] == person) if len(funnel.person) else np.zeros(m, bool)
    first = prospect & (funnel.lead_us[f] == created)

    status = np.full(m, "new", dtype=object)
    grade = np.full(m, None, dtype=object)
    horizon = np.array([7, 15, 30, 90, -1])[rng.choice(5, m, p=[0.1, 0.15, 0.25, 0.2, 0.3])]
    by_horizon = np.array(["H", "A", "B", "C", "N"], dtype=object)[
        np.searchsorted([7, 15, 30, 90], np.where(horizon < 0, 999, horizon))
    ]
    stale = (end_us - created) > 60 * DAY_US
    graded = first & (rng.random(m) < 0.9)
    conditions = [
        first & (funnel.delivery_us[f] >= 0),
        first & (funnel.refund_us[f] >= 0),
        first & (funnel.small_order_us[f] >= 0),
        first & (funnel.test_drive_us[f] >= 0),
        first & (funnel.visit_us[f] >= 0),
        first & stale & (rng.random(m) < 0.5),
        first & stale & (rng.random(m) < 0.1),
        first,
    ]
    statuses = [
        "delivered",
        "order_cancelled",
        "ordered",
        "test_driven",
        "visited",
        "defeated",
        "defeat_requested",
        "contacted",
    ]
    grades = [np.full(m, g, dtype=object) for g in ("D", "T", "O", "H", "A", "F", "C")]
    status = np.select(conditions, statuses, "new").astype(object)
    grade = np.select(conditions[:-1], grades, NULL)
    contacted_only = first & (status == "contacted")
    grade[contacted_only] = by_horizon[contacted_only]
    grade[~graded] = None

    # a lead event that carries a dealer was captured at the person's home dealer
    has_dealer = present(events["dealer_id"][rows])
    home = pop.home_dealer[np.maximum(person, 0)]
    dealer_idx = np.where(has_dealer | (real & (rng.random(m) < 0.4)), home, -1)
    dealer_idx = np.where(first & (dealer_idx < 0) & (status != "new"), home, dealer_idx)
    dealer_id = np.where(dealer_idx >= 0, dealers.ids[np.maximum(dealer_idx, 0)], NULL)
    names = np.where(
        real, pop.name[np.maximum(person, 0)], pick(rng, SURNAMES, m) + " " + pick(rng, GIVEN, m)
    )
    octets = rng.integers(0, 256, (m, 3))
    digits = (
        np.stack([octets // 100, octets // 10 % 10, octets % 10], axis=2)
        .reshape(m, 9)
        .astype(np.int8)
    )
    ip = format_digits(digits, "100.ddd.ddd.ddd")
    # fake leads come in bursts from a handful of addresses
    ip[~real] = id_strings("100.127.000.", rng.integers(0, 4, int((~real).sum())), width=3)
    city = pop.city_idx[np.maximum(person, 0)]
    city_names = np.array([c[0] for c in CITIES], dtype=object)
    provinces = np.array([c[1] for c in CITIES], dtype=object)
    lead_id = id_strings("L", np.arange(m), width=8)
    leads = {
        "lead_id": lead_id,
        "created_at": created.view("datetime64[us]"),
        "touchpoint": events["touchpoint"][rows],
        "phone": events["phone"][rows],
        "name": names,
        "dealer_id": dealer_id,
        "series": pop.series[np.maximum(person, 0)],
        "city": city_names[city],
        "province": provinces[city],
        "grade": grade,
        "status": status,
        "stated_horizon_days": horizon.astype(np.int64),
        "device_id": events["device_id"][rows],
        "ip": ip,
        "true_person_id": person,
        "true_fake": ~real,
    }
    contacts, contact_rows = _contacts(rng, dealers, funnel, leads, dealer_idx, first, f, end_us)
    last = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, contact_rows, contacts["ts"].astype(np.int64))
    leads["last_contact_at"] = last.view("datetime64[us]")
    return leads, contacts


def _contacts(
    rng: np.random.Generator,
    dealers: Dealers,
    funnel: Funnel,
    leads: dict[str, Array],
    dealer_idx: npt.NDArray[np.int64],
    first: npt.NDArray[np.bool_],
    f: npt.NDArray[np.int64],
    end_us: int,
) -> tuple[dict[str, Array], npt.NDArray[np.int64]]:
    """Contacts sorted by time, and the lead row of each."""
    with_dealer = np.flatnonzero((dealer_idx >= 0) & ~leads["true_fake"])
    d_idx = dealer_idx[with_dealer]
    created = leads["created_at"].astype(np.int64)[with_dealer]
    # first contact: median about 90 minutes, a long tail of breaches
    delay = (rng.lognormal(np.log(1.5), 1.3, len(with_dealer)) * HOUR_US).astype(np.int64)
    first_ts = created + delay
    # callbacks after a test drive: two in five within 30 minutes, the rest later
    drove = np.flatnonzero(first & (funnel.test_drive_us[f] >= 0) & (dealer_idx >= 0))
    drive_ts = funnel.test_drive_us[f[drove]]
    fast = rng.random(len(drove)) < 0.4
    cb = np.where(
        fast, rng.integers(5, 30, len(drove)) * MINUTE_US, rng.integers(1, 72, len(drove)) * HOUR_US
    )
    cb_dealer = dealer_idx[drove]
    lead_rows = np.concatenate([with_dealer, drove])
    ts = np.concatenate([first_ts, drive_ts + cb])
    dealer = np.concatenate([d_idx, cb_dealer])
    starts = np.searchsorted(dealers.staff_dealer, dealer)
    counts = np.searchsorted(dealers.staff_dealer, dealer, side="right") - starts
    staff = dealers.staff_ids[starts + rng.integers(0, 1 << 30, len(dealer)) % counts]
    keep = ts < end_us
    order = np.argsort(ts[keep], kind="stable")
    n_first = len(with_dealer)
    after = np.concatenate([np.zeros(n_first, bool), np.ones(len(drove), bool)])
    contact_rows = lead_rows[keep][order]
    return {
        "lead_id": leads["lead_id"][contact_rows],
        "ts": ts[keep][order].view("datetime64[us]"),
        "kind": pick(rng, ["call", "wecom", "sms"], len(lead_rows), [6, 3, 1])[keep][order],
        "staff_id": staff[keep][order],
        "after_test_drive": after[keep][order],
    }, contact_rows


def make_consent(rng: np.random.Generator, pop: Population, end_us: int) -> dict[str, Array]:
    """Consent records of members: purposes granted at joining, a few revoked later."""
    who = np.flatnonzero(pop.member)
    k = len(who)
    granted = pop.joined_us[who]
    revoked = np.where(
        rng.random(k) < 0.03,
        granted + ((end_us - granted) * rng.random(k)).astype(np.int64),
        np.iinfo(np.int64).min,
    )
    return {
        "true_person_id": who,
        "phone": e164(pop.phone[who]),
        "marketing": rng.random(k) < 0.80,
        "analytics": rng.random(k) < 0.90,
        "identity_merge": rng.random(k) < 0.85,
        "third_party_sharing": rng.random(k) < 0.20,
        "granted_at": granted.view("datetime64[us]"),
        "revoked_at": revoked.view("datetime64[us]"),
        "opt_out_sms": rng.random(k) < 0.05,
        "opt_out_wecom": rng.random(k) < 0.02,
        "opt_out_email": rng.random(k) < 0.10,
        "tz": np.full(k, "Asia/Shanghai", dtype=object),
    }
