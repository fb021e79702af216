"""Behaviour of both dispatchers, end to end against the loopback emulator."""

from __future__ import annotations

import httpx
import pytest

from autoops.channels import ContactPolicy, Message, RetryConfig
from autoops.channels.emulator import Emulator
from autoops.channels.wechat import MiniProgramChannel, SubscribeContent
from autoops.channels.wecom import AppText, WeComChannel, groupmsg_task_request
from autoops.errors import ChannelAuthError, InvalidInput, InvalidRequest

from .conftest import Driver


def wecom(emu: Emulator, secret: str | None = None) -> WeComChannel:
    return WeComChannel(emu.corp_id, secret or emu.corp_secret, agent_id=7, base_url=emu.url)


def test_sends_and_fetches_one_token(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    for n in range(3):
        rep = driver.send(d, Message(to=[f"u{n}", "lisi"], content=AppText(f"hi {n}")))
        assert rep.summary()["accepted"] == 2
        assert all(r.provider_message_id for r in rep)
    assert emulator.token_fetches == 1
    assert emulator.counts["wecom_app"] == 3
    driver.close(d)


def test_expired_token_is_refreshed_once_and_resent(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    driver.send(d, Message(to=["u1"], content=AppText("a")))
    emulator.expire_tokens()
    rep = driver.send(d, Message(to=["u1"], content=AppText("b")))
    assert rep.ok
    assert emulator.token_fetches == 2
    assert rep[0].attempts == 1  # a refresh does not spend the retry budget
    driver.close(d)


def test_persistent_token_error_raises_auth_error_without_looping(
    driver: Driver, emulator: Emulator
) -> None:
    d = driver.make(wecom(emulator))
    emulator.fail_next("message/send", errcode=40014, times=10)
    with pytest.raises(ChannelAuthError) as info:
        driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert info.value.provider_code == "40014"
    # one fetch for the cold cache, exactly one refresh, then give up
    assert emulator.token_fetches == 2
    assert sum(len(q) for q in emulator._faults.values()) == 8
    driver.close(d)


def test_bad_secret_is_an_auth_error_and_never_leaks(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator, secret="wrong-secret-value"))
    with pytest.raises(ChannelAuthError) as info:
        driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert "wrong-secret-value" not in str(info.value)
    assert "wrong-secret-value" not in repr(d.channel)
    driver.close(d)


def test_busy_is_retried_at_most_three_times(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    emulator.fail_next("message/send", errcode=-1, times=2)
    rep = driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert rep.ok and rep[0].attempts == 3
    emulator.fail_next("message/send", errcode=-1, times=5)
    rep = driver.send(d, Message(to=["u1"], content=AppText("b")))
    assert rep[0].status == "failed" and rep[0].error_kind == "retryable"
    assert rep[0].retryable and rep[0].attempts == 3
    assert len(emulator._faults["message/send"]) == 2  # 3 of 5 faults consumed
    driver.close(d)


def test_http_5xx_is_retried(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    emulator.fail_next("message/send", http=502)
    assert driver.send(d, Message(to=["u1"], content=AppText("a"))).ok
    driver.close(d)


def test_rate_limited_45009_then_gives_up(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator), retry=RetryConfig(max_attempts=2, base=0.001, cap=0.01))
    emulator.fail_next("message/send", errcode=45009, times=2)
    rep = driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert rep[0].error_kind == "rate_limited" and rep[0].provider_code == "45009"
    with pytest.raises(Exception) as info:
        rep.raise_for_status()
    assert type(info.value).__name__ == "RateLimited"
    driver.close(d)


def test_invalid_request_is_never_retried(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    emulator.fail_next("message/send", errcode=40003, times=3)
    rep = driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert rep[0].error_kind == "invalid" and rep[0].attempts == 1
    assert len(emulator._faults["message/send"]) == 2
    with pytest.raises(InvalidRequest):
        rep.raise_for_status()
    driver.close(d)


def test_partial_success_and_refused_recipients(driver: Driver, emulator: Emulator) -> None:
    emulator.refuse.add("gone")
    d = driver.make(wecom(emulator))
    rep = driver.send(d, Message(to=["u1", "gone", "u2"], content=AppText("a")))
    assert [r.status for r in rep] == ["accepted", "failed", "accepted"]
    assert rep[1].error_kind == "refused" and not rep[1].retryable
    driver.close(d)


def test_idempotent_repeat_sends_nothing(driver: Driver, emulator: Emulator) -> None:
    d = driver.make(wecom(emulator))
    m = Message(to=["u1", "u2"], content=AppText("a"), idempotency_key="campaign-1")
    first = driver.send(d, m)
    again = driver.send(d, m)
    assert again.replayed and not first.replayed
    assert [r.provider_message_id for r in again] == [r.provider_message_id for r in first]
    assert emulator.counts["wecom_app"] == 1
    driver.close(d)


def test_repeat_after_partial_failure_resends_only_failed(
    driver: Driver, emulator: Emulator
) -> None:
    ch = MiniProgramChannel(emulator.app_id, emulator.app_secret, base_url=emulator.url)
    d = driver.make(ch, retry=RetryConfig(max_attempts=1, base=0.001, cap=0.01))
    m = Message(
        to=["o1", "o2", "o3"],
        content=SubscribeContent("T", {"thing1": "保养"}),
        idempotency_key="k-partial",
    )
    emulator.fail_next("subscribe/send", errcode=-1, times=1)
    first = driver.send(d, m)
    assert [r.status for r in first] == ["failed", "accepted", "accepted"]
    second = driver.send(d, m)
    assert second.ok
    assert second[1].provider_message_id == first[1].provider_message_id
    sent_to = [p["touser"] for what, p in emulator.received if what == "subscribe"]
    assert sent_to == ["o2", "o3", "o1"]  # the injected fault was not recorded as received
    driver.close(d)


def test_no_quota_is_refused_not_retried(driver: Driver, emulator: Emulator) -> None:
    emulator.no_quota.add("o9")
    ch = MiniProgramChannel(emulator.app_id, emulator.app_secret, base_url=emulator.url)
    d = driver.make(ch)
    rep = driver.send(d, Message(to=["o9"], content=SubscribeContent("T", {"thing1": "x"})))
    assert rep[0].error_kind == "refused" and rep[0].provider_code == "43101"
    assert rep[0].provider_message.startswith("no subscription quota")
    assert rep[0].attempts == 1 and emulator.counts["subscribe"] == 1
    driver.close(d)


def test_bad_input_refused_before_any_http(driver: Driver) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    transport = httpx.MockTransport(boom)
    d = driver.make(WeComChannel("c", "s", agent_id=1), transport=transport)
    with pytest.raises(InvalidInput):
        driver.send(d, Message(to=["u"], content=SubscribeContent("T", {})))
    with pytest.raises(InvalidInput):
        Message(to=[], content=AppText("x"))
    driver.close(d)


def test_policy_skips_are_reported_with_reason(driver: Driver, emulator: Emulator) -> None:
    policy = ContactPolicy(kill_switch=True)
    d = driver.make(wecom(emulator), policy=policy)
    rep = driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert rep[0].status == "skipped" and rep[0].reason == "kill_switch"
    assert emulator.counts["wecom_app"] == 0 and emulator.token_fetches == 0
    driver.close(d)


def test_network_error_is_retryable(driver: Driver) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"errcode": 0, "msgid": "m"})

    ch = WeComChannel("c", "s", agent_id=1)
    d = driver.make(
        ch,
        transport=httpx.MockTransport(handler),
    )
    d.token_store.put(ch.token_key(), "T", 1e12)
    rep = driver.send(d, Message(to=["u1"], content=AppText("a")))
    assert rep.ok and rep[0].attempts == 3 and len(calls) == 3
    driver.close(d)


def test_raw_call_follow_up_with_token(driver: Driver, emulator: Emulator) -> None:
    ch = wecom(emulator)
    d = driver.make(ch)
    emulator.expire_tokens()
    body = driver.call(d, lambda token: groupmsg_task_request(ch, "msg1", token))
    assert body["task_list"][0]["status"] == 2
    driver.close(d)
