"""Benchmark autoops.leads against pandas and DuckDB on generated leads.

Run ``python benchmarks/bench_leads.py`` (1,000,000 leads, 2,000 dealers) or
``--quick`` (100,000 leads, 400 dealers). Every comparison computes the same
thing in the same run (results are cross-checked), and the table prints the
time of each engine and autoops's speed-up ratio, plus peak memory.

* grading score: per-lead engagement features from events joined by phone,
  half-life decay, caps, weights, sum (the transparent score of grade_leads).
* dedup: 30-day anchored windows per phone (pandas: sorted arrays and a Python
  loop, the usual way to write anchored windows; DuckDB: not expressible without
  a recursive CTE per key, not run).
* assignment: nearest strategy with daily capacity (autoops only; the
  propose-and-cap rounds have no direct pandas/DuckDB form).
* SLA: business-hours deadline (09:00-18:00 every day, Asia/Shanghai), first
  contact per lead, breach flag (pandas: CustomBusinessHour offsets on a
  sample, scaled per row; DuckDB: the business-clock formula in SQL).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autoops.leads import assign_leads, dedupe_leads, grade_leads, sla_report
from autoops.models import normalize_phones

US_DAY = 86_400_000_000
START = np.datetime64("2025-01-01T00:00:00", "us")


def make_data(n: int, n_dealers: int, seed: int = 0) -> dict[str, Any]:
    """Leads, dealers, events and contacts, shaped like the synthetic dataset."""
    rng = np.random.default_rng(seed)
    people = max(1, int(n * 0.8))
    nums = 13_000_000_000 + rng.choice(6_000_000_000, people, replace=False)
    base = nums.astype(str)
    forms = rng.integers(0, 3, people)
    phone_p = np.where(
        forms == 0, base, np.where(forms == 1, np.char.add("+86", base), np.char.add("0086", base))
    )
    person = rng.integers(0, people, n)
    n_cities = 300
    city_of = rng.zipf(1.3, n) % n_cities
    cities = np.array([f"C{i:03d}" for i in range(n_cities)], dtype=object)
    provinces = np.array([f"P{i % 31:02d}" for i in range(n_cities)], dtype=object)
    created = START + (rng.random(n) * 365 * US_DAY).astype("timedelta64[us]")
    leads = {
        "lead_id": np.array([f"L{i:08d}" for i in range(n)], dtype=object),
        "created_at": created,
        "phone": phone_p[person].astype(object),
        "city": cities[city_of],
        "province": provinces[city_of],
        "touchpoint": rng.choice(
            np.array(["app", "douyin", "showroom", "website"], dtype=object), n
        ),
        "status": rng.choice(
            np.array(["new", "contacted", "visited", "defeated"], dtype=object), n
        ),
        "stated_horizon_days": rng.choice(np.array([-1, 7, 15, 30, 90]), n),
    }
    d_city = rng.choice(n_cities - 20, n_dealers)  # the last 20 cities have no dealer
    dealers = {
        "dealer_id": np.array([f"D{i:05d}" for i in range(n_dealers)], dtype=object),
        "city": cities[d_city],
        "province": provinces[d_city],
        "daily_capacity": rng.integers(5, 60, n_dealers),
        "weight": rng.choice([1.0, 1.5, 2.0, 3.0], n_dealers),
        "lat": 20 + rng.random(n_dealers) * 20,
        "lon": 100 + rng.random(n_dealers) * 20,
    }
    m = 3 * n
    ev_person = person[rng.integers(0, n, m)]
    events = {
        "ts": START + (rng.random(m) * 365 * US_DAY).astype("timedelta64[us]"),
        "event": rng.choice(
            np.array(
                ["content_view", "login", "click", "visit", "test_drive", "wecom_reply"],
                dtype=object,
            ),
            m,
            p=[0.35, 0.3, 0.2, 0.07, 0.04, 0.04],
        ),
        "category": rng.choice(np.array([None, "price", "spec"], dtype=object), m),
        "phone": phone_p[ev_person].astype(object),
    }
    k = int(n * 0.9)
    who = rng.choice(n, k, replace=False)
    contacts = {
        "lead_id": leads["lead_id"][who],
        "ts": created[who]
        + (rng.lognormal(np.log(1.5), 1.3, k) * 3_600_000_000).astype("timedelta64[us]"),
    }
    leads["dealer_id"] = dealers["dealer_id"][rng.integers(0, n_dealers, n)]
    return {"leads": leads, "dealers": dealers, "events": events, "contacts": contacts}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


# --- grading score -------------------------------------------------------------------

WEIGHTS = {
    "visit": (20.0, 1.0),
    "test_drive": (25.0, 1.0),
    "price_content": (10.0, 3.0),
    "content": (10.0, 10.0),
    "app": (10.0, 10.0),
    "reply": (10.0, 5.0),
}
FEATURE_SQL = {
    "visit": "event = 'visit'",
    "test_drive": "event = 'test_drive'",
    "price_content": "event = 'content_view' AND category = 'price'",
    "content": "event IN ('content_view','page_view','click','favourite','share','comment') "
    "AND NOT (event = 'content_view' AND coalesce(category, '') = 'price')",
    "app": "event IN ('login','app_open','check_in','post')",
    "reply": "event = 'wecom_reply'",
}


def engagement_pandas(data: dict[str, Any], as_of: np.datetime64) -> np.ndarray:
    import pandas as pd

    hl = 30 * US_DAY
    ev = pd.DataFrame(data["events"])
    ev["key"] = normalize_phones(ev["phone"].to_numpy(object)).e164
    ev = ev[(ev["ts"] <= as_of) & (ev["ts"] >= as_of - np.timedelta64(180, "D"))]
    age = (as_of - ev["ts"]).dt.total_seconds() * 1e6
    ev["w"] = np.power(0.5, age / hl)
    cat = ev["category"].fillna("")
    masks = {
        "visit": ev["event"] == "visit",
        "test_drive": ev["event"] == "test_drive",
        "price_content": (ev["event"] == "content_view") & (cat == "price"),
        "content": ev["event"].isin(
            ["content_view", "page_view", "click", "favourite", "share", "comment"]
        )
        & ~((ev["event"] == "content_view") & (cat == "price")),
        "app": ev["event"].isin(["login", "app_open", "check_in", "post"]),
        "reply": ev["event"] == "wecom_reply",
    }
    for name, mask in masks.items():
        ev[name] = ev["w"].where(mask, 0.0)
    per = ev.groupby("key")[list(WEIGHTS)].sum()
    leads = pd.DataFrame({"key": normalize_phones(data["leads"]["phone"]).e164})
    joined = leads.join(per, on="key")[list(WEIGHTS)].fillna(0.0)
    score = np.zeros(len(leads))
    for name, (w, cap) in WEIGHTS.items():
        score += w * np.minimum(joined[name].to_numpy(), cap) / cap
    return score


def _duck_phone(col: str) -> str:
    digits = f"regexp_replace({col}, '[^0-9]', '', 'g')"
    return f"right({digits}, 11)"


def engagement_duckdb(con: Any, as_of: np.datetime64) -> np.ndarray:
    feats = ",\n".join(
        f"sum(CASE WHEN {cond} THEN pow(0.5, (epoch_us(TIMESTAMP '{as_of}') - epoch_us(ts)) / {30 * US_DAY}.0) "
        f"ELSE 0 END) AS {name}"
        for name, cond in FEATURE_SQL.items()
    )
    score = " + ".join(
        f"{w} * least(coalesce(f.{n}, 0), {c}) / {c}" for n, (w, c) in WEIGHTS.items()
    )
    sql = f"""
    WITH ev AS (
        SELECT {_duck_phone("phone")} AS key, ts, event, category FROM events
        WHERE ts <= TIMESTAMP '{as_of}' AND ts >= TIMESTAMP '{as_of}' - INTERVAL 180 DAY
    ), f AS (SELECT key, {feats} FROM ev GROUP BY key)
    SELECT {score} AS score FROM (SELECT row_number() OVER () AS rn, {_duck_phone("phone")} AS key FROM leads) l
    LEFT JOIN f ON f.key = l.key ORDER BY rn
    """
    return np.asarray(con.execute(sql).fetchnumpy()["score"], dtype=float)


# --- dedup ----------------------------------------------------------------------------


def dedup_pandas(data: dict[str, Any]) -> np.ndarray:
    import pandas as pd

    df = pd.DataFrame(
        {"key": normalize_phones(data["leads"]["phone"]).e164, "t": data["leads"]["created_at"]}
    )
    df["row"] = np.arange(len(df))
    df = df.sort_values(["key", "t", "row"], kind="stable")
    keys, ts, rows = df["key"].to_numpy(), df["t"].to_numpy().astype(np.int64), df["row"].to_numpy()
    window = 30 * US_DAY
    kept = np.empty(len(df), dtype=np.int64)
    anchor_key, anchor_t, anchor_row = None, 0, -1
    for k, t, r in zip(keys.tolist(), ts.tolist(), rows.tolist(), strict=True):
        if k != anchor_key or t >= anchor_t + window:
            anchor_key, anchor_t, anchor_row = k, t, r
        kept[r] = anchor_row
    return kept


# --- SLA --------------------------------------------------------------------------------


def sla_duckdb(con: Any, as_of: np.datetime64) -> np.ndarray:
    # business clock B(t): 9 hours per day, every day open, Asia/Shanghai = UTC+8
    day_len = 9 * 3_600_000_000
    local = "(epoch_us({c}) + 8 * 3600000000)"
    bclock = f"(({local} // {US_DAY}) * {day_len} + least(greatest({local} % {US_DAY} - 9 * 3600000000, 0), {day_len}))"
    b_created = bclock.replace("{c}", "created_at")
    sql = f"""
    WITH first AS (
        SELECT c.lead_id, min(c.ts) AS first_ts FROM contacts c JOIN leads l USING (lead_id)
        WHERE c.ts >= l.created_at GROUP BY c.lead_id
    ), d AS (
        SELECT l.rn, l.created_at, f.first_ts, {b_created} + 30 * 60000000 AS target
        FROM leads l LEFT JOIN first f USING (lead_id)
    )
    SELECT rn,
        ((target - 1) // {day_len}) * {US_DAY} + 9 * 3600000000 + (target - ((target - 1) // {day_len}) * {day_len})
            - 8 * 3600000000 AS due_us,
        epoch_us(first_ts) AS first_us
    FROM d ORDER BY rn
    """
    out = con.execute(sql).fetchnumpy()
    due = np.asarray(out["due_us"], dtype=np.int64)
    first = out["first_us"]
    first_arr = np.where(
        np.ma.getmaskarray(first), np.iinfo(np.int64).min, np.ma.getdata(first)
    ).astype(np.int64)
    as_of_us = as_of.astype(np.int64)
    return np.where(first_arr != np.iinfo(np.int64).min, first_arr > due, due < as_of_us)


def sla_pandas(data: dict[str, Any], rows: int, as_of: np.datetime64) -> tuple[float, np.ndarray]:
    import pandas as pd

    bh = pd.offsets.CustomBusinessHour(
        start="09:00", end="18:00", weekmask="Mon Tue Wed Thu Fri Sat Sun"
    )
    sla = pd.Timedelta(minutes=30)

    def due_of(x: Any) -> Any:
        start = bh.rollforward(x)  # into business hours
        close = start.normalize() + pd.Timedelta(hours=18)
        left = close - start
        if left >= sla:
            return start + sla
        return bh.rollforward(close + pd.Timedelta(microseconds=1)) + (sla - left)

    leads = pd.DataFrame(
        {
            "lead_id": data["leads"]["lead_id"][:rows],
            "created_at": data["leads"]["created_at"][:rows],
        }
    )
    t = time.perf_counter()
    local = leads["created_at"] + pd.Timedelta(hours=8)  # Asia/Shanghai has no DST
    due = local.map(due_of) - pd.Timedelta(hours=8)
    c = pd.DataFrame(data["contacts"]).merge(leads, on="lead_id")
    c = c[c["ts"] >= c["created_at"]]
    first = leads["lead_id"].map(c.groupby("lead_id")["ts"].min())
    breached = np.where(first.notna(), first > due, due < pd.Timestamp(as_of))
    return time.perf_counter() - t, np.asarray(breached, dtype=bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 400 dealers")
    parser.add_argument("--leads", type=int, default=None)
    args = parser.parse_args()
    n = args.leads or (100_000 if args.quick else 1_000_000)
    n_dealers = 400 if args.quick else 2_000
    import duckdb

    t_gen, data = timed(lambda: make_data(n, n_dealers))
    as_of = np.datetime64("2026-01-01T00:00:00", "us")
    con = duckdb.connect()
    for name in ("leads", "events", "contacts"):
        import pandas as pd

        df = pd.DataFrame(data[name])
        df["rn"] = np.arange(len(df))
        con.register(f"{name}_df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_df")
    print(
        f"generated {n:,} leads, {len(data['events']['ts']):,} events, {n_dealers:,} dealers in {t_gen:.1f}s"
    )
    rows: list[list[str]] = []

    # grading
    t_ours, g = timed(lambda: grade_leads(data["leads"], data["events"], as_of=as_of))
    t_pd, s_pd = timed(lambda: engagement_pandas(data, as_of))
    t_dd, s_dd = timed(lambda: engagement_duckdb(con, as_of))
    eng = g.contributions[:, 2:].sum(axis=1)
    assert np.allclose(eng, s_pd, atol=1e-6), "grading: pandas disagrees"
    assert np.allclose(eng, s_dd, atol=1e-6), "grading: duckdb disagrees"
    rows.append(
        [
            "grade_leads (full) vs score-only",
            f"{t_ours:.2f}",
            f"{t_pd:.2f}",
            f"{t_dd:.2f}",
            f"{t_pd / t_ours:.1f}x",
            f"{t_dd / t_ours:.1f}x",
        ]
    )

    # dedup
    t_ours, dd = timed(lambda: dedupe_leads(data["leads"], window="30d"))
    t_pd, kept = timed(lambda: dedup_pandas(data))
    assert (data["leads"]["lead_id"][kept] == dd.kept_id).all(), "dedup: pandas disagrees"
    rows.append(
        ["dedupe_leads", f"{t_ours:.2f}", f"{t_pd:.2f}", "n/a", f"{t_pd / t_ours:.1f}x", "n/a"]
    )

    # assignment
    unassigned = {**data["leads"], "dealer_id": np.full(n, None, dtype=object)}
    for strategy in ("nearest", "round_robin", "capacity"):
        t_ours, _ = timed(
            lambda s=strategy: assign_leads(unassigned, data["dealers"], strategy=s, as_of=as_of)  # type: ignore[misc]
        )
        rows.append([f"assign_leads ({strategy})", f"{t_ours:.2f}", "n/a", "n/a", "n/a", "n/a"])

    # SLA
    t_ours, sla = timed(
        lambda: sla_report(
            data["leads"], data["contacts"], first_contact_within="30min", as_of=as_of
        )
    )
    t_dd, br_dd = timed(lambda: sla_duckdb(con, as_of))
    assert (br_dd == sla.breached).all(), "sla: duckdb disagrees"
    sample = min(n, 20_000)
    t_pd_sample, br_pd = sla_pandas(data, sample, as_of)
    agree = float((br_pd == sla.breached[:sample]).mean())
    t_pd = t_pd_sample * n / sample
    rows.append(
        [
            "sla_report",
            f"{t_ours:.2f}",
            f"{t_pd:.2f}*",
            f"{t_dd:.2f}",
            f"{t_pd / t_ours:.1f}x",
            f"{t_dd / t_ours:.1f}x",
        ]
    )

    headers = ["operation", "autoops s", "pandas s", "duckdb s", "vs pandas", "vs duckdb"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(
        f"* pandas SLA timed on {sample:,} rows (CustomBusinessHour per row) and scaled; "
        f"agreement with autoops on that sample {agree:.2%}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
