"""Benchmark autoops.segment against the same computations in DuckDB SQL and pandas.

Usage::

    python benchmarks/bench_segment.py            # 1M people, ~20M events
    python benchmarks/bench_segment.py --quick    # 50k people, ~1M events

The synthetic data are generated in chunks of 100k people (distinct seeds,
person ids offset) and only the columns the segment functions read are kept,
so the process stays well under 4 GiB. Each engine computes the same result
(checked after timing): RFM scores and segments, activity tiers over the
private domain in 30 days, intent scores, and a five-predicate audience. Input
conversion (building the pandas frame, loading DuckDB tables) is excluded from
every timing; DuckDB uses its default threads (2 on the reference machine).
Each competitor gets its fastest form of the text columns: pandas categoricals
(events' event and touchpoint, people's city and tags), DuckDB ENUMs made from
them (tags stay VARCHAR: the query splits them); autoops gets the generator's
object arrays and, in the "categorical" column, the same categoricals.
Timings are the best of ``--repeat`` runs; ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from autoops.datasets import synthetic
from autoops.segment import (
    RFM_SEGMENTS,
    activity_tiers,
    attr,
    count,
    intent_scores,
    rfm,
    score,
    tag,
)
from autoops.segment._common import OUTBOUND_EVENTS, private_touchpoints

CHUNK = 100_000


def build(
    people: int, events_per_month: float
) -> tuple[dict[str, Any], dict[str, Any], np.datetime64]:
    ev_parts: dict[str, list[Any]] = {
        k: [] for k in ("person", "ts", "event", "touchpoint", "amount")
    }
    pp_parts: dict[str, list[Any]] = {k: [] for k in ("person_id", "city", "age", "tags")}
    as_of = None
    for i, start in enumerate(range(0, people, CHUNK)):
        n = min(CHUNK, people - start)
        data = synthetic(people=n, seed=1000 + i, events_per_month=events_per_month)
        ev = data.events
        pid = ev.true_person_id
        ev_parts["person"].append(np.where(pid >= 0, pid + start, -1))
        ev_parts["ts"].append(ev.ts)
        ev_parts["event"].append(ev.event)
        ev_parts["touchpoint"].append(ev.touchpoint)
        ev_parts["amount"].append(ev.amount)
        pp = data.people
        pp_parts["person_id"].append(pp.person_id + start)
        pp_parts["city"].append(pp.city)
        pp_parts["age"].append(pp.age)
        pp_parts["tags"].append(pp.tags)
        as_of = data.as_of
        del data, ev, pp
        gc.collect()
    events = {k: np.concatenate(v) for k, v in ev_parts.items()}
    people_cols = {k: np.concatenate(v) for k, v in pp_parts.items()}
    assert as_of is not None
    return events, people_cols, as_of


def rss(phase: str) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak RSS after {phase}: {peak:,.0f} MiB", flush=True)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def peak_mib(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ntile_np(n: int, bins: int) -> np.ndarray:
    i = np.arange(n)
    q, r = divmod(n, bins)
    big = r * (q + 1)
    return np.where(i < big, i // (q + 1), r + (i - big) // max(q, 1)) + 1


# ------------------------------------------------------------------ pandas ----


def pandas_rfm(pd: Any, tx: Any, as_of: Any) -> Any:
    t = tx[tx["ts"] <= as_of]
    g = t.assign(cents=np.rint(t["amount"].to_numpy() * 100)).groupby("person", sort=True)
    agg = g.agg(f=("cents", "size"), cents=("cents", "sum"), last=("ts", "max")).reset_index()
    n = len(agg)
    for col, out in (("last", "r"), ("f", "fs"), ("cents", "ms")):
        order = agg.sort_values([col, "person"], kind="stable").index.to_numpy()
        s = np.empty(n, dtype=np.int64)
        s[order] = ntile_np(n, 5)
        agg[out] = s
    return agg


def pandas_tiers(pd: Any, ev: Any, as_of: Any, private: list[str]) -> Any:
    lo = as_of - pd.Timedelta(days=30)
    m = (
        (ev["ts"] <= as_of)
        & (ev["ts"] >= lo)
        & ev["touchpoint"].isin(private)
        & ~ev["event"].isin(OUTBOUND_EVENTS)
    )
    k = ev.loc[m].groupby("person").size()
    return pd.cut(
        k, [0, 1, 3, 8, np.inf], right=False, labels=["inactive", "low", "medium", "high"]
    )


def pandas_intent(pd: Any, ev: Any, as_of: Any) -> Any:
    w = {"click": (40.0, 5.0), "favourite": (30.0, 1.0), "test_drive": (30.0, 1.0)}
    m = (ev["ts"] <= as_of) & ev["event"].isin(list(w))
    c = ev.loc[m].groupby(["person", "event"], observed=True).size().unstack(fill_value=0)
    total = 0.0
    for a, (wt, cap) in w.items():
        col = c.get(a, 0)
        total = total + wt * np.minimum(col, cap) / cap
    return 100.0 * total / 100.0


def pandas_audience(pd: Any, ev: Any, people: Any, scores: Any, as_of: Any) -> Any:
    # cheap per-person predicates first; tags matched once per distinct tag string
    codes, uniq = pd.factorize(people["tags"])
    priced = [("price_sensitive" in {t.strip() for t in u.split(",")}) for u in uniq]
    has_tag = np.array([*priced, False])[codes]  # code -1 (missing) -> False
    m = (people["city"] == "Shanghai").to_numpy() & people["age"].between(25, 55).to_numpy()
    p = people.loc[m & ~has_tag, ["person_id"]]
    intent = p["person_id"].map(scores.set_index("person_id")["intent"])
    p = p[(intent >= 30).to_numpy()]
    lo = as_of - pd.Timedelta(days=30)
    td = ev.loc[(ev["event"] == "test_drive") & (ev["ts"] <= as_of) & (ev["ts"] >= lo), "person"]
    return p.loc[p["person_id"].isin(td), "person_id"].to_numpy()


# ------------------------------------------------------------------ duckdb ----


def duck_queries(as_of_sql: str, private: list[str]) -> dict[str, str]:
    tp = ", ".join(f"'{t}'" for t in private)
    out = ", ".join(f"'{e}'" for e in OUTBOUND_EVENTS)
    seg = " ".join(
        f"WHEN r5 IN ({', '.join(map(str, rs))}) AND fm5 IN ({', '.join(map(str, fms))}) THEN '{name}'"
        for name, rs, fms, _ in RFM_SEGMENTS
    )
    return {
        "rfm": f"""
            WITH agg AS (SELECT person, count(*) f, sum(round_even(amount * 100, 0)) cents, max(ts) last
                         FROM tx WHERE ts <= {as_of_sql} GROUP BY person),
            sc AS (SELECT *, ntile(5) OVER (ORDER BY last, person) r, ntile(5) OVER (ORDER BY f, person) fs,
                          ntile(5) OVER (ORDER BY cents, person) ms FROM agg)
            SELECT person, f, cents, r, fs, ms, CASE {seg} END AS segment
            FROM (SELECT *, r AS r5, (fs + ms + 1) // 2 AS fm5 FROM sc) ORDER BY person""",
        "tiers": f"""
            SELECT person, count(*) k, CASE WHEN count(*) >= 8 THEN 'high' WHEN count(*) >= 3 THEN 'medium'
                   ELSE 'low' END tier
            FROM ev WHERE ts <= {as_of_sql} AND ts >= {as_of_sql} - INTERVAL 30 DAY
              AND touchpoint IN ({tp}) AND event NOT IN ({out})
            GROUP BY person ORDER BY person""",
        "intent": f"""
            SELECT person, 100.0 * (40.0 * least(count(*) FILTER (WHERE event = 'click'), 5) / 5.0
                   + 30.0 * least(count(*) FILTER (WHERE event = 'favourite'), 1)
                   + 30.0 * least(count(*) FILTER (WHERE event = 'test_drive'), 1)) / 100.0 AS score
            FROM ev WHERE ts <= {as_of_sql} AND event IN ('click', 'favourite', 'test_drive')
            GROUP BY person ORDER BY person""",
        "audience": f"""
            WITH td AS (SELECT person, count(*) n FROM ev WHERE event = 'test_drive'
                          AND ts <= {as_of_sql} AND ts >= {as_of_sql} - INTERVAL 30 DAY GROUP BY person)
            SELECT p.person_id FROM ppl p LEFT JOIN td ON td.person = p.person_id
            LEFT JOIN sc ON sc.person_id = p.person_id
            WHERE p.city = 'Shanghai' AND coalesce(td.n, 0) >= 1
              AND NOT coalesce(list_contains(list_transform(string_split(p.tags, ','), lambda x: trim(x)),
                                             'price_sensitive'), FALSE)
              AND coalesce(sc.intent >= 30, FALSE) AND coalesce(p.age BETWEEN 25 AND 55, FALSE)
            ORDER BY p.person_id""",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50k people (about 1M events)")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--events-per-month", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n_people = args.people or (50_000 if args.quick else 1_000_000)

    print(f"load average at start (1, 5, 15 min): {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    ev, people, as_of = build(n_people, args.events_per_month)
    spend = ~np.isnan(ev["amount"])
    tx = {k: ev[k][spend] for k in ("person", "ts", "amount")}
    print(
        f"data: {n_people:,} people, {len(ev['person']):,} events, {int(spend.sum()):,} transactions "
        f"(built in {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    rss("building the data")
    private = list(private_touchpoints())

    ours: dict[str, Callable[[], Any]] = {
        "rfm": lambda: rfm(tx["person"], tx["ts"], tx["amount"], as_of=as_of),
        "activity_tiers": lambda: activity_tiers(
            ev["person"], ev["ts"], touchpoint=ev["touchpoint"], event=ev["event"], as_of=as_of
        ),
        "intent_scores": lambda: intent_scores(ev["person"], ev["event"], ev["ts"], as_of=as_of),
    }
    timings: dict[str, dict[str, float]] = {}
    results: dict[str, Any] = {}
    for name, fn in ours.items():
        t, results[name] = best(fn, args.repeat)
        timings.setdefault(name, {})["autoops"] = t
    scores = results["intent_scores"]
    rule = (
        (attr("city") == "Shanghai")
        & (count("test_drive", within="30d") >= 1)
        & ~tag("price_sensitive")
        & (score("intent") >= 30)
        & attr("age").between(25, 55)
    )

    def audience(events: Any = ev, table: Any = people) -> Any:
        return rule.evaluate(table, events=events, as_of=as_of, scores={"intent": scores})

    t, results["audience"] = best(audience, args.repeat)
    timings["audience (5 predicates)"] = {"autoops": t}
    memory = {name: peak_mib(fn) for name, fn in ours.items()}
    memory["audience (5 predicates)"] = peak_mib(audience)

    import pandas as pd

    rss("autoops")
    run_categorical(pd, ev, people, as_of, audience, results, timings, args.repeat)
    rss("autoops (categorical)")
    p_intent = run_pandas(
        pd, ev, tx, people, scores, as_of, private, results, timings, args.repeat, n_people
    )
    rss("pandas")
    run_duckdb(pd, ev, tx, people, scores, as_of, private, results, timings, args.repeat, p_intent)
    rss("duckdb")

    # ratios: competitor time / autoops time, on the generator's object arrays ("obj") and
    # on the categoricals the competitors read ("cat"; rfm has no text column)
    print(
        f"\n{'computation':24} {'autoops s':>9} {'categ. s':>9} {'duckdb s':>9} {'pandas s':>9}"
        f" {'duckdb/obj':>10} {'duckdb/cat':>10} {'pandas/obj':>10} {'pandas/cat':>10} {'peak MiB':>8}"
    )
    for label, row in timings.items():
        ours_t = row["autoops"]
        cat = row.get("autoops (categorical)")
        cat_t = cat if cat is not None else ours_t
        print(
            f"{label:24} {ours_t:9.3f} {(f'{cat:.3f}' if cat else '-'):>9} {row['duckdb']:9.3f}"
            f" {row['pandas']:9.3f} {row['duckdb'] / ours_t:10.2f} {row['duckdb'] / cat_t:10.2f}"
            f" {row['pandas'] / ours_t:10.2f} {row['pandas'] / cat_t:10.2f} {memory[label]:8.0f}"
        )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npeak MiB: numpy allocations of the autoops call (tracemalloc); process peak RSS {peak_rss:,.0f} MiB"
    )
    print(f"audience size: {len(results['audience']):,}")
    print("results checked equal: autoops = pandas = DuckDB for every computation")
    print(f"load average at end (1, 5, 15 min): {os.getloadavg()}")


def run_categorical(
    pd: Any,
    ev: Any,
    people: Any,
    as_of: Any,
    audience: Callable[[Any, Any], Any],
    results: Any,
    timings: Any,
    repeat: int,
) -> None:
    """Categorical text columns (what parquet / arrow dictionaries give)."""
    cat = {
        "person": ev["person"],
        "ts": ev["ts"],
        "event": pd.Categorical(ev["event"]),
        "touchpoint": pd.Categorical(ev["touchpoint"]),
    }
    t, tiers = best(
        lambda: activity_tiers(
            cat["person"], cat["ts"], touchpoint=cat["touchpoint"], event=cat["event"], as_of=as_of
        ),
        repeat,
    )
    timings["activity_tiers"]["autoops (categorical)"] = t
    assert tiers.interactions.tolist() == results["activity_tiers"].interactions.tolist()
    t, sc = best(lambda: intent_scores(cat["person"], cat["event"], cat["ts"], as_of=as_of), repeat)
    timings["intent_scores"]["autoops (categorical)"] = t
    assert sc.score.tolist() == results["intent_scores"].score.tolist()
    people_cat = {
        **people,
        "city": pd.Categorical(people["city"]),
        "tags": pd.Categorical(people["tags"]),
    }
    t, aud = best(lambda: audience(cat, people_cat), repeat)
    timings["audience (5 predicates)"]["autoops (categorical)"] = t
    assert aud.ids.tolist() == results["audience"].ids.tolist()


def run_pandas(
    pd: Any,
    ev: Any,
    tx: Any,
    people: Any,
    scores: Any,
    as_of: Any,
    private: Any,
    results: Any,
    timings: Any,
    repeat: int,
    n_people: int,
) -> Any:
    as_of_pd = pd.Timestamp(as_of)
    # text as categoricals: pandas' fastest form for these filters and groupings
    ev_df = pd.DataFrame(
        {
            "person": ev["person"],
            "ts": ev["ts"],
            "event": pd.Categorical(ev["event"]),
            "touchpoint": pd.Categorical(ev["touchpoint"]),
        }
    )
    tx_df = pd.DataFrame(tx)
    ppl_df = pd.DataFrame(people).assign(
        city=pd.Categorical(people["city"]), tags=pd.Categorical(people["tags"])
    )
    sc_df = pd.DataFrame({"person_id": scores.person, "intent": scores.score})
    reps = 1 if n_people >= 500_000 else repeat
    t, p_rfm = best(lambda: pandas_rfm(pd, tx_df, as_of_pd), reps)
    timings["rfm"]["pandas"] = t
    t, p_tiers = best(lambda: pandas_tiers(pd, ev_df, as_of_pd, private), reps)
    timings["activity_tiers"]["pandas"] = t
    t, p_intent = best(lambda: pandas_intent(pd, ev_df, as_of_pd), reps)
    timings["intent_scores"]["pandas"] = t
    t, p_aud = best(lambda: pandas_audience(pd, ev_df, ppl_df, sc_df, as_of_pd), reps)
    timings["audience (5 predicates)"]["pandas"] = t
    r = results["rfm"]
    has = r.frequency > 0
    assert p_rfm["person"].tolist() == r.person[has].tolist()
    for col, ours_col in (("r", r.r), ("fs", r.f), ("ms", r.m), ("f", r.frequency)):
        assert p_rfm[col].tolist() == ours_col[has].tolist(), col
    active = results["activity_tiers"].interactions > 0
    assert p_tiers.index.tolist() == results["activity_tiers"].person[active].tolist()
    assert p_tiers.astype(str).tolist() == results["activity_tiers"].tier[active].tolist()
    assert np.allclose(p_intent.to_numpy(), scores.score[np.isin(scores.person, p_intent.index)])
    assert p_aud.tolist() == results["audience"].ids.tolist()
    return p_intent


def run_duckdb(
    pd: Any,
    ev: Any,
    tx: Any,
    people: Any,
    scores: Any,
    as_of: Any,
    private: Any,
    results: Any,
    timings: Any,
    repeat: int,
    p_intent: Any,
) -> None:
    import duckdb

    con = duckdb.connect()
    tables = {
        # text loaded through pandas categoricals: DuckDB stores them as ENUMs, its
        # fastest form here (VARCHAR took 1.5-1.9x longer for tiers and intent)
        "ev": pd.DataFrame(
            {
                "person": ev["person"],
                "ts": ev["ts"],
                "event": pd.Categorical(ev["event"]),
                "touchpoint": pd.Categorical(ev["touchpoint"]),
            }
        ),
        "tx": pd.DataFrame(tx),
        # city as an ENUM; tags stay VARCHAR (the query splits them as strings)
        "ppl": pd.DataFrame(people).assign(city=pd.Categorical(people["city"])),
        "sc": pd.DataFrame({"person_id": scores.person, "intent": scores.score}),
    }
    for name in list(tables):
        con.register(f"{name}_src", tables[name])
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_src")
        con.unregister(f"{name}_src")
        del tables[name]
        gc.collect()
    as_of_sql = f"TIMESTAMP '{np.datetime_as_string(as_of, unit='us')}'"
    q = duck_queries(as_of_sql, private)
    names = {
        "rfm": "rfm",
        "tiers": "activity_tiers",
        "intent": "intent_scores",
        "audience": "audience (5 predicates)",
    }
    out: dict[str, Any] = {}
    for key, label in names.items():
        t, out[key] = best(lambda key=key: con.sql(q[key]).fetchnumpy(), repeat)
        timings[label]["duckdb"] = t
    r = results["rfm"]
    has = r.frequency > 0
    assert out["rfm"]["person"].tolist() == r.person[has].tolist()
    assert out["rfm"]["segment"].tolist() == r.segment[has].tolist()
    for col, ours_col in (("r", r.r), ("fs", r.f), ("ms", r.m), ("f", r.frequency)):
        assert np.asarray(out["rfm"][col]).tolist() == ours_col[has].tolist(), col
    active = results["activity_tiers"].interactions > 0
    assert out["tiers"]["tier"].tolist() == results["activity_tiers"].tier[active].tolist()
    assert out["audience"]["person_id"].tolist() == results["audience"].ids.tolist()
    assert np.allclose(np.asarray(out["intent"]["score"], dtype=float), p_intent_check(scores, out))
    con.close()


def p_intent_check(scores: Any, duck_out: dict[str, Any]) -> Any:
    persons = np.asarray(duck_out["intent"]["person"])
    return scores.score[np.searchsorted(scores.person, persons)]


if __name__ == "__main__":
    main()
