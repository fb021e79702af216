"""What a random read costs on this machine as the table it reads from grows.

Run ``python benchmarks/gathers.py`` (``--sizes 10000000 20000000 50000000 --repeat 5``).
For each size n it times, on one thread, best of ``--repeat`` runs, the
nanoseconds per element of:

* ``stream``: ``a + b`` over n int64 (memory bandwidth, no reuse);
* ``per unit``: n reads at random from a table of n / 10 int64, as an engine
  reads a per-person value for each event of a log with ten events a person;
* ``per unit, write``: n writes at random to that table;
* ``per row``: n reads at random from a column of n int64.

A linear engine is one whose every pass costs the same per element at every
size. The ``per unit`` reads break that as soon as the table leaves the last
level cache: at 50M events the 5M-person table is 40 MB, beyond a 32 MiB L3,
and each read waits on main memory. The funnel benchmark's step from 20M to
50M events crosses that line (see Session 16 in ``docs/funnel/performance-log.md``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def best_ns(f: Callable[[], object], n: int, repeat: int) -> float:
    """Nanoseconds per element of the fastest of *repeat* runs of *f* (after one warm run)."""
    f()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e9


def costs(n: int, repeat: int) -> list[float]:
    """Nanoseconds per element of the four passes (see above) at size *n*."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**62, n)
    b = a.copy()
    out = np.empty_like(a)
    table = rng.integers(0, 2**62, n // 10)
    by_unit = rng.integers(0, len(table), n)
    by_row = rng.integers(0, n, n)
    return [
        best_ns(lambda: np.add(a, b, out=out), n, repeat),
        best_ns(lambda: np.take(table, by_unit, out=out), n, repeat),
        best_ns(lambda: table.__setitem__(by_unit, a), n, repeat),
        best_ns(lambda: np.take(a, by_row, out=out), n, repeat),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000_000, 20_000_000, 50_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print("nanoseconds per element, one thread, best of", args.repeat)
    print(f"{'n':>12} {'table MB':>9} {'stream':>8} {'per unit':>9} {'write':>8} {'per row':>8}")
    for n in args.sizes:
        ns = costs(n, args.repeat)
        print(f"{n:>12,} {n // 10 * 8 / 1e6:>9.0f} " + " ".join(f"{x:>8.2f}" for x in ns))


if __name__ == "__main__":
    main()
