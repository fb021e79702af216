"""Fan-out benchmark: AsyncDispatcher against the loopback emulator.

    python benchmarks/bench_channels.py           # 100,000 messages at the configured limit
    python benchmarks/bench_channels.py --quick   # 5,000 messages

The emulator runs in its own process (the machine has 2 cores) and enforces
a provider limit of LIMIT requests/s, answering 45009 above it. The
dispatcher is configured with the same limit. Printed: achieved throughput as
a fraction of the limit, peak RSS growth, the per-message overhead of policy
and idempotency with the limit removed, and plain ``httpx.AsyncClient``
calls doing the same fan-out.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import httpx

from autoops.channels import AsyncDispatcher, ContactPolicy, Message, RetryConfig
from autoops.channels.emulator import Emulator
from autoops.channels.wecom import RobotText, WeComRobotChannel


def _serve(limit: float | None, port_out: Any, stop: Any) -> None:
    emu = Emulator(rate_limit=limit, record=False).start()
    port_out.put(emu.url)
    stop.wait()
    emu.stop()


def _messages(n: int) -> Iterator[Message]:
    for i in range(n):
        yield Message(
            to=[f"robot-{i % 1000}"], content=RobotText(f"m{i}"), idempotency_key=f"bench-{i}"
        )


async def _fan_out(channel: Any, n: int, workers: int, options: dict[str, Any]) -> Counter[str]:
    async with AsyncDispatcher(channel, **options) as d:
        return await _drive(d, n, workers)


async def _drive(d: AsyncDispatcher, n: int, workers: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    source = _messages(n)

    async def worker() -> None:
        for m in source:
            rep = await d.send(m)
            for r in rep:
                counts[r.status if r.status != "failed" else f"failed_{r.error_kind}"] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
    return counts


async def _plain(url: str, n: int, workers: int) -> int:
    ok = 0
    source = iter(range(n))
    async with httpx.AsyncClient(timeout=10) as client:

        async def worker() -> None:
            nonlocal ok
            for i in source:
                r = await client.post(
                    f"{url}/cgi-bin/webhook/send",
                    params={"key": "k"},
                    json={"msgtype": "text", "text": {"content": f"m{i}"}},
                )
                ok += r.json()["errcode"] == 0

        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
    return ok


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--limit", type=float, default=250.0)
    ap.add_argument("--workers", type=int, default=32)
    args = ap.parse_args()
    n = 5_000 if args.quick else 100_000
    n_overhead = 2_000 if args.quick else 10_000
    ctx = mp.get_context("spawn")
    rows = []
    for limit in (args.limit, None):
        port_q, stop = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(limit, port_q, stop))
        proc.start()
        url = port_q.get(timeout=30)
        channel = WeComRobotChannel(base_url=url)
        retry = RetryConfig(max_attempts=3, base=0.05, cap=1.0)
        if limit is not None:
            rss0 = _rss_mb()
            t = time.perf_counter()
            opts = {"rate_limit": limit, "retry": retry}
            counts = anyio.run(_fan_out, channel, n, args.workers, opts)
            dt = time.perf_counter() - t
            rate = counts["accepted"] / dt
            rows.append(
                (
                    f"AsyncDispatcher, limit {limit:g}/s",
                    n,
                    dt,
                    rate,
                    f"{rate / limit:.3f} of limit",
                    f"+{_rss_mb() - rss0:.0f} MB",
                    dict(counts),
                )
            )
        else:
            timings = {}
            for label, policy in (("no policy", None), ("policy+idem", ContactPolicy())):
                t = time.perf_counter()
                opts = {"policy": policy, "retry": retry}
                counts = anyio.run(_fan_out, channel, n_overhead, args.workers, opts)
                timings[label] = time.perf_counter() - t
                rows.append(
                    (
                        f"AsyncDispatcher, no limit, {label}",
                        n_overhead,
                        timings[label],
                        n_overhead / timings[label],
                        "",
                        "",
                        dict(counts),
                    )
                )
            t = time.perf_counter()
            ok = anyio.run(_plain, url, n_overhead, args.workers)
            dt = time.perf_counter() - t
            rows.append(
                (
                    "plain httpx.AsyncClient",
                    n_overhead,
                    dt,
                    ok / dt,
                    f"dispatcher/plain time {timings['no policy'] / dt:.2f}x",
                    "",
                    {},
                )
            )
            per = (timings["policy+idem"] - timings["no policy"]) / n_overhead * 1e6
            rows.append(
                (
                    "policy+idempotency overhead",
                    n_overhead,
                    0.0,
                    0.0,
                    f"{per:.0f} µs/message",
                    "",
                    {},
                )
            )
        stop.set()
        proc.join(timeout=30)
    print(f"{'run':45} {'msgs':>8} {'seconds':>8} {'msg/s':>8}  ratio / memory")
    for label, count, dt, rate, ratio, mem, extra in rows:
        print(f"{label:45} {count:>8,} {dt:>8.2f} {rate:>8.0f}  {ratio} {mem} {extra or ''}")
    print(f"peak RSS of this process: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
