"""A worker process of the cross-process token test (run as a script, not collected).

Usage: python _token_worker.py URL CORP SECRET DIRECTORY N — sends N messages
concurrently through one AsyncDispatcher sharing a FileTokenStore in DIRECTORY
and prints how many were accepted.
"""

from __future__ import annotations

import os
import sys

import anyio

from autoops.channels import AsyncDispatcher, FileTokenStore, Message, RetryConfig
from autoops.channels.wecom import AppText, WeComChannel


async def main(url: str, corp: str, secret: str, directory: str, n: int) -> int:
    ch = WeComChannel(corp, secret, agent_id=1, base_url=url)
    ok = 0
    retry = RetryConfig(max_attempts=3, base=0.001, cap=0.01)
    async with AsyncDispatcher(ch, token_store=FileTokenStore(directory), retry=retry) as d:

        async def one(i: int) -> None:
            nonlocal ok
            rep = await d.send(Message(to=[f"u{os.getpid()}-{i}"], content=AppText("x")))
            ok += rep.summary()["accepted"]

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
    return ok


if __name__ == "__main__":
    url, corp, secret, directory, n = sys.argv[1:6]
    print(anyio.run(main, url, corp, secret, directory, int(n)))
