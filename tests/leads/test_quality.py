from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError
from autoops.leads import FLAGS, QualityPolicy, lead_quality

from .reference import burst_reference

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_each_flag_with_reason() -> None:
    leads = {
        "lead_id": [f"L{i}" for i in range(9)],
        "phone": [
            None,
            "12345",
            "010-6552 9988",
            "171 5550 1234",
            "13800138000",
            "13966666666",
            "13955501234",
            "13955501234",
            "13955501234",
        ],
        "name": ["a", "b", "c", "d", "e", "测试", "Wang", "Li", "Zhao"],
        "device_id": [None] * 9,
        "ip": [None] * 9,
        "created_at": [T0 + timedelta(days=i) for i in range(9)],
    }
    q = lead_quality(leads)
    assert q.reasons.tolist() == [
        "missing_phone",
        "invalid_phone",
        "not_mobile",
        "virtual_operator",
        "test_number",
        "test_number,test_name",
        "many_names",
        "many_names",
        "many_names",
    ]
    assert q.score.tolist() == [0, 0, 40, 70, 0, 0, 50, 50, 50]
    assert q.suspect.tolist() == [True, True, True, False, True, True, True, True, True]
    assert q.counts()["many_names"] == 3 and len(q) == 9
    assert "13955501234" not in repr(q) and "13955501234" not in q._repr_html_()


def test_blocked_and_exempt() -> None:
    leads = {
        "lead_id": ["a", "b", "c"],
        "phone": ["+86 139 5550 1234", "13955501235", "13955501236"],
        "device_id": ["kiosk", "kiosk", "kiosk"],
        "ip": ["1.2.3.4", None, None],
        "created_at": [T0, T0, T0],
    }
    policy = QualityPolicy(blocked_phones=["13955501234"], blocked_ips=["1.2.3.4"], device_burst=3)
    q = lead_quality(leads, policy=policy)
    assert q.has("blocked").tolist() == [True, False, False]
    assert q.has("device_burst").all()
    exempt = QualityPolicy(device_burst=3, exempt_devices=["kiosk"])
    assert not lead_quality(leads, policy=exempt).has("device_burst").any()
    with pytest.raises(ConfigError, match="penalties"):
        QualityPolicy(penalties={"nope": 3})
    with pytest.raises(ConfigError, match="device_burst"):
        QualityPolicy(device_burst=1)
    with pytest.raises(ConfigError, match="phones"):
        QualityPolicy(test_numbers=["abc"])
    with pytest.raises(ConfigError, match="flag"):
        lead_quality(leads).has("nope")


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["d1", "d2", None]), st.integers(0, 240)), max_size=40),
    k=st.integers(2, 5),
    window=st.integers(1, 60),
)
def test_burst_matches_brute_force(rows: list[tuple[str | None, int]], k: int, window: int) -> None:
    leads = {
        "lead_id": [f"L{i}" for i in range(len(rows))],
        "phone": ["13955501234"] * len(rows),
        "device_id": [d for d, _ in rows],
        "created_at": [T0 + timedelta(minutes=m) for _, m in rows],
    }
    q = lead_quality(leads, policy=QualityPolicy(device_burst=k, burst_window=f"{window}min"))
    expected = burst_reference([d for d, _ in rows], [m for _, m in rows], k, window)
    assert q.has("device_burst").tolist() == expected
    # score is consistent with the flags and bounded
    assert ((q.score >= 0) & (q.score <= 100)).all()
    assert (q.suspect == (q.score < 60)).all()


def test_flags_table_bits_are_distinct() -> None:
    bits = [b for b, _ in FLAGS.values()]
    assert len(set(bits)) == len(bits) and all(b & (b - 1) == 0 for b in bits)
    assert QualityPolicy.from_json(QualityPolicy().to_json()) == QualityPolicy()


def test_on_synthetic_fakes_are_flagged() -> None:
    from autoops.datasets import synthetic

    data = synthetic(people=3000, seed=2)
    q = lead_quality(data.leads)
    fake = data.leads.true_fake
    assert len(q) == len(fake)
    assert q.suspect[fake].mean() > 0.9
    assert q.suspect[~fake].mean() < 0.05
    phones = set(data.truth_traps["test_phones"])
    is_test = np.array([p in phones for p in data.leads.phone.tolist()])
    assert q.has("test_number")[is_test].all()
