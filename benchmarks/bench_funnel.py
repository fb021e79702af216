"""Benchmark the funnel engine, retention and active users against DuckDB, polars, pandas.

Run ``python benchmarks/bench_funnel.py`` (sizes 2.5M/5M/10M events),
``--quick`` (1M events), or ``--sizes 20000000``. Every implementation must
give the same counts; the table prints seconds and ratios measured in the
same run, and the engine's peak memory (tracemalloc, numpy included). With
several sizes a last table shows how each implementation's time grows from
one size to the next, against the growth of the events (the issue's goal:
doubling the events at most doubles the time, a growth per event of at most
1.00), from the best times, with the least and greatest growth of the runs
taken in turn and the growth over the whole range of sizes. ``--interleave``
generates every size first and runs the sizes in turn, ``--repeat`` rounds, so
that a slow spell of a shared machine does not fall on one size alone.

Implementations of the 6-step automotive funnel (30-day window, 小定/大定/交车
held on order_id, refund excluded between 小定 and 交车):

* ``autoops`` — :func:`autoops.funnel.compute`.
* ``duckdb-ref`` — the reference SQL of the tests (the DP with joins);
  only run up to ``--ref-max`` events (it is quadratic per unit).
* ``duckdb-window`` — the same recurrence with window functions (prefix max
  of the chain start per unit/segment/order), the fastest DuckDB form found.
* ``polars-asof`` — cumulative max per group, then ``join_asof`` per step.
* ``pandas-asof`` — the same with ``merge_asof``.

Retention (first lead per person, calendar months in Asia/Shanghai, 12
periods) and monthly actives (a year) are compared with DuckDB, polars and
pandas computing every output autoops returns: the cohort × period count
matrix, checked cell by cell; monthly actives with the mean DAU and the
stickiness of every month (floats to a relative 1e-12). The goals are judged
on these rows. The ``*-narrow`` rows, labelled ``(period totals only)`` and
``(MAU only)``, are the narrower competitors of earlier rounds (retained units
per period summed over cohorts; monthly distinct counts without daily
actives), checked against the matching part of autoops' output and kept so
both comparisons can be read side by side.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from autoops._parallel import thread_count
from autoops.funnel import PRIVATE_TOUCHPOINTS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

STEPS = ["lead", "visit", "test_drive", "small_order", "big_order", "delivery"]
NOISE = ["refund", "app_open", "click"]
WINDOW_US = 30 * 86_400_000_000
Out = dict[str, Any]
"""Named outputs of one implementation (a funnel's ``counts``; a retention matrix; …)."""
Impl = Callable[[dict[str, Any]], Any]
"""An implementation: its named outputs (:data:`Out`), or a funnel's counts as a list."""
Job = tuple[str, str, dict[str, Any], dict[str, Impl], dict[str, str] | None]
"""(part, title, events, implementations, labels): one table of the benchmark."""
PAUSE = 0.0
"""Seconds to wait before each run (``--pause``)."""
args_no_memory = False
"""Skip the traced-memory run (``--no-memory``)."""


def generate(n_events: int, n_units: int, seed: int = 0, rows: str = "time") -> dict[str, Any]:
    """Synthetic funnel logs: one year, steps more likely in order, orders per unit.

    *rows*: ``"time"`` — in time order, like an append-only event log;
    ``"person"`` — by person, then time, like an export sorted by person;
    ``"shuffled"`` — in random order.
    """
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, n_units, n_events).astype(np.int64)
    probs = np.array([0.30, 0.20, 0.14, 0.09, 0.07, 0.06, 0.02, 0.07, 0.05])
    code = rng.choice(len(probs), n_events, p=probs / probs.sum())
    # each unit lives in a ~60-day span of the year so that chains form
    base = rng.integers(0, 300 * 86_400, n_units)
    secs = base[unit] + (code * 3 * 86_400) + rng.integers(0, 40 * 86_400, n_events)
    ts = (np.datetime64("2025-01-01", "us") + secs.astype("timedelta64[s]")).astype(
        "datetime64[us]"
    )
    if rows != "shuffled":
        order_of = np.argsort(secs, kind="stable") if rows == "time" else np.lexsort((secs, unit))
        unit, code, secs, ts = unit[order_of], code[order_of], secs[order_of], ts[order_of]
    has_order = (code >= 3) & (code <= 6)
    order = np.where(has_order, unit * 2 + rng.integers(0, 2, n_events), -1).astype(np.float64)
    order[~has_order] = np.nan
    import pandas as pd

    event = pd.Categorical.from_codes(code, categories=STEPS + NOISE)
    return {
        "one_id": unit,
        "event": event,
        "codes": code.astype(np.int8),
        "ts": ts,
        "order_id": order,
    }


# --------------------------------------------------------------------- autoops
def run_autoops(ev: dict[str, Any]) -> list[int]:
    """The event column as a categorical (what the other tools get too)."""
    from autoops.funnel import Funnel, compute

    return [int(c) for c in compute(Funnel.automotive(), ev).counts]


def run_autoops_object(ev: dict[str, Any]) -> list[int]:
    """The event column as a numpy object array of str."""
    from autoops.funnel import Funnel, compute

    return [int(c) for c in compute(Funnel.automotive(), dict(ev, event=ev["event_obj"])).counts]


