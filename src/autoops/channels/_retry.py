"""Retry decisions as pure functions: what to do with an outcome, how long to wait.

* ``accepted`` → done.
* ``invalid`` / ``refused`` → fail now; never retried.
* ``auth`` → refresh the token and retry **once** per send; a second auth
  failure raises :class:`~autoops.errors.ChannelAuthError`.
* ``retryable`` (network error, HTTP 5xx, errcode -1) and ``rate_limited``
  (45009, provider limit codes, HTTP 429) → retry while the attempt budget
  lasts (3 tries by default), after a jittered exponential backoff, or the
  provider's ``retry_after`` when that is longer.
"""

from __future__ import annotations

from typing import Literal

import attrs

from autoops.channels._base import OutcomeKind
from autoops.errors import ConfigError

__all__ = ["Decision", "RetryConfig", "backoff", "classify"]


@attrs.frozen
class RetryConfig:
    """Retry budget and backoff shape.

    Args:
        max_attempts: tries per recipient for retryable failures (≥ 1).
        base: first backoff in seconds (doubles per attempt).
        cap: the longest backoff in seconds.

    Raises:
        ConfigError: a non-positive value, naming the key.

    Examples:
        >>> RetryConfig()
        RetryConfig(max_attempts=3, base=0.5, cap=5.0)
    """

    max_attempts: int = 3
    base: float = 0.5
    cap: float = 5.0

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("must be at least 1", key="max_attempts")
        if self.base <= 0:
            raise ConfigError("must be positive", key="base")
        if self.cap < self.base:
            raise ConfigError("must be at least base", key="cap")


def backoff(attempt: int, rand: float, config: RetryConfig = RetryConfig()) -> float:
    """Seconds to wait after failed attempt number *attempt* (1-based).

    ``min(cap, base · 2^(attempt-1))`` scaled by a jitter factor in
    ``[0.5, 1]`` taken from *rand* in ``[0, 1)`` (passed in, so tests are
    deterministic).

    Examples:
        >>> backoff(1, 0.0), backoff(1, 1.0), backoff(3, 1.0), backoff(10, 1.0)
        (0.25, 0.5, 2.0, 5.0)
    """
    raw = min(config.cap, config.base * 2.0 ** (attempt - 1))
    return raw * (0.5 + 0.5 * min(max(rand, 0.0), 1.0))


@attrs.frozen
class Decision:
    """What the flow does next with one outcome.

    Examples:
        >>> Decision("retry", 0.5)
        Decision(action='retry', delay=0.5)
    """

    action: Literal["done", "fail", "retry", "refresh"]
    delay: float = 0.0


def classify(
    kind: OutcomeKind,
    *,
    attempt: int,
    refreshed: bool,
    rand: float,
    retry_after: float | None = None,
    config: RetryConfig = RetryConfig(),
) -> Decision:
    """Decide what to do after *attempt* tries ended in *kind*.

    Args:
        kind: the outcome kind.
        attempt: tries made so far for this recipient (1 after the first).
        refreshed: whether this send already refreshed its token once.
        rand: a uniform number in ``[0, 1)`` for the jitter.
        retry_after: the provider's requested wait, if any.
        config: the budget.

    Returns:
        ``done`` (accepted), ``fail`` (final failure), ``retry`` after
        ``delay`` seconds, or ``refresh`` (fetch a new token, retry at once).
        An ``auth`` outcome after a refresh is ``fail``; the flow raises.

    Examples:
        >>> classify("retryable", attempt=1, refreshed=False, rand=1.0)
        Decision(action='retry', delay=0.5)
        >>> classify("retryable", attempt=3, refreshed=False, rand=1.0)
        Decision(action='fail', delay=0.0)
        >>> classify("auth", attempt=1, refreshed=False, rand=0.0)
        Decision(action='refresh', delay=0.0)
        >>> classify("rate_limited", attempt=1, refreshed=False, rand=0.0, retry_after=2.0)
        Decision(action='retry', delay=2.0)
        >>> classify("invalid", attempt=1, refreshed=False, rand=0.0)
        Decision(action='fail', delay=0.0)
    """
    if kind == "accepted":
        return Decision("done")
    if kind in ("invalid", "refused"):
        return Decision("fail")
    if kind == "auth":
        return Decision("fail") if refreshed else Decision("refresh")
    if attempt >= config.max_attempts:
        return Decision("fail")
    delay = backoff(attempt, rand, config)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return Decision("retry", delay)
