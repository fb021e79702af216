"""Numpy kernels: connected components, hub fan-out, and the constrained pass.

The graph is bipartite: nodes ``0..n-1`` are records, ``n..n+k-1`` are
identifier values (keys); an edge says "record holds key". Components are
found by min-label hooking with full pointer jumping (every round hooks each
root onto the smallest root it touches, then compresses all paths), which is
vectorised and needs O(log n) rounds in practice even on long chains with
shuffled labels. Only components that break a per-person limit or hold a
cannot-link pair go through :func:`constrained_pass`, a careful union-find in
priority order that refuses the unions breaking a rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["components", "constrained_pass", "fanout", "relabel_min"]

I64 = npt.NDArray[np.int64]


def components(n_nodes: int, u: I64, v: I64) -> I64:
    """Component label of every node: the smallest node id in its component."""
    parent = np.arange(n_nodes, dtype=np.int64)
    if len(u) == 0:
        return parent
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    while True:
        pu = parent[u]
        pv = parent[v]
        cross = pu != pv
        if not cross.any():
            break
        u, v, pu, pv = u[cross], v[cross], pu[cross], pv[cross]
        lo = np.minimum(pu, pv)
        hi = np.maximum(pu, pv)
        # several edges may hook the same root: keep the smallest target
        order = np.lexsort((lo, hi))
        hi_s, lo_s = hi[order], lo[order]
        first = np.ones(len(hi_s), dtype=bool)
        first[1:] = hi_s[1:] != hi_s[:-1]
        parent[hi_s[first]] = np.minimum(parent[hi_s[first]], lo_s[first])
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def relabel_min(labels: I64) -> I64:
    """Dense 0..c-1 labels ordered by each component's smallest label."""
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


def fanout(
    rec: I64,
    key: I64,
    key_type: npt.NDArray[np.int16],
    n_types: int,
    person_types: Sequence[int],
    n_keys: int,
) -> I64:
    """Per key: the most distinct keys of any one *other* person type it co-occurs with.

    Two keys co-occur when one record holds both. Computed by sorting the
    (key, other key) pairs per pair of types; no loop per record.
    """
    result = np.zeros(n_keys, dtype=np.int64)
    if len(rec) == 0:
        return result
    n_rec = int(rec.max()) + 1
    # one column per type: the record's key of that type (-1 absent)
    by_type = np.full((n_types, n_rec), -1, dtype=np.int64)
    by_type[key_type.astype(np.int64), rec] = key
    for s in person_types:
        col_s = by_type[s]
        has_s = col_s >= 0
        for t in range(n_types):
            if t == s:
                continue
            col_t = by_type[t]
            both = has_s & (col_t >= 0)
            if not both.any():
                continue
            pairs = np.unique(col_t[both] * np.int64(n_keys) + col_s[both])
            counts = np.bincount(pairs // n_keys, minlength=n_keys)
            np.maximum(result, counts, out=result)
    return result


def constrained_pass(
    rec: I64,
    key: I64,
    order: I64,
    key_type: npt.NDArray[np.int16],
    limits: Mapping[int, int],
    cannot: Mapping[int, frozenset[int]],
    n_nodes: int,
    n_rec: int,
) -> npt.NDArray[np.bool_]:
    """Union-find over the given edges in ``order``; returns which edges were accepted.

    An edge (record, key) is refused when joining the two sets would give a
    set more distinct keys of a type than ``limits[type]``, or put two keys
    listed in ``cannot`` together. Runs in Python: call it only on the few
    components that need it.
    """
    parent: dict[int, int] = {}
    # per root: {type: set of keys}, all keys of the set
    members: dict[int, dict[int, set[int]]] = {}
    accepted = np.zeros(len(rec), dtype=bool)

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for i in order.tolist():
        r = int(rec[i])
        k = int(key[i]) + n_rec
        ra, rb = find(r), find(k)
        if ra == rb:
            accepted[i] = True
            continue
        a = members.get(ra)
        if a is None:
            a = members[ra] = {}
        b = members.get(rb)
        if b is None:
            b = members[rb] = {int(key_type[k - n_rec]): {k}}
        ok = True
        for t, keys in b.items():
            limit = limits.get(t)
            if limit is not None and t in a and len(a[t] | keys) > limit:
                ok = False
                break
        if ok and cannot:
            small, big = (a, b) if sum(map(len, a.values())) < sum(map(len, b.values())) else (b, a)
            big_all = set().union(*big.values()) if big else set()
            for keys in small.values():
                for kk in keys:
                    bad = cannot.get(kk)
                    if bad and not bad.isdisjoint(big_all):
                        ok = False
                        break
                if not ok:
                    break
        if not ok:
            continue
        accepted[i] = True
        if sum(map(len, a.values())) < sum(map(len, b.values())):
            ra, rb, a, b = rb, ra, b, a
        parent[rb] = ra
        for t, keys in b.items():
            a.setdefault(t, set()).update(keys)
        members.pop(rb, None)
    return accepted
