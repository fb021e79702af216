"""A token bucket that hands out reservations instead of sleeping.

:meth:`TokenBucket.reserve` takes *cost* tokens now, letting the balance go
negative, and returns how long the caller must wait before its request may
go out. Concurrent callers therefore queue in arrival order, each waiting
just long enough; nothing sleeps a fixed gap, and the async dispatcher waits
with ``anyio.sleep`` so its event loop never blocks.
"""

from __future__ import annotations

import threading

from autoops.errors import ConfigError

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allow *rate* requests per second on average, bursts up to *burst*.

    Args:
        rate: the sustained rate, requests per second (> 0).
        burst: the bucket size (≥ 1); defaults to ``max(1, rate / 10)``.

    Raises:
        ConfigError: a non-positive rate or a burst below 1.

    Examples:
        >>> b = TokenBucket(rate=10, burst=2)
        >>> [round(b.reserve(now=0.0), 3) for _ in range(4)]
        [0.0, 0.0, 0.1, 0.2]
        >>> b.reserve(now=1.0)
        0.0
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if not rate > 0:
            raise ConfigError("must be positive", key="rate")
        burst = max(1.0, rate / 10.0) if burst is None else float(burst)
        if burst < 1:
            raise ConfigError("must be at least 1", key="burst")
        self.rate = float(rate)
        self.burst = burst
        self._tokens = burst
        self._stamp: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def per_minute(cls, count: float, burst: float | None = None) -> TokenBucket:
        """A bucket for a limit given per minute (WeCom's 2,000/min style).

        Examples:
            >>> TokenBucket.per_minute(120).rate
            2.0
        """
        return cls(count / 60.0, burst)

    def reserve(self, *, now: float, cost: float = 1.0) -> float:
        """Take *cost* tokens; return the seconds to wait before using them.

        Examples:
            >>> TokenBucket(rate=1, burst=1).reserve(now=5.0)
            0.0
        """
        with self._lock:
            if self._stamp is None:
                self._stamp = now
            elapsed = max(now - self._stamp, 0.0)
            self._stamp = max(now, self._stamp)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate) - cost
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}/s, burst={self.burst:g})"
