"""IdentityGraph: the persistent One ID state with merges, splits and forgetting."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import short_repr
from autoops.errors import InvalidInput
from autoops.identity._normalize import Status
from autoops.identity._prepare import NAT, Prepared, prepare, token_of
from autoops.identity._rules import MergeRules
from autoops.identity._solve import asset_spans, solve

__all__ = ["Created", "IdentityGraph", "MergeDelta", "Merged", "Split"]


@attrs.frozen(slots=True)
class Merged:
    """Clusters ``old`` joined ``new`` (the oldest id survives; ``old`` ids redirect)."""

    old: tuple[int, ...]
    new: int


@attrs.frozen(slots=True)
class Split:
    """Cluster ``old`` broke into ``parts`` (the part with the oldest record keeps ``old``)."""

    old: int
    parts: tuple[int, ...]


@attrs.frozen(slots=True)
class Created:
    """A new One ID made of new records only."""

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
    same cannot-links and tombstones applied: ids depend only on content, so
    batch boundaries and row order do not matter. On a merge the oldest id
    survives and the others redirect to it; on a split the part holding the
    oldest record keeps the id. Forgotten identifiers are tombstoned: re-adding
    the same raw data never brings them back.

    Args:
        rules: merge rules (:meth:`MergeRules.automotive_default` if ``None``).
        secret: per-deployment key for HMAC tokens; keep it outside the graph directory.

    Examples:
        >>> g = IdentityGraph()
        >>> d = g.add({"record_id": [1, 2], "phone": ["13912340001", "13912340001"]})
        >>> len(d.created), g.lookup("phone", "+86 139 1234 0001") == g.one_id_of(1)
        (1, True)
    """

    def __init__(self, rules: MergeRules | None = None, *, secret: bytes | None = None) -> None:
        self.rules = MergeRules.automotive_default() if rules is None else rules
        self._secret = secret
        self._parts: list[Prepared] = []
        self._cannot: dict[int, set[int]] = {}
        self._tombstones: set[int] = set()
        self._redirects: dict[int, int] = {}
        self._record_id: npt.NDArray[Any] = np.zeros(0, dtype=object)
        self._one_id: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._label: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._all: Prepared | None = None

    def __repr__(self) -> str:
        people = len(np.unique(self._one_id))
        return short_repr("IdentityGraph", records=len(self._one_id), people=people,
                          tombstones=len(self._tombstones))  # fmt: skip

    def __len__(self) -> int:
        return len(self._one_id)

    # ---- state ---------------------------------------------------------------------------

    def _combined(self) -> Prepared:
        parts = self._parts
        offsets = np.cumsum([0] + [p.n for p in parts])
        tomb = np.fromiter(self._tombstones, dtype=np.uint64, count=len(self._tombstones))
        e_tok = np.concatenate([p.e_tok for p in parts])
        e_status = np.concatenate([p.e_status for p in parts])
        if len(tomb):
            e_status = np.where(np.isin(e_tok, tomb) & (e_status == Status.OK), Status.FORGOTTEN,
                                e_status).astype(np.int8)  # fmt: skip
        return Prepared(
            n=int(offsets[-1]),
            record_id=np.concatenate([p.record_id.astype(object) for p in parts]),
            rid_token=np.concatenate([p.rid_token for p in parts]),
            ts=np.concatenate([p.ts for p in parts]),
            e_rec=np.concatenate([p.e_rec + o for p, o in zip(parts, offsets, strict=False)]),
            e_type=np.concatenate([p.e_type for p in parts]),
            e_tok=e_tok,
            e_status=e_status,
            e_detail=np.full(len(e_tok), -1, dtype=np.int16),
            details=(),
            raw={},
            issues=(),
        )

    def _recompute(self) -> MergeDelta:
        old_ids = self._one_id
        if not self._parts:
            return MergeDelta(())
        prep = self._combined()
        cannot = {k: frozenset(v) for k, v in self._cannot.items()}
        sol = solve(prep, self.rules, cannot=cannot)
        self._all = prep
        self._record_id = prep.record_id
        self._label = sol.label
        self._one_id = sol.one_id
        return self._delta(old_ids, sol.one_id)

    def _delta(self, old: npt.NDArray[np.int64], new: npt.NDArray[np.int64]) -> MergeDelta:
        events: list[Merged | Split | Created] = []
        n_old = len(old)
        pairs = (
            np.unique(np.stack([old, new[:n_old]]), axis=1) if n_old else np.zeros((2, 0), np.int64)
        )
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
            gone = tuple(sorted(s for s in sources if s != b))
            if gone and (len(sources) > 1 or b not in sources):
                events.append(Merged(gone, b))
                for s in gone:
                    if len(new_of.get(s, [])) == 1:
                        self._redirects[s] = b
        for b in np.unique(new[n_old:]).tolist():
            if b not in old_of:
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

    # ---- operations ----------------------------------------------------------------------

    def add(self, records: Any, **options: Any) -> MergeDelta:
        """Add records (same input as :func:`~autoops.identity.resolve`) and merge them.

        Args:
            records: a table of records; ids must be new to the graph.
            **options: ``staff=``, ``kiosks=``, ``consent=``, ``columns=``,
                ``id_column=``, ``time_column=`` as in ``resolve``.

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
        if self._all is not None:
            clash = np.flatnonzero(np.isin(prep.rid_token, self._all.rid_token))
            if len(clash):
                raise InvalidInput("record ids already in the graph", field="record_id",
                                   row=clash[:20].tolist(), code="duplicate_record_id")  # fmt: skip
        self._parts.append(attrs.evolve(prep, raw={}, issues=()))
        return self._recompute()

    def split(self, one_id: int, identifiers: Iterable[IdentifierRef]) -> MergeDelta:
        """Split the given identifiers off a cluster, for good.

        Adds cannot-links between each given identifier and every other
        identifier the cluster holds now, then re-resolves. A record holding
        identifiers of both sides stays with its highest-priority identifier.

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
        prep = self._require()
        rows = np.flatnonzero(self._one_id == one_id)
        held = np.isin(prep.e_rec, rows) & (prep.e_status == Status.OK)
        others = {int(t) for t in np.unique(prep.e_tok[held]).tolist()} - given
        for t in given:
            self._cannot.setdefault(t, set()).update(others)
        for o in others:
            self._cannot.setdefault(o, set()).update(given)
        return self._recompute()

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
        return self._recompute()

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
        self._tombstones.add(self._token((id_type, value, scope)))
        return self._recompute()

    def lookup(self, id_type: str, value: Any, scope: Any = None) -> int | None:
        """The One ID holding an identifier (a used link), or ``None``.

        Examples:
            >>> IdentityGraph().lookup("phone", "13912340001") is None
            True
        """
        if self._all is None:
            return None
        tok = self._token((id_type, value, scope))
        prep = self._all
        hit = np.flatnonzero((prep.e_tok == tok) & (prep.e_status == Status.OK))
        if len(hit) == 0 or tok in self._tombstones:
            return None
        ids = np.unique(self._one_id[prep.e_rec[hit]])
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

        prep = self._require()
        tok = self._token(("vin", vin))
        edges = np.flatnonzero((prep.e_tok == tok) & (prep.e_status == Status.OK))
        rec = prep.e_rec[edges]
        t = int(to_utc_us(np.array([at], dtype=object), field="at").view(np.int64)[0])
        holders = np.unique(self._one_id[rec])
        person = [h for h in holders.tolist() if self._has_person_key(h)]
        keep = np.isin(self._one_id[rec], person)
        _, owners, starts = asset_spans(np.zeros(int(keep.sum()), dtype=np.int64),
                                        self._one_id[rec[keep]], prep.ts[rec[keep]])  # fmt: skip
        valid = (starts <= t) & (starts != NAT)
        return int(owners[valid][-1]) if valid.any() else None

    def _has_person_key(self, one_id: int) -> bool:
        prep = self._require()
        rows = np.flatnonzero(self._one_id == one_id)
        kinds = np.array([t.kind != "asset" for t in self.rules.types])
        sel = np.isin(prep.e_rec, rows) & (prep.e_status == Status.OK)
        return bool(kinds[prep.e_type[sel]].any())

    def _require(self) -> Prepared:
        if self._all is None:
            raise InvalidInput("the graph is empty", code="empty_graph")
        return self._all

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
        prep = self._all
        arrays: dict[str, npt.NDArray[Any]] = {}
        if prep is not None:
            arrays = {
                "record_id": prep.record_id.astype(str),
                "rid_token": prep.rid_token,
                "ts": prep.ts,
                "e_rec": prep.e_rec,
                "e_type": prep.e_type,
                "e_tok": prep.e_tok,
                "e_status": np.concatenate([p.e_status for p in self._parts]),
            }
        np.savez(path / "graph.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "rules": self.rules.to_dict(),
            "hashed": self._secret is not None,
            "cannot": {str(k): sorted(v) for k, v in self._cannot.items()},
            "tombstones": sorted(self._tombstones),
            "redirects": {str(k): v for k, v in self._redirects.items()},
        }
        (path / "graph.json").write_text(json.dumps(meta, sort_keys=True))

    @classmethod
    def load(cls, directory: str | Path, *, secret: bytes | None = None) -> IdentityGraph:
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
        with np.load(path / "graph.npz") as data:
            if "record_id" in data:
                n = len(data["record_id"])
                part = Prepared(
                    n=n, record_id=data["record_id"].astype(object), rid_token=data["rid_token"],
                    ts=data["ts"], e_rec=data["e_rec"], e_type=data["e_type"], e_tok=data["e_tok"],
                    e_status=data["e_status"], e_detail=np.full(len(data["e_tok"]), -1, np.int16),
                    details=(), raw={}, issues=(),
                )  # fmt: skip
                graph._parts = [part]
                graph._recompute()
        graph._redirects = {int(k): int(v) for k, v in meta["redirects"].items()}
        return graph
