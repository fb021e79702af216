"""The result of :func:`autoops.identity.resolve`: ids, evidence, refusals, health."""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._factorize import factorize_u64, unique_sorted
from autoops._masking import mask_value, mask_values
from autoops._tabular import Tabular
from autoops.errors import InvalidInput
from autoops.identity._normalize import REASONS, Status
from autoops.identity._prepare import NAT, Prepared
from autoops.identity._rules import MergeRules
from autoops.identity._solve import Solution

__all__ = ["Evaluation", "Evidence", "Explanation", "Health", "Resolution", "Table"]

_LINKED = (Status.OK,)
_SIZE_BINS = (1, 2, 3, 6, 11, 51, 101)
_SIZE_LABELS = ("1", "2", "3-5", "6-10", "11-50", "51-100", ">100")


def _dt(us: int) -> np.datetime64 | None:
    return None if us == NAT else np.datetime64(int(us), "us")


@attrs.frozen(slots=True)
class Table(Tabular):
    """A small named table of aligned numpy columns (rejected links, hubs, clusters).

    Examples:
        >>> import numpy as np
        >>> t = Table("hubs", {"type": np.array(["device_id"], dtype=object)})
        >>> len(t), t.to_dicts()
        (1, [{'type': 'device_id'}])
    """

    name: str
    cols: dict[str, npt.NDArray[Any]]

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return self.cols

    def __getitem__(self, column: str) -> npt.NDArray[Any]:
        return self.cols[column]

    def __repr__(self) -> str:
        return short_repr(self.name, rows=len(self), columns=len(self.cols))

    def _repr_html_(self) -> str:
        names = list(self.cols)
        rows = zip(*(self.cols[c].tolist() for c in names), strict=True) if names else []
        return html_table(self.name, names, rows)


@attrs.frozen(slots=True)
class Evidence:
    """One edge of an evidence path: *record* holds *value* (masked) of *id_type*.

    Attributes:
        record_id: the record holding the identifier.
        id_type: the identifier type.
        value: the identifier, masked.
        ts: the record's time (UTC), or ``None``.
        status: ``ok`` for a link that was used, else the reason it was refused.

    Examples:
        >>> from autoops.identity import resolve
        >>> res = resolve({"record_id": [1, 2], "crm_id": ["C1", "C1"]})
        >>> [e.id_type for e in res.explain(1, 2).path]
        ['crm_id', 'crm_id']
    """

    record_id: Any
    id_type: str
    value: str
    ts: np.datetime64 | None
    status: str


@attrs.frozen(slots=True)
class Explanation:
    """Why two records share a One ID, or what kept them apart.

    Attributes:
        same: whether both records have the same One ID.
        path: alternating evidence: each consecutive pair of :class:`Evidence`
            shares one identifier value (record → value → record …).
        rule: for records kept apart, the reason of the first refused link on
            the shortest path joining them (``hub``, ``limit``, ``staff`` …), or
            ``"no shared identifier"``.

    Examples:
        >>> from autoops.identity import resolve
        >>> resolve({"record_id": [1, 2], "crm_id": ["C1", "C2"]}).explain(1, 2).same
        False
    """

    same: bool
    path: tuple[Evidence, ...]
    rule: str | None

    def __repr__(self) -> str:
        return short_repr("Explanation", same=self.same, edges=len(self.path), rule=self.rule)


@attrs.frozen(slots=True)
class Evaluation:
    """Pairwise precision/recall/F1, purity and split rate against ground truth.

    Attributes:
        precision: share of same-cluster record pairs that are the same person.
        recall: share of same-person record pairs that share a cluster.
        f1: harmonic mean of the two.
        purity: share of clusters holding one true person.
        mixed_clusters: clusters holding more than one true person.
        people: true people evaluated.
        connectable: people whose records the (non-hub, valid) identifiers connect.
        split: connectable people whose records got more than one One ID.

    Examples:
        >>> import numpy as np
        >>> from autoops.identity import resolve
        >>> res = resolve({"crm_id": ["C1", "C1", "C2"]})
        >>> res.evaluate(np.array([0, 0, 1])).precision
        1.0
    """

    precision: float
    recall: float
    f1: float
    purity: float
    mixed_clusters: int
    people: int
    connectable: int
    split: int

    @property
    def not_split_rate(self) -> float:
        """Share of connectable people kept whole.

        Examples:
            >>> Evaluation(1.0, 1.0, 1.0, 1.0, 0, 10, 10, 0).not_split_rate
            1.0
        """
        return 1.0 - self.split / self.connectable if self.connectable else 1.0


