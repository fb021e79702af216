"""Each provider end to end against the emulator (both dispatchers) and its local checks."""

from __future__ import annotations

import json

import pytest

from autoops.channels import Message
from autoops.channels.emulator import Emulator
from autoops.channels.sms import AliyunSmsChannel, SmsContent, TencentSmsChannel
from autoops.channels.webhook import WebhookChannel, WebhookContent
from autoops.channels.wechat import OfficialAccountChannel, TemplateContent
from autoops.channels.wecom import (
    Attachment,
    CustomerMessage,
    RobotText,
    WeComChannel,
    WeComRobotChannel,
    groupmsg_cancel_request,
    groupmsg_remind_request,
)
from autoops.errors import InvalidInput, InvalidRequest, RateLimited

from .conftest import Driver


def phones(n: int) -> list[str]:
    return [f"+86138{i:08d}" for i in range(n)]


def test_tencent_sms_splits_and_reports_per_number(driver: Driver, emulator: Emulator) -> None:
    emulator.refuse.add("+8613800000007")
    ch = TencentSmsChannel(
        emulator.secret_id,
        emulator.secret_key,
        sdk_app_id="1400",
        sign_name="车企",
        base_url=emulator.url,
    )
    d = driver.make(ch)
    rep = driver.send(d, Message(to=phones(450), content=SmsContent("T1", ["1234"])))
    assert emulator.counts["tencent_sms"] == 3
    sizes = [len(p["PhoneNumberSet"]) for w, p in emulator.received if w == "tencent_sms"]
    assert sizes == [200, 200, 50]
    s = rep.summary()
    assert s["accepted"] == 449 and s["failed_refused"] == 1
    assert rep[7].provider_code == "LimitExceeded.PhoneNumberDailyLimit"
    driver.close(d)


def test_tencent_wrong_key_is_auth_error(driver: Driver, emulator: Emulator) -> None:
    from autoops.errors import ChannelAuthError

    ch = TencentSmsChannel(
        emulator.secret_id, "wrong", sdk_app_id="1", sign_name="s", base_url=emulator.url
    )
    d = driver.make(ch)
    with pytest.raises(ChannelAuthError) as info:
        driver.send(d, Message(to=phones(1), content=SmsContent("T1")))
    assert info.value.provider_code == "AuthFailure.SignatureFailure"
    driver.close(d)


def test_aliyun_sms_fresh_nonce_per_request(driver: Driver, emulator: Emulator) -> None:
    ch = AliyunSmsChannel(
        emulator.access_key_id, emulator.access_key_secret, sign_name="车企", base_url=emulator.url
    )
    d = driver.make(ch)
    for n in range(3):
        rep = driver.send(d, Message(to=phones(2), content=SmsContent("SMS_1", {"n": str(n)})))
        assert rep.ok and rep[0].provider_message_id == rep[1].provider_message_id
    nonces = [q["SignatureNonce"] for w, q in emulator.received if w == "aliyun_sms"]
    assert len(nonces) == 3 == len(set(nonces))
    assert emulator.received[0][1]["PhoneNumbers"] == "13800000000,13800000001"
    driver.close(d)


def test_sms_refuses_bad_numbers_before_http() -> None:
    ch = TencentSmsChannel("a", "k", sdk_app_id="1", sign_name="s")
    for bad in ("13812345678", "+86123", "+8612345678901"):
        with pytest.raises(InvalidInput) as info:
            ch.validate(Message(to=["+8613812345678", bad], content=SmsContent("T")))
        assert info.value.row == 1 and bad not in str(info.value)


def test_official_account_template(driver: Driver, emulator: Emulator) -> None:
    ch = OfficialAccountChannel(
        emulator.app_id,
        emulator.app_secret,
        base_url=emulator.url,
        templates={"T1": ["thing1", "time2"]},
    )
    d = driver.make(ch)
    content = TemplateContent(
        "T1",
        {"thing1": "保养提醒", "time2": "2026-03-01"},
        url="https://a.example",
        miniprogram={"appid": "wxm", "pagepath": "p"},
    )
    rep = driver.send(d, Message(to=["o1", "o2"], content=content, idempotency_key="k"))
    assert rep.ok
    sent = [p for w, p in emulator.received if w == "template"]
    assert "url" not in sent[0] and sent[0]["miniprogram"]["appid"] == "wxm"
    assert sent[0]["client_msg_id"] != sent[1]["client_msg_id"]
    with pytest.raises(InvalidInput):
        ch.validate(Message(to=["o"], content=TemplateContent("T9", {"thing1": "x"})))
    with pytest.raises(InvalidInput):
        ch.validate(Message(to=["o"], content=TemplateContent("T1", {"thing1": "x"})))
    driver.close(d)


def test_legacy_token_invalidates_previous(emulator: Emulator) -> None:
    from autoops.channels import Dispatcher

    ch = OfficialAccountChannel(
        emulator.app_id, emulator.app_secret, base_url=emulator.url, legacy_token=True
    )
    a, b = Dispatcher(ch), Dispatcher(ch)  # two "processes" with separate caches
    m = Message(to=["o1"], content=TemplateContent("T", {"thing1": "x"}))
    assert a.send(m).ok
    assert b.send(Message(to=["o2"], content=m.content)).ok  # invalidates a's token
    rep = a.send(Message(to=["o3"], content=m.content))
    assert rep.ok and emulator.token_fetches == 3  # a refreshed once after 40014
    a.close()
    b.close()


