"""Start ledger worker processes.

Workers are forked (not spawned): a spawned child re-imports numpy, pydantic and
autoops, which on a loaded 2-core machine costs seconds per process; a forked
child starts at once and opens its own database connection, so nothing is shared
with the parent but the pipes.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from typing import Any

import pytest

from .worker import run

HAS_FORK = "fork" in mp.get_all_start_methods()
NO_FORK = (
    "needs the 'fork' start method (POSIX only); multiprocessing here offers "
    f"{mp.get_all_start_methods()}"
)
needs_fork = pytest.mark.skipif(not HAS_FORK, reason=NO_FORK)
"""Mark for tests that start workers: they skip with a reason where fork is missing (Windows)."""

CTX: Any = mp.get_context("fork") if HAS_FORK else None


def _child(
    kind: str, where: str, scenario: str, i: int, seed: int, ready: Any, go: Any, out: Any
) -> None:
    def wait() -> None:
        ready.release()
        go.wait(60)

    run(kind, where, scenario, i, seed, wait, lambda **row: out.send(row))
    out.close()


def start(kind: str, where: str, scenario: str, seeds: list[int]) -> tuple[list[Any], list[Any]]:
    """Fork one worker per seed, wait until all are connected, then release them together."""
    ready = CTX.Semaphore(0)
    go = CTX.Event()
    procs, pipes = [], []
    for i, seed in enumerate(seeds):
        recv, send = CTX.Pipe(duplex=False)
        p = CTX.Process(
            target=_child, args=(kind, where, scenario, i, seed, ready, go, send), daemon=True
        )
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads (pytest-xdist has some);
            # the child only opens its own connections and talks through pipes.
            warnings.simplefilter("ignore", DeprecationWarning)
            p.start()
        send.close()
        procs.append(p)
        pipes.append(recv)
    for _ in seeds:
        if not ready.acquire(timeout=60):  # pragma: no cover - diagnostics only
            for p in procs:
                p.kill()
            pytest.fail("workers did not start")
    go.set()
    return procs, pipes


def collect(procs: list[Any], pipes: list[Any]) -> list[list[dict[str, Any]]]:
    """Every row each worker sent, after it exited cleanly."""
    out = []
    for p, pipe in zip(procs, pipes, strict=True):
        rows = []
        deadline = time.monotonic() + 120
        while True:
            try:
                rows.append(pipe.recv())
            except EOFError:
                break
            assert time.monotonic() < deadline
        p.join(60)
        assert p.exitcode == 0, f"worker exited with {p.exitcode}"
        out.append(rows)
    return out
