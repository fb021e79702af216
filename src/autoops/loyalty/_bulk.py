"""``Ledger.earn_many()``: many earns in one store transaction, per-row failures reported.

The batch is handled as columns: validation, expiry instants, idempotency
payloads and in-batch duplicate keys are computed for all rows at once; one
query finds the keys already in the ledger and one the indebted members; the
rows that settle nothing are written with one bulk statement per table
(``executemany`` on SQLite, ``COPY`` on PostgreSQL). Only rows of members who
owe debt (rare) go through the per-member decision logic, which repays the
debt from the new points.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import methodcaller
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from autoops._tabular import columns
from autoops._time import to_utc_us
from autoops.errors import InvalidInput, LedgerError
from autoops.loyalty._ledger import Work
from autoops.loyalty._results import EarnBatch
from autoops.loyalty._rows import EarnRows, IdSource, LotRow, TxRow, isnone
from autoops.loyalty._store import KeyRace

if TYPE_CHECKING:
    from autoops.loyalty._core import Ledger

__all__ = ["earn_many", "earn_payloads"]

_NAT = np.iinfo(np.int64).min


def _records_to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    names: list[str] = ["member_id", "points", "key"] if not rows else []  # [] is an empty batch
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    return {name: [row.get(name) for row in rows] for name in names}


def _text_ok(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Non-empty (not blank) strings of at most 200 characters."""
    n = len(values)
    if set(map(type, values)) == {str}:  # all plain strings: no per-value type test
        ok = np.ones(n, dtype=bool)
    else:
        ok = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
    text = values[ok]
    size = np.fromiter(map(len, text), dtype=np.int64, count=len(text))
    blank = np.fromiter(map(str.isspace, text), dtype=bool, count=len(text))
    ok[ok] = (size > 0) & (size <= 200) & ~blank
    return ok


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
        ok = np.fromiter(
            (isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values),
            dtype=bool,
            count=n,
        )
        err[~ok] = "points: must be a whole number of points"
        pts = np.zeros(n, dtype=np.int64)
        pts[ok] = np.array([int(v) for v in values[ok]], dtype=np.int64)
    none = isnone(err)
    err[none & (pts <= 0)] = "points: must be positive"
    err[none & (pts > maximum)] = f"points: must be at most {maximum}"
    return pts, err


def earn_payloads(
    account: str,
    member: Sequence[str],
    points: Sequence[int],
    reason: Sequence[str],
    occurred: Sequence[str],
    policy: str | None,
    unlock: Sequence[str],
) -> list[str]:
    """The idempotency payload of each earn, equal to the one ``Ledger.earn()`` computes.

    *occurred* and *unlock* are the given instants as decimal text, ``""`` when
    not given (the same fields ``payload_hash`` joins; no explicit expiry).
    """
    texts = map(
        "\x1f".join,
        zip(repeat("earn"), repeat(account), member, map(str, points), reason, occurred,
            repeat(""), repeat("" if policy is None else policy), unlock, strict=False),
    )  # fmt: skip
    digests = map(methodcaller("hexdigest"), map(hashlib.sha256, map(str.encode, texts)))
    return [d[:32] for d in digests]


def _plain(values: list[Any]) -> list[str]:
    """Validated text values as plain ``str`` (numpy or pandas string scalars converted)."""
    return values if set(map(type, values)) <= {str} else list(map(str, values))


def _pick(values: list[Any], idx: npt.NDArray[np.intp]) -> list[Any]:
    return values if len(idx) == len(values) else [values[j] for j in idx.tolist()]


