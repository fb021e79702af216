"""Numpy kernels: connected components, hub fan-out, and the constrained pass.

The graph is bipartite: nodes ``0..n-1`` are records, ``n..n+k-1`` are
identifier values (keys); an edge says "record holds key". Its components
are found on the keys alone (each record links its keys to one of them, see
:func:`key_components`, then :func:`record_labels`), by min-label hooking with pointer jumping (every
round hooks each root onto the smallest root it touches and jumps the hooked
roots to their new roots), which is vectorised and needs O(log n) rounds in
practice even on long chains with shuffled labels. Only components that break a per-person limit or hold a
cannot-link pair go through :func:`constrained_pass`, a careful union-find in
priority order that refuses the unions breaking a rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops import _parallel
from autoops._factorize import unique_sorted
from autoops._parallel import chunks, parallel_map, take, take_into

__all__ = [
    "SmallestRecords",
    "blocks",
    "components",
    "constrained_pass",
    "dense",
    "dense_components",
    "fanout",
    "fanout_candidates",
    "fanout_exact",
    "in_type_order",
    "key_components",
    "record_labels",
    "relabel_min",
    "split_labels",
]

I64 = npt.NDArray[np.int64]
#: record rows: 32- or 64-bit (prepare's edges hold 32-bit rows when they fit)
Rows = npt.NDArray[np.integer[Any]]
#: key ids of edges: 32- or 64-bit (prepare's keys are 32-bit when records and keys fit)
Keys = npt.NDArray[np.integer[Any]]
_CHUNK = 1 << 20
#: rows per block of the passes whose temporaries the allocator recycles (not mapped
#: afresh for every call: fresh pages are slow to touch)
SPAN = 1 << 16


def components(n_nodes: int, u: I64, v: I64) -> I64:
    """See :func:`_components`; the labels as int64."""
    return _components(n_nodes, u, v).astype(np.int64, copy=False)


def _components(
    n_nodes: int, u: npt.NDArray[np.integer[Any]], v: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.integer[Any]]:
    """Component label of every node: the smallest node id in its component.

    Min-label hooking with pointer jumping on the roots: each round hooks the
    larger root of every edge that still crosses two trees onto the smaller
    one (``np.minimum.at``), jumps the hooked roots to their new roots, moves
    each edge to the roots of its ends and drops the edges inside one tree.
    Only roots are touched per round; one full compression at the end. The
    work arrays are 32-bit when the node ids fit (half the memory traffic of
    the random accesses); the result is int64.
    """
    idx = np.int32 if n_nodes < 2**31 else np.int64
    parent = np.arange(n_nodes, dtype=idx)
    # each edge as the pair of roots of its ends (every node is its own root at first)
    pu = np.asarray(u, dtype=idx)
    pv = np.asarray(v, dtype=idx)
    while True:
        cross = pu != pv
        if not cross.all():
            pu, pv = np.compress(cross, pu), np.compress(cross, pv)
        if len(pu) == 0:
            break
        hi = np.maximum(pu, pv)
        np.minimum.at(parent, hi, np.minimum(pu, pv))
        # the hooked roots form chains of old roots: jump them to the new roots
        touched = hi
        while True:
            up = parent[touched]
            nxt = parent[up]
            moved = nxt != up
            if not moved.any():
                break
            touched = np.compress(moved, touched)
            parent[touched] = np.compress(moved, nxt)
        # every old root now points at its current root
        pu = parent[pu]
        pv = parent[pv]
    # other nodes may still point at a root hooked later: jump the nodes whose parent is
    # not a root until it is (those only, not every node each round)
    grand = parent[parent]
    below = np.flatnonzero(grand != parent)
    grand = grand[below]
    while len(below):
        parent[below] = grand
        below = np.compress(parent[grand] != grand, below)
        grand = parent[parent[below]]
    return parent


@attrs.frozen(slots=True)
class KeyComponents:
    """Components of a record-key graph on its keys: see :func:`key_components`."""

    anchor: npt.NDArray[np.integer[Any]]  # per record: one key it holds (-1: none yet)
    root: npt.NDArray[np.integer[Any]]  # per key: the smallest key of its component


def key_components(
    n_rec: int,
    n_keys: int,
    rec: Rows,
    key: Keys,
    before: KeyComponents | None = None,
    *,
    reuse: bool = False,
    where: npt.NDArray[np.bool_] | None = None,
) -> KeyComponents:
    """The components of the (record, key) edges on the keys, after those of *before*.

    Each record links every key it holds to one of them (its *anchor*), so
    the graph searched has only the keys as nodes and one edge fewer per
    record than the bipartite graph; :func:`record_labels` then gives records
    their anchor's component, with the labels :func:`components` gives on the
    bipartite graph (the smallest node of each component, a record whenever
    the component has one).

    Adding edges in batches gives the components of all the batches together
    (each root is the smallest key of its component, whatever the batches), so
    independent batches can be found while another thread still decides on the
    rest. :func:`record_labels` turns the result into node labels. With *reuse*,
    *before*'s anchors are updated in place (no copy of a record-sized array) and
    *before* must not be used afterwards. With *where* (a flag per edge), only the
    flagged edges count: ``key_components(n, k, rec, key, where=w)`` equals
    ``key_components(n, k, rec[w], key[w])``, read in blocks (no copy of the edges).

    >>> first = key_components(3, 3, np.array([0, 1]), np.array([0, 1]))
    >>> key_components(3, 3, np.array([2, 2]), np.array([1, 2]), first).root.tolist()
    [0, 1, 1]
    """
    # 32-bit work arrays when the ids fit: half the memory traffic of the random accesses
    idx = np.int32 if n_rec + n_keys < 2**31 else np.int64
    anchor: npt.NDArray[np.integer[Any]]
    if before is None and (where is not None or len(rec) > SPAN):
        anchor = np.full(n_rec, -1, dtype=idx)
        u, v = _first_links(anchor, rec, key, where)
        return KeyComponents(anchor, _components(n_keys, u, v))
    if where is not None:
        rec, key = np.compress(where, rec), np.compress(where, key)
    if before is None:
        anchor = np.full(n_rec, -1, dtype=idx)
        anchor[rec] = key  # any one of the record's keys
    else:
        anchor = before.anchor if reuse else before.anchor.copy()
        free = take(anchor, rec) < 0  # records that have no anchor yet take one here
        anchor[np.compress(free, rec)] = np.compress(free, key)
    a = take(anchor, rec)
    link = a != key
    # np.compress: much faster than boolean indexing on masks without runs
    u, v = np.compress(link, a), np.compress(link, key)
    if before is None:
        return KeyComponents(anchor, _components(n_keys, u, v))
    if len(u) == 0:
        return KeyComponents(anchor, before.root)
    # the new links between the earlier components' roots
    merged = _components(n_keys, take(before.root, u), take(before.root, v))
    return KeyComponents(anchor, take(merged, before.root))


def blocks(n: int) -> list[tuple[int, int]]:
    """``range(n)`` in spans of :data:`SPAN` rows (the last one shorter), in order.

    >>> blocks(3)
    [(0, 3)]
    >>> blocks(SPAN + 1)[-1] == (SPAN, SPAN + 1)
    True
    """
    return [(a, min(a + SPAN, n)) for a in range(0, n, SPAN)]


def _first_links(
    anchor: npt.NDArray[np.integer[Any]],
    rec: Rows,
    key: Keys,
    where: npt.NDArray[np.bool_] | None,
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]]]:
    """The anchors of the edges (*where* flags) written into *anchor* and the links of
    every edge to its record's anchor (those that are not the anchor itself), in edge
    order, in blocks: ``anchor[rec] = key`` then the links of ``anchor[rec] != key``.
    The links fill the start of buffers as long as the edges (the rest is never
    touched, so never faulted in)."""

    def edges(a: int, b: int) -> tuple[Rows, Keys]:
        if where is None:
            return rec[a:b], key[a:b]
        w = where[a:b]
        if int(np.count_nonzero(w)) * 100 >= 99 * len(w):
            # nearly every edge (the common case: few hub candidates): boolean indexing
            # copies the long runs whole, about 2.5x faster here than np.compress
            return rec[a:b][w], key[a:b][w]
        return np.compress(w, rec[a:b]), np.compress(w, key[a:b])

    spans = blocks(len(rec))
    for a, b in spans:  # in edge order: the last key of a record wins, as in one assignment
        r, kk = edges(a, b)
        anchor[r] = kk
    u = np.empty(len(rec), dtype=anchor.dtype)
    v = np.empty(len(rec), dtype=anchor.dtype)
    at = 0
    for a, b in spans:
        # every edge's anchor, the flags applied to the links: no second selection of the
        # flagged edges (the same links, in the same order)
        kk = key[a:b]
        anc = anchor[rec[a:b]]
        link = anc != kk
        if where is not None:
            link &= where[a:b]
        c = int(np.count_nonzero(link))
        np.compress(link, anc, out=u[at : at + c])
        np.compress(link, kk, out=v[at : at + c])
        at += c
    return u[:at], v[:at]


def record_labels(n_rec: int, kc: KeyComponents) -> I64:
    """Node labels (records ``0..n_rec-1``, then keys) of :func:`key_components`' result:
    the smallest node of each component; a key on no edge stays alone.

    >>> kc = key_components(3, 3, np.array([0, 2]), np.array([1, 1]))
    >>> record_labels(3, kc).tolist()
    [0, 1, 0, 3, 0, 5]
    """
    rec_label, _, key_label = _smallest_records(n_rec, kc)
    labels = np.arange(n_rec + len(kc.root), dtype=np.int64)
    labels[:n_rec] = rec_label
    held = key_label < n_rec  # keys on no edge stay alone
    labels[n_rec:][held] = key_label[held]
    return labels


def _smallest_records(
    n_rec: int, kc: KeyComponents
) -> tuple[I64, npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]]]:
    """Per record the smallest record of its component; per key root that smallest
    record (``n_rec`` for the other keys); per key that of its root."""
    rec_label, smallest, held = _record_roots(n_rec, kc)
    if not held:
        return rec_label, smallest, smallest
    for a, b in blocks(n_rec):  # then each anchored record's label: its root's smallest record
        rows = np.flatnonzero(kc.anchor[a:b] >= 0)
        rows += a
        rec_label[rows] = take(smallest, rec_label[rows])
    return rec_label, smallest, take(smallest, kc.root)


def _record_roots(n_rec: int, kc: KeyComponents) -> tuple[I64, npt.NDArray[np.integer[Any]], bool]:
    """Per record its component's root key (its own row when it holds no key), per key
    root the smallest record of its component (``n_rec`` for the other keys), and
    whether any record holds a key."""
    n_keys = len(kc.root)
    anchor, root = kc.anchor, kc.root
    idx = anchor.dtype
    smallest = np.full(n_keys, n_rec, dtype=idx)
    # in blocks of records (temporaries the allocator recycles): each anchored record's
    # root, kept in the labels' buffer, and the smallest record per root
    rec_label = np.arange(n_rec, dtype=np.int64)
    held = False
    for rows, anchors in _anchored(n_rec, anchor):
        held = True
        rec_root = take(root, anchors)
        rec_label[rows] = rec_root
        np.minimum.at(smallest, rec_root, rows.astype(idx))
    return rec_label, smallest, held


def _anchored(n_rec: int, anchor: npt.NDArray[np.integer[Any]]) -> Iterator[tuple[I64, Any]]:
    """Per block of records (:func:`blocks`; temporaries the allocator recycles) that
    holds a key: its records holding one, and their anchor keys."""
    for a, b in blocks(n_rec):
        has = anchor[a:b] >= 0
        rows = np.flatnonzero(has)
        if len(rows):
            rows += a
            yield rows, np.compress(has, anchor[a:b])


def thread_spans(n: int) -> list[tuple[int, int]]:
    """``range(n)`` in one span per thread (:func:`~autoops._parallel.chunks`) when *n*
    is at least a quarter of :data:`autoops._parallel.MIN_ROWS`, else in one span (none
    when *n* is 0): for passes in blocks whose spans can run on the threads.

    >>> thread_spans(0), thread_spans(5)
    ([], [(0, 5)])
    """
    if n == 0:
        return []
    if n < _parallel.MIN_ROWS // 4:
        return [(0, n)]
    return chunks(n)


@attrs.frozen(slots=True)
class SmallestRecords:
    """Per record, the smallest record of its component, read on demand (no array as
    long as the records): a record holding a key reads it through its anchor key, a
    record holding none is its own. See :func:`_dense_components`.

    >>> kc = key_components(3, 3, np.array([0, 2]), np.array([1, 1]))
    >>> smallest = _dense_components(3, kc)[0]
    >>> smallest[np.array([2, 1])].tolist(), smallest.all().tolist()
    ([0, 1], [0, 1, 0])
    """

    anchor: npt.NDArray[np.integer[Any]]  # per record: one key it holds (-1: none)
    key_label: npt.NDArray[np.integer[Any]]  # per key: its component's smallest record

    def __getitem__(self, rows: I64) -> I64:
        """The smallest record of each of *rows*' components."""
        out: I64 = np.array(rows, dtype=np.int64)
        anchors = self.anchor[out]
        has = anchors >= 0
        out[has] = self.key_label[anchors[has]]
        return out

    def all(self) -> I64:
        """The smallest record of every record's component (a new array), in blocks."""
        n_rec = len(self.anchor)
        out = np.arange(n_rec, dtype=np.int64)
        for rows, anchors in _anchored(n_rec, self.anchor):
            out[rows] = take(self.key_label, anchors)
        return out


