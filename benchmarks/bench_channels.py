"""Fan-out benchmark: AsyncDispatcher against the loopback emulator.

    python benchmarks/bench_channels.py              # 100,000 messages at --limit (default 120/s)
    python benchmarks/bench_channels.py --quick      # 5,000 messages
    python benchmarks/bench_channels.py --probe      # only the unlimited runs: pick a limit

One message = one WeCom app message (``message/send``, one recipient, access
token checked by the emulator) through :class:`AsyncDispatcher`, with a
contact policy (marketing consent, opt-outs, quiet hours, a frequency cap)
and the idempotency store on. The emulator (asyncio HTTP/1.1, keep-alive)
runs in its own process and enforces the provider limit of LIMIT requests/s
(bucket of LIMIT/5), answering 45009 above it; the dispatcher is configured
with the same LIMIT (its default bucket of LIMIT/10).

Printed, all from the same run:

1. the limited fan-out: accepted messages/s as a fraction of LIMIT, 45009
   answers, and the resident memory of this process after 10% and 100% of
   the messages (flat = the dispatcher keeps nothing per message; the
   idempotency store is bounded to 10,000 reports for this run, and its
   per-report cost is printed separately);
2. with the limit removed: the dispatcher bare (no policy, a no-op
   idempotency store), the dispatcher with policy + idempotency, and plain
   ``httpx.AsyncClient`` calls doing the same fan-out (best of 2 each,
   interleaved); the difference bare → checked is the per-message overhead
   of the checks end to end, printed beside their CPU cost measured
   directly (no network);
3. plain ``httpx.AsyncClient`` against the limited emulator, unpaced.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx

from autoops.channels import (
    AsyncDispatcher,
    ContactPolicy,
    IdempotencyStore,
    Message,
    RetryConfig,
    SendReport,
)
from autoops.channels.emulator import Emulator
from autoops.channels.wecom import AppText, WeComChannel
from autoops.models import Consent

PEOPLE = 1_000


class _NoIdempotency(IdempotencyStore):
    """Remembers nothing: the bare dispatcher's baseline."""

    def reserve(self, channel: str, key: str, *, now: float) -> tuple[bool, SendReport | None]:
        return True, None

    def complete(self, channel: str, key: str, report: SendReport, *, now: float) -> None:
        return None

    def release(self, channel: str, key: str) -> None:
        return None


def _options(label: str, retry: RetryConfig) -> dict[str, Any]:
    if label == "bare":
        return {"retry": retry, "idempotency": _NoIdempotency()}
    return {"retry": retry, "policy": _policy()}


def _mock_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("gettoken"):
        return httpx.Response(200, json={"errcode": 0, "access_token": "T", "expires_in": 7200})
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m"})


def _serve(limit: float | None, port_out: Any, stop: Any) -> None:
    burst = 1.0 if limit is None else max(1.0, limit / 5)
    emu = Emulator(rate_limit=limit, rate_burst=burst, record=False).start()
    port_out.put(emu.url)
    stop.wait()
    emu.stop()


class _Server:
    def __init__(self, limit: float | None) -> None:
        ctx = mp.get_context("spawn")
        self._q, self._stop = ctx.Queue(), ctx.Event()
        self._proc = ctx.Process(target=_serve, args=(limit, self._q, self._stop), daemon=True)

    def __enter__(self) -> str:
        self._proc.start()
        url: str = self._q.get(timeout=60)
        return url

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(timeout=30)


def _policy() -> ContactPolicy:
    """Consent for every recipient; quiet hours 12 h away from now; a cap that never binds."""
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    consents = [
        Consent(subject_id=f"u{i}", grants=[{"purpose": "marketing", "granted_at": t0}])
        for i in range(PEOPLE)
    ]
    local = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=12)
    quiet = (local.strftime("%H:00"), (local + timedelta(hours=1)).strftime("%H:00"))
    return ContactPolicy(consents, quiet_hours=quiet, frequency_caps={"wecom": (1_000_000, "1d")})


