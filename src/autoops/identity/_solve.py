"""The resolution pipeline on prepared edges: hubs → components → limits → assets → ids.

1. Number the distinct tokens of the OK edges as keys (renumbering the keys
   ``prepare`` found on the distinct values; hashing the tokens only when
   there are none, e.g. after recycled values were split).
2. Quarantine hubs: keys whose fan-out (see :func:`~autoops.identity._kernel.fanout`)
   exceeds their type's ``max_fanout``.
3. Connected components over the safe person/device edges (vectorised, on the
   graph of the keys: see :func:`~autoops.identity._kernel.key_components`).
4. Components that break a ``max_per_person`` limit or hold a cannot-link pair
   are redone by the constrained pass, edges ordered by type priority, the
   key's first-seen time, the key, the record's time and the record id.
5. Asset edges (VIN) attach records that hold nothing else to the owner of the
   asset at the record's time; owners follow one another in first-seen order.
6. One ID of a cluster = a 63-bit hash of its oldest record's id (time, then id),
   so the partition and the ids depend only on content, never on row order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs
import numpy as np
import numpy.typing as npt

from autoops._factorize import factorize_u64
from autoops._parallel import parallel_map, take
from autoops._time import parse_duration
from autoops.identity._kernel import (
    KeyComponents,
    _dense_components,
    blocks,
    components,
    constrained_pass,
    dense,
    fanout,
    fanout_candidates,
    fanout_exact,
    in_type_order,
    key_components,
    split_labels,
)
from autoops.identity._normalize import Status, combine, mix64
from autoops.identity._prepare import Prepared
from autoops.identity._rules import MergeRules

__all__ = ["Solution", "solve"]

I64 = npt.NDArray[np.int64]
#: key ids of edges: 32-bit from prepare when the records and keys fit, else 64-bit
Keys = npt.NDArray[np.int32] | npt.NDArray[np.int64]


@attrs.frozen(slots=True)
class Solution:
    """Arrays produced by :func:`solve` (aligned with the prepared records/edges)."""

    label: I64  # dense cluster label per record (0..c-1)
    one_id: I64  # per record
    e_status: npt.NDArray[np.int8]  # final status per edge
    #: key index per edge (-1 if the edge never reached the graph), as wide as
    #: prepare's (``Prepared.e_key``: 32-bit when the records and keys fit)
    e_key: Keys
    key_tok: npt.NDArray[np.uint64]  # tokens of keys (hash-table order)
    key_type: npt.NDArray[np.int16]
    key_fanout: I64  # exact for keys whose fan-out can pass their max_fanout (see fanout), else 0
    #: first-seen time (us) of each key (when every record has the same time: that time
    #: broadcast over the keys, read-only)
    key_first: I64
    #: the edges the constrained pass refused (LIMIT, SPLIT; ascending) and per edge the
    #: type whose limit it broke, read through :meth:`limit_types` (not an array as long
    #: as the edges that is -1 almost everywhere)
    limit_edges: I64
    limit_of: npt.NDArray[np.int16]
    hub_tokens: npt.NDArray[np.uint64]

    def limit_types(self, edges: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int16]:
        """For each of *edges*: the type whose limit it broke when the constrained pass
        refused it, else -1.

        >>> sol = Solution(*([np.zeros(3, dtype=np.int64)] * 8), np.array([1]),
        ...                np.array([4], dtype=np.int16), np.zeros(0, dtype=np.uint64))
        >>> sol.limit_types(np.array([2, 1, 0])).tolist()
        [-1, 4, -1]
        """
        out = np.full(len(edges), -1, dtype=np.int16)
        if len(self.limit_edges):
            at = np.minimum(np.searchsorted(self.limit_edges, edges), len(self.limit_edges) - 1)
            hit = self.limit_edges[at] == edges
            out[hit] = self.limit_of[at[hit]]
        return out


def one_ids_from(
    label: I64, ts: I64, rid_token: npt.NDArray[np.uint64], *, same_time: bool | None = None
) -> I64:
    """Per record: 63-bit hash of the oldest record id in its cluster.

    *same_time* (every record has the same time, e.g. none: found when None)
    skips the search for each cluster's oldest time.

    >>> lab = np.array([0, 1, 0])
    >>> ids = one_ids_from(lab, np.array([5, 1, 3]), np.array([7, 8, 9], dtype=np.uint64))
    >>> bool(ids[0] == ids[2]), bool(ids[0] != ids[1])
    (True, True)
    """
    n = len(label)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    c = int(label.max()) + 1
    if same_time is None:
        same_time = int(ts.min()) == int(ts.max())
    min_tok = np.full(c, np.iinfo(np.uint64).max, dtype=np.uint64)
    if same_time:
        np.minimum.at(min_tok, label, rid_token)
    else:
        min_ts = np.full(c, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(min_ts, label, ts)
        # the records of their cluster's oldest time, in blocks (no record-sized temporaries)
        for a, b in blocks(n):
            lab = label[a:b]
            cand = ts[a:b] == take(min_ts, lab)
            np.minimum.at(min_tok, np.compress(cand, lab), np.compress(cand, rid_token[a:b]))
    # in place (no cluster-long temporaries): below 2**63 after the shift, so the int64
    # view holds the same values as a cast
    min_tok ^= np.uint64(0xA0761D6478BD642F)
    mix64(min_tok, copy=False)
    min_tok >>= np.uint64(1)
    per_label: I64 = min_tok.view(np.int64)
    out: I64 = take(per_label, label)
    return out


def solve(
    prep: Prepared,
    rules: MergeRules,
    *,
    cannot: Mapping[int, frozenset[int]] | None = None,
    known_hubs: npt.NDArray[np.uint64] | None = None,
) -> Solution:
    """Run the pipeline; *cannot* maps a token to tokens it must never join."""
    prep = recycle(prep, rules, known_hubs)
    n = prep.n
    types = rules.types
    n_types = len(types)
    asset_t = np.array([t.kind == "asset" for t in types])
    e_status = prep.e_status.copy()
    ok = e_status == Status.OK
    # every edge usable (common): whole arrays instead of copies through the mask
    ok_sel: npt.NDArray[np.bool_] | slice = slice(None) if ok.all() else ok
    inv, key_tok, key_type = _keys(prep, ok_sel)
    if isinstance(ok_sel, slice):
        # (prepare's own array when it gave the keys: read only, as every array of a
        # Solution and a Prepared)
        e_key = inv
    else:
        e_key = np.full(len(e_status), -1, dtype=inv.dtype)
        e_key[ok] = inv
    k = len(key_tok)

    # every record has the same time (e.g. there are no times): nothing to look for
    same_time = n > 0 and int(prep.ts.min()) == int(prep.ts.max())

    def first_seen() -> I64:
        if same_time:  # every key is held by a usable edge (see _keys)
            # one time broadcast over the keys (read-only, as prepare's times without a
            # time column): no array as long as the keys to write (8 bytes a key)
            same: I64 = np.broadcast_to(np.int64(prep.ts[0]), (k,))
            return same
        key_first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
        # in blocks of edges: no edge-long temporaries (e_key is -1 on the unusable edges)
        for a, b in blocks(len(e_key)):
            r: npt.NDArray[np.integer[Any]] = prep.e_rec[a:b]
            kk: npt.NDArray[np.integer[Any]] = e_key[a:b]
            if not isinstance(ok_sel, slice):
                use = ok[a:b]
                r, kk = np.compress(use, r), np.compress(use, kk)
            np.minimum.at(key_first, kk, take(prep.ts, r))
        return key_first

    # 2. hubs: the keys whose fan-out can pass their max_fanout are counted exactly while
    # the components of the edges of the other keys (never hubs) are found (3.)
    person_types = [i for i, t in enumerate(types) if t.is_person_key]
    # the usable edges of asset types (VIN): none when no key is of such a type (a usable
    # edge holds a key of its own type), the common case, which then needs no edge-long
    # gather of the types
    asset_key = asset_t[key_type]
    asset_edge = ok & asset_t[prep.e_type] if asset_key.any() else None
    person_edge = ok if asset_edge is None else ok & ~asset_edge
    p_sel: npt.NDArray[np.bool_] | slice = (
        slice(None)
        if isinstance(ok_sel, slice) and (asset_edge is None or person_edge.all())
        else person_edge
    )
    p_rec, p_key, p_type = prep.e_rec[p_sel], e_key[p_sel], prep.e_type[p_sel]
    max_fan = np.array([t.max_fanout or np.iinfo(np.int64).max for t in types], dtype=np.int64)
    key_max = max_fan[key_type]
    cand = fanout_candidates(p_rec, p_key, p_type, n_types, person_types, k, key_max,
                             key_type=key_type, n_rec=n)  # fmt: skip
    known = np.isin(key_tok, known_hubs) if known_hubs is not None and len(known_hubs) else None
    maybe = cand if known is None else cand | known

    def per_edge(of_key: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """A flag of each key on the usable edges (False on the others)."""
        if isinstance(ok_sel, slice):
            flags: npt.NDArray[np.bool_] = take(of_key, e_key)
            return flags
        out = np.zeros(len(e_key), dtype=bool)
        out[ok] = of_key[e_key[ok]]
        return out

    maybe_edge = per_edge(maybe)  # edges whose key may be a hub

    def exact() -> I64:
        return fanout_exact(p_rec, p_key, p_type, n_types, person_types, cand, key_type, n_rec=n)

    def sure_components() -> KeyComponents:
        sure = person_edge & ~maybe_edge
        return key_components(n, k, prep.e_rec, e_key, where=sure)

    tasks: list[Callable[[], Any]] = [exact, sure_components, first_seen]
    done = parallel_map(lambda task: task(), tasks)
    key_fanout: I64 = done[0]
    kc: KeyComponents = done[1]
    key_first: I64 = done[2]
    hub_key = key_fanout > key_max
    if known is not None:
        hub_key |= known
    # the safe edges: the person edges off the hubs, written over the hub edges' flags
    # (no more arrays as long as the edges than needed: fresh pages are dear here)
    safe = per_edge(hub_key)
    e_status[safe] = Status.HUB
    np.logical_not(safe, out=safe)
    safe &= person_edge

    # 3. components over the safe edges: the edges of keys that may have been hubs but
    # are not join those found above (over maybe_edge, not read afterwards)
    late = maybe_edge
    late &= safe
    if late.any():
        kc = key_components(n, k, np.compress(late, prep.e_rec), np.compress(late, e_key), kc,
                            reuse=True)  # fmt: skip
    # the records' dense components (before limits), the keys', and each record's smallest
    # record (read on demand: the constrained pass and the split read a few)
    smallest_rec, comp, key_comp, n_comp, rec_rank = _dense_components(n, kc)

    # 4. limits and cannot-links
    limits = {i: t.max_per_person for i, t in enumerate(types) if t.max_per_person is not None}
    cannot_keys: dict[int, frozenset[int]] = {}
    if cannot:
        pos = {int(t): i for i, t in enumerate(key_tok.tolist())}
        for tok, others in cannot.items():
            if tok in pos:
                mapped = frozenset(pos[o] + n for o in others if o in pos)
                if mapped:
                    cannot_keys[pos[tok] + n] = mapped
    bad_comp = np.zeros(n_comp, dtype=bool)
    # the keys of safe edges: every key is held by a usable edge, so the person keys
    # that are not hubs
    used_key = ~asset_key & ~hub_key
    if limits and len(key_type) and in_type_order(key_type):
        # the keys come by type (prepare numbers them column after column): each type's
        # used keys' components straight from its span of keys, no key-long compress
        bounds = np.searchsorted(key_type, np.arange(n_types + 1, dtype=key_type.dtype)).tolist()

        def over_limit_span(ti: int) -> I64:
            """As ``over_limit`` below, on the span of the type's keys."""
            lo, hi = bounds[ti], bounds[ti + 1]
            of_t = np.compress(used_key[lo:hi], key_comp[lo:hi])
            if len(of_t) <= limits[ti]:
                return np.zeros(0, dtype=np.int64)
            return np.flatnonzero(np.bincount(of_t) > limits[ti])

        spans = [ti for ti in limits if bounds[ti + 1] > bounds[ti]]
        for over in parallel_map(over_limit_span, spans):
            bad_comp[over] = True
    elif limits:
        # counts per (component, type) for the types with a limit that hold used keys
        u_type = np.compress(used_key, key_type)
        u_comp = np.compress(used_key, key_comp)
        held = np.zeros(n_types, dtype=bool)
        held[u_type] = True
        limited = [ti for ti in limits if held[ti]]

        def over_limit(ti: int) -> I64:
            """The components holding more keys of type *ti* than its limit: one count per
            component of the type's keys (a count per (component, type) of all the types
            at once was a table of width x components, 115 MB at 8M records; a sort of the
            type's keys' components instead of the count was 8x slower on the AMD VM,
            whose numpy sort of 64-bit integers is slow)."""
            of_t = np.compress(u_type == ti, u_comp)
            if len(of_t) <= limits[ti]:
                return np.zeros(0, dtype=np.int64)
            return np.flatnonzero(np.bincount(of_t) > limits[ti])

        for over in parallel_map(over_limit, limited):
            bad_comp[over] = True
    for kn in cannot_keys:
        bad_comp[key_comp[kn - n]] = True
    # the safe edges refused by the constrained pass (edge indices)
    refused = np.zeros(0, dtype=np.int64)
    if bad_comp.any():
        # an edge's record and key are in one component: look it up through the key
        in_bad = per_edge(bad_comp[key_comp])
        in_bad &= safe
        sel = np.flatnonzero(in_bad)
        del in_bad
        prio = np.array([t.priority for t in types], dtype=np.int64)
        r, kk = prep.e_rec[sel], e_key[sel]
        order = np.lexsort(
            (prep.rid_token[r], prep.ts[r], key_tok[kk], key_first[kk], -prio[key_type[kk]])
        )
        windows = {
            i: int(parse_duration(t.max_per_person_window).total_seconds() * 1_000_000)
            for i, t in enumerate(types)
            if t.max_per_person_window is not None
        }
        acc = constrained_pass(r, kk, order, key_type, limits, cannot_keys, n + k, n,
                               windows=windows, key_time=key_first)  # fmt: skip
        refused = sel[~acc]
        e_status[refused] = Status.LIMIT
        if cannot_keys:
            # a refusal in a component holding cannot-link keys is a split when limits allow it
            ckeys = np.fromiter(cannot_keys.keys(), dtype=np.int64) - n
            split_comp = np.unique(key_comp[ckeys])
            is_split = np.isin(comp[prep.e_rec[refused]], split_comp)
            e_status[refused[is_split]] = Status.SPLIT
    moved = np.zeros(0, dtype=np.int64)  # the records of the components split up
    new_lab = moved  # their new labels (the smallest record of their part)
    if len(refused):
        # only the components that went through the constrained pass change: rebuild
        # their nodes (numbered compactly) from their accepted edges
        nodes = np.concatenate(
            [np.flatnonzero(bad_comp[comp]), np.flatnonzero(bad_comp[key_comp]) + n]
        )
        sel_acc = sel[acc]
        sub = components(len(nodes), np.searchsorted(nodes, prep.e_rec[sel_acc]),
                         np.searchsorted(nodes, e_key[sel_acc] + n))  # fmt: skip
        cut = int(np.searchsorted(nodes, n))  # the record nodes (sorted: records first)
        moved, new_lab = nodes[:cut], nodes[sub[:cut]]

    # 5. assets: attach records holding nothing else to the owner at their time
    if asset_edge is not None and asset_edge.any():
        rec_lab = smallest_rec.all()
        rec_lab[moved] = new_lab
        linked = safe.copy()
        linked[refused] = False
        rec_lab, unowned = _attach_assets(prep, rec_lab, asset_edge, e_key, prep.e_rec[linked], n)
        e_status[unowned] = Status.UNOWNED
        label, _ = dense(rec_lab, n)  # records are labelled by records
    elif len(moved):
        # the split components' new parts numbered in among the others: what
        # ``dense(rec_lab, n)`` gives after ``rec_lab[moved] = new_lab`` (tested)
        # (written over the components, which nothing reads afterwards: no array as long
        # as the records more)
        label = split_labels(smallest_rec, comp, rec_rank, moved, new_lab, out=comp)
    else:
        # unchanged components: their dense labels are ``comp`` (keys on no edge rank last)
        label = comp
    one_id = one_ids_from(label, prep.ts, prep.rid_token, same_time=same_time)
    return Solution(
        label=label,
        one_id=one_id,
        e_status=e_status,
        e_key=e_key,
        key_tok=key_tok,
        key_type=key_type,
        key_fanout=key_fanout,
        key_first=key_first,
        limit_edges=refused,
        limit_of=key_type[e_key[refused]],
        hub_tokens=key_tok[hub_key],
    )


