"""What the sync and async dispatchers share: configuration and every I/O-free step.

Before a send: validate the message, consult the idempotency store, apply
the contact policy. After it: merge results into one report aligned with
``Message.to``, store it, release unused frequency-cap slots. The drivers in
``_sync.py`` and ``_async.py`` add only the I/O: HTTP, sleeping, locks.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs
import httpx

from autoops.channels._base import Channel, json_body, wechat_kind
from autoops.channels._flow import Flow, send_flow
from autoops.channels._idempotency import IdempotencyStore
from autoops.channels._policy import ContactPolicy
from autoops.channels._ratelimit import TokenBucket
from autoops.channels._retry import RetryConfig
from autoops.channels._tokens import MemoryTokenStore, StoredToken, TokenStore
from autoops.channels._types import DeliveryResult, Message, SendReport
from autoops.errors import (
    ChannelAuthError,
    ChannelUnavailable,
    ConfigError,
    InvalidRequest,
    RateLimited,
    RecipientRefused,
)

__all__ = ["BaseDispatcher", "Plan"]


@attrs.frozen
class Plan:
    """The I/O-free decisions taken before a send."""

    message: Message
    key: str
    report: SendReport | None
    previous: SendReport | None
    todo: tuple[int, ...]
    skipped: tuple[DeliveryResult, ...]
    when: datetime
    reserved: bool


class BaseDispatcher:
    """Configuration shared by :class:`Dispatcher` and :class:`AsyncDispatcher`."""

    def __init__(
        self,
        channel: Channel,
        *,
        policy: ContactPolicy | None = None,
        token_store: TokenStore | None = None,
        rate_limit: float | TokenBucket | None = None,
        idempotency: IdempotencyStore | None = None,
        retry: RetryConfig | None = None,
        timeout: float = 10.0,
        lock_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not isinstance(channel, Channel):
            raise ConfigError(f"expected a Channel, got {type(channel).__name__}", key="channel")
        if not timeout > 0:
            raise ConfigError("every request needs a positive timeout", key="timeout")
        self.channel = channel
        self.policy = policy
        self.token_store: TokenStore = MemoryTokenStore() if token_store is None else token_store
        if rate_limit is None or isinstance(rate_limit, TokenBucket):
            self.limiter = rate_limit
        else:
            self.limiter = TokenBucket(float(rate_limit))
        self.idempotency = IdempotencyStore() if idempotency is None else idempotency
        self.retry = RetryConfig() if retry is None else retry
        self.timeout = float(timeout)
        self.lock_timeout = float(lock_timeout)
        self._clock = clock
        self._rand = rand

    # -- pure steps ---------------------------------------------------------

    def _plan(self, message: Message) -> Plan:
        self.channel.validate(message)
        now = self._clock()
        when = datetime.fromtimestamp(now, tz=timezone.utc)
        key = message.key()
        name = self.channel.name
        go, previous = self.idempotency.reserve(name, key, now=now)
        if not go:
            if previous is not None:
                return Plan(
                    message, key, attrs.evolve(previous, replayed=True), None, (), (), when, False
                )
            skipped = tuple(
                DeliveryResult(
                    recipient=to, index=i, status="skipped", reason="duplicate_in_flight"
                )
                for i, to in enumerate(message.to)
            )
            report = SendReport(channel=name, key=key, results=skipped)
            return Plan(message, key, report, None, (), (), when, False)
        if previous is not None:
            todo = [r.index for r in previous.results if r.status == "failed" and r.retryable]
        else:
            todo = list(range(len(message.to)))
        skipped_list: list[DeliveryResult] = []
        allowed = todo
        if self.policy is not None and todo:
            sub = message.subset(todo)
            reasons = self.policy.decide(self._opt_out_key(), sub, now=when)
            allowed = []
            for i, reason in zip(todo, reasons, strict=True):
                if reason is None:
                    allowed.append(i)
                else:
                    skipped_list.append(
                        DeliveryResult(
                            recipient=message.to[i], index=i, status="skipped", reason=reason
                        )
                    )
        return Plan(message, key, None, previous, tuple(allowed), tuple(skipped_list), when, True)

    def _opt_out_key(self) -> str:
        return self.channel.opt_out_key or self.channel.name

    def _flow(self, plan: Plan) -> Flow:
        return send_flow(
            self.channel,
            plan.message.subset(plan.todo),
            retry=self.retry,
            clock=self._clock,
            rand=self._rand,
            nonce=lambda: uuid.uuid4().hex,
        )

    def _finish(self, plan: Plan, sent: Sequence[DeliveryResult]) -> SendReport:
        merged: dict[int, DeliveryResult] = {}
        if plan.previous is not None:
            merged.update((r.index, r) for r in plan.previous.results)
        for r in plan.skipped:
            merged[r.index] = r
        for r in sent:
            i = plan.todo[r.index]
            merged[i] = attrs.evolve(r, index=i, recipient=plan.message.to[i])
        results = tuple(merged[i] for i in range(len(plan.message.to)))
        report = SendReport(channel=self.channel.name, key=plan.key, results=results)
        if self.policy is not None:
            self.policy.settle(
                self._opt_out_key(),
                plan.message,
                [merged[i] for i in plan.todo],
                reserved_at=plan.when,
            )
        self.idempotency.complete(self.channel.name, plan.key, report, now=self._clock())
        return report

    def _abort(self, plan: Plan) -> None:
        self.idempotency.release(self.channel.name, plan.key)
        if self.policy is not None:
            failed = [
                DeliveryResult(recipient=plan.message.to[i], index=i, status="failed")
                for i in plan.todo
            ]
            self.policy.settle(self._opt_out_key(), plan.message, failed, reserved_at=plan.when)

    def _cached_token(self, stale: str | None) -> str | None:
        entry: StoredToken | None = self.token_store.get(self.channel.token_key())
        if entry is not None and entry.usable(now=self._clock(), stale=stale):
            return entry.token
        return None

    def _store_token(self, token: str, expires_in: float) -> None:
        margin = min(self.channel.token_margin, expires_in / 2)
        self.token_store.put(self.channel.token_key(), token, self._clock() + expires_in - margin)

    def _raw_answer(self, response: httpx.Response, attempt: int) -> dict[str, Any] | None:
        """The body of a raw call, None to refresh the token and retry, or raise."""
        body = json_body(response)
        code = int(body.get("errcode", 0) or 0)
        kind = wechat_kind(code) if response.status_code < 500 else "retryable"
        if kind == "accepted":
            return body
        if kind == "auth" and attempt == 0 and self.channel.needs_token:
            return None
        cls = {
            "auth": ChannelAuthError,
            "rate_limited": RateLimited,
            "retryable": ChannelUnavailable,
            "refused": RecipientRefused,
        }.get(kind, InvalidRequest)
        raise cls(
            f"API call failed with errcode {code}",
            channel=self.channel.name,
            provider_code=str(code),
            provider_message=body.get("errmsg"),
        )

    def _wait_for_limit(self, cost: float) -> float:
        if self.limiter is None:
            return 0.0
        return self.limiter.reserve(now=time.monotonic(), cost=cost)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channel={self.channel.name!r})"