def run_autoops_20(ev: dict[str, Any]) -> list[int]:
    """A 20-step funnel (lead, visit, test drive cycled; window 90 days) — timing only."""
    from autoops.funnel import Funnel, compute

    steps = [STEPS[i % 3] for i in range(20)]
    return [int(c) for c in compute(Funnel(steps=steps, window="90d"), ev).counts]


# ---------------------------------------------------------------------- duckdb
def _frame(ev: dict[str, Any]) -> Any:
    import pyarrow as pa

    order = ev["order_id"]
    return pa.table(
        {
            "one_id": ev["one_id"],
            "event": pa.DictionaryArray.from_arrays(
                pa.array(ev["event"].codes.astype(np.int32)), pa.array(list(ev["event"].categories))
            ),
            "ts": ev["ts"].astype(np.int64),
            "order_id": pa.array(
                np.nan_to_num(order, nan=-1).astype(np.int64), mask=np.isnan(order)
            ),
            "_pos": np.arange(len(order)),
        }
    )


def run_duckdb_ref(ev: dict[str, Any]) -> list[int]:
    import duckdb

    from autoops.funnel import Funnel
    from funnel.reference import funnel_sql

    con = duckdb.connect()
    con.register("ev", _frame(ev))
    rows = con.execute(funnel_sql(Funnel.automotive(), -(2**62), 2**62)).fetchall()
    depth = np.array([d for _, d, _ in rows])
    return [int((depth >= k).sum()) for k in range(1, 7)]


def _window_sql() -> str:
    steps = ", ".join(f"'{s}'" for s in STEPS)
    parts = [
        f"""r AS (SELECT one_id, event, ts, order_id,
              row_number() OVER (PARTITION BY one_id ORDER BY ts, _pos) AS rn,
              sum(CASE WHEN event = 'refund' THEN 1 ELSE 0 END)
                  OVER (PARTITION BY one_id ORDER BY ts, _pos) AS seg
            FROM ev WHERE event IN ({steps}, 'refund'))""",
        "s1 AS (SELECT one_id, rn, ts, seg, order_id, ts AS b FROM r WHERE event = 'lead')",
    ]
    for j in range(2, 7):
        held = j >= 5  # order held between 4→5 and 5→6
        guarded = j >= 5  # refund guards gaps 4→5 and 5→6
        seg_q = "seg" if guarded else "0"
        seg_r = "seg - CASE WHEN event = 'refund' THEN 1 ELSE 0 END" if guarded else "0"
        part = "one_id, g" + (", order_id" if held else "")
        hold_filter = " AND order_id IS NOT NULL" if held else ""
        parts.append(
            f"""u{j} AS (
                SELECT one_id, rn, ts, order_id, seg, {seg_q} AS g, b, 1 AS kind FROM s{j - 1}
                WHERE TRUE{hold_filter}
                UNION ALL
                SELECT one_id, rn, ts, order_id, seg, {seg_r} AS g, NULL AS b, 0 AS kind FROM r
                WHERE event = '{STEPS[j - 1]}'{hold_filter}),
            m{j} AS (
                SELECT *, max(b) OVER (PARTITION BY {part} ORDER BY rn, kind
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best FROM u{j}),
            s{j} AS (SELECT one_id, rn, ts, seg, order_id, best AS b FROM m{j}
                WHERE kind = 0 AND best IS NOT NULL AND ts - best <= {WINDOW_US})"""
        )
    counts = " UNION ALL ".join(
        f"SELECT {j} AS k, count(DISTINCT one_id) AS n FROM s{j}" for j in range(1, 7)
    )
    return "WITH " + ", ".join(parts) + f" {counts} ORDER BY k"


def run_duckdb_window(ev: dict[str, Any]) -> list[int]:
    import duckdb

    con = duckdb.connect()
    con.register("ev", _frame(ev))
    return [int(n) for _, n in con.execute(_window_sql()).fetchall()]


# ---------------------------------------------------------------------- polars
def run_polars(ev: dict[str, Any]) -> list[int]:
    import pandas as pd
    import polars as pl

    df = pl.DataFrame(
        {
            "one_id": ev["one_id"],
            "event": pl.from_pandas(pd.Series(ev["event"])),
            "ts": ev["ts"].astype(np.int64),
            "order_id": pl.Series(ev["order_id"]).fill_nan(None).cast(pl.Int64),
        }
    ).with_row_index("_pos")
    r = (
        df.filter(pl.col("event").cast(pl.String).is_in([*STEPS, "refund"]))
        .sort(["one_id", "ts", "_pos"])
        .with_row_index("rn")
        # one running count over all rows: one_id is part of every join key
        .with_columns(seg=(pl.col("event").cast(pl.String) == "refund").cast(pl.Int64).cum_sum())
    )
    s = r.filter(pl.col("event").cast(pl.String) == "lead").select(
        "one_id", "rn", "ts", "seg", "order_id", b=pl.col("ts")
    )
    counts = [s["one_id"].n_unique()]
    for j in range(2, 7):
        held = guarded = j >= 5
        by = ["one_id", "g"] + (["order_id"] if held else [])
        q = s.with_columns(g=pl.col("seg") if guarded else pl.lit(0, pl.Int64))
        rr = r.filter(pl.col("event").cast(pl.String) == STEPS[j - 1]).with_columns(
            g=(pl.col("seg") - (pl.col("event").cast(pl.String) == "refund").cast(pl.Int64))
            if guarded
            else pl.lit(0, pl.Int64)
        )
        if held:
            q = q.filter(pl.col("order_id").is_not_null())
            rr = rr.filter(pl.col("order_id").is_not_null())
        q = (
            q.sort("rn")
            .with_columns(best=pl.col("b").cum_max().over(by))
            .select([*by, "rn", "best"])
        )
        with warnings.catch_warnings():  # both sides are sorted by rn; polars cannot check it
            warnings.filterwarnings("ignore", message="Sortedness of columns cannot be checked")
            joined = rr.sort("rn").join_asof(
                q, on="rn", by=by, strategy="backward", allow_exact_matches=False
            )
        s = joined.filter(
            pl.col("best").is_not_null() & (pl.col("ts") - pl.col("best") <= WINDOW_US)
        ).select("one_id", "rn", "ts", "seg", "order_id", b=pl.col("best"))
        counts.append(s["one_id"].n_unique())
    return counts


