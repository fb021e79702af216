"""Append-only storage for the identity graph: records, edges and their indexes.

Records and edges live in growable numpy buffers (capacity doubling, so
appending is amortised O(rows)). Edges are stored grouped by record, so a
record's edges are one contiguous range (``rec_ptr``). Identifier tokens map
to dense key ids through a :class:`~autoops.identity._factorize.TokenTable`;
the key → edges index is a log-structured list of sorted runs (a new run per
batch, neighbouring runs merged when the newer one reaches half the older
one's size), so a lookup costs O(log edges) per key and nothing is re-sorted
in proportion to the graph on each batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from autoops.identity._token_table import TokenTable

__all__ = ["Buffer", "EdgeStore", "expand_ranges"]

I64 = npt.NDArray[np.int64]


class Buffer:
    """A growable 1-d numpy array (amortised O(1) append per element)."""

    def __init__(self, dtype: Any) -> None:
        self._data = np.zeros(16, dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def a(self) -> npt.NDArray[Any]:
        """A view of the filled part (writes go through to the buffer)."""
        return self._data[: self._n]

    def append(self, values: npt.NDArray[Any]) -> None:
        """Append *values* at the end."""
        need = self._n + len(values)
        if need > len(self._data):
            grown = np.zeros(max(need, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = values
        self._n = need


def expand_ranges(lo: I64, hi: I64) -> I64:
    """All integers of the half-open ranges ``[lo[i], hi[i])``, concatenated."""
    width = np.maximum(hi - lo, 0)
    total = int(width.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(width) - width
    out: I64 = np.repeat(lo - offsets, width) + np.arange(total, dtype=np.int64)
    return out


class EdgeStore:
    """Records, their edges, the token → key table and the key → edges runs."""

    def __init__(self) -> None:
        self.record_id = Buffer(object)
        self.rid_token = Buffer(np.uint64)
        self.ts = Buffer(np.int64)
        self.one_id = Buffer(np.int64)
        self.rec_ptr = Buffer(np.int64)
        self.rec_ptr.append(np.zeros(1, dtype=np.int64))
        self.e_rec = Buffer(np.int64)
        self.e_type = Buffer(np.int16)
        self.e_tok = Buffer(np.uint64)
        self.e_status = Buffer(np.int8)
        self.e_verified = Buffer(np.bool_)
        self.e_key = Buffer(np.int64)
        self.keys = TokenTable()
        self.rids = TokenTable()
        self.hub = Buffer(np.bool_)
        self._runs: list[tuple[I64, I64]] = []

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.rid_token)

    def append(
        self,
        record_id: npt.NDArray[Any],
        rid_token: npt.NDArray[np.uint64],
        ts: I64,
        e_rec: npt.NDArray[np.integer[Any]],
        e_type: npt.NDArray[np.int16],
        e_tok: npt.NDArray[np.uint64],
        e_status: npt.NDArray[np.int8],
        e_verified: npt.NDArray[np.bool_],
    ) -> tuple[I64, I64]:
        """Append a batch (``e_rec`` local to the batch); return (record rows, edge ids)."""
        n0, m0 = self.n, len(self.e_rec)
        order = np.argsort(e_rec, kind="stable")
        e_rec, e_type, e_tok = e_rec[order], e_type[order], e_tok[order]
        e_status, e_verified = e_status[order], e_verified[order]
        self.record_id.append(np.asarray(record_id, dtype=object))
        self.rid_token.append(rid_token)
        self.rids.add(rid_token)
        self.ts.append(ts)
        self.one_id.append(np.zeros(len(rid_token), dtype=np.int64))
        counts = np.bincount(e_rec, minlength=len(rid_token))
        self.rec_ptr.append(m0 + np.cumsum(counts))
        self.e_rec.append(e_rec.astype(np.int64) + n0)  # (prepare's rows may be 32-bit)
        self.e_type.append(e_type)
        self.e_tok.append(e_tok)
        self.e_status.append(e_status)
        self.e_verified.append(e_verified)
        key = np.full(len(e_tok), -1, dtype=np.int64)
        has = e_tok != 0
        key[has] = self.keys.add(e_tok[has])
        self.e_key.append(key)
        if len(self.keys) > len(self.hub):
            self.hub.append(np.zeros(len(self.keys) - len(self.hub), dtype=bool))
        edges = np.arange(m0, m0 + len(e_tok), dtype=np.int64)
        self._add_run(key[has], edges[has])
        return np.arange(n0, self.n, dtype=np.int64), edges

    def _add_run(self, keys: I64, edges: I64) -> None:
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], edges[order]))
        while len(self._runs) >= 2 and 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            (k1, e1), (k2, e2) = self._runs[-2], self._runs[-1]
            k = np.concatenate([k1, k2])
            e = np.concatenate([e1, e2])
            order = np.argsort(k, kind="stable")  # two sorted runs: a linear merge
            self._runs[-2:] = [(k[order], e[order])]

    def key_edges(self, keys: I64) -> I64:
        """Edge ids of the given key ids (any status)."""
        keys = np.asarray(keys, dtype=np.int64)
        parts = []
        for rk, re in self._runs:
            lo = np.searchsorted(rk, keys, side="left")
            hi = np.searchsorted(rk, keys, side="right")
            parts.append(re[expand_ranges(lo, hi)])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def record_edges(self, rows: I64) -> I64:
        """Edge ids of the given records."""
        ptr = self.rec_ptr.a
        return expand_ranges(ptr[rows], ptr[rows + 1])

    def key_of(self, tokens: npt.NDArray[np.uint64]) -> I64:
        """Key ids of tokens (-1 when unknown)."""
        return self.keys.get(tokens)
