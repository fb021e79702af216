"""Values that cross the channel boundary: secrets, messages, results, reports.

A :class:`Message` names its recipients and a channel-specific *content*
object; the channel turns it into requests. Every send ends in a
:class:`SendReport` holding one :class:`DeliveryResult` per recipient, in the
order of ``Message.to``: accepted, failed or skipped (by the contact policy),
never a bare bool.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_value
from autoops._tabular import Tabular
from autoops.errors import InvalidInput

__all__ = [
    "PURPOSES",
    "DeliveryResult",
    "ErrorKind",
    "Message",
    "Secret",
    "SendReport",
    "Status",
]

Status = Literal["accepted", "failed", "skipped"]
ErrorKind = Literal["retryable", "rate_limited", "auth", "invalid", "refused"]

#: Purposes a message may declare; the first four are consent purposes.
PURPOSES = ("marketing", "analytics", "identity_merge", "third_party_sharing", "transactional")


class Secret:
    """A secret string that never shows itself in reprs, logs or errors.

    Like pydantic's ``SecretStr``: ``str()`` and ``repr()`` print stars; call
    :meth:`get` where the raw value is needed (signing). ``fingerprint`` is a
    short SHA-256 prefix, used in cache keys so that two apps never share a
    token and the key itself reveals nothing.

    Args:
        value: the raw secret.

    Examples:
        >>> s = Secret("hunter2")
        >>> s, str(s), s.get()
        (Secret('**********'), '**********', 'hunter2')
        >>> s.fingerprint
        'f52fbd32b2b3b86f'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.get() if isinstance(value, Secret) else str(value)

    def get(self) -> str:
        """Return the raw secret.

        Examples:
            >>> Secret("k").get()
            'k'
        """
        return self._value

    @property
    def fingerprint(self) -> str:
        """First 16 hex digits of the secret's SHA-256 (safe in cache keys).

        Examples:
            >>> len(Secret("k").fingerprint)
            16
        """
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