def _keys(
    prep: Prepared, ok: npt.NDArray[np.bool_] | slice
) -> tuple[Keys, npt.NDArray[np.uint64], npt.NDArray[np.int16]]:
    """Dense keys of the OK edges' tokens, the tokens of the keys and their types.

    With the keys :func:`~autoops.identity._prepare.prepare` found on the
    distinct values, only the keys held by OK edges are renumbered (no hashing),
    and their tokens and types are prepare's when it gave them. The keys keep the
    width of prepare's (32-bit when the records and keys fit, see ``Prepared.e_key``).
    """
    inv: Keys
    if prep.e_key is None:
        inv, key_tok = factorize_u64(prep.e_tok[ok])
        key_type = np.zeros(len(key_tok), dtype=np.int16)
        key_type[inv] = prep.e_type[ok]
        return inv, key_tok, key_type
    inv = prep.e_key[ok]
    used = np.zeros(prep.n_keys, dtype=bool)
    used[inv] = True
    every = bool(used.all())
    if not every:
        rank = cast(Keys, np.cumsum(used, dtype=inv.dtype))
        rank -= 1
        inv = take(rank, inv)
    if prep.key_tok is not None and prep.key_type is not None:
        if every:
            return inv, prep.key_tok, prep.key_type
        return inv, prep.key_tok[used], prep.key_type[used]
    key_tok = np.zeros(int(np.count_nonzero(used)), dtype=np.uint64)
    key_tok[inv] = prep.e_tok[ok]
    key_type = np.zeros(len(key_tok), dtype=np.int16)
    key_type[inv] = prep.e_type[ok]
    return inv, key_tok, key_type


