"""How much this machine charges for memory a process touches for the first time.

Run ``python benchmarks/fresh_pages.py`` (``--gib 1 --pause 3 --rounds 2``).
It fills an array of ``--gib`` GiB right after an array of the same size was
freed, and again after ``--pause`` seconds, and prints the wall and system
seconds of each fill. glibc maps every block above 32 MiB afresh and unmaps it
when freed, so a large array always starts on pages the kernel must hand out
and zero. On a bare machine both fills cost about the same. On a virtual
machine whose balloon device reports free pages to the host (Linux's free page
reporting), pages freed seconds ago have gone back to the host and must be
backed again: the paused fill costs several times as much.

That cost lands on any call that allocates more than the process freed in the
last seconds, and it is why the funnel benchmark's largest size can grow
faster than its events on such a machine (see the docs' "Large inputs in a
long-lived process").
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def fill(n_bytes: int) -> tuple[float, float]:
    """(wall, system) seconds to allocate and fill *n_bytes* of int64."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    start = time.perf_counter()
    a = np.empty(n_bytes // 8, dtype=np.int64)
    a.fill(1)
    wall = time.perf_counter() - start
    del a
    return wall, resource.getrusage(resource.RUSAGE_SELF).ru_stime - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0, help="size of each array in GiB")
    ap.add_argument("--pause", type=float, default=3.0, help="seconds between free and fill")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n_bytes = int(args.gib * 2**30)
    fill(n_bytes)  # the process's first touch of this much memory: not reported
    print(f"filling {args.gib:g} GiB of int64 (numpy {np.__version__})")
    for _ in range(args.rounds):
        for pause in (0.0, args.pause):
            time.sleep(pause)
            wall, system = fill(n_bytes)
            print(
                f"  {pause:4.1f} s after the last free: wall {wall:.3f} s, system {system:.3f} s"
                f" ({wall / args.gib:.2f} s/GiB)",
                flush=True,
            )


if __name__ == "__main__":
    main()
