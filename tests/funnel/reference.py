"""The DuckDB SQL reference: the dynamic programme of ``SEMANTICS.md`` in SQL.

``s1`` = step-1 rows in the entry range with b = ts; ``s_j`` = rows r matching
step j joined to rows q of ``s_(j-1)`` of the same unit with q.rn < r.rn
(strict: q.rn = r.rn - 1; tolerate: only step-(j-1) rows in between), no
guarding exclusion row strictly between, gap bounds and hold equality,
grouped by r with b = max(q.b), kept when r.ts - b <= W. Written from the
specification, not from the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoops.funnel import Condition, Funnel, Step

_NEG = -(2**62)
_POS = 2**62


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _cond(c: Condition, alias: str) -> str:
    col = f'{alias}."{c.column}"'
    if c.op == "is_null":
        return f"({col} IS NULL)"
    if c.op == "not_null":
        return f"({col} IS NOT NULL)"
    if c.op in ("in", "not_in"):
        vals = [v for v in c.value if v is not None]  # type: ignore[union-attr]
        if not vals:
            return "FALSE" if c.op == "in" else f"({col} IS NOT NULL)"
        inner = ", ".join(_lit(v) for v in vals)
        neg = "NOT " if c.op == "not_in" else ""
        return f"(COALESCE({col} {neg}IN ({inner}), FALSE))"
    op = "=" if c.op == "==" else c.op
    return f"(COALESCE({col} {op} {_lit(c.value)}, FALSE))"


def _pred(step: Step, alias: str) -> str:
    parts = []
    if step.events:
        parts.append(f"{alias}.event IN ({', '.join(_lit(e) for e in step.events)})")
    parts += [_cond(c, alias) for c in step.where]
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def funnel_sql(f: Funnel, d0: int, d1: int, seq: str | None = None) -> str:
    """One query returning (unit, depth, ttc_us) per unit with depth >= 1."""
    k = len(f.steps)
    w = f.window_us
    order = f"ts, {seq}, _pos" if seq else "ts, _pos"
    ctes = [
        f"r AS (SELECT *, row_number() OVER (PARTITION BY one_id ORDER BY {order}) AS rn FROM ev)"
    ]
    first = " QUALIFY rn = min(rn) OVER (PARTITION BY one_id)" if f.entry == "first" else ""
    ctes.append(
        f"s1 AS (SELECT one_id, rn, ts, ts AS b FROM r r WHERE {_pred(f.steps[0], 'r')} "
        f"AND ts >= {d0} AND ts < {d1}{first})"
    )
    gaps = f.gap_bounds_us()
    holds = f.hold_steps
    for j in range(2, k + 1):
        conds = ["q.one_id = r.one_id", _pred(f.steps[j - 1], "r")]
        if f.order == "strict" and f.strict_repeats == "break":
            conds.append("q.rn = r.rn - 1")
        else:
            conds.append("q.rn < r.rn")
        guard = [
            _pred(x.step, "x")
            for x in f.exclusions
            if x.after <= j - 1 and j <= (x.before if x.before is not None else k)
        ]
        if f.order == "strict" and f.strict_repeats == "tolerate":
            guard.append(f"NOT {_pred(f.steps[j - 2], 'x')}")
        if guard:
            conds.append(
                "NOT EXISTS (SELECT 1 FROM r x WHERE x.one_id = r.one_id AND x.rn > q.rn "
                f"AND x.rn < r.rn AND ({' OR '.join(guard)}))"
            )
        lo, hi = gaps[j - 2]
        if lo is not None:
            conds.append(f"r.ts - q.ts >= {lo}")
        if hi is not None:
            conds.append(f"r.ts - q.ts <= {hi}")
        for field, idx in holds.items():
            if j - 1 in idx and j in idx:
                conds.append(f'qr."{field}" = r."{field}"')
        ctes.append(
            f"s{j} AS (SELECT r.one_id, r.rn, r.ts, max(q.b) AS b FROM s{j - 1} q "
            f"JOIN r qr ON qr.one_id = q.one_id AND qr.rn = q.rn "
            f"JOIN r r ON {' AND '.join(conds)} "
            f"GROUP BY r.one_id, r.rn, r.ts HAVING r.ts - max(q.b) <= {w})"
        )
    union = " UNION ALL ".join(
        f"SELECT {j} AS step, one_id, rn, ts, b FROM s{j}" for j in range(1, k + 1)
    )
    ctes.append(f"allsteps AS ({union})")
    return (
        "WITH " + ", ".join(ctes) + " SELECT one_id, max(step) AS depth, "
        "arg_min(ts - b, rn) AS ttc FROM allsteps "
        "WHERE (one_id, step) IN (SELECT one_id, max(step) FROM allsteps GROUP BY one_id) "
        "GROUP BY one_id ORDER BY one_id"
    )


def to_frame(events: dict[str, Any]) -> Any:
    """A pandas frame for DuckDB: ts as int µs, input position as _pos."""
    import pandas as pd

    data = {}
    for c, v in events.items():
        arr = np.asarray(v)
        data[c] = arr.astype("datetime64[us]").astype(np.int64) if c == "ts" else arr
    df = pd.DataFrame(data)
    df["_pos"] = np.arange(len(df))
    return df


def reference(
    con: Any, f: Funnel, events: dict[str, Any], d0: int = _NEG, d1: int = _POS
) -> dict[Any, tuple[int, int]]:
    """Run the SQL reference; {unit: (depth, ttc_us)} for units with depth >= 1."""
    df = to_frame(events)
    con.register("ev", df)
    try:
        rows = con.execute(funnel_sql(f, d0, d1)).fetchall()
    finally:
        con.unregister("ev")
    return {u: (int(d), int(t)) for u, d, t in rows}
