"""The channel interface: pure request building and response parsing.

A channel never does I/O. :meth:`Channel.build_requests` turns a message into
:class:`Call` objects (an ``httpx.Request`` plus the recipients it carries),
:meth:`Channel.parse_response` turns the provider's answer into one
:class:`Outcome` per carried recipient. Channels that need an access token
also build the token request and parse its answer. Time and nonces come in
as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs
import httpx

from autoops.channels._types import Message, Secret
from autoops.errors import ChannelAuthError, ChannelUnavailable, InvalidInput

__all__ = ["Call", "Channel", "Outcome", "OutcomeKind", "TokenGrant"]

OutcomeKind = Literal["accepted", "retryable", "rate_limited", "auth", "invalid", "refused"]


@attrs.frozen
class Call:
    """One request of a send and the message recipients it carries.

    ``transport`` is ``"http"`` (``request`` is an :class:`httpx.Request`),
    ``"smtp"`` or ``"local"`` (the channel delivers it itself, e.g. to a file).

    Examples:
        >>> import httpx
        >>> Call(request=httpx.Request("GET", "http://127.0.0.1/"), recipients=(0, 1)).transport
        'http'
    """

    request: Any
    recipients: tuple[int, ...]
    transport: Literal["http", "smtp", "local"] = "http"


@attrs.frozen
class Outcome:
    """The provider's verdict on one recipient of one call.

    ``index`` points into the message given to ``build_requests``.

    Examples:
        >>> Outcome(index=0, kind="accepted", message_id="m1").kind
        'accepted'
    """

    index: int
    kind: OutcomeKind
    code: str | None = None
    message: str | None = None
    message_id: str | None = None
    request_id: str | None = None
    retry_after: float | None = None


@attrs.frozen
class TokenGrant:
    """An access token and its lifetime in seconds.

    Examples:
        >>> TokenGrant("abc", 7200).expires_in
        7200.0
    """

    token: str
    expires_in: float = attrs.field(converter=float)


class Channel:
    """Base class of every channel; subclasses are pure and stateless.

    Subclasses set ``name`` (the registry name and the opt-out key used by the
    contact policy), ``content_type`` (the content class they accept) and
    implement :meth:`build_requests` and :meth:`parse_response`; channels
    with an access token set ``needs_token`` and implement
    :meth:`token_request` / :meth:`parse_token`.

    Examples:
        >>> Channel.name
        'channel'
    """

    name: ClassVar[str] = "channel"
    opt_out_key: ClassVar[str | None] = None
    content_type: ClassVar[type | tuple[type, ...]] = object
    needs_token: ClassVar[bool] = False
    token_margin: ClassVar[float] = 300.0

    def validate(self, message: Message) -> None:
        """Refuse a message this channel cannot send, before any request.

        The base check is the content type; subclasses add recipient and
        field checks and raise :class:`~autoops.errors.InvalidInput` naming
        what to fix.

        Examples:
            >>> Channel().validate(Message(to=["x"], content={}))
        """
        if not isinstance(message.content, self.content_type):
            wanted = (
                self.content_type.__name__
                if isinstance(self.content_type, type)
                else " or ".join(t.__name__ for t in self.content_type)
            )
            raise InvalidInput(
                f"{self.name} sends {wanted}, got {type(message.content).__name__}",
                field="content",
            )

    def token_key(self) -> str:
        """Cache key of this channel's token: provider, app id, secret fingerprint.

        Examples:
            >>> Channel().token_key()
            'channel'
        """
        return self.name

    def token_request(self, *, now: float) -> httpx.Request:
        """The request that fetches a fresh access token.

        Examples:
            >>> Channel().token_request(now=0)
            Traceback (most recent call last):
            ...
            NotImplementedError: channel needs no access token
        """
        raise NotImplementedError(f"{self.name} needs no access token")

    def parse_token(self, response: httpx.Response) -> TokenGrant:
        """Parse the token response; raise on an error body.

        Examples:
            >>> import httpx
            >>> body = {"errcode": 0, "access_token": "T", "expires_in": 7200}
            >>> r = httpx.Response(200, json=body)
            >>> Channel().parse_token(r)
            TokenGrant(token='T', expires_in=7200.0)
        """
        return parse_wechat_token(self.name, response)

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """Turn *message* into calls; pure (*now* and *nonce* are inputs).

        Examples:
            >>> Channel().build_requests(Message(to=["x"], content={}), token=None, now=0,
            ...                          nonce="n")
            Traceback (most recent call last):
            ...
            NotImplementedError
        """
        raise NotImplementedError

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """Turn the provider's answer to *call* into one outcome per recipient.

        Examples:
            >>> import httpx
            >>> call = Call(request=None, recipients=(0,))
            >>> Channel().parse_response(call, httpx.Response(200, json={"errcode": 0}))
            [Outcome(index=0, kind='accepted', code='0', ...)]
        """
        return wechat_outcomes(call.recipients, response)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def json_body(response: httpx.Response) -> dict[str, Any]:
    """Decode a JSON object body, or ``{}`` when the body is not JSON."""
    try:
        data = json.loads(response.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


#: WeChat / WeCom errcodes and the kind each maps to; others are "invalid".
WECHAT_KINDS: dict[int, OutcomeKind] = {
    0: "accepted",
    -1: "retryable",
    40001: "auth",
    40014: "auth",
    42001: "auth",
    42007: "auth",
    45009: "rate_limited",
    45011: "rate_limited",
    45033: "rate_limited",
    43101: "refused",
    43004: "refused",
    81013: "refused",
    40003: "invalid",
}

_WECHAT_MESSAGES = {43101: "no subscription quota (user refused or quota used up)"}


def wechat_kind(errcode: int) -> OutcomeKind:
    """Map a WeChat / WeCom ``errcode`` to an outcome kind."""
    return WECHAT_KINDS.get(errcode, "invalid")


def wechat_outcomes(
    recipients: Sequence[int], response: httpx.Response, *, msgid_key: str = "msgid"
) -> list[Outcome]:
    """One outcome per recipient from a WeChat-style ``{errcode, errmsg}`` body."""
    status = response.status_code
    if status >= 500:
        return [Outcome(i, "retryable", code=f"http_{status}") for i in recipients]
    if status == 429:
        after = _retry_after(response)
        return [Outcome(i, "rate_limited", code="http_429", retry_after=after) for i in recipients]
    body = json_body(response)
    if status >= 400 or ("errcode" not in body and not body):
        return [
            Outcome(i, "invalid", code=f"http_{status}", message="unexpected response")
            for i in recipients
        ]
    code = int(body.get("errcode", 0))
    kind = wechat_kind(code)
    text = _WECHAT_MESSAGES.get(code, body.get("errmsg"))
    mid = body.get(msgid_key)
    return [
        Outcome(
            i,
            kind,
            code=str(code),
            message=None if kind == "accepted" else text,
            message_id=None if mid is None else str(mid),
        )
        for i in recipients
    ]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None


def parse_wechat_token(channel: str, response: httpx.Response) -> TokenGrant:
    """Parse a WeChat / WeCom token answer, raising on an error body."""
    if response.status_code >= 500:
        raise ChannelUnavailable(
            f"token endpoint answered HTTP {response.status_code}", channel=channel, retryable=True
        )
    body = json_body(response)
    code = int(body.get("errcode", 0) or 0)
    token = body.get("access_token")
    if code == -1:
        raise ChannelUnavailable(
            "token endpoint busy", channel=channel, provider_code="-1", retryable=True
        )
    if code != 0 or not token:
        raise ChannelAuthError(
            "could not fetch an access token; check the app id and secret",
            channel=channel,
            provider_code=str(code),
            provider_message=body.get("errmsg"),
        )
    return TokenGrant(str(token), float(body.get("expires_in", 7200)))


def secret_of(value: str | Secret) -> Secret:
    """Wrap a raw secret string (no-op for a :class:`Secret`)."""
    return value if isinstance(value, Secret) else Secret(value)
