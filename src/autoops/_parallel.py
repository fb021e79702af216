"""Independent numpy work on several threads.

numpy (sorts, gathers, ufuncs on numeric arrays) and Arrow compute release
the GIL, so work split into independent pieces runs on several cores from
plain Python threads. Every kernel that splits its work goes through
:func:`parallel_map`, which keeps one shared pool, runs the pieces serially
when there is one thread or one piece, and never nests: a piece that calls
:func:`parallel_map` again runs its own pieces on its own thread, so the pool
cannot deadlock waiting on itself.

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

__all__ = ["MIN_ROWS", "chunks", "parallel_map", "take", "thread_count"]

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


def take(values: npt.NDArray[Any], index: npt.NDArray[np.integer[Any]]) -> npt.NDArray[Any]:
    """``values[index]`` for a 1-d numeric *values*, gathered on several threads when long.

    >>> take(np.array([10, 20, 30]), np.array([2, 0, 2]))
    array([30, 10, 30])
    """
    if len(index) < MIN_ROWS or values.dtype == object or thread_count() == 1:
        gathered: npt.NDArray[Any] = values[index]
        return gathered
    out = np.empty(len(index), dtype=values.dtype)

    def piece(span: tuple[int, int]) -> None:
        a, b = span
        np.take(values, index[a:b], out=out[a:b])

    parallel_map(piece, chunks(len(index)))
    return out
