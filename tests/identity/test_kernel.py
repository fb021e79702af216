"""The vectorised components kernel and resolve() without protections vs networkx."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops import _parallel
from autoops.identity import MergeRules, _kernel, resolve
from autoops.identity._kernel import (
    components,
    dense,
    dense_components,
    fanout,
    fanout_candidates,
    fanout_exact,
    key_components,
    record_labels,
)


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def _nx_partition(n: int, u: list[int], v: list[int]) -> set[frozenset[int]]:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(u, v, strict=True))
    return {frozenset(c) for c in nx.connected_components(g)}


edges = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
    )
)


@settings(max_examples=500, deadline=None)
@given(edges)
def test_components_equal_networkx(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, pairs = case
    u = [a for a, _ in pairs]
    v = [b for _, b in pairs]
    labels = components(n, np.array(u, dtype=np.int64), np.array(v, dtype=np.int64))
    assert _partition(labels) == _nx_partition(n, u, v)
    # the label is the smallest node of the component
    for comp in _partition(labels):
        assert {int(labels[i]) for i in comp} == {min(comp)}


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 3000), st.integers(0, 2**32 - 1))
def test_long_shuffled_chain_is_one_component(n: int, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    labels = components(n + 5, perm[:-1], perm[1:])  # 5 isolated nodes at the end
    assert len(set(labels[:n].tolist())) == 1
    assert labels[n:].tolist() == list(range(n, n + 5))


records = st.integers(1, 25).flatmap(
    lambda n: st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 12)),
            st.one_of(st.none(), st.integers(0, 12)),
            st.one_of(st.none(), st.integers(0, 12)),
        ),
        min_size=n,
        max_size=n,
    )
)


def _table(rows: list[tuple[int | None, int | None, int | None]]) -> dict[str, list[str | None]]:
    cols = ("crm_id", "app_user_id", "device_id")
    return {
        c: [None if r[i] is None else f"{c[:3]}{r[i]:03d}" for r in rows]
        for i, c in enumerate(cols)
    }


@settings(max_examples=600, deadline=None)
@given(records)
def test_unprotected_resolve_equals_networkx(rows: list[tuple[int | None, ...]]) -> None:
    table = _table(rows)  # type: ignore[arg-type]
    res = resolve(table, MergeRules.unprotected())
    g = nx.Graph()
    g.add_nodes_from(range(len(rows)))
    for col, values in table.items():
        for i, value in enumerate(values):
            if value is not None:
                g.add_edge(i, (col, value))
    expected = {
        frozenset(x for x in comp if isinstance(x, int)) for comp in nx.connected_components(g)
    }
    expected.discard(frozenset())
    assert _partition(res.one_id) == expected


@settings(max_examples=150, deadline=None)
@given(records, st.integers(0, 2**32 - 1))
def test_permuting_rows_keeps_partition_and_ids(
    rows: list[tuple[int | None, ...]], seed: int
) -> None:
    table = _table(rows)  # type: ignore[arg-type]
    n = len(rows)
    ids = list(range(100, 100 + n))
    perm = np.random.default_rng(seed).permutation(n).tolist()
    base = resolve({"record_id": ids, **table})
    shuffled = resolve(
        {"record_id": [ids[i] for i in perm], **{c: [v[i] for i in perm] for c, v in table.items()}}
    )
    by_id = dict(zip(shuffled.record_id.tolist(), shuffled.one_id.tolist(), strict=True))
    assert [by_id[i] for i in ids] == base.one_id.tolist()


bipartite = st.tuples(st.integers(1, 30), st.integers(1, 30)).flatmap(
    lambda nk: st.tuples(
        st.just(nk),
        st.lists(st.tuples(st.integers(0, nk[0] - 1), st.integers(0, nk[1] - 1)), max_size=80),
    )
)


@settings(max_examples=500, deadline=None)
@given(bipartite)
def test_key_components_label_like_components(
    case: tuple[tuple[int, int], list[tuple[int, int]]],
) -> None:
    (n, k), pairs = case
    rec = np.array([r for r, _ in pairs], dtype=np.int64)
    key = np.array([x for _, x in pairs], dtype=np.int64)
    expected = components(n + k, rec, key + n)
    assert record_labels(n, key_components(n, k, rec, key)).tolist() == expected.tolist()


@settings(max_examples=500, deadline=None)
@given(bipartite, st.lists(st.booleans(), max_size=80))
def test_key_components_in_two_batches_equal_one(
    case: tuple[tuple[int, int], list[tuple[int, int]]], later: list[bool]
) -> None:
    """Edges found in two batches (as solve does around the hub counts) label like one batch."""
    (n, k), pairs = case
    rec = np.array([r for r, _ in pairs], dtype=np.int64)
    key = np.array([x for _, x in pairs], dtype=np.int64)
    second = np.zeros(len(pairs), dtype=bool)
    second[: len(later)] = later[: len(pairs)]
    first = key_components(n, k, rec[~second], key[~second])
    both = key_components(n, k, rec[second], key[second], first)
    one = record_labels(n, key_components(n, k, rec, key)).tolist()
    assert record_labels(n, both).tolist() == one
    # the second batch updating the first's arrays in place (as solve does) labels alike
    first = key_components(n, k, rec[~second], key[~second])
    reused = key_components(n, k, rec[second], key[second], first, reuse=True)
    assert record_labels(n, reused).tolist() == one


@settings(max_examples=300, deadline=None)
@given(bipartite, st.lists(st.booleans(), max_size=80), st.sampled_from([1, 3, 1 << 16]))
def test_key_components_where_equals_the_selected_edges(
    case: tuple[tuple[int, int], list[tuple[int, int]]], flags: list[bool], span: int
) -> None:
    """``where=`` (read in blocks of *span* edges) gives the arrays of the selected edges."""
    (n, k), pairs = case
    rec = np.array([r for r, _ in pairs], dtype=np.int64)
    key = np.array([x for _, x in pairs], dtype=np.int64)
    where = np.zeros(len(pairs), dtype=bool)
    where[: len(flags)] = flags[: len(pairs)]
    expected = key_components(n, k, rec[where], key[where])
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "SPAN", span)
        got = key_components(n, k, rec, key, where=where)
        every = key_components(n, k, rec, key)
    assert got.anchor.tolist() == expected.anchor.tolist()
    assert got.root.tolist() == expected.root.tolist()
    assert every.anchor.tolist() == key_components(n, k, rec, key).anchor.tolist()
    assert every.root.tolist() == key_components(n, k, rec, key).root.tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 15), st.integers(0, 3), st.integers(0, 4)), max_size=60),
    st.integers(0, 3),
)
def test_fanout_counts_exactly_the_candidates(
    rows: list[tuple[int, int, int]], threshold: int
) -> None:
    """fanout_candidates never misses a key whose fan-out passes the threshold, and
    fanout_exact gives those keys the brute-force fan-out."""
    # one key per (record, type), as prepare lays the edges out
    pairs = sorted({(r, t): (r, t, t * 5 + v) for r, t, v in rows}.values())
    rec = np.array([p[0] for p in pairs], dtype=np.int64)
    key = np.array([p[2] for p in pairs], dtype=np.int64)
    key_type = np.arange(20, dtype=np.int64) // 5
    etype = key_type[key].astype(np.int16)
    thr = np.full(20, threshold, dtype=np.int64)
    cand = fanout_candidates(rec, key, etype, 4, [0, 1, 2, 3], 20, thr, key_type=key_type)
    exact = fanout_exact(rec, key, etype, 4, [0, 1, 2, 3], cand, key_type)
    brute = np.zeros(20, dtype=np.int64)
    for x in range(20):
        recs = {r for r, _, kk in pairs if kk == x}
        per_type: dict[int, set[int]] = {}
        for r, t, kk in pairs:
            if r in recs and t != key_type[x]:
                per_type.setdefault(t, set()).add(kk)
        brute[x] = max((len(s) for s in per_type.values()), default=0)
    assert ((brute > thr) <= cand).all()
    np.testing.assert_array_equal(exact[cand], brute[cand])
    assert (exact[~cand] == 0).all()
    full = fanout(rec, key, etype, 4, [0, 1, 2, 3], 20, thr, key_type=key_type)
    np.testing.assert_array_equal(full, exact)
    # the record count given (as solve gives it, more than the largest record) changes nothing
    wide = fanout_candidates(rec, key, etype, 4, [0, 1, 2, 3], 20, thr, key_type=key_type,
                             n_rec=20)  # fmt: skip
    np.testing.assert_array_equal(wide, cand)
    np.testing.assert_array_equal(
        fanout_exact(rec, key, etype, 4, [0, 1, 2, 3], cand, key_type, n_rec=20), exact
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 3), st.integers(0, 3)), max_size=60),
       st.lists(st.integers(0, 3), min_size=4, max_size=4),
       st.sets(st.integers(0, 3), min_size=1))  # fmt: skip
def test_fanout_bound_by_type_spans_equals_the_general_one(
    rows: list[tuple[int, int, int]], thresholds: list[int], person: set[int]
) -> None:
    """Edges and keys by type (as prepare lays them out) take the span path; the same
    edges in another order the general one: the same candidates."""
    pairs = sorted({(t, r, t * 4 + v) for r, t, v in rows})  # by type, then record
    key_type = np.arange(16, dtype=np.int16) // 4
    thr = np.array(thresholds, dtype=np.int64)[key_type]
    rec = np.array([p[1] for p in pairs], dtype=np.int64)
    key = np.array([p[2] for p in pairs], dtype=np.int64)
    etype = key_type[key].astype(np.int16)
    types = sorted(person)
    by_span = fanout_candidates(rec, key, etype, 4, types, 16, thr, key_type=key_type, n_rec=13)
    back = np.arange(len(pairs))[::-1]
    general = fanout_candidates(rec[back], key[back], etype[back], 4, types, 16, thr,
                                key_type=key_type, n_rec=13)  # fmt: skip
    np.testing.assert_array_equal(by_span, general)


@settings(max_examples=300, deadline=None)
@given(bipartite, st.sampled_from([1, 4, 1 << 16]), st.sampled_from([1, 3]))
def test_dense_components_equal_dense_of_the_labels(
    case: tuple[tuple[int, int], list[tuple[int, int]]], span: int, threads: int
) -> None:
    (n, k), pairs = case
    rec = np.array([r for r, _ in pairs], dtype=np.int64)
    key = np.array([x for _, x in pairs], dtype=np.int64)
    kc = key_components(n, k, rec, key)
    labels = record_labels(n, kc)
    expected, count = dense(labels, n + k)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "SPAN", span)  # blocks of records: 1, 4 or all
        # spans of records and keys on three threads (thread_spans splits from 1 row)
        m.setattr(_parallel, "MIN_ROWS", 4 if threads > 1 else _parallel.MIN_ROWS)
        m.setenv("AUTOOPS_THREADS", str(threads))
        rec_label, comp, n_comp = dense_components(n, kc)
    assert rec_label.tolist() == labels[:n].tolist()
    assert comp.tolist() == expected.tolist()
    assert comp.dtype == np.int64  # (the keys' part is numbered in 32 bits inside)
    assert n_comp == count


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=40),
       st.booleans())  # fmt: skip
def test_one_ids_same_time_fast_path(rows: list[tuple[int, int]], constant: bool) -> None:
    """Skipping the oldest-time search when every record has one time changes no id."""
    from autoops.identity._solve import one_ids_from

    label = np.unique([r[0] for r in rows], return_inverse=True)[1].astype(np.int64)
    ts = np.full(len(rows), 7, dtype=np.int64) if constant else np.array([r[1] for r in rows])
    tok = np.arange(len(rows), 0, -1).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    general = one_ids_from(label, ts, tok, same_time=False)
    np.testing.assert_array_equal(one_ids_from(label, ts, tok), general)
    # brute force: per cluster the smallest token among its records of the oldest time
    oldest = {lab: min(int(t) for t, g in zip(ts, label, strict=True) if g == lab)
              for lab in set(label.tolist())}  # fmt: skip
    smallest = {lab: min(int(x) for x, t, g in zip(tok, ts, label, strict=True)
                         if g == lab and t == oldest[lab])
                for lab in oldest}  # fmt: skip
    same = [smallest[a] == smallest[b] for a in label.tolist() for b in label.tolist()]
    assert same == [a == b for a in general.tolist() for b in general.tolist()]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "SPAN", 3)  # the oldest-time search in blocks of 3 records
        np.testing.assert_array_equal(one_ids_from(label, ts, tok, same_time=False), general)
    if constant:
        np.testing.assert_array_equal(one_ids_from(label, ts, tok, same_time=True), general)


@pytest.mark.parametrize("span", [3, 1 << 16])
@pytest.mark.parametrize("times", ["constant", "none", "varied"])
def test_key_first_seen_with_or_without_times(
    times: str, span: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first-seen time of every key is the minimum over its records (fast path when
    every record has the same time), read in blocks of *span* edges."""
    from autoops.identity._normalize import Status

    monkeypatch.setattr(_kernel, "SPAN", span)
    n = 40
    table: dict[str, Any] = {
        "record_id": list(range(n)),
        "phone": [f"1380013{i % 7:04d}" if i % 11 else "12345" for i in range(n)],
        "device_id": [f"d{i % 5}" if i % 3 else None for i in range(n)],
    }
    if times == "constant":
        table["ts"] = np.full(n, np.datetime64("2026-01-01T00:00:00", "us"))
    elif times == "varied":
        table["ts"] = np.datetime64("2026-01-01T00:00:00", "us") + np.arange(n)[::-1] * 1000
    res = resolve(table)
    prep, sol = res._prep, res._sol
    ok = sol.e_key >= 0
    assert not ok.all()  # an invalid phone: the usable edges are a selection
    expected = np.full(len(sol.key_tok), np.iinfo(np.int64).max, dtype=np.int64)
    for e in np.flatnonzero(ok).tolist():
        key = int(sol.e_key[e])
        expected[key] = min(int(expected[key]), int(prep.ts[prep.e_rec[e]]))
    assert (prep.e_status[ok] == Status.OK).all()
    np.testing.assert_array_equal(sol.key_first, expected)
    # one time for every record: broadcast over the keys, no array written
    assert sol.key_first.flags.writeable == (times == "varied")


