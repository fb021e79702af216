"""One send as one generator; the sync and async dispatchers only drive it.

The flow yields instructions and receives their results:

* :class:`NeedToken` → the driver sends back a token string (fetching a
  fresh one when ``stale`` is set: the token that was just rejected);
* :class:`Acquire` → the driver waits for the rate limiter, sends ``None``;
* :class:`Send` → the driver performs the call and sends back the response,
  or the transport exception it raised;
* :class:`Sleep` → the driver waits, sends ``None``.

It returns one :class:`~autoops.channels.DeliveryResult` per recipient. Only
recipients whose last outcome was retryable are sent again; the token is
refreshed at most once; the number of rounds is bounded by the retry budget
plus one refresh, so nothing loops forever.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import attrs
import httpx

from autoops.channels._base import Call, Channel, Outcome
from autoops.channels._retry import RetryConfig, classify
from autoops.channels._types import DeliveryResult, Message
from autoops.errors import ChannelAuthError

__all__ = ["Acquire", "NeedToken", "Send", "Sleep", "send_flow"]


@attrs.frozen
class NeedToken:
    """Ask the driver for an access token; ``stale`` is a rejected one to replace."""

    stale: str | None = None


@attrs.frozen
class Acquire:
    """Ask the driver to take ``cost`` units from the channel's rate limiter."""

    cost: float = 1.0


@attrs.frozen
class Send:
    """Ask the driver to perform ``call``."""

    call: Call


@attrs.frozen
class Sleep:
    """Ask the driver to wait ``seconds``."""

    seconds: float


Instruction = NeedToken | Acquire | Send | Sleep
Flow = Generator[Instruction, Any, list[DeliveryResult]]


def _transport_outcomes(call: Call, exc: BaseException) -> list[Outcome]:
    code = type(exc).__name__
    return [Outcome(i, "retryable", code=code, message="network error") for i in call.recipients]


def _outcomes(channel: Channel, call: Call, answer: Any) -> list[Outcome]:
    if isinstance(answer, (httpx.TransportError, OSError, TimeoutError)):
        return _transport_outcomes(call, answer)
    if isinstance(answer, BaseException):
        raise answer
    got = channel.parse_response(call, answer)
    seen = {o.index for o in got}
    missing = [i for i in call.recipients if i not in seen]
    # A provider that says nothing about a recipient has not accepted it.
    return got + [Outcome(i, "invalid", message="no result for recipient") for i in missing]


def send_flow(
    channel: Channel,
    message: Message,
    *,
    retry: RetryConfig,
    clock: Callable[[], float],
    rand: Callable[[], float],
    nonce: Callable[[], str],
) -> Flow:
    """The generator that sends *message* through *channel* (see module docs).

    Args:
        channel: a pure channel.
        message: the message, already filtered by the contact policy.
        retry: the retry budget.
        clock: Unix seconds now (passed to ``build_requests``).
        rand: uniform numbers for the backoff jitter.
        nonce: fresh nonces for signed requests.

    Returns:
        A generator returning results aligned with ``message.to``.

    Raises:
        InvalidInput: from ``channel.validate``, before anything is yielded.
        ChannelAuthError: the token was rejected again after one refresh.
    """
    channel.validate(message)
    n = len(message.to)
    attempts = [0] * n
    final: dict[int, tuple[Outcome, bool]] = {}
    pending = list(range(n))
    token: str | None = None
    stale: str | None = None
    refreshed = False
    for _round in range(retry.max_attempts + 1):
        if not pending:
            break
        if channel.needs_token:
            token = yield NeedToken(stale=stale)
            stale = None
        sub = message.subset(pending)
        calls = channel.build_requests(sub, token=token, now=clock(), nonce=nonce())
        outcomes: list[Outcome] = []
        for call in calls:
            yield Acquire(1.0)
            answer = yield Send(call)
            for o in _outcomes(channel, call, answer):
                outcomes.append(attrs.evolve(o, index=pending[o.index]))
        next_pending: list[int] = []
        delay = 0.0
        refresh = False
        for o in outcomes:
            i = o.index
            attempts[i] += 1
            d = classify(
                o.kind,
                attempt=attempts[i],
                refreshed=refreshed,
                rand=rand(),
                retry_after=o.retry_after,
                config=retry,
            )
            if d.action == "refresh" and not channel.needs_token:
                d = attrs.evolve(d, action="fail")
            if d.action == "refresh":
                attempts[i] -= 1  # a token refresh does not spend the retry budget
                refresh = True
                next_pending.append(i)
            elif d.action == "retry":
                delay = max(delay, d.delay)
                next_pending.append(i)
            else:
                if o.kind == "auth":
                    raise ChannelAuthError(
                        "access token rejected again after one refresh",
                        channel=channel.name,
                        provider_code=o.code,
                        provider_message=o.message,
                        request_id=o.request_id,
                    )
                final[i] = (o, False)
        if refresh:
            refreshed = True
            stale = token
        elif delay > 0 and next_pending:
            yield Sleep(delay)
        pending = sorted(next_pending)
        by_index = {o.index: o for o in outcomes}
        for i in pending:
            final[i] = (by_index[i], True)
    return [_result(message, i, final[i][0], attempts[i]) for i in range(n)]


def _result(message: Message, i: int, o: Outcome, attempts: int) -> DeliveryResult:
    ok = o.kind == "accepted"
    kind = None if o.kind == "accepted" else o.kind
    return DeliveryResult(
        recipient=message.to[i],
        index=i,
        status="accepted" if ok else "failed",
        reason=None if ok else o.kind,
        error_kind=kind,
        provider_code=o.code,
        provider_message=o.message,
        provider_message_id=o.message_id,
        request_id=o.request_id,
        retryable=o.kind in ("retryable", "rate_limited"),
        attempts=max(attempts, 1),
    )
