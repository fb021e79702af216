"""Signed webhooks: a sender channel and a verifier for the receiving side.

Each recipient is a URL; each gets one ``POST`` of the JSON payload with

* ``X-Autoops-Timestamp``: Unix seconds at signing;
* ``X-Autoops-Signature``: ``v1=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"``
  under the shared secret;
* ``X-Autoops-Delivery``: a delivery id (message key and URL), signed too,
  so two receivers of one message get different signatures;
* ``Idempotency-Key``: the message's key, the same on every retry.

The receiver calls :meth:`WebhookVerifier.verify`, which checks the
signature in constant time, refuses timestamps outside the replay window
(300 s by default) and refuses a signature it has already seen inside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attrs
import httpx

from autoops.channels._base import Call, Channel, Outcome, OutcomeKind
from autoops.channels._types import Message, Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = ["WebhookChannel", "WebhookContent", "WebhookVerifier", "sign_webhook"]

SIGNATURE_HEADER = "X-Autoops-Signature"
DELIVERY_HEADER = "X-Autoops-Delivery"
TIMESTAMP_HEADER = "X-Autoops-Timestamp"


def sign_webhook(secret: str | Secret, timestamp: int, body: bytes, delivery: str = "") -> str:
    """The signature header value: ``v1=<hex HMAC-SHA256("<ts>.<delivery>.<body>")>``.

    Without a *delivery* id the signed string is ``"<ts>.<body>"``.

    Examples:
        >>> sign_webhook("s", 1700000000, b'{"a":1}')[:11]
        'v1=ab7bd212'
    """
    key = (secret.get() if isinstance(secret, Secret) else secret).encode("utf-8")
    prefix = f"{timestamp}.{delivery}." if delivery else f"{timestamp}."
    mac = hmac.new(key, prefix.encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


@attrs.frozen
class WebhookContent:
    """A JSON payload to post, and an optional event name.

    Examples:
        >>> WebhookContent({"order": 1}, event="order.paid").event
        'order.paid'
    """

    payload: Mapping[str, Any]
    event: str | None = None


class WebhookChannel(Channel):
    """POST signed JSON to each recipient URL.

    Args:
        secret: the shared signing secret.
        allow_http: also allow ``http://`` URLs (loopback tests, internal hosts).

    Examples:
        >>> ch = WebhookChannel(secret="s", allow_http=True)
        >>> m = Message(to=["http://127.0.0.1:9/hook"], content=WebhookContent({"a": 1}),
        ...             idempotency_key="k1")
        >>> [call] = ch.build_requests(m, token=None, now=1700000000, nonce="n")
        >>> call.request.headers["Idempotency-Key"], call.request.headers["X-Autoops-Timestamp"]
        ('k1', '1700000000')
    """

    name: ClassVar[str] = "webhook"
    content_type: ClassVar[type] = WebhookContent

    def __init__(self, secret: str | Secret, *, allow_http: bool = True) -> None:
        self.secret = Secret(secret)
        if not self.secret.get():
            raise ConfigError("the signing secret is empty", key="secret")
        self.allow_http = allow_http

    def validate(self, message: Message) -> None:
        """Check the content type and that every recipient is an http(s) URL.

        Examples:
            >>> WebhookChannel(secret="s").validate(Message(to=["ftp://x"],
            ...     content=WebhookContent({})))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: to (row 0): not an https URL [invalid_input]
        """
        super().validate(message)
        schemes = ("https", "http") if self.allow_http else ("https",)
        for i, url in enumerate(message.to):
            parts = urlsplit(url)
            if parts.scheme not in schemes or not parts.netloc:
                raise InvalidInput("not an https URL", field="to", row=i)

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One signed POST per recipient URL.

        Examples:
            >>> ch = WebhookChannel(secret="s")
            >>> m = Message(to=["https://a.example/h"], content=WebhookContent({}))
            >>> ch.build_requests(m, token=None, now=1, nonce="n")[0].request.method
            'POST'
        """
        content: WebhookContent = message.content
        body = json.dumps(
            {"event": content.event, "data": dict(content.payload)},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        ).encode("utf-8")
        ts = int(now)
        calls = []
        for i, url in enumerate(message.to):
            delivery = hashlib.sha256(f"{message.key()}|{url}".encode()).hexdigest()[:24]
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(ts),
                DELIVERY_HEADER: delivery,
                SIGNATURE_HEADER: sign_webhook(self.secret, ts, body, delivery),
                "Idempotency-Key": message.key(),
            }
            calls.append(Call(httpx.Request("POST", url, content=body, headers=headers), (i,)))
        return calls

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """2xx accepted; 429 rate limited; 5xx retryable; 410 refused; other 4xx invalid.

        Examples:
            >>> WebhookChannel(secret="s").parse_response(Call(None, (0,)),
            ...     httpx.Response(503))[0].kind
            'retryable'
        """
        status = response.status_code
        rid = response.headers.get("x-request-id")
        if 200 <= status < 300:
            kind: OutcomeKind = "accepted"
        elif status == 429:
            after = response.headers.get("retry-after")
            wait = float(after) if after and after.replace(".", "", 1).isdigit() else None
            return [
                Outcome(i, "rate_limited", code="http_429", request_id=rid, retry_after=wait)
                for i in call.recipients
            ]
        elif status >= 500:
            kind = "retryable"
        elif status == 410:
            kind = "refused"
        else:
            kind = "invalid"
        return [
            Outcome(
                i,
                kind,
                code=str(status),
                request_id=rid,
                message=None if kind == "accepted" else response.reason_phrase,
            )
            for i in call.recipients
        ]