def dense_components(n_rec: int, kc: KeyComponents) -> tuple[I64, I64, int]:
    """The record part of :func:`record_labels` and ``dense`` of all of it, in one go.

    Returns ``(record labels, dense component of every node, number of components)``;
    components are numbered in the order of their smallest node, as :func:`dense`
    numbers :func:`record_labels`: those holding records by their smallest record,
    then the keys on no edge in key order.

    >>> kc = key_components(3, 3, np.array([0, 2]), np.array([1, 1]))
    >>> lab, comp, c = dense_components(3, kc)
    >>> lab.tolist(), comp.tolist(), c
    ([0, 1, 0], [0, 1, 0, 2, 0, 3], 4)
    """
    smallest, rec_comp, key_comp, n_comp, _ = _dense_components(n_rec, kc)
    comp: I64 = np.concatenate([rec_comp, key_comp])
    return smallest.all(), comp, n_comp


def _dense_components(
    n_rec: int, kc: KeyComponents
) -> tuple[SmallestRecords, I64, npt.NDArray[np.integer[Any]], int, npt.NDArray[np.integer[Any]]]:
    """:func:`dense_components` as its parts: the records' smallest records (read on
    demand), the dense components of the records and of the keys (two arrays; the
    keys' in 32 bits when the records and keys together fit), their number, and the
    rank table of the records (per record, the number of components
    whose smallest record is at or below it, minus one), as :func:`split_labels`
    takes them.

    The component number and the smallest record of every key are found first (per
    key: the keys are fewer than the records); the component number is the same for
    every key of a component, so each record that holds a key reads it through its
    anchor in one random access (not through its root: no record-long pass gathering
    the roots). The smallest record of each component is the smallest of its keys'
    smallest anchored records. The rank table, as long as the records, is read in
    order only (a record holding no key is its own component). The records' smallest
    records are not written out (session 14: an array as long as the records, fresh
    memory on every call, of which the caller reads a few).
    """
    n_keys = len(kc.root)
    anchor, root = kc.anchor, kc.root
    idx = anchor.dtype
    # per key, the smallest record anchored to it (n_rec: none), in blocks of records
    # (temporaries the allocator recycles)
    by_anchor = np.full(n_keys, n_rec, dtype=idx)
    held = False
    for rows, anchors in _anchored(n_rec, anchor):
        held = True
        np.minimum.at(by_anchor, anchors, rows.astype(idx))
    # per root, the smallest record of its component (n_rec for the other keys)
    smallest = by_anchor
    if held:
        smallest = np.full(n_keys, n_rec, dtype=idx)
        np.minimum.at(smallest, root, by_anchor)
    key_label = smallest
    if held:
        # per key its component's smallest record, into by_anchor's buffer (read by
        # then), in spans on the threads: no fresh pages late in a call, where they are
        # dearest (see docs/identity/performance-log.md, session 16)
        key_label = by_anchor

        def label_span(span: tuple[int, int]) -> None:
            take_into(smallest, root[span[0] : span[1]], key_label[span[0] : span[1]])

        parallel_map(label_span, thread_spans(n_keys))
    del by_anchor
    # the records that are the smallest of their component: lone ones and the roots' smallest
    first = anchor < 0  # a comparison, not a masked write
    first[smallest[smallest < n_rec]] = True
    rank = _rank(first, np.int32 if n_rec < 2**31 else np.int64)
    del first
    n_rc = int(rank[-1]) + 1 if n_rec else 0
    comp = np.empty(n_rec, dtype=np.int64)
    # the keys' numbers in 32 bits when they fit (each is below n_rec + n_keys): half the
    # table the records read at random, and half its fresh pages
    key_comp = np.empty(n_keys, dtype=np.int32 if n_rec + n_keys < 2**31 else np.int64)

    def key_span(span: tuple[int, int]) -> None:
        """Every key's component number through the rank table (a key on no edge reads
        the last record's rank here and is numbered below; no masked gather and write)."""
        for a in range(span[0], span[1], SPAN):
            b = min(a + SPAN, span[1])
            key_comp[a:b] = rank[np.minimum(key_label[a:b], n_rec - 1)]

    def record_span(span: tuple[int, int]) -> None:
        for a in range(span[0], span[1], SPAN):
            b = min(a + SPAN, span[1])
            out_comp = comp[a:b]
            out_comp[:] = rank[a:b]  # a record holding no key: its own rank
            if not held:
                continue
            has = anchor[a:b] >= 0
            rows = np.flatnonzero(has)
            if len(rows):
                out_comp[rows] = key_comp[np.compress(has, anchor[a:b])]

    # in spans of keys, then of records, on the threads (they write apart)
    if n_rec:
        parallel_map(key_span, thread_spans(n_keys))
    parallel_map(record_span, thread_spans(n_rec))
    lone = np.flatnonzero(key_label >= n_rec)
    key_comp[lone] = n_rc + np.arange(len(lone))
    return SmallestRecords(anchor, key_label), comp, key_comp, n_rc + len(lone), rank


