"""Brute-force funnel oracle: enumerates every chain of every unit.

Independent of the engine: it reads the definition in ``SEMANTICS.md`` literally
(rows ordered by (ts, seq, input position); conditions 1-7; canonical chain =
max depth, then earliest final row, then latest start, then the latest row at
each earlier step). Exponential; only for small logs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from autoops.funnel import Funnel, Step

Row = dict[str, Any]

_NEG = -(2**63)
_POS = 2**63 - 1


def _matches(step: Step, row: Row) -> bool:
    if step.events and row["event"] not in step.events:
        return False
    for c in step.where:
        v = row.get(c.column)
        if c.op == "is_null":
            ok = v is None
        elif c.op == "not_null":
            ok = v is not None
        elif v is None:
            ok = False
        elif c.op == "==":
            ok = v == c.value
        elif c.op == "!=":
            ok = v != c.value
        elif c.op == "in":
            ok = v in c.value  # type: ignore[operator]
        elif c.op == "not_in":
            ok = v not in c.value  # type: ignore[operator]
        else:
            ok = {">": v > c.value, ">=": v >= c.value, "<": v < c.value, "<=": v <= c.value}[c.op]
        if not ok:
            return False
    return True


def unit_chains(f: Funnel, rows: list[Row], d0: int, d1: int) -> list[tuple[int, ...]]:
    """Every valid chain (as positions into *rows*, already in (ts, seq) order)."""
    k = len(f.steps)
    w = f.window_us
    gaps = f.gap_bounds_us()
    holds = f.hold_steps
    m = [[_matches(s, r) for s in f.steps] for r in rows]
    ex = [[_matches(x.step, r) for x in f.exclusions] for r in rows]
    guards: list[list[int]] = []
    for j in range(1, k):  # gap between 1-based steps j and j+1
        guards.append(
            [
                e
                for e, x in enumerate(f.exclusions)
                if x.after <= j and j + 1 <= (x.before if x.before is not None else k)
            ]
        )
    starts = [i for i, r in enumerate(rows) if m[i][0] and d0 <= r["ts"] < d1]
    if f.entry == "first":
        starts = starts[:1]
    out: list[tuple[int, ...]] = []

    def link_ok(j: int, a: int, b: int) -> bool:
        # j: 0-based index of the step of row b
        if not m[b][j] or b <= a:
            return False
        if rows[b]["ts"] - rows[chain_start[0]]["ts"] > w:
            return False
        lo, hi = gaps[j - 1]
        gap = rows[b]["ts"] - rows[a]["ts"]
        if lo is not None and gap < lo:
            return False
        if hi is not None and gap > hi:
            return False
        for x in range(a + 1, b):
            if any(ex[x][e] for e in guards[j - 1]):
                return False
        if f.order == "strict":
            if f.strict_repeats == "break" and b != a + 1:
                return False
            if f.strict_repeats == "tolerate" and not all(m[x][j - 1] for x in range(a + 1, b)):
                return False
        for field, idx in holds.items():
            if j in idx and j + 1 in idx:
                va, vb = rows[a].get(field), rows[b].get(field)
                if va is None or vb is None or va != vb:
                    return False
        return True

    chain_start = [0]

    def extend(chain: list[int]) -> None:
        out.append(tuple(chain))
        j = len(chain)
        if j == k:
            return
        for b in range(chain[-1] + 1, len(rows)):
            if link_ok(j, chain[-1], b):
                chain.append(b)
                extend(chain)
                chain.pop()

    for s in starts:
        chain_start[0] = s
        extend([s])
    return out


def canonical(chains: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Max depth, earliest final row, latest start, then latest rows walking back."""
    if not chains:
        return ()
    return max(chains, key=lambda c: (len(c), -c[-1], c[0], tuple(reversed(c[1:-1]))))


def group_rows(events: dict[str, Any], seq: str | None = None) -> dict[Any, list[Row]]:
    """Rows per unit ordered by (ts, seq, input position); ts as int µs."""
    n = len(events["event"])
    per: dict[Any, list[Row]] = defaultdict(list)
    names = list(events)
    for i in range(n):
        row = {c: _py(events[c][i]) for c in names}
        row["ts"] = int(events["ts"][i].astype("datetime64[us]").astype("int64"))
        row["_pos"] = i
        per[row["one_id"]].append(row)
    key: Callable[[Row], tuple[Any, ...]] = (
        (lambda r: (r["ts"], r[seq], r["_pos"])) if seq else (lambda r: (r["ts"], r["_pos"]))
    )
    return {u: sorted(rs, key=key) for u, rs in per.items()}


def to_us(d: datetime) -> int:
    """An aware datetime as integer µs since the epoch."""
    return (d - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def oracle(f: Funnel, events: dict[str, Any], seq: str | None = None) -> dict[Any, dict[str, Any]]:
    """Per unit: depth, canonical chain (input row positions) and time to convert (µs)."""
    d0, d1 = _NEG, _POS
    if f.entry_range is not None:
        d0, d1 = (to_us(d) for d in f.entry_range)
    result: dict[Any, dict[str, Any]] = {}
    for u, rows in group_rows(events, seq).items():
        if f.order in ("ordered", "strict"):
            best = canonical(unit_chains(f, rows, d0, d1))
            result[u] = {
                "depth": len(best),
                "chain": [rows[i]["_pos"] for i in best],
                "ttc": rows[best[-1]]["ts"] - rows[best[0]]["ts"] if best else None,
            }
        elif f.order == "unordered":
            w = f.window_us
            depth, chain = 0, []
            for t in rows:  # the earliest anchor of the deepest count wins
                if not d0 <= t["ts"] < d1 or not any(_matches(s, t) for s in f.steps):
                    continue
                # per step its first row in [t.ts, t.ts + W] (rows in order)
                firsts = [
                    next((i for i, r in enumerate(rows)
                          if _matches(s, r) and t["ts"] <= r["ts"] <= t["ts"] + w), None)
                    for s in f.steps
                ]  # fmt: skip
                got = sorted(i for i in firsts if i is not None)
                if len(got) > depth:
                    depth, chain = len(got), got
            result[u] = {"depth": depth, "chain": [rows[i]["_pos"] for i in chain]}
        else:
            hi = d1 if d1 == _POS else d1 + f.window_us
            result[u] = {
                "reached": [
                    any(_matches(s, r) and d0 <= r["ts"] < hi for r in rows) for s in f.steps
                ]
            }
    return result
