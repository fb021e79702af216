"""A growable map from 64-bit tokens to dense ids, kept between graph operations."""

from __future__ import annotations

import numpy as np

from autoops._factorize import I64, U64, _probe, _size_for, factorize_u64

__all__ = ["TokenTable"]


class TokenTable:
    """A growable map from 64-bit tokens to dense ids ``0, 1, 2 …``; an id never changes.

    Examples:
        >>> t = TokenTable()
        >>> ids = t.add(np.array([5, 9, 5], dtype=np.uint64))
        >>> sorted(set(ids.tolist())), ids[0] == ids[2]
        ([0, 1], np.True_)
        >>> t.get(np.array([9, 4], dtype=np.uint64)).tolist() == [ids[1], -1]
        True
    """

    def __init__(self) -> None:
        self._keys = np.zeros(16, dtype=np.uint64)
        self._used = np.zeros(16, dtype=bool)
        self._ids = np.full(16, -1, dtype=np.int64)
        self._tokens = np.zeros(16, dtype=np.uint64)  # by id; capacity doubles
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def tokens(self) -> U64:
        """The token of each id (a view)."""
        return self._tokens[: self._count]

    def _grow(self, need: int) -> None:
        if 2 * need <= len(self._keys):
            return
        size = _size_for(need)
        keys = np.zeros(size, dtype=np.uint64)
        used = np.zeros(size, dtype=bool)
        ids = np.full(size, -1, dtype=np.int64)
        toks = self.tokens[: self._count]
        slot = _probe(keys, used, toks, insert=True)
        ids[slot] = np.arange(self._count, dtype=np.int64)
        self._keys, self._used, self._ids = keys, used, ids

    def get(self, tokens: U64) -> I64:
        """Ids of *tokens* (``-1`` for unknown ones)."""
        slot = _probe(self._keys, self._used, np.asarray(tokens, dtype=np.uint64), insert=False)
        out = np.full(len(slot), -1, dtype=np.int64)
        found = slot >= 0
        out[found] = self._ids[slot[found]]
        return out

    def add(self, tokens: U64) -> I64:
        """Ids of *tokens*, giving new ones the next free ids."""
        tokens = np.asarray(tokens, dtype=np.uint64)
        if self._count == 0:
            # an empty table is exactly the factorisation's own table
            size = _size_for(len(tokens))
            keys = np.zeros(size, dtype=np.uint64)
            used = np.zeros(size, dtype=bool)
            slot = _probe(keys, used, tokens, insert=True)
            ids = np.cumsum(used, dtype=np.int64) - 1
            self._keys, self._used, self._ids = keys, used, ids
            self._tokens = keys[used]
            self._count = len(self._tokens)
            first: I64 = ids[slot]
            return first
        codes, uniq = factorize_u64(tokens)
        known = self.get(uniq)
        new = np.flatnonzero(known < 0)
        if len(new):
            self._grow(self._count + len(new))
            slot = _probe(self._keys, self._used, uniq[new], insert=True)
            ids = np.arange(self._count, self._count + len(new), dtype=np.int64)
            self._ids[slot] = ids
            known[new] = ids
            end = self._count + len(new)
            if end > len(self._tokens):
                grown = np.zeros(max(end, 2 * len(self._tokens)), dtype=np.uint64)
                grown[: self._count] = self.tokens
                self._tokens = grown
            self._tokens[self._count : end] = uniq[new]
            self._count = end
        out: I64 = known[codes]
        return out
