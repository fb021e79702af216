"""The blocking dispatcher: drives the send flow with ``httpx.Client``.

Line-for-line twin of ``_async.py``; only the I/O differs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from autoops.channels._base import Call
from autoops.channels._dispatch import BaseDispatcher
from autoops.channels._flow import Acquire, Flow, NeedToken, Send, Sleep
from autoops.channels._types import DeliveryResult, Message, SendReport
from autoops.errors import ChannelUnavailable

__all__ = ["Dispatcher"]


class Dispatcher(BaseDispatcher):
    """Send messages through one channel, blocking; safe to share between threads.

    Owns the cross-cutting work: contact policy, idempotency, access tokens
    (cached per app, single flight within the process and, with a
    :class:`FileTokenStore` or :class:`RedisTokenStore`, across processes),
    the channel's rate limit, retries with jittered backoff and the error
    taxonomy. Every request has *timeout*; closing the dispatcher closes its
    connections.

    Args:
        channel: the channel to send through.
        policy: a :class:`ContactPolicy`, or None for no policy.
        token_store: where access tokens live (default: in memory).
        rate_limit: requests per second, or a :class:`TokenBucket`.
        idempotency: an :class:`IdempotencyStore` (default: in memory, 24 h).
        retry: a :class:`RetryConfig` (default: 3 tries, 0.5 s base).
        timeout: seconds per request.
        transport: an httpx transport (e.g. ``httpx.MockTransport``).

    Examples:
        >>> import httpx
        >>> from autoops.channels import Dispatcher, Message
        >>> from autoops.channels.webhook import WebhookChannel, WebhookContent
        >>> ok = httpx.MockTransport(lambda request: httpx.Response(200))
        >>> with Dispatcher(WebhookChannel(secret="s"), transport=ok) as d:
        ...     report = d.send(Message(to=["https://hooks.example/a"],
        ...                             content=WebhookContent({"event": "hi"})))
        >>> report
        SendReport(channel='webhook', recipients=1, accepted=1, failed=0, skipped=0)
    """

    def __init__(
        self, channel: Any, *, transport: httpx.BaseTransport | None = None, **options: Any
    ) -> None:
        super().__init__(channel, **options)
        self._client = httpx.Client(transport=transport, timeout=self.timeout)
        self._token_lock = threading.Lock()

    def send(self, message: Message) -> SendReport:
        """Send *message*; one result per recipient, never a bare bool.

        Raises:
            InvalidInput: the message is malformed (before any request).
            ChannelAuthError: the credentials or the refreshed token were rejected.

        Examples:
            >>> Dispatcher.send.__name__
            'send'
        """
        plan = self._plan(message)
        if plan.report is not None:
            return plan.report
        try:
            sent = self._drive(self._flow(plan)) if plan.todo else []
        except BaseException:
            self._abort(plan)
            raise
        return self._finish(plan, sent)

    def call(self, build: Callable[[str | None], httpx.Request]) -> dict[str, Any]:
        """One raw API call with this channel's token, e.g. a WeCom task follow-up.

        *build* receives the access token (None for token-less channels) and
        returns the request. A token error refreshes the token and retries
        once; any other non-zero ``errcode`` raises the mapped
        :class:`~autoops.errors.ChannelError`.

        Examples:
            >>> Dispatcher.call.__name__
            'call'
        """
        token = self._token(None) if self.channel.needs_token else None
        for attempt in range(2):
            response = self._client.send(build(token))
            body = self._raw_answer(response, attempt)
            if body is not None:
                return body
            token = self._token(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def _drive(self, flow: Flow) -> list[DeliveryResult]:
        answer: Any = None
        try:
            while True:
                step = flow.send(answer)
                answer = None
                if isinstance(step, NeedToken):
                    answer = self._token(step.stale)
                elif isinstance(step, Acquire):
                    wait = self._wait_for_limit(step.cost)
                    if wait > 0:
                        time.sleep(wait)
                elif isinstance(step, Send):
                    answer = self._perform(step.call)
                elif isinstance(step, Sleep):
                    time.sleep(step.seconds)
        except StopIteration as stop:
            result: list[DeliveryResult] = stop.value
            return result

    def _perform(self, call: Call) -> Any:
        if call.transport != "http":
            try:
                return self.channel.deliver(call, timeout=self.timeout)  # type: ignore[attr-defined]
            except OSError as exc:
                return exc
        try:
            return self._client.send(call.request)
        except httpx.TransportError as exc:
            return exc

    def _token(self, stale: str | None) -> str:
        token = self._cached_token(stale)
        if token is not None:
            return token
        with self._token_lock:
            token = self._cached_token(stale)
            if token is not None:
                return token
            key = self.channel.token_key()
            if stale is not None:
                self.token_store.discard(key, stale)
            handle = self._lock_store(key)
            try:
                token = self._cached_token(stale)
                if token is not None:
                    return token
                request = self.channel.token_request(now=self._clock())
                try:
                    response = self._client.send(request)
                except httpx.TransportError as exc:
                    raise ChannelUnavailable(
                        f"token endpoint unreachable ({type(exc).__name__})",
                        channel=self.channel.name,
                        retryable=True,
                    ) from exc
                grant = self.channel.parse_token(response)
                self._store_token(grant.token, grant.expires_in)
                return grant.token
            finally:
                self.token_store.unlock(handle)

    def _lock_store(self, key: str) -> Any:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.002
        while True:
            handle = self.token_store.try_lock(key)
            if handle is not None:
                return handle
            if time.monotonic() > deadline:
                raise ChannelUnavailable(
                    "timed out waiting for the token refresh lock",
                    channel=self.channel.name,
                    retryable=True,
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def close(self) -> None:
        """Close the HTTP connections.

        Examples:
            >>> from autoops.channels.webhook import WebhookChannel
            >>> Dispatcher(WebhookChannel(secret="s")).close()
        """
        self._client.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
