"""``Ledger.earn_many()``: many earns in one store transaction, per-row failures reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from autoops._tabular import columns
from autoops._time import to_utc_us
from autoops.errors import InvalidInput
from autoops.loyalty._ledger import Work
from autoops.loyalty._results import EarnBatch
from autoops.loyalty._rows import IdSource, LotRow, TxRow, isnone, payload_hash
from autoops.loyalty._store import KeyRace

if TYPE_CHECKING:
    from autoops.loyalty._core import Ledger

__all__ = ["earn_many"]


def _records_to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    return {name: [row.get(name) for row in rows] for name in names}


def _text_ok(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    return np.array(
        [isinstance(v, str) and bool(v.strip()) and len(v) <= 200 for v in values], dtype=bool
    )


def _points(
    values: npt.NDArray[Any], maximum: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    n = len(values)
    err = np.full(n, None, dtype=object)
    if values.dtype.kind in "iu":
        pts = values.astype(np.int64)
    elif values.dtype.kind == "f":
        whole = np.isfinite(values) & (np.floor(values) == values)
        err[~whole] = "points: must be a whole number of points"
        pts = np.where(whole, values, 0).astype(np.int64)
    else:
        ok = np.array(
            [isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values],
            dtype=bool,
        )
        err[~ok] = "points: must be a whole number of points"
        pts = np.array(
            [int(v) if k else 0 for v, k in zip(values, ok, strict=True)], dtype=np.int64
        )
    none = isnone(err)
    err[none & (pts <= 0)] = "points: must be positive"
    err[none & (pts > maximum)] = f"points: must be at most {maximum}"
    return pts, err


def earn_many(
    ledger: Ledger,
    rows: Any,
    *,
    reason: str | None,
    policy: str | None,
    actor: str | None,
    account: str = "points",
) -> EarnBatch:
    """See :meth:`Ledger.earn_many`."""
    from autoops.loyalty._core import MAX_POINTS, check_text
    from autoops.loyalty._expiry import NEVER, ExpiryPolicy

    if account not in ("points", "growth"):
        raise InvalidInput("must be 'points' or 'growth'", field="account")

    if isinstance(rows, list | tuple):
        rows = _records_to_columns(rows)
    names = ["member_id", "points", "key"]
    optional = ["reason", "occurred_at", "locked_until"]
    cols = columns(rows, names, optional=optional, what="earn_many rows")
    if reason is None and "reason" not in cols:
        raise InvalidInput("give a reason column or reason=", field="reason")
    if reason is not None:
        check_text(reason, field="reason")
    n = len(cols["member_id"])
    now = ledger._now()
    member = cols["member_id"].astype(object)
    key = cols["key"].astype(object)
    reasons = (
        cols["reason"].astype(object) if "reason" in cols else np.full(n, reason, dtype=object)
    )
    pts, err = _points(cols["points"], MAX_POINTS)
    for name, arr in (("member_id", member), ("key", key), ("reason", reasons)):
        bad = ~_text_ok(arr) & isnone(err)
        err[bad] = f"{name}: must be a non-empty string of at most 200 characters"
    given = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if "occurred_at" in cols:
        given = to_utc_us(cols["occurred_at"], field="occurred_at").astype(np.int64)
    nat = np.iinfo(np.int64).min
    has_occ = given != nat
    occ = np.where(has_occ, given, now)
    lock = np.full(n, nat, dtype=np.int64)
    if "locked_until" in cols and account == "points":
        lock = to_utc_us(cols["locked_until"], field="locked_until").astype(np.int64)
    has_lock = lock != nat
    unlock = np.where(has_lock, np.maximum(lock, occ), occ)
    rule = ledger.expiry if policy is None else ExpiryPolicy.parse(policy, tz=ledger.tz)
    exp = np.full(n, NEVER, dtype=np.int64) if account == "growth" else rule.expires_at_us(unlock)
    pol = None if policy is None else rule.to_json()
    rows_in = zip(member, pts, reasons, given, has_occ, unlock, has_lock, strict=True)
    payload = np.array(
        [
            payload_hash(
                "earn",
                account,
                m,
                int(p),
                r,
                int(o) if h else None,
                None,
                pol,
                int(u) if k else None,
            )
            for m, p, r, o, h, u, k in rows_in
        ],
        dtype=object,
    )
    status = np.full(n, "failed", dtype=object)
    tx_ids = np.full(n, None, dtype=object)
    ok = isnone(err)
    # duplicates inside the batch: the first row of each key stands for the rest
    first: dict[str, int] = {}
    for i in np.flatnonzero(ok):
        k = key[i]
        j = first.setdefault(k, int(i))
        if j != i:
            ok[i] = False
            if payload[i] != payload[j]:
                err[i] = f"key: repeats row {j} with a different payload"
                continue
            status[i] = f"same:{j}"
    todo = np.flatnonzero(ok)
    for _ in range(20):
        try:
            status[todo], tx_ids[todo], err[todo] = "failed", None, None
            with ledger.store.session() as s:
                s.lock(sorted({str(m) for m in member[todo]}))
                found = s.find_keys([str(k) for k in key[todo]])
                debts = s.debts(sorted({str(m) for m in member[todo]}))
                ids = IdSource("tx")
                txs: list[TxRow] = []
                lots: list[LotRow] = []
                works: dict[str, Work] = {}
                written = {}
                for i in todo:
                    k, m = str(key[i]), str(member[i])
                    hit = found.get(k)
                    if hit is not None:
                        if hit.payload == payload[i]:
                            status[i], tx_ids[i] = "duplicate", hit.id
                        else:
                            status[i], err[i] = (
                                "failed",
                                "key: already used with a different payload",
                            )
                        continue
                    tx_id = ids.next()
                    p, o, e, u = int(pts[i]), int(occ[i]), int(exp[i]), int(unlock[i])
                    if debts.get(m, 0) > 0 or m in works:
                        w = works.get(m)
                        if w is None:
                            w = works[m] = ledger._work(s, m, now, actor)
                        w.earn(
                            p,
                            reason=str(reasons[i]),
                            key=k,
                            payload=str(payload[i]),
                            occurred_at=o,
                            expires_at=e,
                            unlock_at=u,
                            tx_id=tx_id,
                            account=account,
                        )
                    else:
                        lots.append(LotRow(tx_id, m, account, o, u, e, p, p, 0))
                        txs.append(
                            TxRow(
                                tx_id,
                                m,
                                account,
                                "earn",
                                p,
                                p,
                                str(reasons[i]),
                                actor or ledger.actor,
                                now,
                                o,
                                key=k,
                                payload=str(payload[i]),
                                expires_at=e,
                                unlock_at=u if u > o else None,
                                moves=[(tx_id, p, 0)],
                            )
                        )
                    status[i], tx_ids[i] = "earned", tx_id
                    written[m] = 0
                for w in works.values():
                    w.settle()
                    txs.extend(w.txs)
                    lots.extend(w.changed_lots())
                debts_out = {m: debts.get(m, 0) for m in written}
                debts_out.update({m: w.debt for m, w in works.items()})
                holds = [h for w in works.values() for h in w.changed_holds()]
                s.write(txs, lots, holds, debts_out)
            break
        except KeyRace:
            continue
    for row in range(n):
        st = status[row]
        if isinstance(st, str) and st.startswith("same:"):
            src = int(st[5:])
            status[row] = "duplicate"
            tx_ids[row] = tx_ids[src]
    return EarnBatch(transaction_id=tx_ids, status=status, error=err)
