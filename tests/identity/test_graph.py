"""IdentityGraph: incremental equals batch, stable ids, splits, forget, save/load, hashing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import InvalidInput
from autoops.identity import IdentityGraph, Merged, resolve

PHONES = [f"1391234{i:04d}" for i in range(6)]


def _records(rows: list[tuple[int, int | None, int | None, int | None]]) -> dict[str, list[object]]:
    return {
        "record_id": [r[0] for r in rows],
        "ts": np.array(
            [f"2025-01-{1 + r[0] % 28:02d}T00:00" for r in rows], dtype="datetime64[us]"
        ),
        "phone": [None if r[1] is None else PHONES[r[1]] for r in rows],
        "wechat_unionid": [None if r[2] is None else f"u{r[2]}" for r in rows],
        "crm_id": [None if r[3] is None else f"C{r[3]}" for r in rows],
    }


rows_st = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 5)),
        st.one_of(st.none(), st.integers(0, 4)),
        st.one_of(st.none(), st.integers(0, 4)),
    ),
    min_size=1,
    max_size=20,
)


def _state(g: IdentityGraph) -> dict[object, int]:
    ids = g.one_ids()
    return {
        str(r): int(o)
        for r, o in zip(ids["record_id"].tolist(), ids["one_id"].tolist(), strict=True)
    }


@settings(max_examples=60, deadline=None)
@given(rows_st, st.sampled_from([1, 2, 5, 10]), st.integers(0, 5), st.booleans())
def test_incremental_equals_batch(rows: list[tuple[int | None, ...]], batches: int, forget: int,
                                  do_split: bool) -> None:  # fmt: skip
    full = [(i, *r) for i, r in enumerate(rows)]
    inc = IdentityGraph()
    bounds = np.array_split(np.arange(len(full)), batches)
    ops: list[tuple[str, object]] = []
    for k, part in enumerate(bounds):
        if len(part):
            inc.add(_records([full[i] for i in part]))  # type: ignore[misc]
        if k == 0 and len(part):
            inc.forget("phone", PHONES[forget])
            ops.append(("forget", PHONES[forget]))
    if do_split and len(inc):
        oid = inc.one_id_of(0)
        inc.split(oid, [("crm_id", "C0")]) if inc.lookup("crm_id", "C0") == oid else None
    batch = IdentityGraph()
    batch.add(_records(full))  # type: ignore[arg-type]
    for _, value in ops:
        batch.forget("phone", value)
    for a, others in inc._cannot.items():  # the same cannot-links as the incremental run
        batch._cannot.setdefault(a, set()).update(others)
    batch._recompute()
    assert _state(inc) == _state(batch)
    # and equal to a plain resolve when no operations were applied
    if not ops and not inc._cannot:
        res = resolve(_records(full))  # type: ignore[arg-type]
        assert list(_state(inc).values()) == res.one_id.tolist()


def test_oldest_id_survives_merge_and_redirects() -> None:
    g = IdentityGraph()
    g.add({"record_id": [1], "phone": [PHONES[0]], "ts": ["2025-01-01T00:00Z"]})
    old_a = g.one_id_of(1)
    g.add({"record_id": [2], "wechat_unionid": ["u1"], "ts": ["2025-03-01T00:00Z"]})
    old_b = g.one_id_of(2)
    delta = g.add({"record_id": [3], "phone": [PHONES[0]], "wechat_unionid": ["u1"],
                   "ts": ["2025-04-01T00:00Z"]})  # fmt: skip
    assert g.one_id_of(2) == old_a == g.one_id_of(3)
    assert Merged((old_b,), old_a) in delta.events
    assert g.redirect(old_b) == old_a


def test_split_keeps_oldest_and_forget_survives_replay(tmp_path: Path) -> None:
    rows = {"record_id": [1, 2, 3], "crm_id": ["C1", "C1", None], "app_user_id": [None, "a9", "a9"],
            "phone": [PHONES[1], None, None],
            "ts": ["2025-01-01T00:00Z", "2025-02-01T00:00Z", "2025-03-01T00:00Z"]}  # fmt: skip
    g = IdentityGraph(secret=b"k" * 32)
    g.add(rows)
    first = g.one_id_of(1)
    assert g.one_id_of(3) == first
    g.split(first, [("app_user_id", "a9")])
    assert g.one_id_of(1) == first and g.one_id_of(3) != first
    assert g.one_id_of(2) == g.one_id_of(3)  # record 2 follows its higher-priority identifier
    g.forget("phone", PHONES[1])
    g.save(tmp_path)
    blob = (tmp_path / "graph.npz").read_bytes() + (tmp_path / "graph.json").read_bytes()
    assert PHONES[1].encode() not in blob and b"a9" not in blob
    loaded = IdentityGraph.load(tmp_path, secret=b"k" * 32)
    assert loaded.lookup("phone", PHONES[1]) is None
    replay = {**rows, "record_id": [11, 12, 13]}
    loaded.add(replay)
    assert loaded.lookup("phone", PHONES[1]) is None
    assert loaded.lookup("app_user_id", "a9") == loaded.one_id_of("3")


# ---- affected-cluster updates: equal to a from-scratch resolve, hubs and consent included --

DEVICES = ["tab-1", "tab-2", "d-a", "d-b", "d-c"]
mixed_st = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 5)),  # phone
        st.one_of(st.none(), st.integers(0, 6)),  # unionid
        st.one_of(st.none(), st.integers(0, 4)),  # device (a shared tablet becomes a hub)
        st.one_of(st.none(), st.integers(0, 2)),  # vin
        st.booleans(),  # phone verified (a recycled number changes hands)
    ),
    min_size=1,
    max_size=40,
)


def _mixed(rows: list[tuple[int, ...]], start: int = 0) -> dict[str, object]:
    ids = list(range(start, start + len(rows)))
    return {
        "record_id": ids,
        "ts": np.datetime64("2025-01-01", "us")
        + np.array([(i * 7919) % 300 for i in ids], dtype="timedelta64[D]"),
        "phone": [None if r[0] is None else PHONES[r[0]] for r in rows],
        "wechat_unionid": [None if r[1] is None else f"u{r[1]}" for r in rows],
        "device_id": [None if r[2] is None else DEVICES[r[2]] for r in rows],
        "vin": [None if r[3] is None else f"LFVB12345678901{r[3]:02d}" for r in rows],
        "phone_verified": [bool(r[4]) for r in rows],
    }


@settings(max_examples=60, deadline=None)
@given(mixed_st, st.integers(1, 6), st.lists(st.integers(0, 5), max_size=2, unique=True))
def test_affected_updates_equal_a_full_resolve(rows: list[tuple[int, ...]], batches: int,
                                               withdrawn: list[int]) -> None:  # fmt: skip
    g = IdentityGraph()
    parts = np.array_split(np.arange(len(rows)), batches)
    for k, part in enumerate(parts):
        if len(part):
            g.add(_mixed([rows[i] for i in part], start=int(part[0])))
        if k == 0:
            for w in withdrawn:
                g.withdraw_consent(PHONES[w])
    consent = {"phone": PHONES, "identity_merge": [i not in withdrawn for i in range(6)]}
    res = resolve(_mixed(rows), consent=consent)
    assert g.one_ids()["one_id"].tolist() == res.one_id.tolist()


def test_add_touches_only_the_affected_clusters() -> None:
    g = IdentityGraph()
    n = 2000
    g.add({"record_id": list(range(n)), "phone": [f"139{i:08d}" for i in range(n)],
           "device_id": ["kiosk-9"] * 50 + [None] * (n - 50)})  # fmt: skip
    assert g.last_affected == n
    delta = g.add({"record_id": [n, n + 1], "phone": ["13900000007", "13800000001"],
                   "device_id": ["kiosk-9", None]})  # fmt: skip
    # the new record joins person 7; the kiosk is a known hub, so its other records stay put
    assert g.last_affected == 3
    assert g.one_id_of(n) == g.one_id_of(7)
    assert len(delta.created) == 1
    full = resolve({"record_id": list(range(n + 2)),
                    "phone": [f"139{i:08d}" for i in range(n)] + ["13900000007", "13800000001"],
                    "device_id": ["kiosk-9"] * 50 + [None] * (n - 50) + ["kiosk-9", None]})  # fmt: skip
    assert g.one_ids()["one_id"].tolist() == full.one_id.tolist()


def test_withdrawing_consent_recomputes_only_that_cluster() -> None:
    g = IdentityGraph()
    g.add({"record_id": [1, 2, 3, 4], "phone": [PHONES[0], None, PHONES[1], PHONES[1]],
           "crm_id": ["C1", "C1", None, None]})  # fmt: skip
    assert g.one_id_of(1) == g.one_id_of(2)
    delta = g.withdraw_consent(PHONES[0])
    assert g.one_id_of(1) != g.one_id_of(2)
    assert g.last_affected == 2
    assert [type(e).__name__ for e in delta.events] == ["Split"]
    # records added later with that phone do not link either
    g.add({"record_id": [5], "phone": [PHONES[0]], "crm_id": ["C1"]})
    assert g.one_id_of(5) != g.one_id_of(2)
    assert g.lookup("phone", PHONES[0]) is None


def test_key_rotation_keeps_the_partition(tmp_path: Path) -> None:
    rows = _records([(i, i % 4, (i * 3) % 5, None if i % 3 else i % 2) for i in range(30)])
    g = IdentityGraph(secret=b"a" * 32)
    g.add(rows)
    g.forget("phone", PHONES[3])
    g.unlink(("wechat_unionid", "u1"), ("phone", PHONES[1]))
    before = _state(g)
    old_tokens = set(g._store.keys.tokens.tolist())
    g.rotate_secret(b"b" * 32)
    assert _state(g) == before
    assert old_tokens.isdisjoint(set(g._store.keys.tokens.tolist()))
    assert g.lookup("phone", PHONES[3]) is None  # the tombstone followed the rotation
    uid = g.lookup("wechat_unionid", "u2")
    assert (uid is not None and uid == g.lookup("crm_id", "C0")) or uid is not None
    g.save(tmp_path)
    loaded = IdentityGraph.load(tmp_path, secret=g.secret)
    assert _state(loaded) == before
    assert loaded.lookup("wechat_unionid", "u2") == uid
    # the old key alone no longer finds anything
    stale = IdentityGraph.load(tmp_path, secret=b"a" * 32)
    assert stale.lookup("wechat_unionid", "u2") is None
    # new records hash through the whole chain and join their people
    loaded.add({"record_id": [100], "wechat_unionid": ["u2"]})
    assert loaded.one_id_of(100) == uid
    with pytest.raises(InvalidInput, match="not hashed"):
        IdentityGraph().rotate_secret(b"c" * 32)


ops_st = st.lists(
    st.tuples(st.sampled_from(["add", "forget", "unlink", "split", "withdraw"]),
              st.integers(0, 5), st.integers(0, 6)),
    min_size=1,
    max_size=8,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(mixed_st, ops_st)
def test_any_operation_sequence_equals_a_full_recompute(rows: list[tuple[int, ...]],
                                                        ops: list[tuple[str, int, int]]) -> None:  # fmt: skip
    g = IdentityGraph(secret=b"s" * 32)
    parts = np.array_split(np.arange(len(rows)), max(1, sum(o[0] == "add" for o in ops)))
    added = 0
    for op, a, b in ops:
        if op == "add" and added < len(parts):
            part = parts[added]
            added += 1
            if len(part):
                g.add(_mixed([rows[i] for i in part], start=int(part[0])))
        elif len(g) == 0:
            continue
        elif op == "forget":
            g.forget("phone", PHONES[a])
        elif op == "unlink":
            g.unlink(("phone", PHONES[a]), ("wechat_unionid", f"u{b}"))
        elif op == "withdraw":
            g.withdraw_consent(PHONES[a])
        elif op == "split":
            oid = g.lookup("wechat_unionid", f"u{b}")
            if oid is not None:
                g.split(oid, [("wechat_unionid", f"u{b}")])
    incremental = g.one_ids()["one_id"].tolist()
    hubs = g._store.hub.a.copy()
    g._recompute()  # every record re-solved from the stored state
    assert g.one_ids()["one_id"].tolist() == incremental
    assert np.array_equal(g._store.hub.a, hubs)
