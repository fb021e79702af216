"""Channels: typed, pluggable clients for WeCom, WeChat, SMS, e-mail and webhooks.

Sans-IO core, two drivers: each channel turns a :class:`Message` into HTTP
requests and the provider's answer into per-recipient outcomes with pure
functions; :class:`Dispatcher` (blocking) and :class:`AsyncDispatcher` do the
I/O and own tokens, retries, rate limits, idempotency and the contact
policy. Provider modules: :mod:`autoops.channels.wecom`,
:mod:`autoops.channels.wechat`, :mod:`autoops.channels.sms`,
:mod:`autoops.channels.email`, :mod:`autoops.channels.webhook`.

Examples:
    >>> import httpx
    >>> from autoops.channels import Dispatcher, Message
    >>> from autoops.channels.webhook import WebhookChannel, WebhookContent
    >>> d = Dispatcher(WebhookChannel(secret="s"),
    ...                transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    >>> d.send(Message(to=["https://hooks.example/a"], content=WebhookContent({}))).ok
    True
    >>> d.close()
"""

from __future__ import annotations

import contextlib

from autoops.channels._async import AsyncDispatcher
from autoops.channels._base import Call, Channel, Outcome, TokenGrant
from autoops.channels._crypto import CallbackCrypto, callback_signature
from autoops.channels._idempotency import IdempotencyStore
from autoops.channels._outbox import ConsoleChannel, OutboxChannel
from autoops.channels._policy import UNSUBSCRIBE_WORDS, ContactPolicy
from autoops.channels._ratelimit import TokenBucket
from autoops.channels._registry import (
    ENTRY_POINT_GROUP,
    available_channels,
    create_channel,
    register_channel,
)
from autoops.channels._retry import Decision, RetryConfig, backoff, classify
from autoops.channels._signing import (
    aliyun_percent_encode,
    aliyun_rpc_signature,
    tc3_authorization,
    tc3_signature,
)
from autoops.channels._sync import Dispatcher
from autoops.channels._tokens import (
    FileTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    StoredToken,
    TokenStore,
)
from autoops.channels._types import PURPOSES, DeliveryResult, Message, Secret, SendReport

__all__ = [
    "ENTRY_POINT_GROUP",
    "PURPOSES",
    "UNSUBSCRIBE_WORDS",
    "AsyncDispatcher",
    "Call",
    "CallbackCrypto",
    "Channel",
    "ConsoleChannel",
    "ContactPolicy",
    "Decision",
    "DeliveryResult",
    "Dispatcher",
    "FileTokenStore",
    "IdempotencyStore",
    "MemoryTokenStore",
    "Message",
    "OutboxChannel",
    "Outcome",
    "RedisTokenStore",
    "RetryConfig",
    "Secret",
    "SendReport",
    "StoredToken",
    "TokenBucket",
    "TokenGrant",
    "TokenStore",
    "aliyun_percent_encode",
    "aliyun_rpc_signature",
    "available_channels",
    "backoff",
    "callback_signature",
    "classify",
    "create_channel",
    "register_channel",
    "tc3_authorization",
    "tc3_signature",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and callable(_obj):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = __name__
del _name, _obj
