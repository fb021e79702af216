"""Behaviour of resolve(): normalisation, scoping, registries, limits, explain, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.identity import IdType, MergeRules, resolve


def test_phone_shapes_are_one_phone() -> None:
    shapes = ["+86 138-0013-8001", "008613800138001", "8613800138001", "138 0013 8001"]
    res = resolve({"phone": shapes})
    assert res.people == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1380013800", "invalid"),  # 10 digits
        ("23800138000", "invalid"),  # does not start with 1
        ("11111111111", "invalid"),
        ("400-810-5050", "blocked"),
        ("800 820 8820", "blocked"),
        ("13800138000", "blocked"),  # the classic test number
        ("null", "invalid"),
    ],
)
def test_bad_phones_are_rejected_with_a_reason(value: str, reason: str) -> None:
    res = resolve({"phone": [value, value], "crm_id": ["a", "b"]})
    assert res.people == 2
    rej = res.rejected()
    assert rej["reason"].tolist() == [reason, reason]
    assert rej["row"].tolist() == [0, 1]
    assert value not in " ".join(map(str, rej["value"].tolist())) or len(value) <= 4


def test_openid_under_two_app_ids_never_links() -> None:
    res = resolve({"wechat_openid": ["oX1abc", "oX1abc", "oX1abc"],
                   "wechat_appid": ["wxA", "wxB", None]})  # fmt: skip
    assert res.people == 3
    assert res.rejected()["reason"].tolist() == ["scope"]


def test_default_scope_fills_missing_scope() -> None:
    rules = MergeRules.automotive_default().replace("wechat_openid", default_scope="wxA")
    res = resolve({"wechat_openid": ["oX1abc", "oX1abc"], "wechat_appid": ["wxA", None]}, rules)
    assert res.people == 1


def test_staff_and_kiosk_registries_never_merge() -> None:
    table = {
        "phone": ["13912340001", "13912340001", None, None],
        "device_id": [None, None, "KIOSK-1", "kiosk-1"],
    }
    res = resolve(table, staff={"phone": ["+86 139 1234 0001"]}, kiosks={"device_id": ["kiosk-1"]})
    assert res.people == 4
    assert sorted(res.rejected()["reason"].tolist()) == ["kiosk", "kiosk", "staff", "staff"]


def test_tablet_hub_is_quarantined_and_reported() -> None:
    n = 30
    table = {
        "phone": [f"1391234{i:04d}" for i in range(n)] * 2,
        "device_id": ["tablet-7"] * n + [None] * n,
    }
    res = resolve(table)
    assert res.people == n
    hubs = res.hubs().to_dicts()
    assert hubs == [{"type": "device_id", "value": "ta…-7", "fanout": n, "records": n}]
    naive = resolve(table, MergeRules.unprotected())
    assert naive.people == 1


def test_per_person_limit_refuses_and_counts() -> None:
    # one phone seen with two unionids: unionid max_per_person=1 keeps them apart
    table = {"record_id": [1, 2, 3, 4], "phone": ["13912340002"] * 2 + [None] * 2,
             "wechat_unionid": ["uA", "uB", "uA", "uB"], "ts": np.array(
                 ["2025-01-01T00:00", "2025-02-01T00:00", "2025-01-02T00:00", "2025-02-02T00:00"],
                 dtype="datetime64[us]")}  # fmt: skip
    res = resolve(table)
    assert res.people == 2
    assert res.one_id[0] == res.one_id[2] and res.one_id[1] == res.one_id[3]
    h = res.health()
    assert sum(v for k, v in h.refusals.items() if k.startswith("limit:")) == 1
    ex = res.explain(1, 2)
    assert not ex.same and ex.rule == "limit"
    assert res.explain(2, 4).same


def test_resold_vin_never_merges_owners() -> None:
    ts = np.array(["2025-01-01", "2025-02-01", "2025-06-01", "2025-07-01"], dtype="datetime64[us]")
    table = {
        "record_id": [1, 2, 3, 4],
        "ts": ts,
        "phone": ["13912340003", None, "13912340004", None],
        "vin": ["LFVB1234567890123"] * 4,
    }
    res = resolve(table)
    assert res.people == 2
    assert res.one_id[0] == res.one_id[1]  # seller's head-unit use before the sale
    assert res.one_id[2] == res.one_id[3]  # buyer's after


def test_consent_withdrawn_stops_links() -> None:
    table = {"phone": ["13912340005", "13912340005"], "wechat_unionid": ["u9", None]}
    assert resolve(table).people == 1
    consent = {"phone": ["+8613912340005"], "identity_merge": [False]}
    res = resolve(table, consent=consent)
    assert res.people == 2
    assert set(res.rejected()["reason"].tolist()) == {"consent"}


def test_bad_input_is_reported_with_rows() -> None:
    res = resolve({"phone": [None, "13912340006", ""], "crm_id": [None, None, None]})
    issues = res.issues().to_dicts()
    assert issues[0]["code"] == "no_identifiers" and issues[0]["rows"] == [0, 2]
    with pytest.raises(InvalidInput) as err:
        resolve({"record_id": [5, 6, 5], "phone": ["13912340006"] * 3})
    assert err.value.row == [0, 2]
    with pytest.raises(ConfigError):
        resolve({"mobile": ["13912340006"]}, columns={"mobile": "mobile_phone"})
    with pytest.raises(InvalidInput):
        resolve({"mobile": ["13912340006"]})
    assert resolve({"mobile": ["13912340006"]}, columns={"mobile": "phone"}).people == 1


def test_rules_round_trip_and_validation() -> None:
    rules = MergeRules.automotive_default().replace("device_id", max_fanout=2)
    assert MergeRules.from_json(rules.to_json()) == rules
    with pytest.raises(ConfigError) as err:
        IdType("x", kind="device", max_fanout=0)
    assert err.value.key == "max_fanout"
    with pytest.raises(ConfigError):
        MergeRules((IdType("a", kind="device"), IdType("a", kind="device")))
    with pytest.raises(ConfigError):
        IdType("a", kind="device", blocked_patterns=["("])


graphs = st.lists(
    st.tuples(
        st.sampled_from([None, "p1", "p2", "p3"]),
        st.sampled_from([None, "u1", "u2", "u3"]),
        st.sampled_from([None, "d1", "d2"]),
    ),
    min_size=2,
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(graphs)
def test_explain_paths_are_real_evidence(rows: list[tuple[str | None, ...]]) -> None:
    phones = {"p1": "13912341111", "p2": "13912342222", "p3": "13912343333", None: None}
    table = {
        "record_id": list(range(len(rows))),
        "phone": [phones[r[0]] for r in rows],
        "wechat_unionid": [r[1] for r in rows],
        "device_id": [r[2] for r in rows],
    }
    res = resolve(table)
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ex = res.explain(a, b)
            assert ex.same == (res.one_id[a] == res.one_id[b])
            if not ex.same:
                continue
            path = ex.path
            assert len(path) % 2 == 0 and path[0].record_id == a and path[-1].record_id == b
            for x, y in zip(path[::2], path[1::2], strict=True):
                assert x.id_type == y.id_type and x.status == y.status == "ok"
                col = table[x.id_type]
                assert col[x.record_id] is not None and col[x.record_id] == col[y.record_id]
            for y, x in zip(path[1:-1:2], path[2::2], strict=True):
                assert y.record_id == x.record_id


def _recycled_table(verified: bool) -> dict[str, object]:
    # X holds the number in 2023; Y proves it (an OTP login) in 2025; X's CRM still lists it later
    return {
        "record_id": [1, 2, 3, 4, 5, 6],
        "ts": np.array(
            ["2023-01-01", "2023-06-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"],
            dtype="datetime64[us]",
        ),
        "phone": ["13912340001"] * 6,
        "wechat_unionid": ["uX", "uX", "uY", None, "uX", None],
        "phone_verified": [False, False, verified, False, False, False],
    }


def test_verified_conflict_on_a_recycled_phone_ends_the_older_link() -> None:
    res = resolve(_recycled_table(verified=True))
    ids = res.one_id
    assert ids[0] == ids[1] == ids[4]  # X, also the stale 2025 CRM row through its unionid
    assert ids[2] == ids[3] == ids[5]  # Y and the phone-only rows after Y's verified login
    assert ids[0] != ids[2]
    assert res.summary()["refused"] == {"recycled": 1}
    links = res.links("phone")
    assert len(links) == 2
    spans = {
        int(o): (str(f)[:10], str(la)[:10])
        for o, f, la in zip(links["one_id"], links["first_seen"], links["last_seen"], strict=True)
    }
    assert spans == {int(ids[0]): ("2023-01-01", "2023-06-01"),
                     int(ids[2]): ("2025-01-01", "2025-04-01")}  # fmt: skip
    # without verification the conflict is an ordinary one: the unionid limit refuses it
    plain = resolve(_recycled_table(verified=False))
    assert plain.summary()["refused"] == {"limit": 1}
    assert plain.one_id[3] == plain.one_id[0]
    # the rule can be switched off
    off = MergeRules.automotive_default().replace("phone", recycle_on_verified_conflict=False)
    assert resolve(_recycled_table(verified=True), off).summary()["refused"] == {"limit": 1}


@pytest.mark.parametrize(
    ("days", "people"),
    [((0, 150, 700, 704), 1), ((0, 3, 6, 400), 2), ((0, 10, 20, 25), 3)],
)
def test_max_per_person_per_time_window(days: tuple[int, ...], people: int) -> None:
    ts = np.datetime64("2023-01-01", "us") + np.array(days, dtype="timedelta64[D]")
    table = {"record_id": [1, 2, 3, 4], "ts": ts, "crm_id": ["C1"] * 4,
             "phone": [f"1391234000{i}" for i in range(4)]}  # fmt: skip
    rules = MergeRules.automotive_default().replace("phone", max_per_person=2,
                                                    max_per_person_window="30d")  # fmt: skip
    res = resolve(table, rules)
    assert res.people == people
    assert res.summary()["refused"].get("limit", 0) == people - 1
    # without a window the same cap refuses every phone after the second
    flat = resolve(table, MergeRules.automotive_default().replace("phone", max_per_person=2))
    assert flat.people == 3


def test_window_must_be_a_duration() -> None:
    with pytest.raises(ConfigError, match="max_per_person_window"):
        IdType("phone", "person_multi", max_per_person=2, max_per_person_window="soon")
    t = IdType("phone", "person_multi", max_per_person=2, max_per_person_window="30d")
    assert IdType.from_dict(t.to_dict()) == t


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_prev=st.integers(1, 25),
    n_cur=st.integers(1, 25),
)
def test_drift_against_a_reference(data: st.DataObject, n_prev: int, n_cur: int) -> None:
    """``health(previous).drift`` on two resolutions sharing some record ids: the share of
    common records that kept their One ID, the previous clusters whose common records
    now hold several One IDs (split), the current ones fed by several previous (merged)."""
    phones = [f"139{i:04d}{i:04d}" for i in range(1, 7)]

    def table(n: int) -> dict[str, list[object]]:
        ids = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n, unique=True))
        return {
            "record_id": ids,
            "phone": data.draw(st.lists(st.sampled_from(phones), min_size=n, max_size=n)),
            "email": data.draw(
                st.lists(st.sampled_from([None, "a@x.cn", "b@x.cn"]), min_size=n, max_size=n)
            ),
        }

    prev, cur = resolve(table(n_prev)), resolve(table(n_cur))
    drift = cur.health(previous=prev).drift
    assert drift is not None
    old = dict(zip(prev.record_id.tolist(), prev.one_id.tolist(), strict=True))
    new = dict(zip(cur.record_id.tolist(), cur.one_id.tolist(), strict=True))
    common = sorted(set(old) & set(new))
    if not common:
        assert drift == {"records": 0.0, "kept": 1.0, "merged": 0.0, "split": 0.0}
        return
    to_new: dict[int, set[int]] = {}
    from_old: dict[int, set[int]] = {}
    for r in common:
        to_new.setdefault(old[r], set()).add(new[r])
        from_old.setdefault(new[r], set()).add(old[r])
    assert drift["records"] == len(common)
    assert drift["kept"] == sum(old[r] == new[r] for r in common) / len(common)
    assert drift["split"] == sum(len(v) > 1 for v in to_new.values())
    assert drift["merged"] == sum(len(v) > 1 for v in from_old.values())