def _rank(first: npt.NDArray[np.bool_], dtype: type[np.signedinteger[Any]]) -> npt.NDArray[Any]:
    """``np.cumsum(first, dtype=dtype) - 1``, in blocks, each thread's span (see
    :func:`thread_spans`) from the count of the flags before it (the flags cast in
    blocks first: numpy holds the GIL through a cumulative sum that casts).

    >>> _rank(np.array([True, False, True]), np.int32).tolist()
    [0, 0, 1]
    """
    rank = np.empty(len(first), dtype=dtype)
    spans = thread_spans(len(first))
    before = np.cumsum([0] + [int(np.count_nonzero(first[a:b])) for a, b in spans[:-1]])

    def span_sum(i: int) -> None:
        at = int(before[i]) - 1
        for a in range(spans[i][0], spans[i][1], SPAN):
            part = rank[a : min(a + SPAN, spans[i][1])]
            np.cumsum(first[a : a + len(part)].astype(dtype), out=part)
            part += at
            at = int(part[-1])

    parallel_map(span_sum, range(len(spans)))
    return rank


def split_labels(
    rec_label: I64 | SmallestRecords,
    comp: I64,
    rank: npt.NDArray[np.integer[Any]],
    moved: I64,
    new_label: I64,
    *,
    out: I64 | None = None,
) -> I64:
    """``dense(rec_label after rec_label[moved] = new_label, n)[0]`` from the dense
    component numbers, without a pass of marks and ranks over every record.

    *rec_label*, *comp* and *rank* are :func:`_dense_components`' record labels (the
    smallest record of each component: an array or :class:`SmallestRecords`, read at
    *moved* and *new_label* only), record components and rank table; *moved*
    are the records of some components (sorted, all the records of each) and
    *new_label* their new labels: the smallest record of the part of their
    component they now belong to. A part holding its component's smallest record
    keeps that label, so the new labels are the old ones plus the *added* smallest
    records of the other parts: an unchanged component ``c`` moves up by the added
    labels below its own, and a moved record is numbered by the old and added
    labels below its new one. *out* (int64, as long as *comp*; may be *comp* itself or
    an array *rec_label*, each read before it is written) receives the labels instead
    of a new array.

    >>> kc = key_components(4, 2, np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1]))
    >>> smallest, comp, _, _, rank = _dense_components(4, kc)
    >>> smallest.all().tolist(), comp.tolist()
    ([0, 0, 2, 2], [0, 0, 1, 1])
    >>> split_labels(smallest, comp, rank, np.array([0, 1]), np.array([0, 1])).tolist()
    [0, 1, 2, 2]
    """
    n_rc = int(rank[-1]) + 1 if len(rank) else 0
    added = np.unique(np.compress(new_label != rec_label[moved], new_label))
    # per component: the added labels below its smallest record (never equal: an added
    # label is a record that was not the smallest of its component)
    # (in place: the counts' own array, no more arrays as long as the components, late in
    # a call, when fresh pages are dearest: the cumulative sum of below + 1, less 1, is
    # the cumulative sum of below plus the component's number)
    shift = np.bincount(take(rank, added) + 1, minlength=n_rc + 1)[:n_rc]
    shift += 1
    np.cumsum(shift, out=shift)
    shift -= 1
    # moved records: old labels strictly below theirs plus added labels strictly below
    at = rank[new_label].astype(np.int64) + 1
    at -= rec_label[new_label] == new_label  # the new label is an old one: not below itself
    at += np.searchsorted(added, new_label)
    if out is None:
        label: I64 = take(shift, comp)
    else:  # into a buffer the caller no longer needs: no fresh pages to fault in

        def span_labels(span: tuple[int, int]) -> None:
            # in blocks (a block's gather is complete before it is written: out may be
            # comp itself)
            for a in range(span[0], span[1], SPAN):
                b = min(a + SPAN, span[1])
                out[a:b] = shift[comp[a:b]]

        label = out
        parallel_map(span_labels, chunks(len(comp)))
    label[moved] = at
    return label


