"""The synthetic dataset: determinism, documented rates, consistent ground truth, masking."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autoops.datasets import SyntheticDataset, synthetic
from autoops.errors import ConfigError, InvalidInput
from autoops.models import TouchpointEvent, normalize_phones


@pytest.fixture(scope="module")
def big() -> SyntheticDataset:
    return synthetic(people=100_000, seed=11)


@pytest.fixture(scope="module")
def small() -> SyntheticDataset:
    return synthetic(people=2_000, seed=5)


def test_same_seed_same_tables() -> None:
    a, b = synthetic(people=500, seed=9), synthetic(people=500, seed=9)
    for name, table in a.tables().items():
        other = b.tables()[name]
        for col, values in table._columns().items():
            assert np.array_equal(
                values, other._columns()[col], equal_nan=values.dtype.kind in "fM"
            ), (name, col)
    c = synthetic(people=500, seed=10)
    assert not np.array_equal(a.events.ts, c.events.ts)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ConfigError, match="tablet_share"):
        synthetic(people=10, tablet_share=0.9)
    with pytest.raises(ConfigError, match="months"):
        synthetic(people=10, months=0)


def rate(numerator: int, denominator: int) -> float:
    return numerator / denominator


def test_funnel_rates_hold(big: SyntheticDataset) -> None:
    ev = big.events
    real = ~ev.true_fake
    people_with = {
        name: np.unique(ev.true_person_id[(ev.event == name) & real])
        for name in (
            "lead",
            "visit",
            "test_drive",
            "small_order",
            "refund",
            "big_order",
            "delivery",
        )
    }
    # leads: about 45% of people (plus trap and duplicate leads of the same people)
    assert 0.43 < rate(len(people_with["lead"]), 100_000) < 0.50
    # each step's share of the previous one (steps near the period end are censored)
    assert 0.36 < rate(len(people_with["visit"]), 45_000) < 0.44
    assert 0.58 < rate(len(people_with["test_drive"]), len(people_with["visit"])) < 0.68
    assert 0.28 < rate(len(people_with["small_order"]), len(people_with["test_drive"])) < 0.37
    assert 0.10 < rate(len(people_with["refund"]), len(people_with["small_order"])) < 0.18
    assert 0.62 < rate(len(people_with["big_order"]), len(people_with["small_order"])) < 0.72
    assert 0.85 < rate(len(people_with["delivery"]), len(people_with["big_order"])) < 0.97
    assert 0.68 < big.people.member.mean() < 0.72


def test_fake_leads_and_traps(big: SyntheticDataset) -> None:
    leads = big.leads
    assert 0.03 < leads.true_fake.mean() < 0.08
    assert (leads.true_person_id[leads.true_fake] == -1).all()
    tablets = big.truth_traps["tablet_device_ids"]
    on_tablet = np.isin(big.events.device_id, tablets)
    people_on_tablets = np.unique(big.events.true_person_id[on_tablet])
    assert 0.017 < len(people_on_tablets) / 100_000 < 0.023
    # one tablet serves hundreds of people
    assert len(people_on_tablets) / len(tablets) > 150
    hot = np.isin(big.events.phone, big.truth_traps["hotline_phones"])
    assert 0.008 < len(np.unique(big.events.true_person_id[hot])) / 100_000 < 0.012
    assert len(big.truth_traps["resold_vins"]) > 0


def test_ground_truth_is_consistent(small: SyntheticDataset) -> None:
    ev = small.events
    assert len(np.unique(ev.event_id)) == len(ev)
    assert ((ev.true_person_id >= -1) & (ev.true_person_id < len(small.people))).all()
    assert (ev.true_fake == (ev.true_person_id == -1)).all()
    # an app account always belongs to the same true person
    has_app = np.not_equal(ev.app_user_id, None)
    owners = {}
    for uid, person in zip(ev.app_user_id[has_app], ev.true_person_id[has_app], strict=True):
        assert owners.setdefault(uid, person) == person
    # orders: small, big, delivery and refund of one order belong to one person, in order
    has_order = np.not_equal(ev.order_id, None)
    for order in np.unique(ev.order_id[has_order])[:200]:
        rows = np.flatnonzero(ev.order_id == order)
        assert len(np.unique(ev.true_person_id[rows])) == 1
        assert ev.event[rows[0]] == "small_order"
    # every person's true phone is valid; consent rows are members
    assert normalize_phones(small.people.true_phone).valid.all()
    assert small.people.member[small.consent.true_person_id].all()
    # VIN spans of one car never overlap
    vo = small.vin_owners
    for vin in np.unique(vo.vin[~np.isnat(vo.valid_to)]):
        rows = np.flatnonzero(vo.vin == vin)
        assert len(rows) == 2
        assert vo.valid_to[rows[0]] == vo.valid_from[rows[1]]
    # leads point at real dealers; contacts at real leads
    known = set(small.dealers.dealer_id.tolist())
    assigned = small.leads.dealer_id[np.not_equal(small.leads.dealer_id, None)]
    assert set(assigned.tolist()) <= known
    assert set(small.contacts.lead_id.tolist()) <= set(small.leads.lead_id.tolist())


def test_messy_phone_shapes_present(small: SyntheticDataset) -> None:
    phones = small.events.phone[np.not_equal(small.events.phone, None)].astype(str)
    assert any(p.startswith("+86") for p in phones)
    assert any(" " in p.strip() for p in phones)
    assert any(re.search("[０-９]", p) for p in phones)
    batch = normalize_phones(phones)
    assert 0.9 < batch.valid.mean() < 1.0


def test_conversions(small: SyntheticDataset) -> None:
    frame = small.events.to_pandas()
    assert len(frame) == len(small.events)
    assert str(frame["ts"].dt.tz) == "UTC"
    assert small.people.to_polars().height == len(small.people)
    assert small.leads.to_arrow().num_rows == len(small.leads)
    records = small.events.to_records(limit=50)
    assert all(isinstance(r, TouchpointEvent) for r in records)
    assert records[0].occurred_at.timestamp() * 1e6 == small.events.ts[0].astype(np.int64)
    assert len(small.leads.to_records(limit=20)) == 20


def test_writers(tmp_path, small: SyntheticDataset) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    path = small.leads.to_csv(tmp_path / "leads.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(back) == len(small.leads)
    assert back["lead_id"].tolist()[:3] == small.leads.lead_id[:3].tolist()
    lines = small.dealers.to_jsonl(tmp_path / "dealers.jsonl").read_text().splitlines()
    assert len(lines) == len(small.dealers)
    assert pd.read_parquet(small.people.to_parquet(tmp_path / "p.parquet")).shape[0] == len(
        small.people
    )


def test_no_raw_phone_in_any_repr_or_error(small: SyntheticDataset) -> None:
    raw_phones = set(small.people.true_phone.tolist()) | {p[3:] for p in small.people.true_phone}
    texts = [repr(small), small._repr_html_()]
    for table in small.tables().values():
        texts += [repr(table), table._repr_html_()]
    texts += [repr(r) for r in small.events.to_records(limit=300)]
    texts += [repr(r) for r in small.leads.to_records(limit=300)]
    for phone in small.leads.phone[:300]:
        try:
            TouchpointEvent.from_rows(
                [
                    {
                        "event_id": "x",
                        "occurred_at": "2026-01-01T00:00:00",
                        "touchpoint": "app",
                        "event": "lead",
                        "identifiers": {"phone": phone + "x"},
                    }
                ]
            )
        except InvalidInput as exc:
            texts.append(str(exc))
    blob = "\n".join(texts)
    leaked = [p for p in raw_phones if p in blob]
    assert not leaked, f"{len(leaked)} raw phone numbers leaked"
    assert len(texts) > 600


def test_everything_happens_inside_the_period(small: SyntheticDataset) -> None:
    start = small.as_of - np.timedelta64(365, "D")
    for ts in (small.events.ts, small.leads.created_at, small.contacts.ts):
        assert ts.max() < small.as_of
        assert ts.min() >= start


def test_dealers_and_consent_as_models(small: SyntheticDataset) -> None:
    dealers = small.dealers.to_records()
    assert [d.dealer_id for d in dealers] == small.dealers.dealer_id.tolist()
    consents = small.consent.to_records(limit=200)
    for i, consent in enumerate(consents):
        assert consent.subject_id == small.consent.phone[i]
        at = consent.grants[0].granted_at if consent.grants else None
        if at is not None:
            assert consent.allows("marketing", at=at) == bool(small.consent.marketing[i])
        assert consent.opted_out("sms") == bool(small.consent.opt_out_sms[i])
        assert small.consent.phone[i][3:] not in repr(consent)