# ---------------------------------------------------------------------- pandas
def run_pandas(ev: dict[str, Any]) -> list[int]:
    """The recurrence with ``merge_asof`` — the fastest pandas form found.

    A multi-column ``sort_values`` is stable, so rows keep input order on ties
    without a position column. Refund segments come from one running count
    over all rows: ``one_id`` is part of every join key, so a per-person
    count (a groupby) is not needed. Frames filtered from a frame sorted by
    ``rn`` stay sorted, so no step re-sorts before ``merge_asof``.
    """
    import pandas as pd

    df = pd.DataFrame(
        {
            "one_id": ev["one_id"],
            "event": ev["event"],
            "ts": ev["ts"].astype(np.int64),
            "order_id": ev["order_id"],
        }
    )
    r = df[df["event"].isin([*STEPS, "refund"])].sort_values(["one_id", "ts"])
    is_ref = (r["event"] == "refund").astype(np.int64)
    r = r.assign(rn=np.arange(len(r)), is_ref=is_ref, seg=is_ref.cumsum())
    s = r[r["event"] == "lead"][["one_id", "rn", "ts", "seg", "order_id"]].assign(
        b=lambda x: x["ts"]
    )
    counts = [s["one_id"].nunique()]
    for j in range(2, 7):
        held = guarded = j >= 5
        by = ["one_id", "g"] + (["order_id"] if held else [])
        q = s.assign(g=s["seg"] if guarded else 0)
        rr = r[r["event"] == STEPS[j - 1]]
        rr = rr.assign(g=(rr["seg"] - rr["is_ref"]) if guarded else 0)
        if held:
            q = q[q["order_id"].notna()]
            rr = rr[rr["order_id"].notna()]
        q = q.assign(best=q.groupby(by)["b"].cummax())[[*by, "rn", "best"]]
        joined = pd.merge_asof(
            rr, q, on="rn", by=by, direction="backward", allow_exact_matches=False
        )
        ok = joined["best"].notna() & (joined["ts"] - joined["best"] <= WINDOW_US)
        s = joined[ok][["one_id", "rn", "ts", "seg", "order_id"]].assign(b=joined["best"][ok])
        counts.append(s["one_id"].nunique())
    return counts


# ------------------------------------------------------------ retention / MAU
# Retention returns the cohort × period matrix (column 0 the cohort size, then
# the units retained in months 1–12); every competitor's main row computes that
# matrix and is checked against it cell by cell. The ``-totals`` rows are the
# narrower variant of earlier rounds (retained units per period summed over
# cohorts, checked against the matrix's column sums), kept for comparison.
def run_ret_autoops(ev: dict[str, Any]) -> Out:
    from autoops.funnel import retention

    t = retention(ev, cohort="lead", returning=None, period="month", periods=12, measure="count")
    return {"matrix": t.counts.tolist(), "totals": t.counts.sum(axis=0).tolist()}


_RET_SQL = """
WITH e AS (SELECT one_id, event, ts,
                  timezone('Asia/Shanghai', make_timestamp(ts)::TIMESTAMPTZ) AS lt FROM ev),
c AS (SELECT one_id, min(ts) AS t0, arg_min(lt, ts) AS l0 FROM e WHERE event = 'lead'
      GROUP BY one_id),
k AS (SELECT DISTINCT c.one_id, year(c.l0) * 12 + month(c.l0) AS m0,
             (year(e.lt) * 12 + month(e.lt)) - (year(c.l0) * 12 + month(c.l0)) AS k
      FROM c JOIN e ON e.one_id = c.one_id AND e.ts > c.t0)"""


def run_ret_duckdb(ev: dict[str, Any]) -> Out:
    """The cohort matrix: distinct (unit, month offset) pairs counted per (cohort, offset)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("ev", _frame(ev))
    sql = f"""{_RET_SQL}
    SELECT year(l0) * 12 + month(l0) AS m0, 0 AS k, count(*) FROM c GROUP BY 1 UNION ALL
    SELECT m0, k, count(*) FROM k WHERE k BETWEEN 1 AND 12 GROUP BY 1, 2"""
    return {"matrix": _matrix(con.execute(sql).fetchall())}


def run_ret_duckdb_totals(ev: dict[str, Any]) -> Out:
    """The narrower variant: retained units per period, summed over cohorts."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("ev", _frame(ev))
    sql = f"""{_RET_SQL}
    SELECT 0 AS k, count(*) FROM c UNION ALL
    SELECT k, count(*) FROM k WHERE k BETWEEN 1 AND 12 GROUP BY k ORDER BY 1"""
    got = dict(con.execute(sql).fetchall())
    return {"totals": [int(got.get(k, 0)) for k in range(13)]}


