"""The channel registry: built-in channels plus the ``autoops.channels`` entry points.

A third-party package ships a channel by declaring, in its ``pyproject.toml``::

    [project.entry-points."autoops.channels"]
    dingtalk = "autoops_dingtalk:DingTalkChannel"

:func:`create_channel` looks a name up among the built-ins, then among
registered factories, then among entry points (loaded on first use).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from autoops.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "available_channels", "create_channel", "register_channel"]

ENTRY_POINT_GROUP = "autoops.channels"

_BUILTIN = {
    "wecom": "autoops.channels.wecom:WeComChannel",
    "wecom_robot": "autoops.channels.wecom:WeComRobotChannel",
    "official_account": "autoops.channels.wechat:OfficialAccountChannel",
    "mini_program": "autoops.channels.wechat:MiniProgramChannel",
    "tencent_sms": "autoops.channels.sms:TencentSmsChannel",
    "aliyun_sms": "autoops.channels.sms:AliyunSmsChannel",
    "email": "autoops.channels.email:EmailChannel",
    "webhook": "autoops.channels.webhook:WebhookChannel",
    "console": "autoops.channels._outbox:ConsoleChannel",
    "outbox": "autoops.channels._outbox:OutboxChannel",
}
_registered: dict[str, Callable[..., Any]] = {}
_lock = threading.Lock()


def register_channel(name: str, factory: Callable[..., Any]) -> None:
    """Register a channel factory (usually the class) under *name* in this process.

    Raises:
        ConfigError: *name* is already taken by a built-in.

    Examples:
        >>> from autoops.channels.webhook import WebhookChannel
        >>> register_channel("my_hook", WebhookChannel)
        >>> create_channel("my_hook", secret="s").name
        'webhook'
    """
    if name in _BUILTIN:
        raise ConfigError(f"{name!r} is a built-in channel", key="name")
    with _lock:
        _registered[name] = factory


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_channels() -> list[str]:
    """Names of every channel: built-in, registered and installed plugins.

    Examples:
        >>> {"wecom", "tencent_sms", "email"} <= set(available_channels())
        True
    """
    return sorted({*_BUILTIN, *_registered, *_plugins()})


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_channel(name: str, /, **options: Any) -> Any:
    """Build the channel called *name* with *options*.

    Raises:
        ConfigError: no channel has that name (the message lists those that do),
            or a plugin failed to load.

    Examples:
        >>> create_channel("webhook", secret="s")
        WebhookChannel(name='webhook')
        >>> create_channel("pigeon")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: name: unknown channel 'pigeon'; available: ...
    """
    if name in _BUILTIN:
        return _load(_BUILTIN[name])(**options)
    if name in _registered:
        return _registered[name](**options)
    plugin = _plugins().get(name)
    if plugin is None:
        raise ConfigError(
            f"unknown channel {name!r}; available: {', '.join(available_channels())}", key="name"
        )
    try:
        factory = plugin.load()
    except Exception as exc:
        raise ConfigError(f"channel plugin {name!r} failed to load: {exc}", key="name") from exc
    return factory(**options)