@attrs.frozen(slots=True)
class Health:
    """Counts that show whether a resolution is sane (see :meth:`Resolution.health`).

    Attributes:
        size_histogram: clusters per size bin (records per cluster).
        identifier_histogram: clusters per size bin (distinct identifiers per cluster).
        largest: the ten largest clusters by records.
        per_type: per identifier type: records holding one, distinct values, links used, refusals.
        refusals: refused links by (reason, type), every limit that bit included.
        drift: comparison with a previous resolution, or ``None``.

    Examples:
        >>> from autoops.identity import resolve
        >>> resolve({"crm_id": ["C1", "C1", "C2"]}).health().size_histogram["2"]
        1
    """

    size_histogram: dict[str, int]
    identifier_histogram: dict[str, int]
    largest: Table
    per_type: Table
    refusals: dict[str, int]
    drift: dict[str, float] | None

    def __repr__(self) -> str:
        return short_repr(
            "Health",
            clusters=sum(self.size_histogram.values()),
            refusals=sum(self.refusals.values()),
        )


def _hist(sizes: npt.NDArray[np.int64]) -> dict[str, int]:
    idx = np.searchsorted(np.array(_SIZE_BINS), sizes, side="right") - 1
    counts = np.bincount(idx[idx >= 0], minlength=len(_SIZE_BINS))
    return dict(zip(_SIZE_LABELS, (int(c) for c in counts), strict=True))


