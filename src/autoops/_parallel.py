"""Independent numpy work on several threads.

numpy (sorts, gathers, ufuncs on numeric arrays) and Arrow compute release
the GIL, so work split into independent pieces runs on several cores from
plain Python threads. Not all of numpy does: unbuffered in-place ufuncs
(``np.minimum.at`` and the like) and a cumulative sum that casts hold it (two
threads each running ``np.minimum.at`` took 1.03 times as long as one running
both, numpy 2.4.6), so such passes stay on one thread or are recast.

Every kernel that splits its work goes through :func:`parallel_map`, which
keeps one shared pool, runs the pieces serially when there is one thread or
one piece, and never nests: a piece that calls :func:`parallel_map` again runs
its own pieces on its own thread, so the pool cannot deadlock waiting on
itself.

The number of threads is ``AUTOOPS_THREADS`` when set (``1`` turns threading
off), else the number of CPUs this process may use, at most 8.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from autoops.errors import ConfigError

__all__ = [
    "MIN_ROWS",
    "SpanGroups",
    "chunks",
    "parallel_map",
    "running_count",
    "take",
    "take_into",
    "thread_count",
]

T = TypeVar("T")
R = TypeVar("R")

_MAX_DEFAULT = 8
MIN_ROWS = 1 << 20
"""Work over fewer rows than this runs as one piece: splitting it costs more than it saves.

Kernels read it as ``_parallel.MIN_ROWS`` when they run, so tests lower it in one place."""

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_inside = threading.local()


def thread_count() -> int:
    """How many threads autoops kernels use: ``AUTOOPS_THREADS``, else the usable CPUs (≤ 8).

    >>> import os
    >>> os.environ["AUTOOPS_THREADS"] = "3"
    >>> thread_count()
    3
    >>> del os.environ["AUTOOPS_THREADS"]
    >>> 1 <= thread_count() <= 8
    True
    """
    raw = os.environ.get("AUTOOPS_THREADS")
    if raw is not None and raw.strip():
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if n < 1:
            msg = f"must be a whole number of at least 1, not {raw!r}"
            raise ConfigError(msg, key="AUTOOPS_THREADS")
        return n
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = os.cpu_count() or 1
    return max(1, min(usable, _MAX_DEFAULT))


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(size, thread_name_prefix="autoops")
            _pool_size = size
        return _pool


def _forget_pool_in_child() -> None:
    """A forked child inherits the pool object but not its threads: start afresh."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _run_inside(fn: Callable[[T], R], item: T) -> R:
    _inside.active = True
    try:
        return fn(item)
    finally:
        _inside.active = False