@settings(max_examples=300, deadline=None)
@given(bipartite, st.lists(st.integers(0, 3), max_size=40), st.integers(0, 2**32 - 1))
def test_split_labels_equal_dense_after_the_split(
    case: tuple[tuple[int, int], list[tuple[int, int]]], split: list[int], seed: int
) -> None:
    """Components split into parts (as the constrained pass splits them) are numbered
    exactly as ``dense`` numbers the records' new smallest-record labels."""
    from autoops.identity._kernel import _dense_components, split_labels

    (n, k), pairs = case
    rec = np.array([r for r, _ in pairs], dtype=np.int64)
    key = np.array([x for _, x in pairs], dtype=np.int64)
    smallest_rec, comp, _, _, rank = _dense_components(n, key_components(n, k, rec, key))
    rec_label = smallest_rec.all()
    # the smallest records read on demand are those of the whole array
    some = np.arange(n)[::2]
    assert smallest_rec[some].tolist() == rec_label[some].tolist()
    # split some components: each of their records joins part 0..3 of its component
    rng = np.random.default_rng(seed)
    chosen = rng.random(int(comp.max()) + 1) < 0.5
    moved = np.flatnonzero(chosen[comp])
    part = np.zeros(n, dtype=np.int64)
    part[: len(split)] = split[:n]
    group = comp[moved] * 4 + part[moved]
    smallest = {}
    for r, g in zip(moved.tolist(), group.tolist(), strict=True):
        smallest.setdefault(g, r)  # moved is sorted: the first record is the smallest
    new_label = np.array([smallest[g] for g in group.tolist()], dtype=np.int64)
    after = rec_label.copy()
    after[moved] = new_label
    expected, _ = dense(after, n)
    got = split_labels(rec_label, comp, rank, moved, new_label)
    assert got.dtype == expected.dtype
    assert got.tolist() == expected.tolist()
    # read on demand, and written over the components themselves (as solve does), in
    # blocks of 3 records
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernel, "SPAN", 3)
        over = comp.copy()
        assert split_labels(smallest_rec, over, rank, moved, new_label, out=over) is over
    assert over.tolist() == expected.tolist()
