"""Access-token stores: memory, file (cross-process lock) and Redis.

A token is cached under ``<provider>:<app id>:<secret fingerprint>``, so two
apps never share one and the key reveals no secret. It is stored with an
expiry already reduced by a safety margin. The dispatcher fetches a token
under two locks: an in-process one (single flight among threads or tasks)
and the store's own ``try_lock`` (single flight among processes), re-reading
the store after each, so a cold cache hit by many workers at once fetches
exactly one token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from autoops._optional import require
from autoops.errors import ConfigError

__all__ = ["FileTokenStore", "MemoryTokenStore", "RedisTokenStore", "StoredToken", "TokenStore"]


@attrs.frozen(repr=False)
class StoredToken:
    """A cached token and the Unix time after which it must not be used.

    Examples:
        >>> t = StoredToken("abc", 100.0)
        >>> t.usable(now=50.0), t.usable(now=100.0), t.usable(now=50.0, stale="abc")
        (True, False, False)
        >>> t
        StoredToken(expires_at=100.0)
    """

    token: str
    expires_at: float

    def usable(self, *, now: float, stale: str | None = None) -> bool:
        """Not expired and not the token just rejected.

        Examples:
            >>> StoredToken("t", 10.0).usable(now=9.0)
            True
        """
        return now < self.expires_at and self.token != stale

    def __repr__(self) -> str:
        return f"StoredToken(expires_at={self.expires_at})"


@runtime_checkable
class TokenStore(Protocol):
    """Where access tokens live; implement this to add a store.

    ``try_lock`` returns a handle or None (never blocks); the dispatcher polls
    it, so the async dispatcher never blocks its event loop.
    """

    def get(self, key: str) -> StoredToken | None:
        """The cached token for *key*, or None."""

    def put(self, key: str, token: str, expires_at: float) -> None:
        """Cache *token* until *expires_at*."""

    def discard(self, key: str, token: str) -> None:
        """Drop the cached token if it is still *token* (compare and delete)."""

    def try_lock(self, key: str) -> Any | None:
        """Take the refresh lock for *key* without waiting; a handle or None."""

    def unlock(self, handle: Any) -> None:
        """Release a lock taken by :meth:`try_lock`."""


class MemoryTokenStore:
    """Tokens in a dict; shared by the threads and tasks of one process.

    Examples:
        >>> s = MemoryTokenStore()
        >>> s.put("wecom:corp:ab12", "T", 100.0)
        >>> s.get("wecom:corp:ab12")
        StoredToken(expires_at=100.0)
        >>> s.discard("wecom:corp:ab12", "other"); s.get("wecom:corp:ab12") is None
        False
        >>> h = s.try_lock("k"); s.try_lock("k") is None
        True
        >>> s.unlock(h)
    """

    def __init__(self) -> None:
        self._data: dict[str, StoredToken] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> StoredToken | None:
        """The cached token for *key*, or None.

        Examples:
            >>> MemoryTokenStore().get("k") is None
            True
        """
        return self._data.get(key)

    def put(self, key: str, token: str, expires_at: float) -> None:
        """Cache *token* until *expires_at*.

        Examples:
            >>> MemoryTokenStore().put("k", "t", 1.0)
        """
        with self._guard:
            self._data[key] = StoredToken(token, expires_at)

    def discard(self, key: str, token: str) -> None:
        """Drop the cached token if it is still *token*.

        Examples:
            >>> s = MemoryTokenStore(); s.put("k", "t", 1.0); s.discard("k", "t"); s.get("k")
        """
        with self._guard:
            cur = self._data.get(key)
            if cur is not None and cur.token == token:
                del self._data[key]

    def try_lock(self, key: str) -> Any | None:
        """Take the per-key lock without waiting.

        Examples:
            >>> MemoryTokenStore().try_lock("k") is not None
            True
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        return lock if lock.acquire(blocking=False) else None

    def unlock(self, handle: Any) -> None:
        """Release a lock from :meth:`try_lock`.

        Examples:
            >>> s = MemoryTokenStore(); s.unlock(s.try_lock("k"))
        """
        handle.release()

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._data)})"


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class FileTokenStore:
    """Tokens as small JSON files in a directory, with an ``flock`` per key.

    Safe across processes on one host: the refresh lock is an exclusive
    ``fcntl.flock`` on ``<key hash>.lock`` (released by the OS if a process
    dies), and writes are atomic (temp file and ``os.replace``). File names
    are hashes of the key; the files hold the token, so keep the directory
    private (it is created with mode 0700).

    Args:
        directory: where to keep the files (created if missing).

    Examples:
        >>> import tempfile
        >>> s = FileTokenStore(tempfile.mkdtemp())
        >>> s.put("wecom:corp:ab", "T", 100.0)
        >>> s.get("wecom:corp:ab").token
        'T'
        >>> h = s.try_lock("wecom:corp:ab"); s.unlock(h)
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot create token directory: {exc}", key="directory") from exc

    def _path(self, key: str, suffix: str) -> Path:
        return self.directory / f"{_file_name(key)}{suffix}"

    def get(self, key: str) -> StoredToken | None:
        """The cached token for *key*, or None (also for a torn or foreign file).

        Examples:
            >>> import tempfile
            >>> FileTokenStore(tempfile.mkdtemp()).get("k") is None
            True
        """
        try:
            data = json.loads(self._path(key, ".json").read_text())
            return StoredToken(str(data["token"]), float(data["expires_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, token: str, expires_at: float) -> None:
        """Write the token atomically.

        Examples:
            >>> import tempfile
            >>> FileTokenStore(tempfile.mkdtemp()).put("k", "t", 1.0)
        """
        path = self._path(key, ".json")
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"token": token, "expires_at": expires_at}, fh)
        os.replace(tmp, path)

    def discard(self, key: str, token: str) -> None:
        """Delete the file if it still holds *token*.

        Examples:
            >>> import tempfile
            >>> s = FileTokenStore(tempfile.mkdtemp()); s.put("k", "t", 9.0)
            >>> s.discard("k", "t"); s.get("k") is None
            True
        """
        cur = self.get(key)
        if cur is not None and cur.token == token:
            with contextlib.suppress(FileNotFoundError):
                self._path(key, ".json").unlink()

    def try_lock(self, key: str) -> Any | None:
        """Take an exclusive non-blocking ``flock`` on the key's lock file.

        Examples:
            >>> import tempfile
            >>> s = FileTokenStore(tempfile.mkdtemp()); h = s.try_lock("k")
            >>> s.try_lock("k") is None
            True
            >>> s.unlock(h)
        """
        import fcntl

        fd = os.open(self._path(key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def unlock(self, handle: Any) -> None:
        """Release the ``flock`` (closing the descriptor).

        Examples:
            >>> import tempfile
            >>> s = FileTokenStore(tempfile.mkdtemp()); s.unlock(s.try_lock("k"))
        """
        import fcntl

        try:
            fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)

    def __repr__(self) -> str:
        return f"FileTokenStore(directory={str(self.directory)!r})"


_CAS_DEL = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisTokenStore:
    """Tokens in Redis (the ``[redis]`` extra), shared by processes and hosts.

    Tokens are stored with a Redis expiry equal to their own; the refresh
    lock is ``SET NX PX`` with a random value, released by compare-and-delete
    so a lock that outlived its ``lock_ttl`` is never released by the wrong
    owner.

    Args:
        url: ``redis://host:port/db``.
        prefix: key prefix.
        lock_ttl: seconds after which a crashed holder's lock lapses.

    Examples:
        >>> RedisTokenStore.__name__
        'RedisTokenStore'
    """

    def __init__(self, url: str, *, prefix: str = "autoops:token:", lock_ttl: float = 30.0) -> None:
        redis = require("redis", "redis")
        self._r = redis.Redis.from_url(url)
        self.prefix = prefix
        self.lock_ttl = lock_ttl

    def get(self, key: str) -> StoredToken | None:
        """The cached token for *key*, or None.

        Examples:
            >>> RedisTokenStore.get.__name__
            'get'
        """
        raw = self._r.get(self.prefix + key)
        if raw is None:
            return None
        data = json.loads(raw)
        return StoredToken(str(data["token"]), float(data["expires_at"]))

    def put(self, key: str, token: str, expires_at: float) -> None:
        """Cache *token* with a Redis expiry at *expires_at*.

        Examples:
            >>> RedisTokenStore.put.__name__
            'put'
        """
        import time

        ttl_ms = max(int((expires_at - time.time()) * 1000), 1)
        self._r.set(
            self.prefix + key, json.dumps({"token": token, "expires_at": expires_at}), px=ttl_ms
        )

    def discard(self, key: str, token: str) -> None:
        """Delete the entry if it still holds *token*.

        Examples:
            >>> RedisTokenStore.discard.__name__
            'discard'
        """
        cur = self.get(key)
        if cur is not None and cur.token == token:
            raw = self._r.get(self.prefix + key)
            if raw is not None:
                self._r.eval(_CAS_DEL, 1, self.prefix + key, raw)

    def try_lock(self, key: str) -> Any | None:
        """``SET lock NX PX``; a handle or None.

        Examples:
            >>> RedisTokenStore.try_lock.__name__
            'try_lock'
        """
        name = f"{self.prefix}{key}:lock"
        value = uuid.uuid4().hex
        if self._r.set(name, value, nx=True, px=int(self.lock_ttl * 1000)):
            return (name, value)
        return None

    def unlock(self, handle: Any) -> None:
        """Release the lock if we still own it.

        Examples:
            >>> RedisTokenStore.unlock.__name__
            'unlock'
        """
        name, value = handle
        self._r.eval(_CAS_DEL, 1, name, value)

    def close(self) -> None:
        """Close the Redis connection pool.

        Examples:
            >>> RedisTokenStore.close.__name__
            'close'
        """
        self._r.close()

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self.prefix!r})"
