"""Boundary models: valid and invalid input, errors naming field and row, masking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from autoops.errors import InvalidInput
from autoops.models import (
    Consent,
    ConsentGrant,
    Dealer,
    Domain,
    Identifiers,
    Lead,
    LeadGrade,
    LeadStatus,
    Member,
    TouchpointEvent,
    TouchpointKind,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
PHONE = "13912345678"


def test_every_touchpoint_has_a_domain() -> None:
    required = {
        "app",
        "mini_program",
        "website",
        "official_account",
        "wecom",
        "wechat_channels",
        "douyin",
        "xiaohongshu",
        "bilibili",
        "vertical_media",
        "ecommerce",
        "showroom",
        "hotline",
        "head_unit",
        "dealer_crm",
        "offline_event",
        "other",
    }
    assert required <= {k.value for k in TouchpointKind}
    assert TouchpointKind.DOUYIN.domain is Domain.PUBLIC
    assert TouchpointKind.SHOWROOM.domain is Domain.PRIVATE
    assert set(TouchpointKind.private()) == {
        k for k in TouchpointKind if k.domain is Domain.PRIVATE
    }


def test_identifiers_normalise() -> None:
    ids = Identifiers(
        phone="+86 139-1234-5678", email=" Li.Na@Example.CN ", vin="lsvaa4180e2123456"
    )
    assert ids.phone == "+8613912345678"
    assert ids.email == "li.na@example.cn"
    assert ids.vin == "LSVAA4180E2123456"
    assert ids.present() == {"phone": ids.phone, "email": ids.email, "vin": ids.vin}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "1391234567"),
        ("phone", "abc"),
        ("vin", "LSVAA4180E212345"),
        ("vin", "LSVAA4180E212345I"),
        ("vin", "LSVAA4180E212345Q"),
        ("email", "no-at-sign"),
        ("device_id", "   "),
        ("wechat_openid", ""),
    ],
)
def test_identifiers_refuse_bad_values_without_echoing_them(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        Identifiers(**{field: value})
    text = str(info.value)
    assert field in text
    if len(value.strip()) > 3:
        assert value not in text


def test_models_are_frozen_and_forbid_extras() -> None:
    ids = Identifiers(phone=PHONE)
    with pytest.raises(ValidationError):
        ids.phone = None  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Identifiers(qq="12345")  # type: ignore[call-arg]


def event_row(**over: Any) -> dict[str, Any]:
    row = {
        "event_id": "e1",
        "occurred_at": T0,
        "touchpoint": "app",
        "event": "login",
        "identifiers": {"phone": PHONE},
    }
    row.update(over)
    return row


def test_event_valid_and_round_trips_json() -> None:
    event = TouchpointEvent(**event_row(properties={"category": "spec"}, amount=12.5))
    again = TouchpointEvent.model_validate_json(event.model_dump_json())
    assert again == event
    assert event.identifiers.phone == "+8613912345678"


def test_naive_datetime_refused_unless_zone_named() -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(InvalidInput) as info:
        TouchpointEvent.from_rows([event_row(), event_row(occurred_at=naive)])
    assert info.value.field == "occurred_at"
    assert info.value.row == [1]
    assert "assume_tz" in str(info.value)
    [_, event] = TouchpointEvent.from_rows(
        [event_row(), event_row(occurred_at=naive)], assume_tz="Asia/Shanghai"
    )
    assert event.occurred_at.utcoffset() == timedelta(hours=8)


def test_from_rows_names_every_bad_row_and_field() -> None:
    rows = [
        event_row(),
        event_row(touchpoint="tiktok"),
        event_row(event=""),
        event_row(identifiers={"phone": "12"}),
    ]
    with pytest.raises(InvalidInput) as info:
        TouchpointEvent.from_rows(rows)
    err = info.value
    assert err.row == [1, 2, 3]
    assert "row 1 touchpoint" in str(err)
    assert "row 2 event" in str(err)
    assert "row 3 identifiers.phone" in str(err)


def test_lead_defaults_and_grades() -> None:
    lead = Lead(
        lead_id="L1",
        created_at=T0,
        touchpoint="douyin",
        identifiers={"phone": PHONE},
        name="王芳",
        grade="H",
        stated_horizon_days=7,
    )
    assert lead.status is LeadStatus.NEW
    assert lead.grade is LeadGrade.H
    assert {g.value for g in LeadGrade} == set("HABCNODTF")
    assert "王芳" not in repr(lead)
    assert PHONE not in repr(lead)
    with pytest.raises(ValidationError):
        Lead(lead_id="L1", created_at=T0, touchpoint="douyin", grade="X")
    with pytest.raises(ValidationError):
        Lead(lead_id="L1", created_at=T0, touchpoint="douyin", stated_horizon_days=-1)


def test_consent_purposes_and_opt_outs() -> None:
    grant = ConsentGrant(purpose="marketing", granted_at=T0, revoked_at=T0 + timedelta(days=10))
    consent = Consent(subject_id="p1", grants=[grant], opt_outs={"sms"})
    assert consent.allows("marketing", at=T0 + timedelta(days=1))
    assert not consent.allows("marketing", at=T0 + timedelta(days=10))
    assert not consent.allows("identity_merge", at=T0)
    assert consent.opted_out("sms") and not consent.opted_out("wecom")
    with pytest.raises(ValidationError, match="revoked_at is before granted_at"):
        ConsentGrant(purpose="marketing", granted_at=T0, revoked_at=T0 - timedelta(days=1))
    with pytest.raises(ValidationError):
        ConsentGrant(purpose="spam", granted_at=T0)


def test_member_and_dealer() -> None:
    member = Member(one_id=1, joined_at=T0, tags={"owner"})
    assert member.tags == frozenset({"owner"})
    with pytest.raises(ValidationError):
        Member(one_id=-1, joined_at=T0)
    dealer = Dealer(
        dealer_id="D1", name="x", city="Shanghai", province="Shanghai", daily_capacity=0
    )
    assert dealer.daily_capacity == 0
    for bad in ({"weight": 0}, {"performance": 1.5}, {"lat": 91}, {"daily_capacity": -1}):
        with pytest.raises(ValidationError):
            Dealer(dealer_id="D1", name="x", city="c", province="p", **bad)


def test_reprs_mask_identifiers() -> None:
    ids = Identifiers(
        phone=PHONE,
        email="zhang.wei@example.com",
        wechat_unionid="oUnion123456789",
        device_id="device-abcdef-123",
    )
    text = repr(ids) + str(ids)
    for raw in ("13912345678", "zhang.wei", "oUnion123456789", "device-abcdef-123"):
        assert raw not in text
    assert "139****5678" in text