def _matrix(cells: Any) -> list[list[int]]:
    """(cohort month, period, count) triples → rows [size, p1 … p12] by cohort month."""
    got = {(int(m), int(k)): int(n) for m, k, n in cells}
    months = sorted({m for m, k in got if k == 0})
    return [[got.get((m, k), 0) for k in range(13)] for m in months]


def _ret_polars_pairs(ev: dict[str, Any]) -> tuple[Any, Any]:
    """Cohorts (first lead and its month per unit) and distinct (unit, cohort, offset)."""
    import pandas as pd
    import polars as pl

    df = pl.DataFrame(
        {"one_id": ev["one_id"], "event": pl.from_pandas(pd.Series(ev["event"])), "ts": ev["ts"]}
    ).with_columns(
        lt=pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Shanghai"),
        us=pl.col("ts").cast(pl.Int64),
    )
    df = df.with_columns(m=pl.col("lt").dt.year() * 12 + pl.col("lt").dt.month())
    c = (
        df.filter(pl.col("event").cast(pl.String) == "lead")
        .group_by("one_id")
        .agg(t0=pl.col("us").min(), m0=pl.col("m").sort_by("us").first())
    )
    j = df.join(c, on="one_id").filter(pl.col("us") > pl.col("t0"))
    k = (
        j.select("one_id", "m0", k=pl.col("m") - pl.col("m0"))
        .unique()
        .filter(pl.col("k").is_between(1, 12))
    )
    return c, k


def run_ret_polars(ev: dict[str, Any]) -> Out:
    import polars as pl

    c, k = _ret_polars_pairs(ev)
    sizes = c.group_by("m0").len().select("m0", k=pl.lit(0, pl.Int64), len="len")
    cells = k.group_by("m0", "k").len()
    return {"matrix": _matrix(pl.concat([sizes, cells], how="vertical_relaxed").iter_rows())}


def run_ret_polars_totals(ev: dict[str, Any]) -> Out:
    c, k = _ret_polars_pairs(ev)
    got = dict(k.group_by("k").len().iter_rows())
    return {"totals": [c.height] + [int(got.get(i, 0)) for i in range(1, 13)]}


def _ret_pandas_pairs(ev: dict[str, Any]) -> tuple[Any, Any]:
    """First lead per person by a groupby minimum (no sort), months of returns, distinct
    (unit, offset) pairs with the unit's cohort month."""
    import pandas as pd

    def month(us: Any) -> Any:
        lt = pd.to_datetime(us, unit="us", utc=True).dt.tz_convert("Asia/Shanghai")
        return lt.dt.year * 12 + lt.dt.month

    df = pd.DataFrame(
        {"one_id": ev["one_id"], "event": ev["event"], "us": ev["ts"].astype(np.int64)}
    )
    t0 = df[df["event"] == "lead"].groupby("one_id")["us"].min()
    c = pd.DataFrame({"t0": t0, "m0": month(t0)})
    j = df.join(c, on="one_id", how="inner")
    j = j[j["us"] > j["t0"]]
    k = month(j["us"]) - j["m0"]
    sel = (k >= 1) & (k <= 12)
    pairs = pd.DataFrame({"one_id": j["one_id"][sel], "m0": j["m0"][sel], "k": k[sel]})
    # m0 is a function of one_id: distinct (unit, offset) pairs keep it as it is
    return c, pairs.drop_duplicates(["one_id", "k"])


def run_ret_pandas(ev: dict[str, Any]) -> Out:
    c, pairs = _ret_pandas_pairs(ev)
    grid = pairs.groupby(["m0", "k"]).size().unstack(fill_value=0)
    grid = grid.reindex(index=sorted(c["m0"].unique()), columns=range(1, 13), fill_value=0)
    grid.insert(0, 0, c.groupby("m0").size())
    return {"matrix": grid.to_numpy().tolist()}


def run_ret_pandas_totals(ev: dict[str, Any]) -> Out:
    c, pairs = _ret_pandas_pairs(ev)
    got = pairs.groupby("k").size().to_dict()
    return {"totals": [len(c)] + [int(got.get(i, 0)) for i in range(1, 13)]}


# Monthly actives return, per month, the distinct active units, the mean DAU
# and the stickiness (mean DAU / actives). The mean DAU of a month sums the
# daily distinct counts over its days that have ended by as_of (the latest
# timestamp of any row; as_of's own day only if it is the month's first day:
# at least one day) and divides by the number of those days — the rule of
# autoops.funnel._active. Every competitor's main row computes all three from
# one set of distinct (unit, local day) pairs; the ``-mau`` rows are the
# narrower variant of earlier rounds (monthly distinct counts only).
_MAU_TOUCH = """touchpoint IN ('app','mini_program','website','official_account','wecom','showroom',
                              'hotline','head_unit','dealer_crm')
               AND event NOT IN ('push_sent','message_delivered','system')"""


def _mau_frame(ev: dict[str, Any]) -> dict[str, Any]:
    n = len(ev["one_id"])
    import pandas as pd

    tp = pd.Categorical.from_codes(
        np.arange(n) % 4, categories=["app", "wecom", "douyin", "showroom"]
    )
    return dict(ev, touchpoint=tp)