def recycle(
    prep: Prepared, rules: MergeRules, known_hubs: npt.NDArray[np.uint64] | None = None
) -> Prepared:
    """Split recycled values into holder epochs (``recycle_on_verified_conflict`` types).

    Per value, in time order: the first holder is the person (a component of
    the other, non-recycled person links, hubs excluded) of its first record
    that has other person links. A *verified* record whose person differs
    from the current holder ends the older link: from its time on the value
    is a new token ``(value, epoch)``. Records with nothing else follow the
    epoch of their time. Vectorised; a no-op without verified records.
    """
    types = rules.types
    rec_t = np.array([t.recycle_on_verified_conflict for t in types], dtype=bool)
    if prep.e_verified is None or not rec_t.any():
        return prep
    for ti in np.flatnonzero(rec_t).tolist():
        prep = _recycle_type(prep, rules, ti, known_hubs)
    return prep


def _recycle_type(
    prep: Prepared, rules: MergeRules, ti: int, known_hubs: npt.NDArray[np.uint64] | None
) -> Prepared:
    types = rules.types
    ok = prep.e_status == Status.OK
    cand = ok & (prep.e_type == ti)
    if prep.e_verified is None or not (cand & prep.e_verified).any():
        return prep
    n = prep.n
    person_t = np.array([t.is_person_key for t in types], dtype=bool)
    # the people without this type: components of the other usable person links
    other = ok & person_t[prep.e_type] & (prep.e_type != ti)
    inv, toks = factorize_u64(prep.e_tok[other])
    k = len(toks)
    max_fan = np.array([t.max_fanout or np.iinfo(np.int64).max for t in types], dtype=np.int64)
    key_type = np.zeros(k, dtype=np.int64)
    key_type[inv] = prep.e_type[other]
    person_types = [i for i, t in enumerate(types) if t.is_person_key]
    fan = fanout(prep.e_rec[other], inv, prep.e_type[other], len(types), person_types, k,
                 max_fan[key_type])  # fmt: skip
    safe = fan[inv] <= max_fan[key_type[inv]]
    if known_hubs is not None and len(known_hubs):
        safe &= ~np.isin(toks, known_hubs)[inv]
    lab = components(n + k, prep.e_rec[other][safe], inv[safe] + n)
    has_other = np.zeros(n, dtype=bool)
    has_other[prep.e_rec[other][safe]] = True
    holder = np.where(has_other, lab[:n], -1)

    idx = np.flatnonzero(cand)
    rec = prep.e_rec[idx]
    tok = prep.e_tok[idx]
    order = np.lexsort((prep.rid_token[rec], prep.ts[rec], tok))
    idx, rec, tok = idx[order], rec[order], tok[order]
    m = len(idx)
    owner = holder[rec]
    verified = prep.e_verified[idx]
    start = np.ones(m, dtype=bool)
    start[1:] = tok[1:] != tok[:-1]
    group_start = np.maximum.accumulate(np.where(start, np.arange(m), 0))
    # the first holder of each value: its first record with other person links
    pos = np.arange(m)
    first_owned = np.where(owner >= 0, pos, m)
    first_in_group = np.minimum.reduceat(first_owned, np.flatnonzero(start))
    init = np.full(m, -1, dtype=np.int64)
    g = np.cumsum(start) - 1
    has_init = first_in_group[g] < m
    init[has_init] = owner[first_in_group[g][has_init]]
    # the last verified, owned record before each position (within the value)
    marks = np.where(verified & (owner >= 0), pos, -1)
    last = np.maximum.accumulate(marks)
    prev = np.concatenate([[-1], last[:-1]])
    prev_ok = prev >= group_start
    current = np.where(prev_ok, owner[np.maximum(prev, 0)], init)
    change = verified & (owner >= 0) & (current >= 0) & (owner != current)
    csum = np.cumsum(change)
    epoch = csum - (csum - change)[group_start]
    e_tok = prep.e_tok.copy()
    moved = epoch > 0
    e_tok[idx[moved]] = combine(tok[moved], (epoch[moved] * 0x2545F491).astype(np.uint64))
    # a former holder's later sightings of the value are stale: they link nobody
    holder_now = np.where(change, owner, current)
    stale = moved & (owner >= 0) & (holder_now >= 0) & (owner != holder_now)
    e_status = prep.e_status.copy()
    e_status[idx[stale]] = Status.RECYCLED
    return attrs.evolve(prep, e_tok=e_tok, e_status=e_status, e_key=None, n_keys=0,
                        key_tok=None, key_type=None)  # fmt: skip


