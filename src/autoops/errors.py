"""One exception hierarchy for autoops.

Every error autoops raises on purpose derives from :class:`AutoOpsError` and
also from the builtin it resembles, so ``except ValueError`` keeps working::

    AutoOpsError
    ├── InvalidInput(ValueError)        .field .row .code  bad data, named
    ├── MissingExtraError(ImportError)  .extra             "pip install 'autoops[pandas]'"
    ├── ConfigError(ValueError)         .key               bad rules, specs or policies
    ├── IllegalTransition(ValueError)   .from_status .to_status  a lead status move refused
    ├── LedgerError                                        the loyalty ledger refused
    │   ├── InsufficientPoints          .available
    │   ├── IdempotencyConflict         .key
    │   ├── NotRedeemable
    │   ├── NotReversible               reversing a reversal, or past the original
    │   ├── HoldExpired                 capture after the hold's TTL
    │   ├── UnknownMember(LookupError)
    │   └── UnknownTransaction(LookupError)
    └── ChannelError  .channel .provider_code .provider_message .request_id .retryable
        ├── ChannelAuthError
        ├── RateLimited                 .retry_after
        ├── InvalidRequest              never retried
        ├── RecipientRefused
        └── ChannelUnavailable          network, 5xx, errcode -1

Messages never carry raw personal data: values are masked with
:mod:`autoops._masking` before they reach a message. Each error has a stable
``code`` and a link to its docs page in ``docs/errors.md``.

Examples:
    >>> from autoops.errors import InvalidInput
    >>> err = InvalidInput("must be timezone-aware", field="ts", row=3)
    >>> str(err)
    'ts (row 3): must be timezone-aware [invalid_input]'
    >>> isinstance(err, ValueError)
    True
"""

from __future__ import annotations

__all__ = [
    "AutoOpsError",
    "ChannelAuthError",
    "ChannelError",
    "ChannelUnavailable",
    "ConfigError",
    "HoldExpired",
    "IdempotencyConflict",
    "IllegalTransition",
    "InsufficientPoints",
    "InvalidInput",
    "InvalidRequest",
    "LedgerError",
    "MissingExtraError",
    "NotRedeemable",
    "NotReversible",
    "RateLimited",
    "RecipientRefused",
    "UnknownMember",
    "UnknownTransaction",
]

DOCS_URL = "https://autoops.invalid/docs/errors/"


class AutoOpsError(Exception):
    """Base class of every error autoops raises on purpose.

    Attributes:
        code: a stable, machine-readable name of the error kind.

    Examples:
        >>> issubclass(InvalidInput, AutoOpsError)
        True
    """

    code: str = "autoops_error"

    @property
    def docs_url(self) -> str:
        """The docs page that explains this error.

        Examples:
            >>> ConfigError("bad", key="window").docs_url
            'https://autoops.invalid/docs/errors/#config_error'
        """
        return f"{DOCS_URL}#{self.code}"


class InvalidInput(AutoOpsError, ValueError):
    """Input data failed validation; names the field and the row or record.

    Args:
        message: what is wrong, with values already masked.
        field: the field or column at fault, if one is.
        row: the row index (or indices) or record id at fault, if known.
        code: a more specific stable code than ``invalid_input``.

    Examples:
        >>> e = InvalidInput("duplicate record id", field="record_id", row=[4, 9])
        >>> e.row
        [4, 9]
        >>> str(e)
        'record_id (rows [4, 9]): duplicate record id [invalid_input]'
    """

    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | str | list[int] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.row = row
        if code is not None:
            self.code = code
        where = field or ""
        if row is not None:
            label = "rows" if isinstance(row, list) else "row"
            where = f"{where} ({label} {row})" if where else f"{label} {row}"
        text = f"{where}: {message}" if where else message
        super().__init__(f"{text} [{self.code}]")


class MissingExtraError(AutoOpsError, ImportError):
    """A feature needs an optional dependency that is not installed.

    Examples:
        >>> str(MissingExtraError("pandas", "pandas"))
        "this feature needs pandas: pip install 'autoops[pandas]'"
    """

    code = "missing_extra"

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(f"this feature needs {module}: pip install 'autoops[{extra}]'")


class ConfigError(AutoOpsError, ValueError):
    """A configuration value (rules, spec, policy) is invalid; names the key.

    Examples:
        >>> str(ConfigError("must be positive", key="window"))
        'window: must be positive [config_error]'
    """

    code = "config_error"

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.message = message
        self.key = key
        text = f"{key}: {message}" if key else message
        super().__init__(f"{text} [{self.code}]")


