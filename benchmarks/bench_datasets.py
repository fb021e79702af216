"""How fast the synthetic generator is, and how its memory grows.

Run: ``python benchmarks/bench_datasets.py`` (``--quick`` for small sizes).
Each size runs in a fresh process so peak memory (ru_maxrss) is its own.
Printed beside it: the same number of events written row by row with the
standard library (``random`` + a list of dicts), the way a team would hand-roll
test data, so the ratio shows what vectorising buys.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
from autoops.datasets import synthetic
people = int(sys.argv[1])
t = time.perf_counter()
data = synthetic(people=people, seed=1)
elapsed = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"people": people, "events": len(data.events), "leads": len(data.leads),
                  "seconds": elapsed, "peak_mib": rss}))
"""

BASELINE = r"""
import json, random, sys, time
n = int(sys.argv[1])
t = time.perf_counter()
rng = random.Random(1)
rows = [{"event_id": i, "ts": rng.random(), "touchpoint": rng.choice(["app", "wecom", "douyin"]),
         "event": rng.choice(["login", "click", "lead"]), "phone": "138%08d" % rng.randrange(10**8)}
        for i in range(n)]
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def run(code: str, arg: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, str(arg)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    sizes = [10_000, 50_000] if args.quick else [125_000, 250_000, 500_000, 1_000_000]
    print(
        f"{'people':>10} {'events':>11} {'seconds':>8} {'people/s':>10} {'events/s':>11} "
        f"{'peak MiB':>9} {'B/event':>8} {'stdlib rows s':>13} {'speedup':>8}"
    )
    for people in sizes:
        r = run(CHILD, people)
        base = run(BASELINE, int(r["events"]))
        print(
            f"{people:>10,} {int(r['events']):>11,} {r['seconds']:>8.2f} {people / r['seconds']:>10,.0f} "
            f"{r['events'] / r['seconds']:>11,.0f} {r['peak_mib']:>9,.0f} "
            f"{r['peak_mib'] * 2**20 / r['events']:>8.0f} {base['seconds']:>13.2f} "
            f"{base['seconds'] / r['seconds']:>7.1f}x"
        )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.1f} s")
