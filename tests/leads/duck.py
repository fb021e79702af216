"""DuckDB SQL references for autoops.leads (independent of the numpy kernels)."""

from __future__ import annotations

from typing import Any

import numpy as np


def dedupe_duckdb(keys: list[Any], times_us: list[int], window_us: int) -> list[int]:
    """The kept row of every row: anchored windows per key, in SQL.

    An ASOF join finds, for every row, the first row of its key at time +
    window or later (the earliest-in-input-order row of that time); a recursive
    CTE follows those links from each key's first row (the cycle starts); a
    window ``max`` gives every row the latest start at or before it. Rows
    without a key are their own kept row.
    """
    import duckdb
    import pandas as pd

    n = len(keys)
    kept = list(range(n))
    rows = [i for i in range(n) if keys[i] is not None]
    if not rows:
        return kept
    con = duckdb.connect()
    df = pd.DataFrame(
        {
            "key": [str(keys[i]) for i in rows],
            "t": np.array([times_us[i] for i in rows], dtype=np.int64),
            "rn": np.array(rows, dtype=np.int64),
        }
    )
    con.register("src", df)
    con.execute(
        "CREATE TEMP TABLE d AS SELECT key, t, rn, "
        "row_number() OVER (ORDER BY key, t, rn) AS pos FROM src"
    )
    con.execute(f"""
        CREATE TEMP TABLE nx AS
        WITH first_at AS (SELECT key, t, min(pos) AS pos FROM d GROUP BY key, t)
        SELECT a.pos, f.pos AS nxt FROM d a
        ASOF LEFT JOIN first_at f ON a.key = f.key AND f.t >= a.t + {int(window_us)}
    """)
    out = con.execute("""
        WITH RECURSIVE s(pos) AS (
            SELECT min(pos) FROM d GROUP BY key
            UNION ALL
            SELECT nx.nxt FROM s JOIN nx ON nx.pos = s.pos WHERE nx.nxt IS NOT NULL
        ), k AS (
            SELECT d.rn, max(CASE WHEN s.pos IS NOT NULL THEN d.pos END)
                OVER (PARTITION BY d.key ORDER BY d.pos ROWS UNBOUNDED PRECEDING) AS start_pos
            FROM d LEFT JOIN s ON s.pos = d.pos
        )
        SELECT k.rn, d.rn AS kept FROM k JOIN d ON d.pos = k.start_pos
    """).fetchall()
    for rn, kept_rn in out:
        kept[int(rn)] = int(kept_rn)
    return kept
