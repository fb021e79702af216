"""The embedded default store: one SQLite file in WAL mode."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from autoops.errors import ConfigError
from autoops.loyalty._rows import TxRow
from autoops.loyalty._sql import Dialect, SQLSession, schema

__all__ = ["SQLiteStore"]

_SYNC = {"full": "FULL", "normal": "NORMAL", "extra": "EXTRA"}
_CACHE_KIB = 64 * 1024  # page cache per connection, allocated only as pages are used


def _unique(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


class SQLiteStore:
    """A ledger store in one SQLite file (the embedded default).

    The database runs in WAL mode; every ledger operation is one
    ``BEGIN IMMEDIATE`` transaction, so writers from any number of processes
    are serialised by SQLite's write lock (waiting up to *timeout* seconds)
    and readers never block. *durability* sets ``PRAGMA synchronous``:
    ``"full"`` (default) survives power loss after each commit; ``"normal"``
    is faster and survives a killed process, but a power cut may lose the last
    commits (never corrupting the file).

    Args:
        path: the database file (created with its tables if missing).
        durability: ``"full"``, ``"normal"`` or ``"extra"``.
        timeout: seconds to wait for the write lock.

    Examples:
        >>> import tempfile, os
        >>> from autoops.loyalty import Ledger, SQLiteStore
        >>> path = os.path.join(tempfile.mkdtemp(), "ledger.db")
        >>> ledger = Ledger(SQLiteStore(path))
        >>> ledger.earn("member-0001", 100, reason="welcome", key="w-1").points
        100
        >>> Ledger(SQLiteStore(path)).balance("member-0001").available
        100
    """

    def __init__(
        self, path: str | Path, *, durability: str = "full", timeout: float = 60.0
    ) -> None:
        if durability not in _SYNC:
            raise ConfigError(f"use one of {sorted(_SYNC)}", key="durability")
        self.path = str(path)
        self.durability = durability
        self.fault: Callable[[TxRow], None] | None = None
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._pragmas = [
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={_SYNC[durability]}",
            f"PRAGMA busy_timeout={int(timeout * 1000)}",
            # room for a large batch's index pages, so they are not spilled mid-transaction
            f"PRAGMA cache_size={-_CACHE_KIB}",
        ]
        for pragma in self._pragmas:
            self._conn.execute(pragma)
        self._dialect = Dialect()
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for ddl in schema(self._dialect):
                    cur.execute(ddl)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def __repr__(self) -> str:
        return f"SQLiteStore(path={Path(self.path).name!r}, durability={self.durability!r})"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[SQLSession]:
        """One transaction: ``BEGIN IMMEDIATE`` for writes, a read snapshot otherwise.

        Examples:
            >>> import tempfile, os
            >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "l.db"))
            >>> with store.session(write=False) as s:
            ...     s.known("member-0001")
            False
        """
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield SQLSession(cur, self._dialect, self.fault, _unique)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def close(self) -> None:
        """Close the connection.

        Examples:
            >>> import tempfile, os
            >>> SQLiteStore(os.path.join(tempfile.mkdtemp(), "l.db")).close()
        """
        self._conn.close()
