"""The async dispatcher: drives the send flow with ``httpx.AsyncClient``.

Line-for-line twin of ``_sync.py``; only the I/O differs. No hidden threads:
waits are ``anyio.sleep`` and the token lock is an ``anyio.Lock``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from autoops.channels._base import Call
from autoops.channels._dispatch import BaseDispatcher
from autoops.channels._flow import Acquire, Flow, NeedToken, Send, Sleep
from autoops.channels._types import DeliveryResult, Message, SendReport
from autoops.errors import ChannelUnavailable

__all__ = ["AsyncDispatcher"]


class AsyncDispatcher(BaseDispatcher):
    """Send messages through one channel from async code (asyncio or trio).

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
        >>> from autoops.channels import AsyncDispatcher, Message
        >>> from autoops.channels.webhook import WebhookChannel, WebhookContent
        >>> import anyio
        >>> ok = httpx.MockTransport(lambda request: httpx.Response(200))
        >>> async def main():
        ...     async with AsyncDispatcher(WebhookChannel(secret="s"), transport=ok) as d:
        ...         return await d.send(Message(to=["https://hooks.example/a"],
        ...                                     content=WebhookContent({"event": "hi"})))
        >>> anyio.run(main)
        SendReport(channel='webhook', recipients=1, accepted=1, failed=0, skipped=0)
    """

    def __init__(
        self, channel: Any, *, transport: httpx.AsyncBaseTransport | None = None, **options: Any
    ) -> None:
        super().__init__(channel, **options)
        self._client = httpx.AsyncClient(transport=transport, timeout=self.timeout)
        self._token_lock = anyio.Lock()

    async def send(self, message: Message) -> SendReport:
        """Send *message*; one result per recipient, never a bare bool.

        Raises:
            InvalidInput: the message is malformed (before any request).
            ChannelAuthError: the credentials or the refreshed token were rejected.

        Examples:
            >>> AsyncDispatcher.send.__name__
            'send'
        """
        plan = self._plan(message)
        if plan.report is not None:
            return plan.report
        try:
            sent = await self._drive(self._flow(plan)) if plan.todo else []
        except BaseException:
            self._abort(plan)
            raise
        return self._finish(plan, sent)

    async def call(self, build: Callable[[str | None], httpx.Request]) -> dict[str, Any]:
        """One raw API call with this channel's token, e.g. a WeCom task follow-up.

        *build* receives the access token (None for token-less channels) and
        returns the request. A token error refreshes the token and retries
        once; any other non-zero ``errcode`` raises the mapped
        :class:`~autoops.errors.ChannelError`.

        Examples:
            >>> AsyncDispatcher.call.__name__
            'call'
        """
        token = await self._token(None) if self.channel.needs_token else None
        for attempt in range(2):
            response = await self._client.send(build(token))
            body = self._raw_answer(response, attempt)
            if body is not None:
                return body
            token = await self._token(token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _drive(self, flow: Flow) -> list[DeliveryResult]:
        answer: Any = None
        try:
            while True:
                step = flow.send(answer)
                answer = None
                if isinstance(step, NeedToken):
                    answer = await self._token(step.stale)
                elif isinstance(step, Acquire):
                    wait = self._wait_for_limit(step.cost)
                    if wait > 0:
                        await anyio.sleep(wait)
                elif isinstance(step, Send):
                    answer = await self._perform(step.call)
                elif isinstance(step, Sleep):
                    await anyio.sleep(step.seconds)
        except StopIteration as stop:
            result: list[DeliveryResult] = stop.value
            return result

    async def _perform(self, call: Call) -> Any:
        if call.transport != "http":
            try:
                return await self.channel.adeliver(call, timeout=self.timeout)  # type: ignore[attr-defined]
            except OSError as exc:
                return exc
        try:
            return await self._client.send(call.request)
        except httpx.TransportError as exc:
            return exc

    async def _token(self, stale: str | None) -> str:
        token = self._cached_token(stale)
        if token is not None:
            return token
        async with self._token_lock:
            token = self._cached_token(stale)
            if token is not None:
                return token
            key = self.channel.token_key()
            if stale is not None:
                self.token_store.discard(key, stale)
            handle = await self._lock_store(key)
            try:
                token = self._cached_token(stale)
                if token is not None:
                    return token
                request = self.channel.token_request(now=self._clock())
                try:
                    response = await self._client.send(request)
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

    async def _lock_store(self, key: str) -> Any:
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
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def aclose(self) -> None:
        """Close the HTTP connections.

        Examples:
            >>> import anyio
            >>> from autoops.channels.webhook import WebhookChannel
            >>> anyio.run(AsyncDispatcher(WebhookChannel(secret="s")).aclose)
        """
        await self._client.aclose()

    async def __aenter__(self) -> AsyncDispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