def dense(labels: I64, n_labels: int) -> tuple[I64, int]:
    """Dense ``0..c-1`` labels (in order of the label value) without sorting."""
    mark = np.zeros(n_labels, dtype=bool)
    mark[labels] = True
    rank = np.cumsum(mark, dtype=np.int32 if n_labels < 2**31 else np.int64)
    rank -= 1
    count = int(rank[-1]) + 1 if n_labels else 0
    return take(rank, labels).astype(np.int64, copy=False), count


def relabel_min(labels: I64) -> I64:
    """Dense 0..c-1 labels ordered by each component's smallest label."""
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


def fanout(
    rec: Rows,
    key: Keys,
    edge_type: npt.NDArray[np.int16],
    n_types: int,
    person_types: Sequence[int],
    n_keys: int,
    threshold: I64 | None = None,
    *,
    key_type: npt.NDArray[np.integer[Any]] | None = None,
) -> I64:
    """Per key: the most distinct keys of any one *other* person type it co-occurs with.

    Two keys co-occur when one record holds both. A key whose records hold
    at most ``threshold[key]`` keys of each other type cannot exceed that
    threshold, so only keys with more are computed (the others get 0): a
    sort-free count per (key, other type) selects them
    (:func:`fanout_candidates`), and their records' other keys are then joined
    exactly (:func:`fanout_exact`).
    *key_type*, the type of every key when the caller has it, saves finding it.

    >>> rec, key = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 2, 3])
    >>> fanout(rec, key, np.array([0, 1, 0, 1, 1], dtype=np.int16), 2, [0, 1], 4).tolist()
    [2, 1, 1, 0]
    """
    if key_type is None:
        key_type = np.zeros(n_keys, dtype=np.int64)
        key_type[key] = edge_type
    cand = fanout_candidates(rec, key, edge_type, n_types, person_types, n_keys, threshold,
                             key_type=key_type)  # fmt: skip
    return fanout_exact(rec, key, edge_type, n_types, person_types, cand, key_type)