def run_mau_autoops(ev: dict[str, Any]) -> Out:
    from autoops.funnel import active_users

    a = active_users(ev, period="month")
    return {
        "active": a.active.tolist(),
        "mean_dau": a.mean_dau.tolist(),
        "stickiness": a.stickiness.tolist(),
    }


def _mau_duckdb(ev: dict[str, Any]) -> Any:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tp = ev["touchpoint"]
    t = _frame(ev).append_column(
        "touchpoint",
        pa.DictionaryArray.from_arrays(
            pa.array(tp.codes.astype(np.int32)), pa.array(list(tp.categories))
        ),
    )
    con.register("ev", t)
    return con


def run_mau_duckdb(ev: dict[str, Any]) -> Out:
    con = _mau_duckdb(ev)
    sql = f"""
    WITH pairs AS (SELECT DISTINCT one_id,
                   CAST(timezone('Asia/Shanghai', make_timestamp(ts)::TIMESTAMPTZ) AS DATE) AS d
                   FROM ev WHERE {_MAU_TOUCH}),
    dau AS (SELECT d, count(*) AS n FROM pairs GROUP BY d),
    mau AS (SELECT CAST(date_trunc('month', d) AS DATE) AS p, count(DISTINCT one_id) AS n
            FROM pairs GROUP BY p),
    -- the local day of as_of + 1 µs: days before it have ended by as_of
    e AS (SELECT CAST(timezone('Asia/Shanghai', make_timestamp(max(ts) + 1)::TIMESTAMPTZ) AS DATE)
          AS asday FROM ev),
    lim AS (SELECT p, n, greatest(least(CAST(p + INTERVAL 1 MONTH AS DATE), asday),
                                  CAST(p + INTERVAL 1 DAY AS DATE)) AS lastd FROM mau, e),
    s AS (SELECT lim.p, any_value(lim.n) AS n, any_value(lim.lastd) AS lastd,
                 coalesce(sum(dau.n), 0) AS total
          FROM lim LEFT JOIN dau ON dau.d >= lim.p AND dau.d < lim.lastd GROUP BY lim.p)
    SELECT n, total / date_diff('day', p, lastd) AS mean_dau,
           total / date_diff('day', p, lastd) / n AS stickiness FROM s ORDER BY p"""
    rows = con.execute(sql).fetchall()
    return {
        "active": [int(r[0]) for r in rows],
        "mean_dau": [float(r[1]) for r in rows],
        "stickiness": [float(r[2]) for r in rows],
    }


def run_mau_duckdb_mau(ev: dict[str, Any]) -> Out:
    con = _mau_duckdb(ev)
    sql = f"""SELECT date_trunc('month', timezone('Asia/Shanghai', make_timestamp(ts)::TIMESTAMPTZ)) AS p,
             count(DISTINCT one_id) FROM ev WHERE {_MAU_TOUCH} GROUP BY p ORDER BY p"""
    return {"active": [int(n) for _, n in con.execute(sql).fetchall()]}


def _mau_polars(ev: dict[str, Any]) -> Any:
    import pandas as pd
    import polars as pl

    df = pl.DataFrame(
        {
            "one_id": ev["one_id"],
            "ts": ev["ts"],
            "touchpoint": pl.from_pandas(pd.Series(ev["touchpoint"])),
            "event": pl.from_pandas(pd.Series(ev["event"])),
        }
    )
    return df.filter(
        pl.col("touchpoint").cast(pl.String).is_in(list(PRIVATE_TOUCHPOINTS))
        & ~pl.col("event").cast(pl.String).is_in(["push_sent", "message_delivered", "system"])
    )


def run_mau_polars(ev: dict[str, Any]) -> Out:
    import datetime as dt

    import polars as pl

    local = pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Shanghai")
    # two distinct counts straight from the rows (faster here than distinct pairs first)
    q = _mau_polars(ev).select("one_id", d=local.dt.date())
    dau = q.group_by("d").agg(len=pl.col("one_id").n_unique())
    as_of = ev["ts"].max(keepdims=True) + np.timedelta64(1, "us")
    asday = (
        pl.Series(as_of)
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Asia/Shanghai")
        .dt.date()[0]
    )
    mau = (
        q.group_by(p=pl.col("d").dt.truncate("1mo"))
        .agg(n=pl.col("one_id").n_unique())
        .with_columns(
            lastd=pl.max_horizontal(
                pl.min_horizontal(pl.col("p").dt.offset_by("1mo"), pl.lit(asday)),
                pl.col("p") + dt.timedelta(days=1),
            )
        )
    )
    total = (
        mau.join(dau, how="cross")
        .filter((pl.col("d") >= pl.col("p")) & (pl.col("d") < pl.col("lastd")))
        .group_by("p")
        .agg(total=pl.col("len").sum())
    )
    out = (
        mau.join(total, on="p", how="left")
        .with_columns(
            mean_dau=pl.col("total").fill_null(0) / (pl.col("lastd") - pl.col("p")).dt.total_days()
        )
        .with_columns(stickiness=pl.col("mean_dau") / pl.col("n"))
        .sort("p")
    )
    return {
        "active": out["n"].to_list(),
        "mean_dau": out["mean_dau"].to_list(),
        "stickiness": out["stickiness"].to_list(),
    }


