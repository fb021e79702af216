"""The production store: PostgreSQL through psycopg 3 (the ``[postgres]`` extra)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autoops._optional import require
from autoops.errors import ConfigError
from autoops.loyalty._rows import EarnRows, TxRow
from autoops.loyalty._sql import LOT_COLUMNS, TX_COLUMNS, Dialect, SQLSession, schema
from autoops.loyalty._store import KeyRace

__all__ = ["PostgresStore"]

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class _PgDialect(Dialect):
    name = "postgres"
    serial = "BIGSERIAL PRIMARY KEY"

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s")


class _PgSession(SQLSession):
    reread_after_lock = True

    def lock(self, member_ids: Sequence[str]) -> None:
        ids = sorted(set(member_ids))
        if not ids:
            return
        self.cur.execute(
            "INSERT INTO member (member_id) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT DO NOTHING",
            (ids,),
        )
        self.cur.execute(
            "SELECT member_id FROM member WHERE member_id = ANY(%s) ORDER BY member_id FOR UPDATE",
            (ids,),
        )
        self.cur.fetchall()

    def key_hits(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        if not keys:
            return {}
        self.cur.execute("SELECT key, id, payload FROM tx WHERE key = ANY(%s)", (list(keys),))
        return {k: (i, pl) for k, i, pl in self.cur.fetchall()}

    def write_earns(self, rows: EarnRows) -> None:
        if self.fault is not None:  # the test hook sees every row: the row-by-row path
            super().write_earns(rows)
            return
        try:  # write_row is C-accelerated and overlaps encoding with the server's work
            with self.cur.copy(f"COPY tx ({TX_COLUMNS}) FROM STDIN") as copy:
                for row in rows.tx_tuples():
                    copy.write_row(row)
        except Exception as exc:
            if self.is_unique_violation(exc):
                raise KeyRace(str(exc)) from exc
            raise
        with self.cur.copy(f"COPY lot ({LOT_COLUMNS}) FROM STDIN") as copy:
            for row in rows.lot_tuples():
                copy.write_row(row)


def _unique(exc: BaseException) -> bool:
    psycopg = require("psycopg", "postgres")
    return isinstance(exc, psycopg.errors.UniqueViolation)


class PostgresStore:
    """A ledger store in PostgreSQL (production), via psycopg 3.

    Each ledger operation is one ``READ COMMITTED`` transaction that first
    locks the member rows it touches (``SELECT … FOR UPDATE`` in member-id
    order, so concurrent operations never deadlock); reads inside it see
    every committed change, and the idempotency key is a ``UNIQUE`` column —
    two processes racing on one key cannot both commit. Durability follows
    the server (``synchronous_commit``; the default ``on`` survives a crash
    after each commit). Tables live in *schema* (created if missing), so
    several ledgers can share a database.

    Args:
        dsn: a libpq connection string, e.g. ``postgresql://postgres@127.0.0.1:5432/test``.
        schema: the schema holding the ledger's tables.

    Raises:
        MissingExtraError: psycopg is not installed (``pip install 'autoops[postgres]'``).
        ConfigError: *schema* is not a plain lower-case identifier.

    Examples:
        >>> PostgresStore("postgresql://u@127.0.0.1/db", schema="Bad-Name")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: schema: use a lower-case identifier like 'autoops_loyalty' [config_error]
    """

    def __init__(self, dsn: str, *, schema: str = "autoops_loyalty") -> None:
        if not _SCHEMA.match(schema):
            raise ConfigError("use a lower-case identifier like 'autoops_loyalty'", key="schema")
        psycopg = require("psycopg", "postgres")
        self.schema = schema
        self.fault: Callable[[TxRow], None] | None = None
        self._lock = threading.RLock()
        self._dialect = _PgDialect()
        self._conn: Any = psycopg.connect(dsn, autocommit=False)
        with self._conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{schema}.medal",))
            row = cur.fetchone()
            if row is None or row[0] is None:
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"autoops-ddl-{schema}",)
                )
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                cur.execute(f"SET search_path TO {schema}")
                for ddl in schema_ddl(self._dialect):
                    cur.execute(ddl)
        self._conn.commit()
        with self._conn.cursor() as cur:
            cur.execute(f"SET search_path TO {schema}")
        self._conn.commit()

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[SQLSession]:
        """One transaction: ``READ COMMITTED`` with row locks for writes, a snapshot otherwise.

        Examples:
            >>> PostgresStore.session.__name__
            'session'
        """
        with self._lock:
            cur = self._conn.cursor()
            try:
                if not write:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield _PgSession(cur, self._dialect, self.fault, _unique)
            except BaseException:
                self._conn.rollback()
                raise
            else:
                self._conn.commit()
            finally:
                cur.close()

    def drop(self) -> None:
        """Drop this store's schema and everything in it (tests, teardown).

        Examples:
            >>> callable(PostgresStore.drop)
            True
        """
        with self._lock, self._conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self._conn.commit()

    def close(self) -> None:
        """Close the connection.

        Examples:
            >>> callable(PostgresStore.close)
            True
        """
        self._conn.close()


def schema_ddl(d: Dialect) -> list[str]:
    return schema(d)