def parallel_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, the calls spread over :func:`thread_count` threads.

    Results keep the order of *items*; the first exception raised by a call is
    raised here. Calls made from inside a piece run serially.

    >>> parallel_map(lambda x: x * x, [1, 2, 3])
    [1, 4, 9]
    """
    size = thread_count()
    if size == 1 or len(items) <= 1 or getattr(_inside, "active", False):
        return [fn(x) for x in items]
    pool = _executor(size)
    futures = [pool.submit(_run_inside, fn, x) for x in items]
    return [f.result() for f in futures]


def chunks(n: int, parts: int | None = None) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most *parts* (default :func:`thread_count`) contiguous spans.

    >>> chunks(10, 3)
    [(0, 3), (3, 6), (6, 10)]
    >>> chunks(0, 4)
    []
    """
    parts = thread_count() if parts is None else parts
    parts = max(1, min(parts, n))
    if n == 0:
        return []
    edges = [n * i // parts for i in range(parts + 1)]
    return list(itertools.pairwise(edges))


def take_into(
    values: npt.NDArray[Any], index: npt.NDArray[np.integer[Any]], out: npt.NDArray[Any]
) -> None:
    """``out[...] = values[index]`` written straight into *out*, for valid positions
    (negative ones count from the end, as in indexing; others are not checked).

    ``np.take`` with ``out`` and its default ``mode="raise"`` gathers into a fresh
    copy of *out* and copies that back, so that an error leaves *out* untouched:
    twice the writes, and fresh pages for a long gather (5.3 against 12.6 ms for
    4.4M int64 on the Zen 4 machine). ``mode="wrap"`` writes into *out* and equals
    indexing for every valid position.

    >>> out = np.empty(3, dtype=np.int64)
    >>> take_into(np.array([10, 20, 30]), np.array([2, 0, -1]), out)
    >>> out.tolist()
    [30, 10, 30]
    """
    np.take(values, index, out=out, mode="wrap")


def running_count(
    mask: npt.NDArray[np.bool_], dtype: type[np.signedinteger[Any]] = np.int64
) -> npt.NDArray[np.signedinteger[Any]]:
    """``np.cumsum(mask, dtype=dtype)``, computed without holding the GIL.

    numpy holds the GIL through a cumulative sum that casts (bool to integers) or
    writes over its input: two threads summing their own 256K-row masks took
    0.95 times as long as one thread doing both, against 0.5 times for the sum
    of an integer array into another. So the mask is cast first and summed into
    a second array.

    >>> running_count(np.array([True, False, True, True])).tolist()
    [1, 1, 2, 3]
    """
    ones = mask.astype(dtype)
    out = np.empty_like(ones)
    np.cumsum(ones, out=out)
    return out


PIECE_ROWS = 1 << 18
"""Rows per piece of a gather through an index that is not ``intp``: numpy first
copies such an index to ``intp``, and a piece's copy (2 MiB) is recycled by the
allocator instead of a full-length one being mapped afresh."""


def take(values: npt.NDArray[Any], index: npt.NDArray[np.integer[Any]]) -> npt.NDArray[Any]:
    """``values[index]`` for a 1-d numeric *values*, gathered on several threads when long.

    An index narrower than ``intp`` (8-bit category codes, 32-bit positions) is
    read in pieces of :data:`PIECE_ROWS`, so no full-length ``intp`` copy of it
    is made.

    >>> take(np.array([10, 20, 30]), np.array([2, 0, 2]))
    array([30, 10, 30])
    >>> take(np.array([1.5, 2.5]), np.array([1, 0, 1], dtype=np.int8))
    array([2.5, 1.5, 2.5])
    """
    if len(index) < MIN_ROWS or values.dtype == object:
        gathered: npt.NDArray[Any] = values[index]
        return gathered
    narrow = index.dtype != np.intp
    if thread_count() == 1 and not narrow:
        whole: npt.NDArray[Any] = values[index]
        return whole
    out = np.empty(len(index), dtype=values.dtype)
    pieces = max(thread_count(), -(-len(index) // PIECE_ROWS) if narrow else 1)

    def piece(span: tuple[int, int]) -> None:
        a, b = span
        part = index[a:b]
        if len(part) and (int(part.min()) < -len(values) or int(part.max()) >= len(values)):
            msg = f"index out of bounds for {len(values)} values"
            raise IndexError(msg)
        take_into(values, part, out[a:b])

    parallel_map(piece, chunks(len(index), pieces))
    return out


class SpanGroups:
    """Rows grouped by a small key, stably, one span of rows at a time (a counting sort).

    *per* counts the rows of span i in group g (``per[i, g]``; spans in row order).
    Group g's rows land at ``bounds[g]:bounds[g + 1]`` of the output, span after
    span and each span's rows in their own order, so the grouping is stable.
    Spans write disjoint slots: :meth:`place` calls for different spans may run on
    several threads (:func:`parallel_map`), each span's keys sorted in the cache.
    A row whose key is the number of groups or more is left out (it sorts after every
    kept row: no separate pass to remove it first).

    >>> key = np.array([1, 0, 1, 0, 2, 1], dtype=np.uint8)
    >>> spans = [(0, 3), (3, 6)]
    >>> groups = SpanGroups(np.array([np.bincount(key[a:b], minlength=3) for a, b in spans]))
    >>> groups.bounds.tolist()
    [0, 2, 5, 6]
    >>> out = np.empty(6, dtype=np.int64)
    >>> for i, (a, b) in enumerate(spans):
    ...     groups.place(i, key[a:b], (np.arange(a, b), out))
    >>> out.tolist()  # rows of group 0, then of group 1, then of group 2
    [1, 3, 0, 2, 5, 4]
    >>> key[1] = 7  # not a group: row 1 is left out
    >>> groups = SpanGroups(np.array([[0, 2, 0]]))
    >>> groups.place(0, key[:3], (np.arange(3), out))
    >>> out[:2].tolist()
    [0, 2]
    """

    def __init__(self, per: npt.NDArray[np.int64]) -> None:
        per = np.asarray(per, dtype=np.int64)
        self.per = per
        self.bounds: npt.NDArray[np.int64] = np.zeros(per.shape[1] + 1, dtype=np.int64)
        np.cumsum(per.sum(axis=0), out=self.bounds[1:])
        # where span i's rows of group g start in the output, less where they start
        # among span i's own rows once ordered by group
        self._shift = (np.cumsum(per, axis=0) - per + self.bounds[:-1]) - (
            np.cumsum(per, axis=1) - per
        )
        self._kept = per.sum(axis=1).tolist()
        self._iota = np.arange(max(self._kept, default=0), dtype=np.int64)

    def place(
        self,
        i: int,
        key: npt.NDArray[np.unsignedinteger[Any]],
        *columns: tuple[npt.NDArray[Any], npt.NDArray[Any]],
    ) -> None:
        """For each ``(values, out)`` of *columns*: write span *i*'s *values* (one a
        row, grouped by *key*) to their slots of *out* (one ordering for all)."""
        kept = self._kept[i]
        by_key = np.argsort(key, kind="stable")[:kept]
        dest = np.repeat(self._shift[i], self.per[i])
        dest += self._iota[:kept]
        for values, out in columns:  # (np.take with mode="wrap": no bounds checks to make)
            out[dest] = np.take(values, by_key, mode="wrap")
