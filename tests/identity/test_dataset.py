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
    hotline = set(np.asarray(data.truth_traps["hotline_phones"], dtype=object).tolist())
    rows = np.flatnonzero(np.isin(ev.phone, list(hotline)))
    assert len(set(res.one_id[rows].tolist())) == len(rows)
