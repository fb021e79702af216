"""The send flow with scripted answers (no HTTP), and the pure retry decisions."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.channels import Message, RetryConfig, backoff, classify
from autoops.channels._flow import Acquire, NeedToken, Send, Sleep, send_flow
from autoops.channels.wecom import AppText, WeComChannel
from autoops.errors import ChannelAuthError


def run(answers: list[Any], to: list[str]) -> tuple[list[Any], list[Any]]:
    ch = WeComChannel("c", "s", agent_id=1)
    flow = send_flow(
        ch,
        Message(to=to, content=AppText("x")),
        retry=RetryConfig(),
        clock=lambda: 0.0,
        rand=lambda: 1.0,
        nonce=lambda: "n",
    )
    steps: list[Any] = []
    reply: Any = None
    script = iter(answers)
    try:
        while True:
            step = flow.send(reply)
            steps.append(step)
            reply = None
            if isinstance(step, NeedToken):
                reply = "T2" if step.stale else "T1"
            elif isinstance(step, Send):
                reply = next(script)
    except StopIteration as stop:
        return steps, stop.value


def ok() -> httpx.Response:
    return httpx.Response(200, json={"errcode": 0, "msgid": "m"})


def err(code: int) -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": "e"})


def test_refresh_once_then_send() -> None:
    steps, results = run([err(42001), ok()], ["u1"])
    kinds = [type(s).__name__ for s in steps]
    assert kinds == ["NeedToken", "Acquire", "Send", "NeedToken", "Acquire", "Send"]
    assert steps[3] == NeedToken(stale="T1")
    assert results[0].status == "accepted"


def test_second_token_error_raises() -> None:
    with pytest.raises(ChannelAuthError):
        run([err(40001), err(40001)], ["u1"])


def test_busy_backs_off_then_fails_after_budget() -> None:
    steps, results = run([err(-1), err(-1), err(-1)], ["u1"])
    sleeps = [s.seconds for s in steps if isinstance(s, Sleep)]
    assert sleeps == [0.5, 1.0]
    assert results[0].status == "failed" and results[0].attempts == 3


def test_transport_error_is_retryable() -> None:
    req = httpx.Request("GET", "http://x")
    _, results = run([httpx.ConnectTimeout("t", request=req), ok()], ["u1"])
    assert results[0].ok and results[0].attempts == 2


def test_every_send_is_preceded_by_acquire() -> None:
    steps, _ = run([err(-1), ok()], ["u1"])
    for a, b in itertools.pairwise(steps):
        if isinstance(b, Send):
            assert isinstance(a, Acquire)


TABLE = [
    ("accepted", 1, False, "done"),
    ("invalid", 1, False, "fail"),
    ("refused", 1, False, "fail"),
    ("auth", 1, False, "refresh"),
    ("auth", 1, True, "fail"),
    ("retryable", 1, False, "retry"),
    ("retryable", 2, False, "retry"),
    ("retryable", 3, False, "fail"),
    ("rate_limited", 2, True, "retry"),
    ("rate_limited", 3, False, "fail"),
]


@pytest.mark.parametrize(("kind", "attempt", "refreshed", "action"), TABLE)
def test_classify_table(kind: Any, attempt: int, refreshed: bool, action: str) -> None:
    assert classify(kind, attempt=attempt, refreshed=refreshed, rand=0.5).action == action


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(1, 50),
    rand=st.floats(0, 1),
    base=st.floats(0.01, 2),
    cap_factor=st.floats(1, 20),
)
def test_backoff_bounds(attempt: int, rand: float, base: float, cap_factor: float) -> None:
    cfg = RetryConfig(base=base, cap=base * cap_factor)
    d = backoff(attempt, rand, cfg)
    raw = min(cfg.cap, base * 2 ** (attempt - 1))
    assert raw / 2 - 1e-9 <= d <= raw + 1e-9