def _messages(n: int, tag: str) -> Iterator[Message]:
    for i in range(n):
        yield Message(
            to=[f"u{i % PEOPLE}"],
            content=AppText(f"m{i}"),
            purpose="marketing",
            idempotency_key=f"{tag}-{i}",
        )


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _fan_out(
    url: str, n: int, workers: int, tag: str, options: dict[str, Any], probe_at: int = 0
) -> tuple[Counter[str], float, list[tuple[int, float]]]:
    channel = WeComChannel(Emulator.corp_id, Emulator.corp_secret, agent_id=1, base_url=url)
    counts: Counter[str] = Counter()
    memory: list[tuple[int, float]] = []
    source = _messages(n, tag)
    done = 0
    async with AsyncDispatcher(channel, **options) as d:

        async def worker() -> None:
            nonlocal done
            for m in source:
                rep = await d.send(m)
                for r in rep:
                    counts[r.status if r.status != "failed" else f"failed_{r.error_kind}"] += 1
                    counts["retries"] += r.attempts - 1
                done += 1
                if probe_at and done % probe_at == 0:
                    memory.append((done, _rss_mb()))

        t = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
        dt = time.perf_counter() - t
    return counts, dt, memory


async def _plain(url: str, n: int, workers: int) -> tuple[Counter[str], float]:
    counts: Counter[str] = Counter()
    source = iter(range(n))
    async with httpx.AsyncClient(timeout=10) as client:
        t = time.perf_counter()
        got = await client.get(
            f"{url}/cgi-bin/gettoken",
            params={"corpid": Emulator.corp_id, "corpsecret": Emulator.corp_secret},
        )
        token = got.json()["access_token"]

        async def worker() -> None:
            for i in source:
                r = await client.post(
                    f"{url}/cgi-bin/message/send",
                    params={"access_token": token},
                    json={
                        "touser": f"u{i % PEOPLE}",
                        "msgtype": "text",
                        "agentid": 1,
                        "text": {"content": f"m{i}"},
                        "safe": 0,
                    },
                )
                code = r.json()["errcode"]
                counts["accepted" if code == 0 else f"errcode {code}"] += 1

        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
        dt = time.perf_counter() - t
    return counts, dt


def _check_cost(n: int) -> tuple[float, float]:
    """CPU µs per message of policy (decide + settle) and idempotency (reserve + complete)."""
    policy, store = _policy(), IdempotencyStore()
    msgs = list(_messages(n, "cost"))
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    for m in msgs:
        policy.decide("wecom", m, now=now)
        policy.settle("wecom", m, [], reserved_at=now)
    t_policy = time.perf_counter() - t
    report = SendReport(channel="wecom", key="k", results=())
    t = time.perf_counter()
    for i, m in enumerate(msgs):
        store.reserve("wecom", m.key(), now=float(i))
        store.complete("wecom", m.key(), report, now=float(i))
    t_idem = time.perf_counter() - t
    return t_policy / n * 1e6, t_idem / n * 1e6


