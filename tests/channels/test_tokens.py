"""Token stores, single flight and the cross-process lock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from autoops.channels import (
    AsyncDispatcher,
    FileTokenStore,
    MemoryTokenStore,
    Message,
    RedisTokenStore,
)
from autoops.channels.emulator import Emulator
from autoops.channels.wecom import AppText, WeComChannel

_WORKER = Path(__file__).with_name("_token_worker.py")


def test_eight_processes_fifty_sends_fetch_one_token(tmp_path: Path) -> None:
    # Separate interpreters (not multiprocessing: the test modules are not
    # importable by name under --import-mode=importlib).
    with Emulator(record=False) as emu:
        args = [emu.url, emu.corp_id, emu.corp_secret, str(tmp_path), "50"]
        procs = [
            subprocess.Popen(
                [sys.executable, str(_WORKER), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, [err[-500:] for _, err in outputs]
        assert [int(out) for out, _ in outputs] == [50] * 8
        assert emu.token_fetches == 1
        assert emu.counts["wecom_app"] == 400


def test_memory_store_single_flight_among_tasks() -> None:
    with Emulator() as emu:
        ch = WeComChannel(emu.corp_id, emu.corp_secret, agent_id=1, base_url=emu.url)

        async def main() -> None:
            async with (
                AsyncDispatcher(ch, token_store=MemoryTokenStore()) as d,
                anyio.create_task_group() as tg,
            ):
                for i in range(40):
                    tg.start_soon(d.send, Message(to=[f"u{i}"], content=AppText("x")))

        anyio.run(main)
        assert emu.token_fetches == 1


def test_cache_keys_differ_per_app_and_secret() -> None:
    a = WeComChannel("corp", "secret-a", agent_id=1).token_key()
    b = WeComChannel("corp", "secret-b", agent_id=1).token_key()
    c = WeComChannel("corp2", "secret-a", agent_id=1).token_key()
    assert len({a, b, c}) == 3
    assert "secret" not in a


@pytest.mark.parametrize("make", [MemoryTokenStore, "file"])
def test_store_contract(make: object, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path) if make == "file" else MemoryTokenStore()
    assert store.get("k") is None
    store.put("k", "t1", 100.0)
    assert store.get("k").token == "t1"  # type: ignore[union-attr]
    store.discard("k", "other")
    assert store.get("k") is not None
    store.discard("k", "t1")
    assert store.get("k") is None
    h = store.try_lock("k")
    assert h is not None and store.try_lock("k") is None
    store.unlock(h)
    h2 = store.try_lock("k")
    assert h2 is not None
    store.unlock(h2)


def _redis_url() -> str:
    return os.environ.get("AUTOOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.redis
def test_redis_store_contract() -> None:
    from urllib.parse import urlsplit

    where = urlsplit(_redis_url())
    try:
        socket.create_connection((where.hostname, where.port or 6379), timeout=0.5).close()
    except OSError:
        pytest.skip(
            f"Redis not reachable at AUTOOPS_TEST_REDIS_URL={_redis_url()!r}; start one or set it"
        )
    import time
    import uuid

    store = RedisTokenStore(_redis_url(), prefix=f"autoops-test-{uuid.uuid4().hex}:")
    try:
        store.put("k", "t1", time.time() + 60)
        assert store.get("k").token == "t1"  # type: ignore[union-attr]
        store.discard("k", "t2")
        assert store.get("k") is not None
        store.discard("k", "t1")
        assert store.get("k") is None
        h = store.try_lock("k")
        assert h is not None and store.try_lock("k") is None
        store.unlock(h)
        assert store.try_lock("k") is not None
    finally:
        store.close()
