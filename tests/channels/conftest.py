"""Fixtures: a loopback emulator and one parametrised fixture for both dispatchers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from autoops.channels import AsyncDispatcher, Dispatcher, Message, RetryConfig, SendReport
from autoops.channels.emulator import Emulator

FAST_RETRY = RetryConfig(max_attempts=3, base=0.001, cap=0.01)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


class Driver:
    """Runs the same test against Dispatcher or AsyncDispatcher.

    The async side runs on one event loop (a blocking portal) for the whole
    test, so connection pools survive between sends.
    """

    def __init__(self, kind: str, portal: Any = None) -> None:
        self.kind = kind
        self.portal = portal

    def make(self, channel: Any, **options: Any) -> Any:
        options.setdefault("retry", FAST_RETRY)
        cls = Dispatcher if self.kind == "sync" else AsyncDispatcher
        return cls(channel, **options)

    def send(self, dispatcher: Any, message: Message) -> SendReport:
        if self.kind == "sync":
            return dispatcher.send(message)  # type: ignore[no-any-return]

        async def go() -> SendReport:
            return await dispatcher.send(message)  # type: ignore[no-any-return]

        return self.portal.call(go)  # type: ignore[no-any-return]

    def call(self, dispatcher: Any, build: Any) -> Any:
        if self.kind == "sync":
            return dispatcher.call(build)

        async def go() -> Any:
            return await dispatcher.call(build)

        return self.portal.call(go)

    def close(self, dispatcher: Any) -> None:
        if self.kind == "sync":
            dispatcher.close()
        else:
            self.portal.call(dispatcher.aclose)


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    if request.param == "sync":
        yield Driver("sync")
        return
    with start_blocking_portal() as portal:
        yield Driver("async", portal)