def run_mau_polars_mau(ev: dict[str, Any]) -> Out:
    import polars as pl

    out = (
        _mau_polars(ev)
        .with_columns(
            p=pl.col("ts")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone("Asia/Shanghai")
            .dt.truncate("1mo")
        )
        .group_by("p")
        .agg(pl.col("one_id").n_unique())
        .sort("p")
    )
    return {"active": [int(x) for x in out["one_id"]]}


def _mau_pandas(ev: dict[str, Any]) -> Any:
    """The qualifying rows (filtered first) and their local wall-clock times."""
    import pandas as pd

    df = pd.DataFrame(
        {
            "one_id": ev["one_id"],
            "touchpoint": ev["touchpoint"],
            "event": ev["event"],
            "ts": ev["ts"],
        }
    )
    ok = df["touchpoint"].isin(list(PRIVATE_TOUCHPOINTS)) & ~df["event"].isin(
        ["push_sent", "message_delivered", "system"]
    )
    df = df[ok]
    return df, df["ts"].dt.tz_localize("UTC").dt.tz_convert("Asia/Shanghai")


def run_mau_pandas(ev: dict[str, Any]) -> Out:
    """Distinct (unit, local day) pairs once; DAU and MAU from them (as fast as two
    ``nunique`` group-bys on the rows here)."""
    import pandas as pd

    df, lt = _mau_pandas(ev)
    day = lt.dt.tz_localize(None).dt.floor("D").to_numpy()
    # distinct pairs on integer columns (faster than on a datetime column)
    pairs = pd.DataFrame({"one_id": df["one_id"].to_numpy(), "d": day.view(np.int64)})
    pairs = pairs.drop_duplicates()
    pairs["d"] = pairs["d"].to_numpy().view(day.dtype)
    dau = pairs.groupby("d").size()
    month = pairs["d"].dt.to_period("M")
    mau = pairs["one_id"].groupby(month).nunique().sort_index()
    as_of = pd.Timestamp(ev["ts"].max(), tz="UTC").tz_convert("Asia/Shanghai").tz_localize(None)
    asday = (as_of + pd.Timedelta(1, "us")).floor("D")
    start = mau.index.start_time
    nxt = (mau.index + 1).start_time
    lastd = np.maximum(np.minimum(nxt, asday), start + pd.Timedelta(days=1))
    last_of = pd.Series(lastd, index=mau.index)
    days = pd.Series((lastd - start).days, index=mau.index)
    dm = dau.index.to_period("M")
    keep = dau.index < last_of.reindex(dm).to_numpy()
    total = dau[keep].groupby(dm[keep]).sum().reindex(mau.index, fill_value=0)
    mean_dau = total / days
    return {
        "active": mau.tolist(),
        "mean_dau": mean_dau.tolist(),
        "stickiness": (mean_dau / mau).tolist(),
    }


def run_mau_pandas_mau(ev: dict[str, Any]) -> Out:
    """The narrower variant: local months of the qualifying rows, distinct ids per month."""
    df, lt = _mau_pandas(ev)
    p = lt.dt.year * 12 + lt.dt.month
    return {"active": [int(x) for x in df["one_id"].groupby(p).nunique().sort_index()]}