def fanout_candidates(
    rec: Rows,
    key: Keys,
    edge_type: npt.NDArray[np.int16],
    n_types: int,
    person_types: Sequence[int],
    n_keys: int,
    threshold: I64 | None,
    *,
    key_type: npt.NDArray[np.integer[Any]],
    n_rec: int | None = None,
) -> npt.NDArray[np.bool_]:
    """The keys whose :func:`fanout` can exceed *threshold* (None: 0).

    An upper bound per key, its records holding a key of one other person
    type (one ``bincount`` per type, the types on several threads), against
    the threshold. A key outside the result has a fan-out of at most its
    threshold, so it is never a hub. *n_rec*, more than the largest record when the
    caller knows it, saves finding it.

    >>> rec, key = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 2, 3])
    >>> kt = np.array([0, 1, 1, 1])
    >>> fanout_candidates(rec, key, kt[key].astype(np.int16), 2, [0, 1], 4, None,
    ...                   key_type=kt).tolist()
    [True, True, True, False]
    """
    if len(rec) == 0:
        return np.zeros(n_keys, dtype=bool)
    if n_rec is None:
        n_rec = int(rec.max()) + 1
    held = np.zeros(n_types, dtype=bool)
    held[key_type] = True

    def bound_of(t: int) -> I64 | None:
        of_t = edge_type == t
        holds = np.zeros(n_rec, dtype=bool)
        holds[np.compress(of_t, rec)] = True
        if not holds.any():
            return None
        other = holds[rec]
        other &= ~of_t
        counts: I64 = np.bincount(np.compress(other, key), minlength=n_keys)
        return counts

    types = [int(t) for t in person_types if held[t]]
    if in_type_order(edge_type) and in_type_order(key_type):
        bound = _bound_by_spans(rec, key, edge_type, n_types, types, key_type, n_rec)
    else:
        bounds = [b for b in parallel_map(bound_of, types) if b is not None]
        bound = bounds[0] if bounds else np.zeros(n_keys, dtype=np.int64)
        for more in bounds[1:]:
            np.maximum(bound, more, out=bound)
    cand: npt.NDArray[np.bool_] = bound > (0 if threshold is None else threshold)
    return cand