class WebhookVerifier:
    """Verify signed webhooks on the receiving side, with a replay window.

    Args:
        secret: the shared secret.
        tolerance: seconds a timestamp may differ from now (default 300).

    Examples:
        >>> v = WebhookVerifier("s")
        >>> body = b'{"a":1}'
        >>> headers = {"X-Autoops-Timestamp": "1700000000",
        ...            "X-Autoops-Signature": sign_webhook("s", 1700000000, body)}
        >>> v.verify(body, headers, now=1700000010)
        {'a': 1}
        >>> v.verify(body, headers, now=1700000011)
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: X-Autoops-Signature: signature already used (replay) [replayed]
    """

    def __init__(self, secret: str | Secret, *, tolerance: float = 300.0) -> None:
        self.secret = Secret(secret)
        if not tolerance > 0:
            raise ConfigError("must be positive", key="tolerance")
        self.tolerance = float(tolerance)
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> Any:
        """Check timestamp, signature and replay; return the decoded JSON body.

        Raises:
            InvalidInput: missing headers (``code="missing_header"``), a
                timestamp outside the window (``"stale_timestamp"``), a bad
                signature (``"bad_signature"``) or a replay (``"replayed"``).

        Examples:
            >>> WebhookVerifier("s").verify(b"{}", {}, now=0)
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: X-Autoops-Timestamp: header missing [missing_header]
        """
        lower = {k.lower(): v for k, v in headers.items()}
        ts_raw = lower.get(TIMESTAMP_HEADER.lower())
        sig = lower.get(SIGNATURE_HEADER.lower())
        if ts_raw is None:
            raise InvalidInput("header missing", field=TIMESTAMP_HEADER, code="missing_header")
        if sig is None:
            raise InvalidInput("header missing", field=SIGNATURE_HEADER, code="missing_header")
        try:
            ts = int(ts_raw)
        except ValueError as exc:
            raise InvalidInput(
                "not an integer", field=TIMESTAMP_HEADER, code="stale_timestamp"
            ) from exc
        if abs(now - ts) > self.tolerance:
            raise InvalidInput(
                f"outside the {self.tolerance:g} s replay window",
                field=TIMESTAMP_HEADER,
                code="stale_timestamp",
            )
        delivery = lower.get(DELIVERY_HEADER.lower(), "")
        expected = sign_webhook(self.secret, ts, body, delivery)
        if not hmac.compare_digest(expected, sig.strip()):
            raise InvalidInput(
                "signature does not match", field=SIGNATURE_HEADER, code="bad_signature"
            )
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - 2 * self.tolerance:
                self._seen.popitem(last=False)
            if expected in self._seen:
                raise InvalidInput(
                    "signature already used (replay)", field=SIGNATURE_HEADER, code="replayed"
                )
            self._seen[expected] = ts
        return json.loads(body)
