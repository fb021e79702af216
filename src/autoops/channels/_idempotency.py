"""Idempotency: a repeat of a send within the TTL sends nothing.

The store keeps the report of each ``(channel, key)`` for ``ttl`` seconds.
A repeat returns that report with ``replayed=True`` — unless some of its
recipients failed with a retryable error, in which case only those are sent
again and the merged report replaces the stored one. While a send is in
flight its key is reserved; a concurrent duplicate is reported as skipped
with reason ``duplicate_in_flight`` rather than sent twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from autoops.channels._types import SendReport
from autoops.errors import ConfigError

__all__ = ["IdempotencyStore"]


class IdempotencyStore:
    """In-memory idempotency records with a TTL and a size bound.

    Args:
        ttl: seconds a report is remembered (> 0).
        max_entries: oldest entries are evicted beyond this many.

    Examples:
        >>> s = IdempotencyStore(ttl=60)
        >>> s.reserve("sms", "k1", now=0.0)
        (True, None)
        >>> s.reserve("sms", "k1", now=1.0)
        (False, None)
        >>> rep = SendReport(channel="sms", key="k1", results=())
        >>> s.complete("sms", "k1", rep, now=1.0)
        >>> s.reserve("sms", "k1", now=2.0)[1] is rep
        True
        >>> s.reserve("sms", "k1", now=100.0)
        (True, None)
    """

    def __init__(self, ttl: float = 86_400.0, *, max_entries: int = 1_000_000) -> None:
        if not ttl > 0:
            raise ConfigError("must be positive", key="ttl")
        if max_entries < 1:
            raise ConfigError("must be at least 1", key="max_entries")
        self.ttl = float(ttl)
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._done: OrderedDict[tuple[str, str], tuple[float, SendReport]] = OrderedDict()
        self._in_flight: set[tuple[str, str]] = set()

    def reserve(self, channel: str, key: str, *, now: float) -> tuple[bool, SendReport | None]:
        """Claim *key* for a send.

        Returns:
            ``(True, previous)`` when the caller should send (``previous`` is
            the earlier report when only its retryable failures are to be
            resent, else None); ``(False, report)`` when an earlier report
            answers the call; ``(False, None)`` when the same key is in flight.

        Examples:
            >>> IdempotencyStore().reserve("email", "k", now=0.0)
            (True, None)
        """
        ident = (channel, key)
        with self._lock:
            if ident in self._in_flight:
                return False, None
            hit = self._done.get(ident)
            if hit is not None and now - hit[0] >= self.ttl:
                del self._done[ident]
                hit = None
            if hit is not None:
                report = hit[1]
                if any(r.status == "failed" and r.retryable for r in report.results):
                    self._in_flight.add(ident)
                    return True, report
                return False, report
            self._in_flight.add(ident)
            return True, None

    def complete(self, channel: str, key: str, report: SendReport, *, now: float) -> None:
        """Store the final report of a send and release the reservation.

        Examples:
            >>> s = IdempotencyStore(); s.reserve("sms", "k", now=0.0)
            (True, None)
            >>> s.complete("sms", "k", SendReport(channel="sms", key="k", results=()), now=0.0)
        """
        ident = (channel, key)
        with self._lock:
            self._in_flight.discard(ident)
            self._done[ident] = (now, report)
            self._done.move_to_end(ident)
            while len(self._done) > self.max_entries:
                self._done.popitem(last=False)

    def release(self, channel: str, key: str) -> None:
        """Drop a reservation without storing a report (the send raised).

        Examples:
            >>> IdempotencyStore().release("sms", "k")
        """
        with self._lock:
            self._in_flight.discard((channel, key))

    def __len__(self) -> int:
        return len(self._done)

    def __repr__(self) -> str:
        return f"IdempotencyStore(ttl={self.ttl:g}s, entries={len(self._done)})"
