"""Contact policy rules, checked against a brute-force restatement."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.channels import ContactPolicy, Message
from autoops.errors import ConfigError
from autoops.models import Consent

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def consent(
    pid: str,
    *,
    tz: str = "Asia/Shanghai",
    revoked: datetime | None = None,
    opt_outs: frozenset[str] = frozenset(),
) -> Consent:
    return Consent(
        subject_id=pid,
        tz=tz,
        opt_outs=opt_outs,
        grants=[{"purpose": "marketing", "granted_at": T0, "revoked_at": revoked}],
    )


def msg(*pids: str, purpose: str = "marketing") -> Message:
    return Message(
        to=[f"+86138{i:08d}" for i in range(len(pids))],
        content={},
        purpose=purpose,
        person_ids=list(pids),
    )


NOON_SH = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)


def test_rules_in_order() -> None:
    p = ContactPolicy(
        [
            consent("ok"),
            consent("rev", revoked=T0 + timedelta(days=1)),
            consent("out", opt_outs=frozenset({"sms"})),
            consent("ny", tz="America/New_York"),
        ]
    )
    got = p.decide("sms", msg("ok", "rev", "out", "ny", "unknown"), now=NOON_SH)
    # noon in Shanghai is 23:00 in New York: quiet hours there
    assert got == [None, "no_consent", "opted_out", "quiet_hours", "no_consent"]
    assert p.decide("sms", msg("unknown", purpose="transactional"), now=NOON_SH) == [None]
    p.kill_switch = True
    assert p.decide("sms", msg("ok", purpose="transactional"), now=NOON_SH) == ["kill_switch"]


def test_sms_unsubscribe_reply_opts_out_only_that_channel() -> None:
    p = ContactPolicy([consent("a")])
    assert p.handle_sms_reply("a", "退订")
    assert p.decide("sms", msg("a"), now=NOON_SH) == ["opted_out"]
    assert p.decide("wecom", msg("a"), now=NOON_SH) == [None]


def test_frequency_cap_window_and_release() -> None:
    p = ContactPolicy([consent("a")], frequency_caps={"sms": (2, "7d")}, quiet_hours=None)
    assert p.decide("sms", msg("a"), now=NOON_SH) == [None]
    assert p.decide("sms", msg("a"), now=NOON_SH + timedelta(hours=1)) == [None]
    assert p.decide("sms", msg("a"), now=NOON_SH + timedelta(days=1)) == ["frequency_cap"]
    assert p.decide("sms", msg("a"), now=NOON_SH + timedelta(days=7, minutes=1)) == [None]
    assert p.decide("email", msg("a"), now=NOON_SH) == [None]


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        ContactPolicy(quiet_hours=("25h", "08:00"))
    assert info.value.key == "quiet_hours"
    with pytest.raises(ConfigError) as info:
        ContactPolicy(frequency_caps={"sms": (0, "7d")})
    assert info.value.key == "frequency_caps.sms"


def test_from_columns_matches_models() -> None:
    cols = {
        "true_person_id": np.array([1, 2, 3]),
        "phone": np.array(["+8613800000001", "+8613800000002", "+8613800000003"], dtype=object),
        "marketing": np.array([True, False, True]),
        "granted_at": np.array(["2026-01-01T00:00"] * 3, dtype="datetime64[us]"),
        "revoked_at": np.array(["NaT", "NaT", "2026-02-01T00:00"], dtype="datetime64[us]"),
        "opt_out_sms": np.array([False, False, False]),
        "tz": np.array(["Asia/Shanghai"] * 3, dtype=object),
    }
    p = ContactPolicy.from_columns(cols, keys=["true_person_id", "phone"])
    assert p.decide("sms", msg("1", "2", "3"), now=NOON_SH) == [None, "no_consent", "no_consent"]
    by_phone = Message(to=["+8613800000001"], content={}, purpose="marketing")
    assert p.decide("sms", by_phone, now=NOON_SH) == [None]


@settings(max_examples=150, deadline=None)
@given(
    minute=st.integers(0, 24 * 60 - 1),
    start=st.integers(0, 23),
    end=st.integers(0, 23),
    tz=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/Los_Angeles", "UTC"]),
)
def test_quiet_hours_brute_force(minute: int, start: int, end: int, tz: str) -> None:
    p = ContactPolicy([consent("a", tz=tz)], quiet_hours=(f"{start}:00", f"{end}:00"))
    local = datetime(2026, 6, 1, tzinfo=ZoneInfo(tz)) + timedelta(minutes=minute)
    now = local.astimezone(timezone.utc)
    h = local.hour + local.minute / 60
    quiet = (start <= h < end) if start <= end else (h >= start or h < end)
    assert p.decide("sms", msg("a"), now=now) == (["quiet_hours"] if quiet else [None])