def asset_spans(a_key: I64, a_lab: I64, a_ts: I64) -> tuple[I64, I64, I64]:
    """Owner spans per asset key from (key, owner label, time) observations.

    Returns ``(key, owner, start)`` sorted by key then start: each owner holds
    the asset from its first sighting until the next owner's first sighting.
    """
    if len(a_key) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    order = np.lexsort((a_ts, a_lab, a_key))
    k_s, l_s, t_s = a_key[order], a_lab[order], a_ts[order]
    first = np.ones(len(k_s), dtype=bool)
    first[1:] = (k_s[1:] != k_s[:-1]) | (l_s[1:] != l_s[:-1])
    k_u, l_u, t_u = k_s[first], l_s[first], t_s[first]
    order2 = np.lexsort((l_u, t_u, k_u))
    return k_u[order2], l_u[order2], t_u[order2]


def _attach_assets(
    prep: Prepared,
    rec_lab: I64,
    asset_edge: npt.NDArray[np.bool_],
    e_key: Keys,
    linked_rec: I64,
    n: int,
) -> tuple[I64, I64]:
    """Attach asset-only records to the asset's owner at their time; return unowned edges."""
    rec_lab = rec_lab.copy()
    has_person = np.zeros(n, dtype=bool)
    has_person[linked_rec] = True
    # a record's cluster holds a person key if any of its records does
    cl_person = np.zeros(int(rec_lab.max()) + 1, dtype=bool)
    cl_person[rec_lab[has_person]] = True
    a_idx = np.flatnonzero(asset_edge)
    a_rec = prep.e_rec[a_idx]
    a_key: I64 = e_key[a_idx].astype(np.int64, copy=False)
    owner_obs = cl_person[rec_lab[a_rec]]
    sk, sl, st = asset_spans(a_key[owner_obs], rec_lab[a_rec[owner_obs]], prep.ts[a_rec[owner_obs]])
    orphan = ~owner_obs
    o_rec, o_key = a_rec[orphan], a_key[orphan]
    if len(o_rec) == 0:
        return rec_lab, a_idx[:0]
    # one asset per orphan record: the first asset edge it has
    _, first = np.unique(o_rec, return_index=True)
    o_rec, o_key = o_rec[first], o_key[first]
    o_ts = prep.ts[o_rec]
    if len(sk) == 0:
        return rec_lab, a_idx[orphan]
    # the last span of the same key starting at or before ts; none → the asset's
    # owner at that time is unknown and the record stays alone (status UNOWNED)
    rank_t = np.unique(np.concatenate([st, o_ts]), return_inverse=True)[1]
    t_span, t_w = rank_t[: len(st)], rank_t[len(st) :]
    big = np.int64(len(rank_t) + 1)
    pos = np.searchsorted(sk * big + t_span, o_key * big + t_w, side="right") - 1
    unknown = (pos < 0) | (sk[np.maximum(pos, 0)] != o_key)
    rec_lab[o_rec[~unknown]] = sl[pos[~unknown]]
    lone = np.isin(a_rec, o_rec[unknown]) & orphan
    return rec_lab, a_idx[lone]