def in_type_order(types: npt.NDArray[np.integer[Any]]) -> bool:
    """Whether *types* never decrease (edges and keys come by type from prepare).

    >>> in_type_order(np.array([0, 0, 2])), in_type_order(np.array([1, 0]))
    (True, False)
    """
    return len(types) < 2 or bool((types[1:] >= types[:-1]).all())


def _bound_by_spans(
    rec: Rows,
    key: Keys,
    edge_type: npt.NDArray[np.integer[Any]],
    n_types: int,
    types: Sequence[int],
    key_type: npt.NDArray[np.integer[Any]],
    n_rec: int,
) -> I64:
    """:func:`fanout_candidates`' bound when the edges and the keys come by type: the
    edges of type *u* hold exactly the keys of type *u*, a span of keys, so each holding
    type's records are marked from its span of edges, and each other type's span of edges
    is counted into its span of keys (no edge-long type comparisons, smaller counts).
    The counts per key are the same, so the bound is too."""
    e_at = np.searchsorted(edge_type, np.arange(n_types + 1, dtype=edge_type.dtype)).tolist()
    k_at = np.searchsorted(key_type, np.arange(n_types + 1, dtype=key_type.dtype)).tolist()

    def counts_of(t: int) -> list[tuple[int, I64]]:
        """Per other type u: how many of its keys' edges lie on records holding type t."""
        if e_at[t + 1] == e_at[t]:
            return []
        holds = np.zeros(n_rec, dtype=bool)
        holds[rec[e_at[t] : e_at[t + 1]]] = True
        out = []
        for u in range(n_types):
            a, b = e_at[u], e_at[u + 1]
            if u == t or a == b:
                continue
            of_u = np.compress(holds[rec[a:b]], key[a:b])
            of_u -= k_at[u]
            out.append((u, np.bincount(of_u, minlength=k_at[u + 1] - k_at[u])))
        return out

    bound = np.zeros(len(key_type), dtype=np.int64)
    for parts in parallel_map(counts_of, types):
        for u, counts in parts:
            span = bound[k_at[u] : k_at[u + 1]]
            np.maximum(span, counts, out=span)
    return bound