class IllegalTransition(AutoOpsError, ValueError):
    """A lead status change that the lead state machine does not allow.

    Attributes:
        from_status: the status the lead is in.
        to_status: the status that was asked for.
        lead_id: the lead, if known.

    Examples:
        >>> err = IllegalTransition("delivered", "new", lead_id="L1")
        >>> str(err)
        "lead L1: cannot move from 'delivered' to 'new' [illegal_transition]"
        >>> isinstance(err, ValueError)
        True
    """

    code = "illegal_transition"

    def __init__(
        self,
        from_status: str,
        to_status: str,
        *,
        lead_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.from_status = from_status
        self.to_status = to_status
        self.lead_id = lead_id
        where = f"lead {lead_id}: " if lead_id else ""
        extra = f"; {detail}" if detail else ""
        super().__init__(
            f"{where}cannot move from {from_status!r} to {to_status!r}{extra} [{self.code}]"
        )


class LedgerError(AutoOpsError):
    """The loyalty ledger refused an operation; nothing was written.

    Examples:
        >>> issubclass(InsufficientPoints, LedgerError)
        True
    """

    code = "ledger_error"


class InsufficientPoints(LedgerError):
    """A redemption or hold asked for more points than are available.

    Examples:
        >>> InsufficientPoints("need 100", available=40).available
        40
    """

    code = "insufficient_points"

    def __init__(self, message: str, *, available: int) -> None:
        self.available = available
        super().__init__(message)


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused with a different payload.

    Examples:
        >>> IdempotencyConflict("key reused", key="order-1").key
        'order-1'
    """

    code = "idempotency_conflict"

    def __init__(self, message: str, *, key: str) -> None:
        self.key = key
        super().__init__(message)


class NotRedeemable(LedgerError):
    """The balance cannot be spent (growth value is never spent).

    Examples:
        >>> NotRedeemable("growth value is never spent").code
        'not_redeemable'
    """

    code = "not_redeemable"


class NotReversible(LedgerError):
    """The transaction cannot be reversed (a reversal, an expiry, or past its amount).

    Examples:
        >>> NotReversible("reversing a reversal is refused").code
        'not_reversible'
    """

    code = "not_reversible"


class HoldExpired(LedgerError):
    """A hold was captured after its TTL; its points were already released.

    Examples:
        >>> HoldExpired("hold expired").code
        'hold_expired'
    """

    code = "hold_expired"


class UnknownMember(LedgerError, LookupError):
    """The ledger has no transaction for this member (identifier masked in the message).

    Examples:
        >>> isinstance(UnknownMember("unknown member me…01"), LookupError)
        True
    """

    code = "unknown_member"


class UnknownTransaction(LedgerError, LookupError):
    """No transaction or hold has this id.

    Examples:
        >>> UnknownTransaction("no transaction tx_1").code
        'unknown_transaction'
    """

    code = "unknown_transaction"


class ChannelError(AutoOpsError):
    """A channel (WeCom, WeChat, SMS, e-mail, webhook) failed to deliver.

    Attributes carry the provider's answer; the message never holds a secret
    or a raw recipient.

    Examples:
        >>> e = ChannelError("busy", channel="wecom", provider_code="-1", retryable=True)
        >>> str(e)
        'wecom: busy (provider code -1) [channel_error]'
    """

    code = "channel_error"

    def __init__(
        self,
        message: str,
        *,
        channel: str | None = None,
        provider_code: str | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        self.message = message
        self.channel = channel
        self.provider_code = provider_code
        self.provider_message = provider_message
        self.request_id = request_id
        self.retryable = retryable
        text = f"{channel}: {message}" if channel else message
        if provider_code is not None:
            text += f" (provider code {provider_code})"
        if request_id is not None:
            text = f"request {request_id}: {text}"
        super().__init__(f"{text} [{self.code}]")


class ChannelAuthError(ChannelError):
    """Credentials or access token rejected, even after one refresh.

    Examples:
        >>> ChannelAuthError("token rejected", channel="wecom").code
        'channel_auth'
    """

    code = "channel_auth"


class RateLimited(ChannelError):
    """The provider or the local limiter refused for rate; see ``retry_after``.

    Examples:
        >>> RateLimited("45009", channel="wecom", retry_after=1.5).retry_after
        1.5
    """

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, retryable=True, **kw)  # type: ignore[arg-type]


class InvalidRequest(ChannelError):
    """The provider rejected the request as malformed; never retried.

    Examples:
        >>> InvalidRequest("bad template", channel="mini_program").retryable
        False
    """

    code = "invalid_request"


class RecipientRefused(ChannelError):
    """The recipient cannot be reached (unsubscribed, no quota, blocked).

    Examples:
        >>> RecipientRefused("no subscription quota", channel="mini_program").code
        'recipient_refused'
    """

    code = "recipient_refused"


class ChannelUnavailable(ChannelError):
    """Network failure, HTTP 5xx or "system busy"; retryable.

    Examples:
        >>> ChannelUnavailable("timeout", channel="sms", retryable=True).retryable
        True
    """

    code = "channel_unavailable"