@attrs.frozen(slots=True)
class Resolution(Tabular):
    """One ID per record plus the evidence: what linked, what was refused, why.

    Attributes:
        record_id: the input record ids (or row numbers).
        one_id: the One ID of each record (int64, aligned with the input rows).
        rules: the rules used.

    Examples:
        >>> from autoops.identity import resolve
        >>> res = resolve({"phone": ["13812345670", "+86 138 1234 5670", None],
        ...                "wechat_unionid": [None, "u1", "u1"]})
        >>> len(set(res.one_id.tolist()))
        1
        >>> res
        Resolution(records=3, people=1, refused=0, hubs=0)
    """

    record_id: npt.NDArray[Any]
    one_id: npt.NDArray[np.int64]
    rules: MergeRules
    _prep: Prepared = attrs.field(repr=False)
    _sol: Solution = attrs.field(repr=False)
    # explain's record–identifier graphs (CSR), by "used links only", built on first use
    _graphs: dict[bool, tuple[npt.NDArray[np.signedinteger[Any]], ...]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {"record_id": self.record_id, "one_id": self.one_id}

    @property
    def people(self) -> int:
        """Number of distinct One IDs.

        Examples:
            >>> from autoops.identity import resolve
            >>> resolve({"crm_id": ["a", "b", "a"]}).people
            2
        """
        return int(self._sol.label.max()) + 1 if len(self.one_id) else 0

    def __repr__(self) -> str:
        # (every identifier that did not link: the rows of rejected(), malformed ones too)
        refused = int((self._sol.e_status > Status.OK).sum())
        return short_repr("Resolution", records=len(self.one_id), people=self.people,
                          refused=refused, hubs=len(self._sol.hub_tokens))  # fmt: skip

    def _repr_html_(self) -> str:
        h = self.health()
        rows = [[k, v] for k, v in h.size_histogram.items()]
        return html_table(f"{self!r}: clusters by records", ["records", "clusters"], rows)

    def _row(self, record: Any) -> int:
        rid = self.record_id
        hits = np.flatnonzero(rid == record)
        if len(hits) != 1:
            raise InvalidInput(
                f"unknown record id {mask_value(str(record))}",
                field="record_id",
                code="unknown_record",
            )
        return int(hits[0])

    def _masked(self, edge: int) -> str:
        return str(self._masked_values(np.array([edge]))[0])

    def _masked_values(self, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """The masked raw value of each of *edges* (masked together, type by type)."""
        p = self._prep
        out = np.empty(len(edges), dtype=object)
        types = p.e_type[edges]
        for t in np.unique(types).tolist():
            at = np.flatnonzero(types == t)
            raw = p.raw[self.rules.types[t].name]
            out[at] = mask_values(np.asarray(raw, dtype=object)[p.e_raw[edges[at]]])
        return out

    def summary(self) -> dict[str, Any]:
        """Headline figures: records, people, refusals by reason, hubs, issues.

        Examples:
            >>> from autoops.identity import resolve
            >>> resolve({"phone": ["13812345670", "400-810-5050"]}).summary()["refused"]
            {'blocked': 1}
        """
        st = self._sol.e_status
        refused = {
            REASONS[c]: int(v)
            for c, v in enumerate(np.bincount(st, minlength=len(REASONS)))
            if v and c > Status.OK
        }
        return {
            "records": len(self.one_id),
            "people": self.people,
            "links": int((st == Status.OK).sum()),
            "refused": refused,
            "hubs": len(self._sol.hub_tokens),
            "issues": {code: len(rows) for code, _, rows in self._prep.issues},
        }

    def clusters(self) -> Table:
        """One row per One ID: records, distinct identifiers linked, first and last time.

        Examples:
            >>> from autoops.identity import resolve
            >>> resolve({"crm_id": ["a", "b", "a"]}).clusters()["records"].tolist()
            [2, 1]
        """
        sol, p = self._sol, self._prep
        c = self.people
        records = np.bincount(sol.label, minlength=c)
        ok = (sol.e_status == Status.OK) & (sol.e_key >= 0)
        pairs = np.unique(sol.label[p.e_rec[ok]] * np.int64(len(sol.key_tok) + 1) + sol.e_key[ok])
        idents = np.bincount(pairs // (len(sol.key_tok) + 1), minlength=c)
        first = np.full(c, NAT, dtype=np.int64)
        np.minimum.at(first, sol.label, p.ts)
        ids = np.zeros(c, dtype=np.int64)
        ids[sol.label] = self.one_id
        order = np.lexsort((ids, -records))
        first_ts = first.astype("datetime64[us]")
        first_ts[first == NAT] = np.datetime64("NaT")
        cols = {"one_id": ids, "records": records, "identifiers": idents, "first_seen": first_ts}
        return Table("clusters", {k: v[order] for k, v in cols.items()})

    def links(self, id_type: str | None = None) -> Table:
        """Every identifier a One ID holds through a used link, with first and last sighting.

        One row per (One ID, identifier value): the type, the masked value, the
        first and last time (UTC) a record of that cluster held it, and how
        many records did. A recycled phone (see
        ``IdType.recycle_on_verified_conflict``) appears under each holder with
        that holder's span. Rows are ordered by One ID, type, first sighting.

        Args:
            id_type: only this identifier type (default: all).

        Examples:
            >>> from autoops.identity import resolve
            >>> res = resolve({"phone": ["13812345670", "138 1234 5670"],
            ...                "ts": ["2025-01-01T00:00Z", "2025-03-01T00:00Z"]})
            >>> t = res.links("phone")
            >>> str(t["first_seen"][0]), str(t["last_seen"][0]), t["records"].tolist()
            ('2025-01-01T00:00:00.000000', '2025-03-01T00:00:00.000000', [2])
        """
        sol, p = self._sol, self._prep
        ok = (sol.e_status == Status.OK) & (sol.e_key >= 0)
        if id_type is not None:
            ok &= p.e_type == self.rules.names.index(self.rules[id_type].name)
        idx = np.flatnonzero(ok)
        k = np.int64(len(sol.key_tok) + 1)
        codes, pairs = factorize_u64((sol.label[p.e_rec[idx]] * k + sol.e_key[idx]).view(np.uint64))
        m = len(pairs)
        ts = p.ts[p.e_rec[idx]]
        first = np.full(m, NAT, dtype=np.int64)
        np.minimum.at(first, codes, ts)
        last = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, codes, np.where(ts == NAT, np.iinfo(np.int64).min, ts))
        rep = np.full(m, len(idx), dtype=np.int64)
        np.minimum.at(rep, codes, np.arange(len(idx), dtype=np.int64))
        label = pairs.view(np.int64) // k
        ids = np.zeros(self.people, dtype=np.int64)
        ids[sol.label] = self.one_id
        etype = p.e_type[idx[rep]]
        order = np.lexsort((first, etype, ids[label]))
        first_ts = first.astype("datetime64[us]")
        first_ts[first == NAT] = np.datetime64("NaT")
        last_ts = last.astype("datetime64[us]")
        last_ts[last == np.iinfo(np.int64).min] = np.datetime64("NaT")
        names = np.array(self.rules.names, dtype=object)
        cols = {
            "one_id": ids[label],
            "type": names[etype],
            "value": self._masked_values(idx[rep]),
            "first_seen": first_ts,
            "last_seen": last_ts,
            "records": np.bincount(codes, minlength=m).astype(np.int64),
        }
        return Table("links", {c: v[order] for c, v in cols.items()})

    def rejected(self) -> Table:
        """Every identifier that did not link, with row, type, masked value, reason, detail.

        Reasons: ``invalid`` (malformed; detail says why), ``blocked``
        (placeholder, test or service number), ``staff``, ``kiosk``, ``scope``
        (no app/corp id), ``consent``, ``unverified``, ``forgotten``, ``hub``
        (quarantined shared value), ``limit`` (a ``max_per_person`` cap; detail
        names the type), ``split`` (a manual split or unlink), ``unowned``
        (a VIN-only record before any owner is known) and ``recycled`` (a
        former holder's sighting of a phone that was handed on).

        Examples:
            >>> from autoops.identity import resolve
            >>> t = resolve({"phone": ["1380013800", "13800138000"]}).rejected()
            >>> t["reason"].tolist(), t["row"].tolist()
            (['invalid', 'blocked'], [0, 1])
        """
        sol, p = self._sol, self._prep
        idx = np.flatnonzero(sol.e_status > Status.OK)
        idx = idx[np.lexsort((p.e_type[idx], p.e_rec[idx]))]
        names = np.array(self.rules.names, dtype=object)
        detail = np.full(len(idx), None, dtype=object)
        det = p.e_detail[idx]
        has = det >= 0
        detail[has] = np.array(p.details, dtype=object)[det[has]]
        limit = sol.limit_types(idx)
        lim = limit >= 0
        detail[lim] = np.array([f"max_per_person of {names[t]}" for t in limit[lim]], dtype=object)
        hub = sol.e_status[idx] == Status.HUB
        detail[hub] = np.array(
            [f"fan-out {sol.key_fanout[k]}" for k in sol.e_key[idx][hub]], dtype=object
        )
        return Table("rejected", {
            "row": p.e_rec[idx].astype(np.int64),
            "record_id": p.record_id[p.e_rec[idx]],
            "type": names[p.e_type[idx]],
            "value": self._masked_values(idx),
            "reason": np.array(REASONS, dtype=object)[sol.e_status[idx]],
            "detail": detail,
        })  # fmt: skip

    def hubs(self) -> Table:
        """Quarantined values: type, masked value, fan-out and records holding them.

        Examples:
            >>> from autoops.identity import resolve
            >>> phones = [f"1381234567{i}" for i in range(5)]
            >>> res = resolve({"device_id": ["tablet01"] * 5, "phone": phones})
            >>> res.hubs().to_dicts()
            [{'type': 'device_id', 'value': 'ta…01', 'fanout': 5, 'records': 5}]
        """
        sol = self._sol
        hub_edges = np.flatnonzero(sol.e_status == Status.HUB)
        keys, first, counts = np.unique(sol.e_key[hub_edges], return_index=True, return_counts=True)
        order = np.lexsort((keys, -sol.key_fanout[keys]))
        keys, first, counts = keys[order], first[order], counts[order]
        names = np.array(self.rules.names, dtype=object)
        return Table("hubs", {
            "type": names[sol.key_type[keys]],
            "value": self._masked_values(hub_edges[first]),
            "fanout": sol.key_fanout[keys],
            "records": counts.astype(np.int64),
        })  # fmt: skip

    def issues(self) -> Table:
        """Bad input found while reading: code, message and row indices.

        Examples:
            >>> from autoops.identity import resolve
            >>> resolve({"phone": [None, "13812345670"]}).issues().to_dicts()
            [{'code': 'no_identifiers', 'message': 'record holds no identifier', 'rows': [0]}]
        """
        issues = self._prep.issues
        return Table("issues", {
            "code": np.array([i[0] for i in issues], dtype=object),
            "message": np.array([i[1] for i in issues], dtype=object),
            "rows": np.array([i[2].tolist() for i in issues] + [None], dtype=object)[:-1],
        })  # fmt: skip

    # ---- evidence -------------------------------------------------------------------------

    def _adjacency(
        self, status_ok: bool
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """CSR adjacency record→edges and token-node→edges (nodes: 0..n-1 records, n.. tokens)."""
        p, sol = self._prep, self._sol
        n = p.n
        mask = sol.e_status == Status.OK if status_ok else p.e_tok != 0
        idx = np.flatnonzero(mask)
        _, tnode = np.unique(p.e_tok[idx], return_inverse=True)
        tnode = tnode.astype(np.int64) + n
        return idx, p.e_rec[idx].astype(np.int64), tnode

    def _graph(self, only_ok: bool) -> tuple[npt.NDArray[np.signedinteger[Any]], ...]:
        """(first neighbour of each node, neighbours, edge ids): the graph of records and
        identifier values over the used links (*only_ok*) or every identifier, as CSR;
        built on the first ``explain`` that needs it and kept for the next ones."""
        if only_ok not in self._graphs:
            edges, rec, tnode = self._adjacency(only_ok)
            src = np.concatenate([rec, tnode])
            order = np.argsort(src, kind="stable")
            nodes = max(int(src.max(initial=0)) + 1, self._prep.n)
            # (32-bit when they fit: 16 bytes a link kept, both directions)
            narrow = np.int32 if max(nodes, len(self._sol.e_status)) < 2**31 else np.int64
            dst = np.concatenate([tnode, rec])[order].astype(narrow)
            eid = np.concatenate([edges, edges])[order].astype(narrow)
            starts = np.searchsorted(src[order], np.arange(nodes + 1))
            self._graphs[only_ok] = (starts, dst, eid)
        return self._graphs[only_ok]

    def _path(self, a: int, b: int, only_ok: bool, within: int | None) -> list[int] | None:
        """The edges of a shortest path from record row *a* to *b* (None: none), through
        records of cluster label *within* only when given."""
        starts, dst, eid = self._graph(only_ok)
        n, label = self._prep.n, self._sol.label
        prev: dict[int, tuple[int, int]] = {a: (-1, -1)}
        queue = deque([a])
        while queue:
            x = queue.popleft()
            if x == b:
                break
            for j in range(starts[x], starts[x + 1]):
                y = int(dst[j])
                if within is not None and y < n and label[y] != within:
                    continue
                if y not in prev:
                    prev[y] = (x, int(eid[j]))
                    queue.append(y)
        if b not in prev:
            return None
        path: list[int] = []
        x = b
        while x != a:
            x, e = prev[x]
            path.append(e)
        return path[::-1]

    def _evidence(self, e: int) -> Evidence:
        p, sol = self._prep, self._sol
        r = int(p.e_rec[e])
        return Evidence(
            record_id=p.record_id[r].item() if hasattr(p.record_id[r], "item") else p.record_id[r],
            id_type=self.rules.types[int(p.e_type[e])].name,
            value=self._masked(e),
            ts=_dt(int(p.ts[r])),
            status=REASONS[int(sol.e_status[e])],
        )

    def explain(self, record_a: Any, record_b: Any) -> Explanation:
        """The evidence joining two records, or the rule that kept them apart.

        For records with one One ID the path is a shortest chain of *used*
        links inside the cluster: each consecutive pair of evidence items shares
        an identifier value. For records apart, the path is the shortest chain
        over every identifier (used or refused) and ``rule`` is the reason of
        its first refused link.

        The first call builds a graph of the resolution's identifiers (about 16 bytes
        a link, and 8 a record and a value) and keeps it for the later calls.

        Args:
            record_a: a record id (as in ``record_id``).
            record_b: another record id.

        Raises:
            InvalidInput: an unknown record id.

        Examples:
            >>> from autoops.identity import resolve
            >>> res = resolve({"record_id": [1, 2, 3],
            ...                "phone": ["13812345670", "13812345670", None],
            ...                "wechat_unionid": [None, "u1", "u1"]})
            >>> ex = res.explain(1, 3)
            >>> ex.same, [(e.record_id, e.id_type) for e in ex.path]
            (True, [(1, 'phone'), (2, 'phone'), (2, 'wechat_unionid'), (3, 'wechat_unionid')])
        """
        a, b = self._row(record_a), self._row(record_b)
        same = bool(self.one_id[a] == self.one_id[b])
        if a == b:
            return Explanation(True, (), None)
        if same:
            path = self._path(a, b, True, int(self._sol.label[a]))
            if path is None:  # attached through an asset (VIN) span
                path = self._path(a, b, False, int(self._sol.label[a])) or []
            return Explanation(True, tuple(self._evidence(e) for e in path), None)
        path = self._path(a, b, False, None)
        if path is None:
            return Explanation(False, (), "no shared identifier")
        ev = tuple(self._evidence(e) for e in path)
        rule = next((x.status for x in ev if x.status != "ok"), "asset owner span")
        return Explanation(False, ev, rule)

    def explain_cluster(self, one_id: int) -> Table:
        """Every identifier of a cluster: record, type, masked value, time and status.

        Lists the cluster's records' identifiers, used (``ok``) or refused (with
        the reason), so a reviewer sees the whole evidence at once.

        Raises:
            InvalidInput: no such One ID.

        Examples:
            >>> from autoops.identity import resolve
            >>> res = resolve({"phone": ["13812345670", "13812345670"]})
            >>> res.explain_cluster(int(res.one_id[0]))["status"].tolist()
            ['ok', 'ok']
        """
        rows = np.flatnonzero(self.one_id == one_id)
        if len(rows) == 0:
            raise InvalidInput(f"no One ID {one_id}", field="one_id", code="unknown_one_id")
        p = self._prep
        edges = np.flatnonzero(np.isin(p.e_rec, rows))
        ev = [self._evidence(int(e)) for e in edges]
        return Table("cluster", {
            "record_id": np.array([e.record_id for e in ev] + [None], dtype=object)[:-1],
            "type": np.array([e.id_type for e in ev], dtype=object),
            "value": np.array([e.value for e in ev], dtype=object),
            "ts": p.ts[p.e_rec[edges]].astype("datetime64[us]"),
            "status": np.array([e.status for e in ev], dtype=object),
        })  # fmt: skip

    # ---- health and quality ---------------------------------------------------------------

    def health(self, previous: Resolution | None = None) -> Health:
        """Cluster-size histograms, largest clusters, per-type counts, refusals, drift.

        ``refusals`` counts every refused link by ``reason:type`` (a cap that
        bites is always counted). With *previous*, ``drift`` compares records
        present in both by record id: ``kept`` is the share whose One ID did not
        change, ``merged`` and ``split`` count previous clusters that joined
        another or broke up.

        Examples:
            >>> from autoops.identity import resolve
            >>> h = resolve({"phone": ["13812345670", "13812345670", "13812345671"]}).health()
            >>> h.size_histogram["2"], h.size_histogram["1"]
            (1, 1)
        """
        sol, p = self._sol, self._prep
        cl = self.clusters()
        names = np.array(self.rules.names, dtype=object)
        st = sol.e_status
        refusals: dict[str, int] = {}
        bad = np.flatnonzero(st > Status.OK)
        if len(bad):
            codes, counts = np.unique(
                st[bad].astype(np.int64) * 1000 + p.e_type[bad], return_counts=True
            )
            for c, v in zip(codes.tolist(), counts.tolist(), strict=True):
                refusals[f"{REASONS[c // 1000]}:{names[c % 1000]}"] = int(v)
        t_rows = np.bincount(p.e_type, minlength=len(names))
        t_links = np.bincount(p.e_type[st == Status.OK], minlength=len(names))
        t_ref = np.bincount(p.e_type[st > Status.OK], minlength=len(names))
        t_vals = np.bincount(sol.key_type, minlength=len(names))
        per_type = Table("per_type", {"type": names, "records": t_rows, "distinct": t_vals,
                                      "links": t_links, "refused": t_ref})  # fmt: skip
        top = min(10, len(cl))
        largest = Table("largest", {c: v[:top] for c, v in cl.cols.items()})
        drift = None
        if previous is not None:
            drift = _drift(previous, self)
        return Health(
            _hist(cl["records"]), _hist(cl["identifiers"]), largest, per_type, refusals, drift
        )

    def evaluate(self, true_person_id: Any) -> Evaluation:
        """Compare with ground truth person ids (``-1`` rows, e.g. fake traffic, are skipped).

        Pairwise precision/recall count record pairs; ``purity`` is the share of
        clusters (of evaluated records) holding one person; ``connectable``
        people are those whose own records are joined by their own valid,
        non-hub identifiers, and ``split`` counts those that got several ids.

        Examples:
            >>> from autoops.identity import resolve
            >>> res = resolve({"crm_id": ["a", "a", "b"]})
            >>> ev = res.evaluate([0, 0, 1])
            >>> ev.precision, ev.recall, ev.split
            (1.0, 1.0, 0)
        """
        truth = np.asarray(true_person_id, dtype=np.int64)
        if len(truth) != len(self.one_id):
            raise InvalidInput(
                "true_person_id length differs from the records", field="true_person_id"
            )
        keep = truth >= 0
        lab = self._sol.label[keep]
        tr = truth[keep]
        _, tr_d = np.unique(tr, return_inverse=True)

        def pairs(counts: npt.NDArray[np.int64]) -> int:
            return int((counts * (counts - 1) // 2).sum())

        cell = np.unique(
            lab * np.int64(tr_d.max() + 1 if len(tr_d) else 1) + tr_d, return_counts=True
        )[1]
        tp = pairs(cell)
        pred = pairs(np.bincount(lab))
        true = pairs(np.bincount(tr_d))
        precision = tp / pred if pred else 1.0
        recall = tp / true if true else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        cl_lab, cl_inv = np.unique(lab, return_inverse=True)
        people_per = np.zeros(len(cl_lab), dtype=np.int64)
        cl_people = np.unique(cl_inv * np.int64(tr_d.max() + 1 if len(tr_d) else 1) + tr_d)
        np.add.at(people_per, cl_people // (tr_d.max() + 1 if len(tr_d) else 1), 1)
        mixed = int((people_per > 1).sum())
        purity = 1.0 - mixed / len(cl_lab) if len(cl_lab) else 1.0
        connectable, split = self._split_counts(truth)
        return Evaluation(
            precision, recall, f1, purity, mixed, len(np.unique(tr)), connectable, split
        )

    def _split_counts(self, truth: npt.NDArray[np.int64]) -> tuple[int, int]:
        from autoops.identity._kernel import components

        p, sol = self._prep, self._sol
        valid = np.isin(sol.e_status, (Status.OK, Status.LIMIT, Status.SPLIT)) & (p.e_tok != 0)
        rec = p.e_rec[valid]
        t = truth[rec]
        good = t >= 0
        rec, t, tok = rec[good], t[good], p.e_tok[valid][good]
        # key node per (person, token): a person's records joined by their own identifiers
        _, knode = np.unique(np.stack([t.astype(np.uint64), tok]), axis=1, return_inverse=True)
        n = p.n
        lab = components(n + int(knode.max(initial=-1)) + 1, rec, knode.astype(np.int64) + n)[:n]
        people = truth >= 0
        persons, inv = np.unique(truth[people], return_inverse=True)
        rl = lab[people]
        ids = self.one_id[people]
        comps = np.unique(np.stack([inv.astype(np.int64), rl]), axis=1)
        n_comp = np.bincount(comps[0], minlength=len(persons))
        ids_pairs = np.unique(np.stack([inv.astype(np.int64), ids]), axis=1)
        n_ids = np.bincount(ids_pairs[0], minlength=len(persons))
        conn = n_comp == 1
        return int(conn.sum()), int((conn & (n_ids > 1)).sum())


def _drift(previous: Resolution, current: Resolution) -> dict[str, float]:
    prev_ids = np.asarray(previous.record_id)
    cur_ids = np.asarray(current.record_id)
    common, ip, ic = np.intersect1d(prev_ids, cur_ids, return_indices=True)
    if len(common) == 0:
        return {"records": 0.0, "kept": 1.0, "merged": 0.0, "split": 0.0}
    a = previous.one_id[ip]
    b = current.one_id[ic]
    kept = float((a == b).mean())
    # previous clusters mapping to several current ids split; current ids fed by several
    # merged: the distinct (previous, current) pairs, as one packed integer each (a
    # unique over the pairs as rows sorts them as structured values, 8x slower)
    ca = np.unique(a, return_inverse=True)[1].reshape(-1)
    cb = np.unique(b, return_inverse=True)[1].reshape(-1)
    width = np.int64(int(cb.max()) + 1)
    pairs = unique_sorted(ca.astype(np.int64) * width + cb)
    split = int((np.bincount(pairs // width) > 1).sum())
    merged = int((np.bincount(pairs % width) > 1).sum())
    return {
        "records": float(len(common)),
        "kept": kept,
        "merged": float(merged),
        "split": float(split),
    }