def _to_tuple(values: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(values)


def _opt_tuple(values: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


@attrs.frozen(repr=False)
class Message:
    """One message to one or more recipients of one channel.

    ``to`` holds channel addresses (openids, WeCom user ids, E.164 phone
    numbers, e-mail addresses, webhook URLs); ``content`` is the channel's
    typed content object (for example
    :class:`autoops.channels.wechat.TemplateContent`). ``purpose`` drives the
    contact policy: ``"marketing"`` needs marketing consent and respects quiet
    hours; ``"transactional"`` (order, service and verification notices) only
    passes the kill switch. ``person_ids`` (aligned with ``to``) lets the
    policy look people up; ``idempotency_key`` makes a repeat send a no-op
    (derived from the content and recipients when not given).

    Args:
        to: recipient addresses; at least one.
        content: the channel-specific content.
        purpose: one of ``PURPOSES``.
        person_ids: one person id per recipient, or None.
        idempotency_key: a caller-chosen key, e.g. ``"order-confirm-42"``.

    Raises:
        InvalidInput: empty recipients, a blank address, an unknown purpose or
            misaligned ``person_ids``.

    Examples:
        >>> m = Message(to=["+8613812345678"], content={"text": "hi"})
        >>> m
        Message(to=['+86138****5678'], content=dict, purpose='transactional')
        >>> len(m.key())
        32
    """

    to: tuple[str, ...] = attrs.field(converter=_to_tuple)
    content: Any
    purpose: str = "transactional"
    person_ids: tuple[Any, ...] | None = attrs.field(default=None, converter=_opt_tuple)
    idempotency_key: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.to:
            raise InvalidInput("a message needs at least one recipient", field="to")
        for i, addr in enumerate(self.to):
            if not isinstance(addr, str) or not addr.strip():
                raise InvalidInput("recipient address is empty", field="to", row=i)
        if self.purpose not in PURPOSES:
            raise InvalidInput(
                f"unknown purpose {self.purpose!r}; use one of {', '.join(PURPOSES)}",
                field="purpose",
            )
        if self.person_ids is not None and len(self.person_ids) != len(self.to):
            raise InvalidInput(
                f"person_ids has {len(self.person_ids)} values for {len(self.to)} recipients",
                field="person_ids",
            )

    def key(self) -> str:
        """The idempotency key: the caller's, or a digest of content and recipients.

        Examples:
            >>> Message(to=["a@b.cn"], content={}, idempotency_key="order-1").key()
            'order-1'
            >>> a = Message(to=["a@b.cn"], content={"x": 1})
            >>> a.key() == Message(to=["a@b.cn"], content={"x": 1}).key()
            True
        """
        if self.idempotency_key is not None:
            return self.idempotency_key
        payload = json.dumps(
            [list(self.to), _jsonable(self.content), self.purpose], sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def subset(self, indices: Sequence[int]) -> Message:
        """The same message restricted to the recipients at *indices*.

        Examples:
            >>> Message(to=["a@b.cn", "c@d.cn"], content={}).subset([1]).to
            ('c@d.cn',)
        """
        ids = None if self.person_ids is None else [self.person_ids[i] for i in indices]
        return attrs.evolve(
            self, to=[self.to[i] for i in indices], person_ids=ids, idempotency_key=self.key()
        )

    def __repr__(self) -> str:
        shown = [mask_value(t) for t in self.to[:3]]
        more = f" +{len(self.to) - 3}" if len(self.to) > 3 else ""
        return (
            f"Message(to={shown}{more}, content={type(self.content).__name__}, "
            f"purpose={self.purpose!r})"
        )


def _jsonable(value: Any) -> Any:
    if attrs.has(type(value)):
        return {"__type__": type(value).__name__, **attrs.asdict(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


@attrs.frozen(repr=False)
class DeliveryResult:
    """What happened to one recipient of one message.

    ``status`` is ``"accepted"`` (the provider took it; for WeCom customer
    messages this means a task was created, see the task follow-up),
    ``"failed"`` (``error_kind`` says why and ``retryable`` whether a later
    retry may help) or ``"skipped"`` (the contact policy refused before any
    request; ``reason`` names the rule).

    Examples:
        >>> r = DeliveryResult(recipient="+8613812345678", index=0, status="accepted")
        >>> r
        DeliveryResult(recipient='+86138****5678', status='accepted')
        >>> r.ok
        True
    """

    recipient: str
    index: int
    status: Status
    reason: str | None = None
    error_kind: ErrorKind | None = None
    provider_code: str | None = None
    provider_message: str | None = None
    provider_message_id: str | None = None
    request_id: str | None = None
    retryable: bool = False
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """True when the provider accepted the message for this recipient.

        Examples:
            >>> DeliveryResult(recipient="x@y.cn", index=0, status="skipped").ok
            False
        """
        return self.status == "accepted"

    def __repr__(self) -> str:
        extra = ""
        if self.status != "accepted":
            extra = f", reason={self.reason!r}"
        who = mask_value(self.recipient)
        return f"DeliveryResult(recipient={who!r}, status={self.status!r}{extra})"


_COLUMNS = (
    "recipient",
    "status",
    "reason",
    "error_kind",
    "provider_code",
    "provider_message",
    "provider_message_id",
    "request_id",
    "retryable",
    "attempts",
)


@attrs.frozen(repr=False)
class SendReport(Tabular):
    """The outcome of one :meth:`Dispatcher.send`: one result per recipient.

    Rows follow ``Message.to``. Partial success is normal: look at
    :meth:`summary` or iterate. ``replayed`` is True when the idempotency
    store answered with the first report of an earlier identical send and
    nothing was sent. ``to_pandas()`` / ``to_dicts()`` show masked
    recipients.

    Examples:
        >>> rep = SendReport(channel="sms", key="k1", results=(
        ...     DeliveryResult(recipient="+8613812345678", index=0, status="accepted"),
        ...     DeliveryResult(recipient="+8613912345678", index=1, status="skipped",
        ...                    reason="quiet_hours")))
        >>> rep
        SendReport(channel='sms', recipients=2, accepted=1, failed=0, skipped=1)
        >>> rep.summary()
        {'accepted': 1, 'failed': 0, 'skipped': 1, 'skipped_quiet_hours': 1}
        >>> rep.to_dicts()[1]["recipient"]
        '+86139****5678'
    """

    channel: str
    key: str
    results: tuple[DeliveryResult, ...]
    replayed: bool = False

    def __iter__(self) -> Any:
        return iter(self.results)

    def __getitem__(self, i: int) -> DeliveryResult:
        return self.results[i]

    @property
    def ok(self) -> bool:
        """True when every recipient was accepted.

        Examples:
            >>> SendReport(channel="sms", key="k", results=()).ok
            True
        """
        return all(r.ok for r in self.results)

    def raise_for_status(self) -> SendReport:
        """Raise the mapped error for the first failed recipient; else return self.

        ``auth`` → :class:`~autoops.errors.ChannelAuthError`, ``rate_limited``
        → :class:`~autoops.errors.RateLimited`, ``retryable`` →
        :class:`~autoops.errors.ChannelUnavailable`, ``refused`` →
        :class:`~autoops.errors.RecipientRefused`, ``invalid`` →
        :class:`~autoops.errors.InvalidRequest`. Skipped recipients are not
        failures. The message names the recipient masked.

        Examples:
            >>> rep = SendReport(channel="sms", key="k", results=(DeliveryResult(
            ...     recipient="+8613812345678", index=0, status="failed", error_kind="refused",
            ...     provider_code="43101"),))
            >>> rep.raise_for_status()
            Traceback (most recent call last):
            ...
            autoops.errors.RecipientRefused: sms: recipient 0 (+86138****5678) failed: ...
        """
        from autoops import errors

        classes: dict[str | None, type[errors.ChannelError]] = {
            "auth": errors.ChannelAuthError,
            "rate_limited": errors.RateLimited,
            "retryable": errors.ChannelUnavailable,
            "refused": errors.RecipientRefused,
            "invalid": errors.InvalidRequest,
        }
        for r in self.results:
            if r.status == "failed":
                cls = classes.get(r.error_kind, errors.ChannelError)
                text = (
                    f"recipient {r.index} ({mask_value(r.recipient)}) failed: {r.provider_message}"
                )
                kw: dict[str, Any] = {
                    "channel": self.channel,
                    "provider_code": r.provider_code,
                    "provider_message": r.provider_message,
                    "request_id": r.request_id,
                }
                if cls is not errors.RateLimited:
                    kw["retryable"] = r.retryable
                raise cls(text, **kw)
        return self

    def by_status(self, status: Status) -> list[DeliveryResult]:
        """The results with this status, in recipient order.

        Examples:
            >>> SendReport(channel="sms", key="k", results=()).by_status("failed")
            []
        """
        return [r for r in self.results if r.status == status]

    @property
    def status(self) -> npt.NDArray[Any]:
        """Statuses as a numpy array aligned with ``Message.to``.

        Examples:
            >>> SendReport(channel="sms", key="k", results=()).status.size
            0
        """
        return np.array([r.status for r in self.results], dtype=object)

    def summary(self) -> dict[str, int]:
        """Counts per status, plus ``skipped_<reason>`` and ``failed_<kind>`` counts.

        Examples:
            >>> SendReport(channel="sms", key="k", results=()).summary()
            {'accepted': 0, 'failed': 0, 'skipped': 0}
        """
        out = {"accepted": 0, "failed": 0, "skipped": 0}
        for r in self.results:
            out[r.status] += 1
        extra: dict[str, int] = {}
        for r in self.results:
            if r.status == "skipped":
                name = f"skipped_{r.reason}"
            elif r.status == "failed":
                name = f"failed_{r.error_kind}"
            else:
                continue
            extra[name] = extra.get(name, 0) + 1
        return {**out, **dict(sorted(extra.items()))}

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        cols: dict[str, npt.NDArray[Any]] = {}
        for name in _COLUMNS:
            values = [getattr(r, name) for r in self.results]
            if name == "recipient":
                values = [mask_value(v) for v in values]
            if name in ("retryable",):
                cols[name] = np.array(values, dtype=bool)
            elif name == "attempts":
                cols[name] = np.array(values, dtype=np.int64)
            else:
                cols[name] = np.array(values, dtype=object)
        return cols

    def __repr__(self) -> str:
        s = self.summary()
        return short_repr(
            "SendReport",
            channel=repr(self.channel),
            recipients=len(self.results),
            accepted=s["accepted"],
            failed=s["failed"],
            skipped=s["skipped"],
        ) + (" (replayed)" if self.replayed else "")

    def _repr_html_(self) -> str:
        rows = [
            [
                mask_value(r.recipient),
                r.status,
                r.reason or r.error_kind or "",
                r.provider_code or "",
            ]
            for r in self.results
        ]
        return html_table(repr(self), ["recipient", "status", "reason", "code"], rows)
