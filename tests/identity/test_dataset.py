"""Quality on the synthetic dataset (ground truth): tablets, hotlines, recall, purity."""

from __future__ import annotations

import numpy as np
import pytest

from autoops.datasets import synthetic
from autoops.identity import MergeRules, resolve

PERSON_COLUMNS = ("event_id", "ts", "phone", "email", "wechat_unionid", "wechat_openid",
                  "wechat_appid", "wecom_external_userid", "wecom_corp_id", "app_user_id",
                  "crm_id", "device_id")  # fmt: skip


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic(people=6000, seed=3)


def _rules(data) -> MergeRules:  # type: ignore[no-untyped-def]
    corp = next(c for c in data.events.wecom_corp_id if c is not None)
    return MergeRules.automotive_default().replace("wecom_external_userid", default_scope=corp)


def test_default_rules_never_mix_people_and_report_hubs(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    table = {c: getattr(ev, c) for c in PERSON_COLUMNS}
    # consultants' own phones need the staff registry; tablets and hotlines are found as hubs
    res = resolve(table, _rules(data), staff=data.staff)
    quality = res.evaluate(ev.true_person_id)
    assert quality.mixed_clusters == 0
    assert quality.precision == 1.0
    assert quality.not_split_rate >= 0.999
    hubs = res.hubs()
    hub_values = set(hubs["value"].tolist())
    from autoops._masking import mask_value

    tablets = {mask_value(v) for v in data.truth_traps["tablet_device_ids"]}
    hotlines = {mask_value(v) for v in data.truth_traps["hotline_phones"]}
    assert tablets <= hub_values
    assert hotlines & hub_values
    assert res.health().largest["identifiers"][0] <= 12
    # with every protection off the same fixture forms a giant component
    naive = resolve(table, MergeRules.unprotected())
    truth = ev.true_person_id
    biggest = naive.clusters()["one_id"][0]
    people_in_biggest = np.unique(truth[(naive.one_id == biggest) & (truth >= 0)])
    assert len(people_in_biggest) > 50
    assert naive.evaluate(ev.true_person_id).precision < 0.6


def test_registries_and_vin_spans(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    staff = [data.staff, {"phone": list(data.dealers.hotline)}]
    res = resolve(ev, _rules(data), staff=staff, kiosks=data.kiosks)
    reasons = set(res.rejected()["reason"].tolist())
    assert {"staff", "kiosk", "blocked"} <= reasons
    quality = res.evaluate(ev.true_person_id)
    # only a resale without any record of the buyer can mix a seller and a buyer
    assert quality.mixed_clusters <= len(data.truth_traps["resold_vins"])
    assert quality.purity > 0.999
    # since buyers of resold cars log in with the VIN and their phone at the sale, the
    # time-bounded VIN spans keep every seller and buyer apart: nothing is mixed
    assert quality.mixed_clusters == 0
    assert quality.precision == 1.0
    assert quality.not_split_rate == 1.0
    hotline = set(np.asarray(data.truth_traps["hotline_phones"], dtype=object).tolist())
    rows = np.flatnonzero(np.isin(ev.phone, list(hotline)))
    assert len(set(res.one_id[rows].tolist())) == len(rows)


def _owner_at(data, vins, ts):  # type: ignore[no-untyped-def]
    """The true owner of each (vin, time) from data.vin_owners (-1 if none)."""
    vo = data.vin_owners
    out = np.full(len(vins), -1, dtype=np.int64)
    end = np.where(np.isnat(vo.valid_to), np.datetime64("9999-01-01", "us"), vo.valid_to)
    by_vin: dict[str, list[int]] = {}
    for i, v in enumerate(vo.vin.tolist()):
        by_vin.setdefault(v, []).append(i)
    for j, (v, t) in enumerate(zip(vins.tolist(), ts, strict=True)):
        for i in by_vin.get(v, []):
            if vo.valid_from[i] <= t < end[i]:
                out[j] = vo.true_person_id[i]
    return out


def test_resold_vins_link_each_owner_only_during_their_span(data) -> None:  # type: ignore[no-untyped-def]
    ev = data.events
    table = {c: getattr(ev, c) for c in (*PERSON_COLUMNS, "vin")}
    staff = [data.staff, {"phone": list(data.dealers.hotline)}]
    res = resolve(table, _rules(data), staff=staff, kiosks=data.kiosks)
    resold = np.isin(ev.vin, np.asarray(data.truth_traps["resold_vins"], dtype=object))
    assert resold.sum() > 0
    # every record of a resold car ends in the cluster of the car's owner at that time
    owner = _owner_at(data, ev.vin[resold], ev.ts[resold])
    truth = ev.true_person_id
    rows = np.flatnonzero(resold)
    known = owner >= 0
    cluster_people = {}
    for oid in np.unique(res.one_id[rows]).tolist():
        cluster_people[oid] = set(np.unique(truth[(res.one_id == oid) & (truth >= 0)]).tolist())
    ok = [cluster_people[int(res.one_id[r])] == {int(o)} for r, o in zip(rows[known], owner[known],
                                                                          strict=True)]  # fmt: skip
    assert np.mean(ok) == 1.0
    # the seller and the buyer of each resold car hold different One IDs
    for vin in data.truth_traps["resold_vins"][:20]:
        ids = {int(res.one_id[r]) for r in np.flatnonzero(ev.vin == vin) if truth[r] >= 0}
        people = set(np.unique(truth[(ev.vin == vin) & (truth >= 0)]).tolist())
        assert len(ids) >= len(people) >= 2
    # a VIN used as a plain, timeless key fuses sellers with buyers (the fixture bites)
    plain = resolve(table, _rules(data).replace("vin", kind="person_multi"), staff=staff,
                    kiosks=data.kiosks)  # fmt: skip
    assert plain.evaluate(truth).mixed_clusters >= len(data.truth_traps["resold_vins"]) // 2
    # the same VIN as a time-bounded link (holder epochs split at the next owner's
    # record) mixes nobody again
    timed = dict(table, vin_verified=np.ones(len(ev), dtype=bool))
    rules = _rules(data).replace("vin", kind="person_multi", recycle_on_verified_conflict=True)
    quality = resolve(timed, rules, staff=staff, kiosks=data.kiosks).evaluate(truth)
    assert quality.mixed_clusters == 0


def test_every_view_counts_the_same_refusals(data) -> None:  # type: ignore[no-untyped-def]
    """The repr's ``refused``, the rows of ``rejected()``, ``summary()["refused"]`` and
    ``health().refusals`` count the same identifiers, malformed ones included, on data
    with invalid, blocked, hub, limit and VIN refusals."""
    res = resolve(data.events)
    rejected = res.rejected()
    reasons = set(rejected["reason"].tolist())
    assert {"invalid", "blocked", "hub"} <= reasons
    n = len(rejected["row"])
    assert f"refused={n}," in repr(res)
    assert sum(res.summary()["refused"].values()) == n
    assert sum(res.health().refusals.values()) == n
