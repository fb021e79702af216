"""Fixtures: one behavioural suite over MemoryStore, SQLiteStore and PostgresStore."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from autoops.loyalty import Ledger, MemoryStore, SQLiteStore

DSN = os.environ.get("AUTOOPS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers at DSN, else the reason (for a loud skip)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return "psycopg is not installed (pip install 'autoops[postgres]')"
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # pragma: no cover - depends on the machine
        return (
            f"PostgreSQL not reachable at AUTOOPS_TEST_POSTGRES_DSN={DSN!r} ({type(exc).__name__}); "
            "start a server or set AUTOOPS_TEST_POSTGRES_DSN"
        )
    return None


class Clock:
    """A settable clock for the ledger."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now = self.now + timedelta(**kw)
        return self.now


def pg_schema() -> str:
    return f"t_loyalty_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory opening (or re-opening) the same store; memory returns the one instance."""
    kind = request.param
    opened: list[Any] = []
    if kind == "memory":
        store = MemoryStore()

        def factory() -> Any:
            return store

    elif kind == "sqlite":
        path = tmp_path / "ledger.db"

        def factory() -> Any:
            s = SQLiteStore(path)
            opened.append(s)
            return s

    else:
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        from autoops.loyalty import PostgresStore

        schema = pg_schema()

        def factory() -> Any:
            s = PostgresStore(DSN, schema=schema)
            opened.append(s)
            return s

    yield factory
    if kind == "postgres" and opened:
        opened[0].drop()
    for s in opened:
        s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(open_store: Callable[[], Any], clock: Clock) -> Ledger:
    return Ledger(open_store(), clock=clock)