def _instants_text(values: npt.NDArray[np.int64], given: npt.NDArray[np.bool_]) -> list[str]:
    return np.where(given, values.astype(str), "").tolist()  # type: ignore[no-any-return]


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
    who = ledger.actor if actor is None else check_text(actor, field="actor")
    n = len(cols["member_id"])
    now = ledger._now()
    member = cols["member_id"].astype(object)
    key = cols["key"].astype(object)
    reasons = (
        cols["reason"].astype(object) if "reason" in cols else np.full(n, reason, dtype=object)
    )
    pts, err = _points(cols["points"], MAX_POINTS)
    ok = isnone(err)
    checks = [("member_id", member), ("key", key)] + (
        [("reason", reasons)] if reason is None else []
    )
    for name, arr in checks:
        bad = ok & ~_text_ok(arr)
        err[bad] = f"{name}: must be a non-empty string of at most 200 characters"
        ok &= ~bad
    given = np.full(n, _NAT, dtype=np.int64)
    if "occurred_at" in cols:
        given = to_utc_us(cols["occurred_at"], field="occurred_at").astype(np.int64)
    has_occ = given != _NAT
    occ = np.where(has_occ, given, now)
    lock = np.full(n, _NAT, dtype=np.int64)
    if "locked_until" in cols and account == "points":
        lock = to_utc_us(cols["locked_until"], field="locked_until").astype(np.int64)
    has_lock = lock != _NAT
    unlock = np.where(has_lock, np.maximum(lock, occ), occ)
    rule = ledger.expiry if policy is None else ExpiryPolicy.parse(policy, tz=ledger.tz)
    exp = np.full(n, NEVER, dtype=np.int64) if account == "growth" else rule.expires_at_us(unlock)

    status = np.full(n, "failed", dtype=object)
    tx_ids = np.full(n, None, dtype=object)
    valid = np.flatnonzero(ok)
    payload = np.full(n, None, dtype=object)
    payload[valid] = earn_payloads(
        account,
        member[valid].tolist(),
        pts[valid].tolist(),
        reasons[valid].tolist(),
        _instants_text(given[valid], has_occ[valid]),
        None if policy is None else str(rule.to_json()),
        _instants_text(unlock[valid], has_lock[valid]),
    )

    # repeats of a key inside the batch: only its first valid row (the lead) may be written;
    # the others are judged against what the key ends up holding (see the end)
    valid_keys = _plain(key[valid].tolist())
    first_at = dict(zip(reversed(valid_keys), range(len(valid_keys) - 1, -1, -1), strict=True))
    lead = np.arange(len(valid))
    if len(first_at) < len(valid_keys):
        lead = np.fromiter(map(first_at.__getitem__, valid_keys), np.intp, len(valid_keys))
    is_lead = lead == np.arange(len(valid))
    followers, their_lead = valid[~is_lead], valid[lead[~is_lead]]
    ok[followers] = False

    todo = np.flatnonzero(ok)
    t_member = _plain(member[todo].tolist())
    t_key = _pick(valid_keys, np.flatnonzero(is_lead))
    hits: dict[str, tuple[str, str | None]] = {}
    t_reason = [reason] * len(todo) if reason is not None else _plain(reasons[todo].tolist())
    members = sorted(set(t_member))
    occ_t, exp_t, unlock_t, pts_t = occ[todo], exp[todo], unlock[todo], pts[todo]
    for _ in range(20):
        try:
            status[todo], tx_ids[todo], err[todo] = "failed", None, None
            with ledger.store.session() as s:
                s.lock(members)
                hits = s.key_hits(t_key)
                debts = s.debts(set(members)) if len(todo) else {}
                write = np.ones(len(todo), dtype=bool)
                for j in [j for j, k in enumerate(t_key) if k in hits] if hits else []:
                    hit_id, hit_payload = hits[t_key[j]]
                    row = int(todo[j])
                    write[j] = False
                    if hit_payload == payload[row]:
                        status[row], tx_ids[row] = "duplicate", hit_id
                    else:
                        err[row] = "key: already used with a different payload"
                owing = np.zeros(len(todo), dtype=bool)
                if debts:
                    owing = np.fromiter((m in debts for m in t_member), dtype=bool, count=len(todo))
                fast = np.flatnonzero(write & ~owing)
                slow = np.flatnonzero(write & owing)
                ids = IdSource("tx")
                fast_ids = ids.take(len(fast))
                tx_unlock = unlock_t[fast].astype(object)
                tx_unlock[unlock_t[fast] <= occ_t[fast]] = None
                s.write_earns(
                    EarnRows(
                        id=fast_ids,
                        member_id=_pick(t_member, fast),
                        account=account,
                        points=pts_t[fast].tolist(),
                        reason=_pick(t_reason, fast),
                        actor=who,
                        key=_pick(t_key, fast),
                        payload=payload[todo[fast]].tolist(),
                        created_at=now,
                        occurred_at=occ_t[fast].tolist(),
                        expires_at=exp_t[fast].tolist(),
                        unlock_at=unlock_t[fast].tolist(),
                        tx_unlock_at=tx_unlock.tolist(),
                    )
                )
                status[todo[fast]] = "earned"
                tx_ids[todo[fast]] = fast_ids
                works: dict[str, Work] = {}
                for j in slow.tolist():  # members repaying debt: the per-member logic
                    row, m = int(todo[j]), t_member[j]
                    w = works.get(m)
                    if w is None:
                        w = works[m] = ledger._work(s, m, now, actor)
                    tx = w.earn(
                        int(pts_t[j]),
                        reason=t_reason[j],
                        key=t_key[j],
                        payload=str(payload[row]),
                        occurred_at=int(occ_t[j]),
                        expires_at=int(exp_t[j]),
                        unlock_at=int(unlock_t[j]),
                        tx_id=ids.next(),
                        account=account,
                    )
                    status[row], tx_ids[row] = "earned", tx.id
                if works:
                    txs: list[TxRow] = []
                    lots: list[LotRow] = []
                    for w in works.values():
                        w.settle()
                        txs.extend(w.txs)
                        lots.extend(w.changed_lots())
                    holds = [h for w in works.values() for h in w.changed_holds()]
                    s.write(txs, lots, holds, {m: w.debt for m, w in works.items()})
            break
        except KeyRace:
            continue
    else:  # pragma: no cover - twenty lost races in a row
        raise LedgerError("could not commit the batch: its idempotency keys kept racing")
    # a repeat is a duplicate of what its key holds now (the ledger's transaction, or the one
    # its lead row wrote) when the payloads agree, and fails otherwise, as earn() row by row
    for row, src in zip(followers.tolist(), their_lead.tolist(), strict=True):
        hit = hits.get(str(key[row]))
        held, held_id = (payload[src], tx_ids[src]) if hit is None else (hit[1], hit[0])
        if payload[row] == held:
            status[row], tx_ids[row] = "duplicate", held_id
        elif hit is None:
            err[row] = f"key: repeats row {src} with a different payload"
        else:
            err[row] = "key: already used with a different payload"
    return EarnBatch(transaction_id=tx_ids, status=status, error=err)