def _report_bytes(n: int) -> float:
    """Bytes the default IdempotencyStore holds per remembered one-recipient send."""
    store = IdempotencyStore()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    from autoops.channels import DeliveryResult

    for i in range(n):
        r = DeliveryResult(
            recipient=f"u{i}", index=0, status="accepted", provider_message_id=f"{i:016x}"
        )
        store.reserve("wecom", f"bench-{i}", now=0.0)
        store.complete(
            "wecom",
            f"bench-{i}",
            SendReport(channel="wecom", key=f"bench-{i}", results=(r,)),
            now=0.0,
        )
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5,000 messages")
    ap.add_argument("--probe", action="store_true", help="only the unlimited runs")
    ap.add_argument("--limit", type=float, default=120.0, help="provider limit, requests/s")
    ap.add_argument("--workers", type=int, default=16, help="concurrent senders")
    ap.add_argument("-n", type=int, default=None, help="messages in the limited run")
    args = ap.parse_args()
    n = args.n or (5_000 if args.quick else 100_000)
    n_free = 1_000 if args.quick else 5_000
    retry = RetryConfig(max_attempts=3, base=0.05, cap=1.0)
    w = args.workers
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = (float("nan"),) * 3
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores {os.cpu_count()}")
    rows: list[tuple[str, int, float, float, str]] = []

    # 2. limit removed: bare dispatcher, checked dispatcher, plain httpx; best of 3,
    # interleaved, wall time and this process's CPU time per message.
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    outcome: dict[str, Counter[str]] = {}
    with _Server(None) as url:
        for rep in range(3):
            for label in ("bare", "checked", "plain"):
                c0 = time.process_time()
                if label == "plain":
                    counts, dt = anyio.run(_plain, url, n_free, w)
                else:
                    counts, dt, _ = anyio.run(
                        _fan_out, url, n_free, w, f"{label}{rep}", _options(label, retry)
                    )
                us = (time.process_time() - c0) / n_free * 1e6
                wall[label] = min(wall.get(label, dt), dt)
                cpu[label] = min(cpu.get(label, us), us)
                outcome[label] = counts
    names = {
        "bare": "AsyncDispatcher, no limit, bare",
        "checked": "AsyncDispatcher, no limit, policy+idempotency",
        "plain": "plain httpx.AsyncClient, no limit",
    }
    for label in ("bare", "checked", "plain"):
        rows.append(
            (
                names[label],
                n_free,
                wall[label],
                n_free / wall[label],
                f"{cpu[label]:.0f} µs CPU/msg  {_fmt(outcome[label])}",
            )
        )
    mock: dict[str, float] = {}
    for _rep in range(3):
        for label in ("bare", "checked"):
            c0 = time.process_time()
            anyio.run(
                _fan_out,
                "http://mock",
                n_free,
                w,
                f"mock{label}{_rep}",
                {**_options(label, retry), "transport": httpx.MockTransport(_mock_answer)},
            )
            us = (time.process_time() - c0) / n_free * 1e6
            mock[label] = min(mock.get(label, us), us)
    cpu_policy, cpu_idem = _check_cost(n_free)

    if not args.probe:
        # 1. the limited fan-out, n messages.
        limit = args.limit
        with _Server(limit) as url:
            opts = {
                "retry": retry,
                "rate_limit": limit,
                "policy": _policy(),
                "idempotency": IdempotencyStore(max_entries=10_000),
            }
            rss0 = _rss_mb()
            counts, dt, memory = anyio.run(_fan_out, url, n, w, "lim", opts, n // 10)
            achieved = counts["accepted"] / dt
            rows.append((f"AsyncDispatcher, limit {limit:g}/s", n, dt, achieved, _fmt(counts)))
            # 3. plain httpx, unpaced, against the same limit.
            pc, pdt = anyio.run(_plain, url, n_free, w)
            rows.append(
                (
                    f"plain httpx.AsyncClient, limit {limit:g}/s, unpaced",
                    n_free,
                    pdt,
                    pc["accepted"] / pdt,
                    _fmt(pc),
                )
            )

    print(f"{'run':52} {'msgs':>8} {'seconds':>8} {'ok msg/s':>9}  outcomes")
    for label, count, dt, rate, extra in rows:
        print(f"{label:52} {count:>8,} {dt:>8.2f} {rate:>9.0f}  {extra}")
    print()
    print(
        "no limit, best of 3: dispatcher / plain httpx wall time = "
        f"{wall['bare'] / wall['plain']:.2f}x bare, {wall['checked'] / wall['plain']:.2f}x checked;"
        f" CPU/msg {cpu['bare'] - cpu['plain']:+.0f} µs bare, "
        f"{cpu['checked'] - cpu['plain']:+.0f} µs checked vs plain httpx"
    )
    print(
        "policy+idempotency overhead per message (limit removed): "
        f"end to end via the emulator {cpu['checked'] - cpu['bare']:+.0f} µs CPU; "
        f"in-process (httpx.MockTransport) {mock['checked'] - mock['bare']:+.0f} µs "
        f"({mock['bare']:.0f} -> {mock['checked']:.0f} µs/msg); "
        f"the checks alone: policy {cpu_policy:.1f} µs + idempotency {cpu_idem:.1f} µs"
    )
    if not args.probe:
        print(f"throughput / limit: {achieved / limit:.3f}  (goal >= 0.9)")
        marks = ", ".join(f"{k:,}: {v - rss0:+.1f} MB" for k, v in memory)
        print(f"RSS of this process vs before the run, after N messages: {marks}")
        if len(memory) >= 2:
            print(
                f"RSS growth from 10% to 100% of the messages: {memory[-1][1] - memory[0][1]:+.1f} MB"
            )
    print(
        f"default IdempotencyStore holds ~{_report_bytes(20_000):.0f} bytes per remembered "
        "one-recipient send (bounded by max_entries, default 1,000,000)"
    )
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def _fmt(counts: Counter[str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)


if __name__ == "__main__":
    main()
