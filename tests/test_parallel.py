"""autoops._parallel: thread count, ordered results, no nesting deadlock, exact gathers."""

from __future__ import annotations

import itertools
import os
import signal
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoops import _parallel
from autoops._parallel import (
    SpanGroups,
    chunks,
    parallel_map,
    running_count,
    take,
    take_into,
    thread_count,
)
from autoops.errors import ConfigError


def test_thread_count_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "5")
    assert thread_count() == 5
    monkeypatch.delenv("AUTOOPS_THREADS")
    assert 1 <= thread_count() <= 8


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_thread_count_refuses_bad_values(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", raw)
    with pytest.raises(ConfigError, match="AUTOOPS_THREADS"):
        thread_count()


def test_parallel_map_keeps_order_and_uses_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "2")
    names: set[str] = set()
    barrier = threading.Barrier(2, timeout=10)

    def piece(x: int) -> int:
        names.add(threading.current_thread().name)
        barrier.wait()  # both pieces must be running at once, or this times out
        return x * 10

    assert parallel_map(piece, [1, 2]) == [10, 20]
    assert len(names) == 2


def test_one_thread_runs_serially_on_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "1")
    seen = parallel_map(lambda _: threading.current_thread().name, [0, 1, 2])
    assert set(seen) == {threading.current_thread().name}


def test_nested_calls_do_not_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "2")

    def outer(x: int) -> list[int]:
        return parallel_map(lambda y: x + y, [1, 2, 3])

    assert parallel_map(outer, [0, 10, 20, 30]) == [
        [1, 2, 3],
        [11, 12, 13],
        [21, 22, 23],
        [31, 32, 33],
    ]


def test_the_first_exception_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "2")

    def piece(x: int) -> int:
        if x == 1:
            raise KeyError("boom")
        return x

    with pytest.raises(KeyError, match="boom"):
        parallel_map(piece, [0, 1, 2])


@given(st.integers(0, 1000), st.integers(1, 9))
def test_chunks_cover_the_range_once(n: int, parts: int) -> None:
    spans = chunks(n, parts)
    covered = [i for a, b in spans for i in range(a, b)]
    assert covered == list(range(n))
    assert len(spans) <= parts
    assert all(b > a for a, b in spans)


@given(
    key=st.lists(st.integers(0, 6), max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    threads=st.sampled_from(["1", "2", "3"]),
)
def test_span_groups_equal_a_stable_argsort(key: list[int], cuts: list[int], threads: str) -> None:
    keys = np.array(key, dtype=np.uint8)
    edges = sorted({0, len(keys), *(c for c in cuts if c <= len(keys))})
    spans = list(itertools.pairwise(edges))
    per = np.array([np.bincount(keys[a:b], minlength=7) for a, b in spans]).reshape(-1, 7)
    groups = SpanGroups(per)
    out = np.full(len(keys), -1, dtype=np.int64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOOPS_THREADS", threads)
        parallel_map(
            lambda i: groups.place(i, keys[slice(*spans[i])], (np.arange(*spans[i]), out)),
            list(range(len(spans))),
        )
    assert out.tolist() == np.argsort(keys, kind="stable").tolist()
    assert groups.bounds.tolist() == [0, *np.cumsum(np.bincount(keys, minlength=7)).tolist()]


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_take_equals_fancy_indexing(monkeypatch: pytest.MonkeyPatch, threads: str) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", threads)
    monkeypatch.setattr(_parallel, "MIN_ROWS", 4)
    rng = np.random.default_rng(1)
    for dtype in (np.int64, np.float32, np.uint8, "datetime64[us]"):
        values = rng.integers(0, 100, 1000).astype(dtype)
        index = rng.integers(-1000, 1000, 5000)
        got = take(values, index)
        assert got.dtype == values.dtype
        assert np.array_equal(got, values[index])
        into = np.empty(len(index), dtype=values.dtype)
        take_into(values, index, into)
        assert np.array_equal(into, values[index])
    # indexes narrower than intp are read in pieces (each piece checked too)
    monkeypatch.setattr(_parallel, "PIECE_ROWS", 7)
    values = rng.integers(0, 100, 100)
    for index_type in (np.int8, np.uint16, np.int32):
        index = rng.integers(0 if index_type == np.uint16 else -100, 100, 5000).astype(index_type)
        assert np.array_equal(take(values, index), values[index])
    with pytest.raises(IndexError):
        take(np.arange(10), np.arange(20))
    with pytest.raises(IndexError):
        take(np.arange(10), np.arange(-11, 0))
    with pytest.raises(IndexError):
        take(np.arange(10), np.arange(20, dtype=np.int8))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and signal.alarm")
def test_a_forked_child_gets_a_working_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOOPS_THREADS", "2")
    barrier = threading.Barrier(2, timeout=10)
    # both pool threads started and idle in the parent: a child reusing them would wait forever
    assert parallel_map(lambda x: barrier.wait() * 0 + x, [1, 2]) == [1, 2]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(10)  # a hang kills the child; the parent then reads nothing
        try:
            ok = parallel_map(lambda x: x * 2, [1, 2, 3]) == [2, 4, 6]
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"1"


@given(mask=st.lists(st.booleans(), max_size=200), wide=st.booleans())
def test_running_count_equals_cumsum(mask: list[bool], wide: bool) -> None:
    dtype = np.int64 if wide else np.int32
    got = running_count(np.array(mask, dtype=bool), dtype)
    assert got.dtype == dtype
    assert got.tolist() == np.cumsum(np.array(mask, dtype=np.int64)).tolist()
