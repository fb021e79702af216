"""IdentityGraph: the persistent One ID state with merges, splits and forgetting.

Every operation re-solves only the *affected* records: the records it adds or
changes, every record sharing an identifier with them, and the closure of
those over usable links (so whole components, VIN owners included). Known hubs
outside that set keep their status, hubs entirely inside it are recomputed.
The result equals a from-scratch solve of all records (tested), at a cost that
follows the affected clusters, not the graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import short_repr
from autoops._factorize import unique_sorted
from autoops.errors import InvalidInput
from autoops.identity._index import EdgeStore
from autoops.identity._normalize import Status
from autoops.identity._prepare import NAT, Prepared, Secret, prepare, rekey_tokens, token_of
from autoops.identity._rules import MergeRules
from autoops.identity._solve import asset_spans, solve

__all__ = ["Created", "IdentityGraph", "MergeDelta", "Merged", "Split"]


@attrs.frozen(slots=True)
class Merged:
    """Clusters ``old`` joined ``new`` (the oldest id survives; ``old`` ids redirect).

    Examples:
        >>> Merged((5,), 3).new
        3
    """

    old: tuple[int, ...]
    new: int


@attrs.frozen(slots=True)
class Split:
    """Cluster ``old`` broke into ``parts`` (the part with the oldest record keeps ``old``).

    Examples:
        >>> Split(3, (3, 8)).parts
        (3, 8)
    """

    old: int
    parts: tuple[int, ...]


@attrs.frozen(slots=True)
class Created:
    """A new One ID made of new records only.

    Examples:
        >>> Created(7).one_id
        7
    """

    one_id: int


@attrs.frozen(slots=True)
class MergeDelta:
    """The change events of one graph operation.

    Examples:
        >>> MergeDelta((Created(7),)).created
        [7]
    """

    events: tuple[Merged | Split | Created, ...]

    @property
    def created(self) -> list[int]:
        """Ids of the new clusters.

        Examples:
            >>> MergeDelta(()).created
            []
        """
        return [e.one_id for e in self.events if isinstance(e, Created)]

    def __repr__(self) -> str:
        kinds = [type(e).__name__ for e in self.events]
        return short_repr("MergeDelta", created=kinds.count("Created"),
                          merged=kinds.count("Merged"), split=kinds.count("Split"))  # fmt: skip


IdentifierRef = tuple[str, Any] | tuple[str, Any, Any]


class IdentityGraph:
    """Persistent One ID state: add records, split, unlink, forget, look up, save.

    Semantics: the graph holds tokens only (keyed HMAC-SHA256 hashes when a
    *secret* is given, else 64-bit hashes), never raw identifiers. After every
    operation the partition and the One IDs equal a from-scratch
    :func:`~autoops.identity.resolve` of all records added so far, with the
    same cannot-links, tombstones and consent withdrawals applied: ids depend
    only on content, so batch boundaries and row order do not matter. On a
    merge the oldest id survives and the others redirect to it; on a split the
    part holding the oldest record keeps the id. Forgotten identifiers are
    tombstoned: re-adding the same raw data never brings them back. Each
    operation re-solves only the affected clusters (see the module notes).

    Args:
        rules: merge rules (:meth:`MergeRules.automotive_default` if ``None``).
        secret: per-deployment key for HMAC tokens (or the key chain left by
            :meth:`rotate_secret`, oldest first); keep it outside the graph directory.

    Examples:
        >>> g = IdentityGraph()
        >>> d = g.add({"record_id": [1, 2], "phone": ["13912340001", "13912340001"]})
        >>> len(d.created), g.lookup("phone", "+86 139 1234 0001") == g.one_id_of(1)
        (1, True)
    """

    def __init__(self, rules: MergeRules | None = None, *, secret: Secret | None = None) -> None:
        self.rules = MergeRules.automotive_default() if rules is None else rules
        self._secret: Secret | None = secret
        self._store = EdgeStore()
        self._cannot: dict[int, set[int]] = {}
        self._tombstones: set[int] = set()
        self._denied: set[int] = set()
        self._redirects: dict[int, int] = {}
        self.last_affected = 0

    def __repr__(self) -> str:
        people = len(np.unique(self._one_id))
        return short_repr("IdentityGraph", records=len(self._one_id), people=people,
                          tombstones=len(self._tombstones))  # fmt: skip

    def __len__(self) -> int:
        return self._store.n

    # ---- state ---------------------------------------------------------------------------

    @property
    def _one_id(self) -> npt.NDArray[np.int64]:
        return self._store.one_id.a

    @property
    def _record_id(self) -> npt.NDArray[Any]:
        return self._store.record_id.a

    @property
    def _all(self) -> Prepared | None:
        st = self._store
        if st.n == 0:
            return None
        return self._view(np.arange(st.n, dtype=np.int64))

    def _view(self, rows: npt.NDArray[np.int64]) -> Prepared:
        """The records *rows* (sorted) and their edges as a :class:`Prepared`."""
        st = self._store
        edges = st.record_edges(rows)
        keys: dict[str, Any] = {}
        if len(rows) == st.n:
            e_rec = st.e_rec.a[edges]
            # the whole graph: the stored key ids serve as solve's keys (no hashing)
            keys = {"e_key": st.e_key.a[edges], "n_keys": len(st.keys)}
        else:
            # local record numbers without an array the size of the graph
            e_rec = np.searchsorted(rows, st.e_rec.a[edges])
        return Prepared(
            n=len(rows),
            record_id=st.record_id.a[rows],
            rid_token=st.rid_token.a[rows],
            ts=st.ts.a[rows],
            e_rec=e_rec,
            e_type=st.e_type.a[edges],
            e_tok=st.e_tok.a[edges],
            e_status=st.e_status.a[edges],
            e_detail=np.full(len(edges), -1, dtype=np.int16),
            details=(),
            raw={},
            issues=(),
            e_verified=st.e_verified.a[edges],
            **keys,
        )

    def _cannot_map(self) -> dict[int, frozenset[int]]:
        return {k: frozenset(v) for k, v in self._cannot.items()}

    def _recompute(self) -> MergeDelta:
        """Re-solve every record (used after loading; equal to the incremental path)."""
        st = self._store
        if st.n == 0:
            return MergeDelta(())
        return self._solve_rows(np.arange(st.n, dtype=np.int64), st.n)

    def _closure(self, seeds: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Records reachable from *seeds* over usable (status OK, non-hub) links."""
        st = self._store
        in_set = np.zeros(st.n, dtype=bool)
        seen_key = np.zeros(len(st.keys), dtype=bool)
        hub = st.hub.a
        status, e_key, e_rec = st.e_status.a, st.e_key.a, st.e_rec.a
        frontier = unique_sorted(seeds)
        in_set[frontier] = True
        parts = [frontier]
        while len(frontier):
            edges = st.record_edges(frontier)
            edges = edges[status[edges] == Status.OK]
            keys = e_key[edges]
            keys = keys[(keys >= 0) & ~hub[np.maximum(keys, 0)]]
            keys = unique_sorted(keys[~seen_key[keys]])
            seen_key[keys] = True
            edges = st.key_edges(keys)
            recs = e_rec[edges[status[edges] == Status.OK]]
            frontier = unique_sorted(recs[~in_set[recs]])
            in_set[frontier] = True
            parts.append(frontier)
        return np.sort(np.concatenate(parts))

    def _update(self, changed: npt.NDArray[np.int64], n_old: int, *, grow_only: bool) -> MergeDelta:
        """Re-solve the clusters affected by a change to the records *changed*.

        ``grow_only`` (records were only added): known hubs stay hubs, so the
        records behind them need not be revisited.
        """
        st = self._store
        edges = st.record_edges(unique_sorted(changed))
        keys = unique_sorted(st.e_key.a[edges])
        keys = keys[keys >= 0]
        if grow_only:
            keys = keys[~st.hub.a[keys]]
        sharing = st.e_rec.a[st.key_edges(keys)]
        rows = self._closure(np.concatenate([changed, sharing]))
        return self._solve_rows(rows, n_old)

    def _solve_rows(self, rows: npt.NDArray[np.int64], n_old: int) -> MergeDelta:
        st = self._store
        self.last_affected = len(rows)
        sub = self._view(rows)
        if len(rows) == st.n:
            sol = solve(sub, self.rules, cannot=self._cannot_map())
            st.hub.a[:] = False
            if len(sol.hub_tokens):
                st.hub.a[st.key_of(sol.hub_tokens)] = True
            old_ids = st.one_id.a[:n_old].copy()
            st.one_id.a[:] = sol.one_id
            return self._delta(old_ids, sol.one_id)
        # hubs with usable links outside the affected set keep their status
        e_key = st.e_key.a[st.record_edges(rows)]
        ok = (sub.e_status == Status.OK) & (e_key >= 0)
        held = unique_sorted(e_key[ok])
        inside = np.bincount(np.searchsorted(held, e_key[ok]), minlength=len(held))
        all_edges = st.key_edges(held[st.hub.a[held]])
        ok_all = all_edges[st.e_status.a[all_edges] == Status.OK]
        hub_keys = held[st.hub.a[held]]
        total = np.bincount(np.searchsorted(hub_keys, st.e_key.a[ok_all]), minlength=len(hub_keys))
        partial = hub_keys[total > inside[np.searchsorted(held, hub_keys)]]
        known = st.keys.tokens[partial]
        sol = solve(sub, self.rules, cannot=self._cannot_map(), known_hubs=known)
        # hubs entirely inside the set take the new verdict
        whole = np.setdiff1d(held, partial, assume_unique=True)
        st.hub.a[whole] = False
        if len(sol.hub_tokens):
            hk = st.key_of(sol.hub_tokens)
            st.hub.a[hk[hk >= 0]] = True
        old_rows = rows[rows < n_old]
        old_ids = st.one_id.a[old_rows].copy()
        st.one_id.a[rows] = sol.one_id
        return self._delta(old_ids, sol.one_id)

    def _delta(self, old: npt.NDArray[np.int64], new: npt.NDArray[np.int64]) -> MergeDelta:
        events: list[Merged | Split | Created] = []
        n_old = len(old)
        pairs = (
            np.unique(np.stack([old, new[:n_old]]), axis=1) if n_old else np.zeros((2, 0), np.int64)
        )
        known_new = pairs[1]
        # an id that kept exactly its own records, and nothing else, makes no event: only the
        # other pairs go through the Python loop below (pairs are sorted by the old id)
        was, now = pairs
        start = np.flatnonzero(np.concatenate([[True], was[1:] != was[:-1]]))
        n_targets = np.diff(np.append(start, len(was)))
        _, now_inv = np.unique(now, return_inverse=True)
        n_sources = np.bincount(now_inv.reshape(-1))[now_inv.reshape(-1)]
        kept = (was == now) & (np.repeat(n_targets, n_targets) == 1) & (n_sources == 1)
        pairs = pairs[:, ~kept]
        new_of: dict[int, list[int]] = {}
        old_of: dict[int, list[int]] = {}
        for a, b in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            new_of.setdefault(a, []).append(b)
            old_of.setdefault(b, []).append(a)
        for a, targets in new_of.items():
            if len(targets) > 1:
                events.append(Split(a, tuple(sorted(targets))))
                for t in targets:
                    self._redirects.pop(t, None)
        for b, sources in old_of.items():
            # ids that went entirely into b (a split part is reported by its Split)
            gone = tuple(sorted(s for s in sources if s != b and len(new_of[s]) == 1))
            if gone:
                events.append(Merged(gone, b))
                for s in gone:
                    self._redirects[s] = b
        created = unique_sorted(new[n_old:])
        for b in created[~np.isin(created, known_new)].tolist():
            events.append(Created(int(b)))
        return MergeDelta(tuple(events))

    def _token(self, ref: IdentifierRef) -> int:
        idtype = self.rules[ref[0]]
        scope = ref[2] if len(ref) > 2 else None
        tok = token_of(idtype, ref[1], scope, secret=self._secret)
        if tok == 0:
            raise InvalidInput(
                f"not a valid {idtype.name}", field=idtype.name, code="invalid_identifier"
            )
        return tok

    def _records_holding(self, tokens: Iterable[int], *, ok_only: bool) -> npt.NDArray[np.int64]:
        st = self._store
        keys = st.key_of(np.fromiter(tokens, dtype=np.uint64))
        edges = st.key_edges(keys[keys >= 0])
        if ok_only:
            edges = edges[st.e_status.a[edges] == Status.OK]
        return unique_sorted(st.e_rec.a[edges])

    def _set_status(self, rows: npt.NDArray[np.int64], status: int,
                    tokens: npt.NDArray[np.uint64] | None = None) -> None:  # fmt: skip
        """Set the OK edges of *rows* (only those holding *tokens*, if given) to *status*."""
        st = self._store
        edges = st.record_edges(rows)
        edges = edges[st.e_status.a[edges] == Status.OK]
        if tokens is not None:
            edges = edges[np.isin(st.e_tok.a[edges], tokens)]
        st.e_status.a[edges] = status

    # ---- operations ----------------------------------------------------------------------

    def add(self, records: Any, **options: Any) -> MergeDelta:
        """Add records (same input as :func:`~autoops.identity.resolve`) and merge them.

        Only the affected clusters are re-solved: the new records, the records
        sharing an identifier with them (records behind a known hub excepted)
        and everything linked to those. ``graph.last_affected`` holds how many
        records that was.

        Args:
            records: a table of records; ids must be new to the graph.
            **options: ``staff=``, ``kiosks=``, ``consent=``, ``columns=``,
                ``id_column=``, ``time_column=``, ``assume_tz=`` as in ``resolve``.

        Returns:
            The :class:`MergeDelta`: ``Created``, ``Merged`` and ``Split`` events.

        Raises:
            InvalidInput: a record id already in the graph (rows named).

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1], "phone": ["13912340001"], "ts": ["2025-01-01T00:00Z"]})
            >>> d = g.add({"record_id": [2, 3], "phone": ["13912340002", "13912340002"],
            ...            "wechat_unionid": ["u1", "u1"], "ts": ["2024-01-01T00:00Z"] * 2})
            >>> d.created == [g.one_id_of(2)]
            True
        """
        columns_map = options.pop("columns", None)
        tomb = np.fromiter(self._tombstones, dtype=np.uint64, count=len(self._tombstones))
        prep = prepare(records, self.rules, columns_map=columns_map, secret=self._secret,
                       tombstones=tomb, **options)  # fmt: skip
        st = self._store
        if st.n:
            clash = np.flatnonzero(st.rids.get(prep.rid_token) >= 0)
            if len(clash):
                raise InvalidInput("record ids already in the graph", field="record_id",
                                   row=clash[:20].tolist(), code="duplicate_record_id")  # fmt: skip
        n_old = st.n
        verified = (
            prep.e_verified if prep.e_verified is not None else np.zeros(len(prep.e_tok), bool)
        )
        rows, _ = st.append(prep.record_id, prep.rid_token, prep.ts, prep.e_rec, prep.e_type,
                            prep.e_tok, prep.e_status, verified)  # fmt: skip
        if self._denied:
            denied = np.fromiter(self._denied, dtype=np.uint64, count=len(self._denied))
            self._set_status(self._rows_with(rows, denied), Status.CONSENT)
        if n_old == 0:
            return self._solve_rows(rows, 0)
        return self._update(rows, n_old, grow_only=True)

    def _rows_with(
        self, rows: npt.NDArray[np.int64], tokens: npt.NDArray[np.uint64]
    ) -> npt.NDArray[np.int64]:
        st = self._store
        edges = st.record_edges(rows)
        return np.unique(st.e_rec.a[edges[np.isin(st.e_tok.a[edges], tokens)]])

    def split(self, one_id: int, identifiers: Iterable[IdentifierRef]) -> MergeDelta:
        """Split the given identifiers off a cluster, for good.

        Adds cannot-links between each given identifier and every other
        identifier the cluster holds now, then re-resolves the cluster. A
        record holding identifiers of both sides stays with its
        highest-priority identifier.

        Args:
            one_id: the cluster (a redirected id is followed).
            identifiers: ``(type, value)`` or ``(type, value, scope)`` tuples.

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1, 2], "crm_id": ["C1", "C1"], "app_user_id": [None, "a9"]})
            >>> d = g.split(g.one_id_of(1), [("app_user_id", "a9")])
            >>> g.one_id_of(1) != g.one_id_of(2), type(d.events[0]).__name__
            (True, 'Split')
        """
        one_id = self.redirect(one_id)
        given = {self._token(ref) for ref in identifiers}
        self._require()
        st = self._store
        rows = np.flatnonzero(self._one_id == one_id)
        edges = st.record_edges(rows)
        held = st.e_tok.a[edges[st.e_status.a[edges] == Status.OK]]
        others = {int(t) for t in np.unique(held).tolist()} - given
        for t in given:
            self._cannot.setdefault(t, set()).update(others)
        for o in others:
            self._cannot.setdefault(o, set()).update(given)
        return self._update(rows, st.n, grow_only=False)

    def unlink(self, a: IdentifierRef, b: IdentifierRef) -> MergeDelta:
        """Never put identifiers *a* and *b* in one cluster (a cannot-link).

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1, 2], "crm_id": ["C1", "C1"], "app_user_id": [None, "a9"]})
            >>> _ = g.unlink(("crm_id", "C1"), ("app_user_id", "a9"))
            >>> g.one_id_of(1) != g.one_id_of(2)
            True
        """
        ta, tb = self._token(a), self._token(b)
        self._cannot.setdefault(ta, set()).add(tb)
        self._cannot.setdefault(tb, set()).add(ta)
        rows = self._records_holding([ta, tb], ok_only=False)
        return self._update(rows, self._store.n, grow_only=False)

    def forget(self, id_type: str, value: Any, scope: Any = None) -> MergeDelta:
        """Erase an identifier: its links go and a tombstone keeps it out on replay.

        Examples:
            >>> g = IdentityGraph()
            >>> rows = {"record_id": [1, 2], "phone": ["13912340001"] * 2}
            >>> _ = g.add(rows)
            >>> _ = g.forget("phone", "13912340001")
            >>> g.lookup("phone", "13912340001") is None
            True
        """
        tok = self._token((id_type, value, scope))
        self._tombstones.add(tok)
        rows = self._records_holding([tok], ok_only=True)
        self._set_status(rows, Status.FORGOTTEN, np.array([tok], dtype=np.uint64))
        return self._update(rows, self._store.n, grow_only=False)

    def withdraw_consent(self, phone: Any) -> MergeDelta:
        """The owner of *phone* withdrew ``identity_merge`` consent: unlink their records.

        Every record holding the phone stops linking (reason ``consent``), as
        in :func:`~autoops.identity.resolve` with a consent table; records
        added later with that phone are treated the same. Only the affected
        clusters are recomputed.

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1, 2], "phone": ["13912340001", None],
            ...            "crm_id": ["C1", "C1"]})
            >>> _ = g.withdraw_consent("13912340001")
            >>> g.one_id_of(1) != g.one_id_of(2)
            True
        """
        tok = self._token(("phone", phone))
        self._denied.add(tok)
        rows = self._records_holding([tok], ok_only=False)
        self._set_status(rows, Status.CONSENT)
        return self._update(rows, self._store.n, grow_only=False)

    def rotate_secret(self, new_secret: bytes) -> None:
        """Re-key every token with a new secret; the partition and One IDs do not change.

        The graph holds no raw values, so each stored token *t* becomes
        ``HMAC-SHA256(new_secret, t)`` (and lookups hash through the whole key
        chain). Anyone holding only an older key can no longer test guesses
        against the stored tokens. Pass ``graph.secret`` (the chain) to
        :meth:`load` afterwards.

        Raises:
            InvalidInput: the graph is not hashed, or two tokens collided (never in practice).

        Examples:
            >>> g = IdentityGraph(secret=b"k1" * 16)
            >>> _ = g.add({"record_id": [1, 2], "phone": ["13912340001"] * 2})
            >>> before = g.one_ids()["one_id"].tolist()
            >>> g.rotate_secret(b"k2" * 16)
            >>> g.one_ids()["one_id"].tolist() == before, g.lookup("phone", "13912340001") == before[0]
            (True, True)
        """
        if self._secret is None:
            raise InvalidInput("the graph is not hashed: create it with secret=",
                               code="not_hashed")  # fmt: skip
        st = self._store
        old = np.concatenate([
            st.keys.tokens,
            np.fromiter(self._tombstones | self._denied, dtype=np.uint64),
            np.fromiter({t for v in self._cannot.values() for t in v} | set(self._cannot),
                        dtype=np.uint64),
        ])  # fmt: skip
        uniq = np.unique(old)
        new = rekey_tokens(uniq, new_secret)
        if len(np.unique(new)) != len(uniq):
            raise InvalidInput("token collision while re-keying", code="rekey_collision")
        mapping = dict(zip(uniq.tolist(), new.tolist(), strict=True))
        chain = self._secret if isinstance(self._secret, tuple) else (self._secret,)
        before = st.one_id.a.copy()
        rebuilt = EdgeStore()
        has = st.e_tok.a != 0
        e_tok = st.e_tok.a.copy()
        e_tok[has] = new[np.searchsorted(uniq, e_tok[has])]
        rebuilt.append(st.record_id.a, st.rid_token.a, st.ts.a, st.e_rec.a, st.e_type.a,
                       e_tok, st.e_status.a, st.e_verified.a)  # fmt: skip
        rebuilt.one_id.a[:] = before
        hub_tok = st.keys.tokens[st.hub.a]
        if len(hub_tok):
            hk = rebuilt.key_of(new[np.searchsorted(uniq, hub_tok)])
            rebuilt.hub.a[hk] = True
        self._store = rebuilt
        self._secret = (*chain, new_secret)
        self._tombstones = {mapping[t] for t in self._tombstones}
        self._denied = {mapping[t] for t in self._denied}
        self._cannot = {mapping[k]: {mapping[t] for t in v} for k, v in self._cannot.items()}

    @property
    def secret(self) -> Secret | None:
        """The key (or key chain, oldest first, after :meth:`rotate_secret`).

        Examples:
            >>> IdentityGraph().secret is None
            True
        """
        return self._secret

    def lookup(self, id_type: str, value: Any, scope: Any = None) -> int | None:
        """The One ID holding an identifier (a used link), or ``None``.

        Examples:
            >>> IdentityGraph().lookup("phone", "13912340001") is None
            True
        """
        st = self._store
        if st.n == 0:
            return None
        tok = self._token((id_type, value, scope))
        if tok in self._tombstones:
            return None
        rows = self._records_holding([tok], ok_only=True)
        ids = np.unique(st.one_id.a[rows])
        return int(ids[0]) if len(ids) == 1 else None

    def one_id_of(self, record_id: Any) -> int:
        """The One ID of a record.

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [5], "crm_id": ["C5"]})
            >>> g.one_id_of(5) > 0
            True
        """
        hits = np.flatnonzero(self._record_id == record_id)
        if len(hits) != 1:
            raise InvalidInput("unknown record id", field="record_id", code="unknown_record")
        return int(self._one_id[hits[0]])

    def redirect(self, one_id: int) -> int:
        """The current id for an id that may have been merged away.

        Examples:
            >>> IdentityGraph().redirect(42)
            42
        """
        seen = set()
        while one_id in self._redirects and one_id not in seen:
            seen.add(one_id)
            one_id = self._redirects[one_id]
        return one_id

    def owner(self, vin: str, at: Any) -> int | None:
        """Who owned a car at a time: the One ID whose span of the VIN covers *at*.

        Spans start at each owner's first record holding the VIN and end at the
        next owner's first one.

        Examples:
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1, 2], "phone": ["13912340001", "13912340002"],
            ...            "vin": ["LFVB1234567890123"] * 2,
            ...            "ts": ["2025-01-01T00:00Z", "2025-06-01T00:00Z"]})
            >>> g.owner("LFVB1234567890123", at="2025-03-01T00:00Z") == g.one_id_of(1)
            True
        """
        from autoops._time import to_utc_us

        self._require()
        st = self._store
        tok = self._token(("vin", vin))
        rec = self._records_holding([tok], ok_only=True)
        t = int(to_utc_us(np.array([at], dtype=object), field="at").view(np.int64)[0])
        holders = np.unique(st.one_id.a[rec])
        person = [h for h in holders.tolist() if self._has_person_key(h)]
        keep = np.isin(st.one_id.a[rec], person)
        _, owners, starts = asset_spans(np.zeros(int(keep.sum()), dtype=np.int64),
                                        st.one_id.a[rec[keep]], st.ts.a[rec[keep]])  # fmt: skip
        valid = (starts <= t) & (starts != NAT)
        return int(owners[valid][-1]) if valid.any() else None

    def _has_person_key(self, one_id: int) -> bool:
        st = self._store
        rows = np.flatnonzero(st.one_id.a == one_id)
        kinds = np.array([t.kind != "asset" for t in self.rules.types])
        edges = st.record_edges(rows)
        edges = edges[st.e_status.a[edges] == Status.OK]
        return bool(kinds[st.e_type.a[edges]].any())

    def _require(self) -> None:
        if self._store.n == 0:
            raise InvalidInput("the graph is empty", code="empty_graph")

    def one_ids(self) -> dict[str, npt.NDArray[Any]]:
        """Record ids and their One IDs (the current partition).

        Examples:
            >>> IdentityGraph().one_ids()["one_id"].tolist()
            []
        """
        return {"record_id": self._record_id, "one_id": self._one_id}

    # ---- persistence ---------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write the state (tokens, never raw identifiers) to *directory*.

        Examples:
            >>> import tempfile
            >>> g = IdentityGraph()
            >>> _ = g.add({"record_id": [1], "crm_id": ["C1"]})
            >>> with tempfile.TemporaryDirectory() as d:
            ...     g.save(d)
            ...     IdentityGraph.load(d).one_id_of("1") == g.one_id_of(1)
            True
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        st = self._store
        arrays: dict[str, npt.NDArray[Any]] = {}
        if st.n:
            arrays = {
                "record_id": st.record_id.a.astype(str),
                "rid_token": st.rid_token.a,
                "ts": st.ts.a,
                "e_rec": st.e_rec.a,
                "e_type": st.e_type.a,
                "e_tok": st.e_tok.a,
                "e_status": st.e_status.a,
                "e_verified": st.e_verified.a,
            }
        np.savez(path / "graph.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "rules": self.rules.to_dict(),
            "hashed": self._secret is not None,
            "key_chain": len(self._secret) if isinstance(self._secret, tuple) else 1,
            "cannot": {str(k): sorted(v) for k, v in self._cannot.items()},
            "tombstones": sorted(self._tombstones),
            "denied": sorted(self._denied),
            "redirects": {str(k): v for k, v in self._redirects.items()},
        }
        (path / "graph.json").write_text(json.dumps(meta, sort_keys=True))

    @classmethod
    def load(cls, directory: str | Path, *, secret: Secret | None = None) -> IdentityGraph:
        """Read a graph written by :meth:`save` (record ids come back as strings).

        Examples:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as d:
            ...     IdentityGraph().save(d)
            ...     len(IdentityGraph.load(d))
            0
        """
        path = Path(directory)
        meta = json.loads((path / "graph.json").read_text())
        graph = cls(MergeRules.from_dict(meta["rules"]), secret=secret)
        graph._cannot = {int(k): set(v) for k, v in meta["cannot"].items()}
        graph._tombstones = set(meta["tombstones"])
        graph._denied = set(meta.get("denied", []))
        with np.load(path / "graph.npz") as data:
            if "record_id" in data:
                n = len(data["record_id"])
                verified = data["e_verified"] if "e_verified" in data else np.zeros(
                    len(data["e_tok"]), dtype=bool)  # fmt: skip
                del n
                graph._store.append(data["record_id"].astype(object), data["rid_token"],
                                    data["ts"], data["e_rec"], data["e_type"], data["e_tok"],
                                    data["e_status"], verified)  # fmt: skip
                graph._recompute()
        graph._redirects = {int(k): int(v) for k, v in meta["redirects"].items()}
        return graph
