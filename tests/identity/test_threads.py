"""Threads change nothing: AUTOOPS_THREADS=1, 2 and 3 give identical resolutions.

Size thresholds are lowered so that small inputs take the threaded paths
(identifier columns prepared side by side, split gathers and kernels).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops import _parallel
from autoops.datasets import synthetic
from autoops.identity import MergeRules, resolve
from autoops.identity._resolution import Resolution

from ..threads import with_threads

PERSON_COLUMNS = ("event_id", "ts", "phone", "email", "wechat_unionid", "wechat_openid",
                  "wechat_appid", "wecom_external_userid", "wecom_corp_id", "app_user_id",
                  "crm_id", "device_id", "vin")  # fmt: skip


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_parallel, "MIN_ROWS", 1)
    yield


def _same_value(a: Any, b: Any, what: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), what
        assert a.dtype == b.dtype, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    elif attrs.has(type(a)):
        assert type(a) is type(b), what
        for field in attrs.fields(type(a)):
            _same_value(getattr(a, field.name), getattr(b, field.name), f"{what}.{field.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for k in a:
            _same_value(a[k], b[k], f"{what}[{k}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_value(x, y, f"{what}[{i}]")
    else:
        assert a == b, what


def _assert_same(a: Resolution, b: Resolution) -> None:
    _same_value(a.one_id, b.one_id, "one_id")
    for part in ("_prep", "_sol"):
        x, y = getattr(a, part), getattr(b, part)
        for field in attrs.fields(type(x)):
            value = getattr(x, field.name)
            other = getattr(y, field.name)
            if field.name == "raw":
                value, other = dict(value), dict(other)
            _same_value(value, other, f"{part}.{field.name}")
    assert a.clusters().to_dicts() == b.clusters().to_dicts()
    assert a.rejected().to_dicts() == b.rejected().to_dicts()
    assert a.hubs().to_dicts() == b.hubs().to_dicts()
    _same_value(a.health(), b.health(), "health")


@pytest.mark.usefixtures("small_thresholds")
@pytest.mark.parametrize("form", ["object", "arrow"])
def test_synthetic_dataset_samewith_threads(form: str) -> None:
    data = synthetic(people=1500, seed=5)
    ev = data.events
    table: Any = {c: getattr(ev, c) for c in PERSON_COLUMNS if hasattr(ev, c)}
    if form == "arrow":
        pa = pytest.importorskip("pyarrow")
        table = pa.table(
            {
                k: pa.array(v, type=pa.timestamp("us", tz="UTC")) if k == "ts" else pa.array(v)
                for k, v in table.items()
            }
        )
    corp = next(c for c in ev.wecom_corp_id if c is not None)
    rules = MergeRules.automotive_default().replace("wecom_external_userid", default_scope=corp)

    def run() -> Resolution:
        return resolve(table, rules, staff=data.staff)

    serial = with_threads(1, run)
    for n in (2, 3):
        _assert_same(serial, with_threads(n, run))


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([None, "13912341111", "+86 139 1234 1111", "13912342222", "12345678"]),
        st.sampled_from([None, "u1", "u2", "u3", "null"]),
        st.sampled_from([None, "d1", "D1", "d2", "kiosk"]),
        st.sampled_from([None, "a1", "a2"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows_strategy, st.booleans())
@pytest.mark.usefixtures("small_thresholds")
def test_random_tables_samewith_threads(rows: list[tuple[Any, ...]], tight: bool) -> None:
    table = {
        "record_id": list(range(len(rows))),
        "phone": [r[0] for r in rows],
        "wechat_unionid": [r[1] for r in rows],
        "device_id": [r[2] for r in rows],
        "app_user_id": [r[3] for r in rows],
    }
    rules = MergeRules.automotive_default()
    if tight:
        rules = rules.replace("device_id", max_fanout=1).replace("phone", max_per_person=1)

    def run() -> Resolution:
        return resolve(table, rules, kiosks={"device_id": ["kiosk"]})

    serial = with_threads(1, run)
    _assert_same(serial, with_threads(2, run))


@pytest.mark.parametrize("threads", [1, 2])
def test_record_id_errors_come_first(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The columns start before the record facts, but a duplicate id is still the error
    raised when a column fails too."""
    from autoops.errors import InvalidInput
    from autoops.identity import _prepare

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("column failed")

    table = {"record_id": [1, 1, 2], "phone": ["13800138000", None, "13800138000"],
             "device_id": ["d1", "d1", None]}  # fmt: skip
    with pytest.raises(InvalidInput) as info:
        with_threads(threads, lambda: resolve(table))
    assert info.value.code == "duplicate_record_id"
    monkeypatch.setattr(_prepare, "_distinct_facts", broken)
    with pytest.raises(InvalidInput) as info:
        with_threads(threads, lambda: resolve(table))
    assert info.value.code == "duplicate_record_id"
    table["record_id"] = [1, 2, 3]
    with pytest.raises(RuntimeError, match="column failed"):
        with_threads(threads, lambda: resolve(table))