def fanout_exact(
    rec: Rows,
    key: Keys,
    edge_type: npt.NDArray[np.int16],
    n_types: int,
    person_types: Sequence[int],
    cand: npt.NDArray[np.bool_],
    key_type: npt.NDArray[np.integer[Any]],
    *,
    n_rec: int | None = None,
) -> I64:
    """:func:`fanout` of the keys in *cand* (the others get 0), by joining their records'
    other keys. *n_rec* as in :func:`fanout_candidates`.

    >>> rec, key = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 2, 3])
    >>> kt = np.array([0, 1, 1, 1])
    >>> fanout_exact(rec, key, kt[key].astype(np.int16), 2, [0, 1],
    ...              np.array([True, False, False, False]), kt).tolist()
    [2, 0, 0, 0]
    """
    n_keys = len(cand)
    result = np.zeros(n_keys, dtype=np.int64)
    if len(rec) == 0 or not cand.any():
        return result
    if n_rec is None:
        n_rec = int(rec.max()) + 1
    c_edge = np.flatnonzero(cand[key])
    if len(c_edge) == 0:  # no candidate on an edge: nothing co-occurs
        return result
    # the records of candidate keys, numbered compactly, with their key of each person type
    is_held = np.zeros(n_rec, dtype=bool)
    is_held[rec[c_edge]] = True
    held_rec = np.flatnonzero(is_held)
    rec_no = np.full(n_rec, -1, dtype=np.int32 if n_rec < 2**31 else np.int64)
    rec_no[held_rec] = np.arange(len(held_rec))
    o_edge = np.flatnonzero(take(is_held, rec))
    present_types = np.zeros(n_types, dtype=bool)
    present_types[edge_type[o_edge]] = True
    cols = [int(t) for t in person_types if present_types[t]]
    col_of = np.full(n_types, -1, dtype=np.int64)
    col_of[cols] = np.arange(len(cols))
    o_edge = o_edge[col_of[edge_type[o_edge]] >= 0]
    matrix = np.full((len(held_rec), max(len(cols), 1)), -1, dtype=np.int64)
    matrix[rec_no[rec[o_edge]], col_of[edge_type[o_edge]]] = key[o_edge]
    col_type = np.array(cols if cols else [-1], dtype=np.int64)
    own_parts, other_parts = [], []
    for lo in range(0, len(c_edge), _CHUNK):
        ce = c_edge[lo : lo + _CHUNK]
        owner = key[ce]
        other = matrix[rec_no[rec[ce]]]  # (edges, person types)
        keep = (other >= 0) & (col_type[None, :] != key_type[owner][:, None])
        own_parts.append(np.broadcast_to(owner[:, None], other.shape)[keep])
        other_parts.append(other[keep])
    p_own = np.concatenate(own_parts)
    p_other = np.concatenate(other_parts)
    # the distinct other keys per (candidate, type): a group whose pairs all name one key
    # holds 1, a group of two pairs naming two keys 2 (min, max and a count per group);
    # only the other groups' pairs are deduplicated, by one np.sort (numpy's vectorised
    # sort of 64-bit integers: several times faster than a hash table in numpy)
    cand_key = np.flatnonzero(cand)
    cand_no = np.zeros(n_keys, dtype=np.int64)
    cand_no[cand_key] = np.arange(len(cand_key))
    n_groups = len(cand_key) * n_types
    group = cand_no[p_own] * n_types + key_type[p_other]
    n_pairs = np.bincount(group, minlength=n_groups)
    lo_key = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lo_key, group, p_other)
    hi_key = np.full(n_groups, -1, dtype=np.int64)
    np.maximum.at(hi_key, group, p_other)
    one = lo_key == hi_key  # (False for the groups without pairs: counted 0)
    counts = np.where(one, 1, np.minimum(n_pairs, 2))
    rest = ~one & (n_pairs > 2)
    if rest.any():
        sel = take(rest, group)
        pairs = np.compress(sel, p_own) * np.int64(n_keys) + np.compress(sel, p_other)
        distinct_i = unique_sorted(pairs)
        d_group = cand_no[distinct_i // n_keys] * n_types + key_type[distinct_i % n_keys]
        counts[rest] = np.bincount(d_group, minlength=n_groups)[rest]
    result[cand_key] = counts.reshape(len(cand_key), n_types).max(axis=1)
    return result


def constrained_pass(
    rec: Rows,
    key: Keys,
    order: I64,
    key_type: npt.NDArray[np.int16],
    limits: Mapping[int, int],
    cannot: Mapping[int, frozenset[int]],
    n_nodes: int,
    n_rec: int,
    windows: Mapping[int, int] | None = None,
    key_time: I64 | None = None,
) -> npt.NDArray[np.bool_]:
    """Union-find over the given edges in ``order``; returns which edges were accepted.

    An edge (record, key) is refused when joining the two sets would give a
    set more distinct keys of a type than ``limits[type]``, or put two keys
    listed in ``cannot`` together. A type listed in *windows* (microseconds)
    breaks its limit only when more than ``limit`` of its keys have first-seen
    times (``key_time``) within one window. Runs in Python: call it only on
    the few components that need it.
    """
    windows = windows or {}

    def exceeds(t: int, keys: set[int], limit: int) -> bool:
        if len(keys) <= limit:
            return False
        w = windows.get(t)
        if w is None or key_time is None:
            return True
        times = sorted(int(key_time[k - n_rec]) for k in keys)
        return any(times[i + limit] - times[i] < w for i in range(len(times) - limit))

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
            if limit is not None and t in a and exceeds(t, a[t] | keys, limit):
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