def test_wecom_customer_message_and_local_checks(driver: Driver, emulator: Emulator) -> None:
    emulator.refuse.add("wm-gone")
    ch = WeComChannel(emulator.corp_id, emulator.corp_secret, base_url=emulator.url)
    d = driver.make(ch)
    content = CustomerMessage(
        text="周末试驾",
        tag_filter=[["tag1", "tag2"]],
        attachments=[Attachment("link", {"title": "t", "url": "u"})],
    )
    rep = driver.send(d, Message(to=["wm1", "wm-gone"], content=content))
    assert [r.status for r in rep] == ["accepted", "failed"]
    body = emulator.received[-1][1]
    assert body["tag_filter"] == {"group_list": [{"tag_list": ["tag1", "tag2"]}]}
    too_many = CustomerMessage(text="x", attachments=[Attachment("image", {})] * 10)
    with pytest.raises(InvalidInput, match="at most 9"):
        ch.validate(Message(to=["wm1"], content=too_many))
    with pytest.raises(InvalidInput, match="sender"):
        ch.validate(Message(to=["c1"], content=CustomerMessage(text="x", chat_type="group")))
    with pytest.raises(InvalidInput, match="unknown attachment"):
        ch.validate(
            Message(to=["c1"], content=CustomerMessage(attachments=[Attachment("gif", {})]))
        )
    driver.close(d)


def test_wecom_task_remind_and_cancel(driver: Driver, emulator: Emulator) -> None:
    ch = WeComChannel(emulator.corp_id, emulator.corp_secret, base_url=emulator.url)
    d = driver.make(ch)
    rep = driver.send(d, Message(to=["wm1", "wm2"], content=CustomerMessage(text="车主沙龙")))
    msgid = rep[0].provider_message_id
    assert rep.ok and msgid is not None and msgid in emulator.tasks
    for _ in range(3):
        body = driver.call(d, lambda token: groupmsg_remind_request(ch, msgid, token))
        assert body["errcode"] == 0
    with pytest.raises(RateLimited) as limited:  # a 4th reminder within 24 h
        driver.call(d, lambda token: groupmsg_remind_request(ch, msgid, token))
    assert limited.value.provider_code == "45009"
    emulator.expire_tokens()  # the follow-ups refresh the token like any send
    assert driver.call(d, lambda token: groupmsg_cancel_request(ch, msgid, token))["errcode"] == 0
    with pytest.raises(InvalidRequest, match="40058"):  # cancelled: nothing left to remind
        driver.call(d, lambda token: groupmsg_remind_request(ch, msgid, token))
    with pytest.raises(InvalidRequest, match="40058"):
        driver.call(d, lambda token: groupmsg_cancel_request(ch, "no-such-task", token))
    sent = [(what, body["msgid"]) for what, body in emulator.received if what.endswith("_send")]
    assert sent == [("remind_groupmsg_send", msgid)] * 3 + [("cancel_groupmsg_send", msgid)]
    assert emulator.tasks[msgid]["cancelled"] and len(emulator.tasks[msgid]["reminders"]) == 3
    with pytest.raises(InvalidInput, match="msgid"):
        groupmsg_remind_request(ch, "", "T")
    driver.close(d)


def test_wecom_robot(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(WeComRobotChannel(base_url=emulator.url))
    assert driver.send(d, Message(to=["key-1"], content=RobotText("部署完成"))).ok
    assert emulator.received[-1] == ("robot", {"msgtype": "text", "text": {"content": "部署完成"}})
    driver.close(d)


def test_signed_webhook_end_to_end(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(WebhookChannel(secret=emulator.webhook_secret))
    rep = driver.send(
        d,
        Message(
            to=[f"{emulator.url}/hook/a", f"{emulator.url}/hook/b"],
            content=WebhookContent({"order": 42}, event="order.paid"),
        ),
    )
    assert rep.ok and rep[0].request_id
    assert emulator.received[-1] == ("webhook", {"data": {"order": 42}, "event": "order.paid"})
    bad = driver.make(WebhookChannel(secret="not-the-secret"))
    rep = driver.send(bad, Message(to=[f"{emulator.url}/hook/a"], content=WebhookContent({})))
    assert rep[0].error_kind == "invalid" and rep[0].provider_code == "401"
    driver.close(d)
    driver.close(bad)


def test_webhook_verifier_window_and_tamper() -> None:
    from autoops.channels.webhook import WebhookVerifier, sign_webhook

    v = WebhookVerifier("s", tolerance=60)
    body = json.dumps({"a": 1}).encode()
    headers = {"X-Autoops-Timestamp": "1000", "X-Autoops-Signature": sign_webhook("s", 1000, body)}
    with pytest.raises(InvalidInput) as info:
        v.verify(body, headers, now=1061)
    assert info.value.code == "stale_timestamp"
    with pytest.raises(InvalidInput) as info:
        v.verify(body + b" ", headers, now=1000)
    assert info.value.code == "bad_signature"
    assert v.verify(body, headers, now=1000) == {"a": 1}