# ----------------------------------------------------------------------- main
def timed(
    fn: Impl, ev: dict[str, Any], repeat: int, memory: bool
) -> tuple[list[float], float, Out, float]:
    """The wall seconds of each of *repeat* runs, the best CPU seconds (the machine is
    shared: noise only adds), the counts, and for autoops the peak traced memory of one
    more run.

    CPU seconds sum every thread of the process (DuckDB and polars use several,
    autoops too when AUTOOPS_THREADS > 1); the table prints both ratios. Each run
    starts PAUSE seconds after the previous one ended (``--pause``)."""
    walls: list[float] = []
    cpu = float("inf")
    out: Out = {}
    for _ in range(repeat):
        gc.collect()
        time.sleep(PAUSE)
        t, c = time.perf_counter(), time.process_time()
        got = fn(ev)
        out = got if isinstance(got, dict) else {"counts": got}
        walls.append(time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    peak = 0.0
    if memory:
        gc.collect()
        tracemalloc.start()
        fn(ev)
        peak = tracemalloc.get_traced_memory()[1] / 2**30
        tracemalloc.stop()
    return walls, cpu, out, peak


def compare(out: Out, want: Out) -> str:
    """ "same (keys)" when every output both give is equal — integers exactly, floats to
    a relative 1e-12 (NaN equal to NaN) — else what differs."""
    common = [k for k in want if k in out]
    if not common:
        return "NOTHING IN COMMON"
    for k in common:
        a, b = np.asarray(out[k]), np.asarray(want[k])
        if a.shape != b.shape:
            return f"DIFFERENT {k} shape {a.shape} vs {b.shape}"
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            ok = np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        else:
            ok = np.array_equal(a, b)
        if not ok:
            return f"DIFFERENT {k}: {out[k]}"[:200]
    return "same" if common == list(want) else f"same ({', '.join(common)})"


@attrs.define
class Timing:
    """The best wall and CPU seconds of an implementation's runs so far, the wall seconds
    of each run in turn, its outputs, its peak traced memory (autoops), or why it failed."""

    walls: list[float] = attrs.Factory(list)
    cpu: float = float("inf")
    out: Out = attrs.Factory(dict)
    peak: float = 0.0
    failed: str = ""

    @property
    def wall(self) -> float:
        """The best wall seconds (infinite before the first run)."""
        return min(self.walls, default=float("inf"))


RESULTS: dict[tuple[str, int], dict[str, Timing]] = {}
"""(part, events) -> implementation -> its timing, in the order first run."""


def measure(part: str, ev: dict[str, Any], impls: dict[str, Impl], repeat: int) -> None:
    """Run each implementation *repeat* times on *ev* and keep its best times in RESULTS
    (runs of several rounds merge: the best of all of them)."""
    got = RESULTS.setdefault((part, len(ev["one_id"])), {})
    for name, fn in impls.items():
        t = got.setdefault(name, Timing())
        if t.failed:
            continue
        memory = name == "autoops" and not args_no_memory and not t.walls
        try:
            walls, cpu, out, peak = timed(fn, ev, repeat, memory)
        except Exception as exc:  # a competitor missing its extra or failing
            t.failed = f"failed: {type(exc).__name__}: {exc}"[:70]
            continue
        t.walls += walls
        t.cpu, t.out = min(t.cpu, cpu), out
        t.peak = max(t.peak, peak)


def report(part: str, n: int, title: str, labels: dict[str, str] | None = None) -> None:
    """Print the table of one part at one size: seconds, ratios to autoops, outputs
    checked against the first implementation's."""
    got = RESULTS[(part, n)]
    ok = [t for t in got.values() if not t.failed]
    want, base, base_cpu = (ok[0].out, ok[0].wall, ok[0].cpu) if ok else (None, None, None)
    shown = {k: v for k, v in (want or {}).items() if k != "matrix"}
    runs = max((len(t.walls) for t in ok), default=0)
    print(f"\n{title}: {shown}")
    print(
        f"(best of {runs} runs; autoops on {thread_count()} thread(s); wall ratio = wall s /"
        " autoops wall s, cpu ratio = cpu s / autoops cpu s — CPU seconds of every thread)"
    )
    print(
        f"{'implementation':<28}{'wall s':>9}{'cpu s':>9}{'wall ratio':>12}{'cpu ratio':>11}"
        f"{'peak GiB':>10}  outputs"
    )
    for name, t in got.items():
        label = (labels or {}).get(name, name)
        if t.failed:
            print(f"{label:<28}{'nan':>9}{'nan':>9}{'nan':>12}{'nan':>11}{'':>10}  {t.failed}")
            continue
        assert want is not None and base and base_cpu
        mem = f"{t.peak:.2f}" if name == "autoops" else ""
        print(
            f"{label:<28}{t.wall:>9.3f}{t.cpu:>9.3f}{t.wall / base:>11.1f}x"
            f"{t.cpu / base_cpu:>10.1f}x{mem:>10}  {compare(t.out, want)}"
        )
    sys.stdout.flush()


def print_growth() -> None:
    """Each implementation's time from one size to the next: the time's growth, the
    events' growth, and their quotient (the growth per event; at most 1.00 when
    doubling the events at most doubles the time), from the best times. In brackets the
    same quotient from the runs taken in turn (the i-th run at each size: one round of
    ``--interleave``), its least and greatest, which shows how much of a step over 1.00
    the machine's noise could make; last the whole range of sizes at once."""
    parts = list(dict.fromkeys(part for part, _ in RESULTS))
    for part in parts:
        sizes = sorted(n for p, n in RESULTS if p == part)
        if len(sizes) < 2:
            continue
        names = list(dict.fromkeys(k for n in sizes for k in RESULTS[(part, n)]))
        print(f"\ngrowth of the wall time, {part}: time ratio / events ratio = growth per event")
        for name in names:
            runs = {
                n: t
                for n in sizes
                if (t := RESULTS[(part, n)].get(name)) is not None and not t.failed
            }
            spans = [("", a, b) for a, b in itertools.pairwise(sizes)]
            if len(sizes) > 2:
                spans.append(("whole ", sizes[0], sizes[-1]))
            steps = []
            for label, a, b in spans:
                if a in runs and b in runs:
                    g, e = runs[b].wall / runs[a].wall, b / a
                    pairs = [y / x / e for x, y in zip(runs[a].walls, runs[b].walls, strict=False)]
                    spread = f" (runs {min(pairs):.2f}-{max(pairs):.2f})" if len(pairs) > 1 else ""
                    steps.append(
                        f"{label}{a / 1e6:g}M->{b / 1e6:g}M x{g:.2f}/x{e:.2f}={g / e:.2f}{spread}"
                    )
            print(f"  {name:<26}" + "; ".join(steps))


def _warm_up() -> None:
    """Import every library and run each path once on a tiny input (not timed)."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import polars  # noqa: F401

    ev = generate(2_000, 200)
    for fn in (run_autoops, run_ret_autoops):
        fn(ev)
    run_mau_autoops(_mau_frame(ev))


def main() -> None:
    _warm_up()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small size (1M events)")
    ap.add_argument("--sizes", type=int, nargs="*", help="event counts (units = events / 10)")
    ap.add_argument("--ref-max", type=int, default=2_500_000, help="largest size for duckdb-ref")
    names = ["autoops", "autoops-object", "duckdb-ref", "duckdb-window", "polars-asof",
             "pandas-asof", "duckdb", "polars", "pandas", "duckdb-narrow", "polars-narrow",
             "pandas-narrow"]  # fmt: skip
    ap.add_argument("--skip", nargs="*", default=[], choices=names, help="implementations to skip")
    ap.add_argument("--repeat", type=int, default=3, help="runs per implementation (best is kept)")
    ap.add_argument(
        "--rows",
        choices=["time", "person", "shuffled"],
        default="time",
        help="row order: time (an append-only log), person (then time), shuffled",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the traced-memory run")
    ap.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds to wait before each run (a virtual machine may meanwhile give the "
        "memory freed by the last run back to its host, and fault it in again)",
    )
    ap.add_argument("--only", nargs="*", default=None, choices=names, help="run only these")
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="generate every size first, then run the sizes in turn, --repeat rounds "
        "(the growth between sizes is then not skewed by a slow spell of the machine)",
    )
    parts = ["funnel", "retention", "mau", "twenty"]
    ap.add_argument("--parts", nargs="*", default=parts, choices=parts)
    ap.add_argument(
        "--threads", type=int, default=None, help="AUTOOPS_THREADS for autoops (default: as set)"
    )
    args = ap.parse_args()
    if args.threads is not None:
        os.environ["AUTOOPS_THREADS"] = str(args.threads)
    print(
        f"autoops threads: {thread_count()} (AUTOOPS_THREADS={os.environ.get('AUTOOPS_THREADS')})"
    )
    global PAUSE, args_no_memory
    PAUSE = args.pause
    args_no_memory = args.no_memory
    sizes = args.sizes or ([1_000_000] if args.quick else [2_500_000, 5_000_000, 10_000_000])

    def pick(impls: dict[str, Impl]) -> dict[str, Impl]:
        return {
            k: v
            for k, v in impls.items()
            if k not in args.skip and (args.only is None or k in args.only)
        }

    def jobs(n: int, ev: dict[str, Any]) -> list[Job]:
        """(part, title, events, implementations, labels) of every chosen part at size *n*."""
        out: list[Job] = []
        if "funnel" in args.parts:
            funnel: dict[str, Impl] = {
                "autoops": run_autoops,
                "autoops-object": run_autoops_object,
                "duckdb-window": run_duckdb_window,
                "polars-asof": run_polars,
                "pandas-asof": run_pandas,
            }
            if n <= args.ref_max:
                funnel["duckdb-ref"] = run_duckdb_ref
            chosen = pick(funnel)
            ev_f = ev
            if "autoops-object" in chosen:
                ev_f = dict(ev, event_obj=np.array(STEPS + NOISE, dtype=object)[ev["codes"]])
            title = f"automotive funnel, {n:,} events, {n // 10:,} units"
            out.append(("funnel", title, ev_f, chosen, None))
        if "twenty" in args.parts:
            title = f"20-step funnel, {n:,} events (autoops only)"
            out.append(("20-step funnel", title, ev, pick({"autoops": run_autoops_20}), None))
        if "retention" in args.parts:
            ret: dict[str, Impl] = {
                "autoops": run_ret_autoops,
                "duckdb": run_ret_duckdb,
                "polars": run_ret_polars,
                "pandas": run_ret_pandas,
                "duckdb-narrow": run_ret_duckdb_totals,
                "polars-narrow": run_ret_polars_totals,
                "pandas-narrow": run_ret_pandas_totals,
            }
            title = f"retention (monthly cohorts, 12 periods), {n:,} events"
            narrow = {k: f"{k[:-7]} (period totals only)" for k in ret if k.endswith("-narrow")}
            out.append(("retention", title, ev, pick(ret), narrow))
        if "mau" in args.parts:
            mau: dict[str, Impl] = {
                "autoops": run_mau_autoops,
                "duckdb": run_mau_duckdb,
                "polars": run_mau_polars,
                "pandas": run_mau_pandas,
                "duckdb-narrow": run_mau_duckdb_mau,
                "polars-narrow": run_mau_polars_mau,
                "pandas-narrow": run_mau_pandas_mau,
            }
            title = f"monthly actives, {n:,} events"
            narrow = {k: f"{k[:-7]} (MAU only)" for k in mau if k.endswith("-narrow")}
            out.append(("monthly actives", title, _mau_frame(ev), pick(mau), narrow))
        return out

    order = {"time": "in time order", "person": "by person", "shuffled": "shuffled"}[args.rows]
    if args.interleave:
        # every size's events at once; each round runs every size once, so that a slow
        # spell of the machine falls on all sizes alike instead of on one
        runs = {n: jobs(n, generate(n, max(n // 10, 1), rows=args.rows)) for n in sizes}
        for _ in range(args.repeat):
            for n in sizes:
                for part, _title, ev, impls, _labels in runs[n]:
                    measure(part, ev, impls, 1)
        for n in sizes:
            print(f"\n#### {n:,} events, rows {order}")
            for part, title, _ev, _impls, labels in runs[n]:
                report(part, n, title, labels)
    else:
        for n in sizes:
            print(f"\n#### {n:,} events, rows {order}")
            for part, title, ev, impls, labels in jobs(
                n, generate(n, max(n // 10, 1), rows=args.rows)
            ):
                measure(part, ev, impls, args.repeat)
                report(part, n, title, labels)
            gc.collect()
    print_growth()


if __name__ == "__main__":
    main()
