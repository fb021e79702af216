"""Benchmark autoops.leads against pandas and DuckDB on generated leads.

Run ``python benchmarks/bench_leads.py`` (1,000,000 leads, 3,000,000 events,
2,000 dealers) or ``--quick`` (100,000 leads, 400 dealers). Every comparison
computes the same thing in the same run and the results are asserted equal;
the table prints each engine's time, autoops's speed-up ratio, and the peak
extra memory (VmHWM reset before each call) of every engine.

* grading: autoops runs the full ``grade_leads`` (rules, score, grades,
  reasons); pandas and DuckDB compute only the engagement score (events joined
  by phone, half-life decay, caps, weights, sum), so the ratio is conservative.
* dedup: 30-day anchored windows per phone. pandas: sort, ``merge_asof`` for
  the first lead at t + window, then the chain of cycle starts followed with
  array steps (one step per cycle number, not per lead), ``ffill``; DuckDB: an
  ASOF join for the next start, a recursive CTE for the chain, a window ``max``
  for the kept lead.
* assignment, nearest strategy with daily capacity: pandas builds the
  per-area preference lists (city dealers, else province dealers, by distance
  from their centre, seeded tie-break, 20 choices) with merges and a grouped
  cumcount, then runs the capped rounds with merge/sort/cumcount; DuckDB the
  same with window functions, one SQL statement per round. round_robin and
  capacity are timed for autoops only (their quota and least-loaded sequences
  have no short pandas/SQL form).
* SLA: business-hours deadline (09:00-18:00 every day, Asia/Shanghai), first
  contact per lead, breach flag. pandas: the business-clock arithmetic on
  int64 Series plus merge/groupby-min (CustomBusinessHour is also checked on a
  2,000-row sample); DuckDB: the same formula in SQL. autoops computes the
  whole report (response minutes, callbacks) in its time.
"""

from __future__ import annotations

import argparse
import os
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


def e164_pandas(phone: Any) -> Any:
    """Normalise a phone Series the way a pandas user would: each distinct value once."""
    import pandas as pd

    codes, uniq = pd.factorize(phone)
    e164 = normalize_phones(np.asarray(uniq, dtype=object)).e164
    return pd.Series(np.where(codes >= 0, e164[codes], None), index=phone.index)


def engagement_pandas(data: dict[str, Any], as_of: np.datetime64) -> np.ndarray:
    import pandas as pd

    hl = 30 * US_DAY
    ev = pd.DataFrame(data["events"])
    ev["key"] = e164_pandas(ev["phone"])
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
    leads = pd.DataFrame({"key": e164_pandas(pd.Series(data["leads"]["phone"]))})
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


def _chain(pos_first: np.ndarray, nxt: np.ndarray, n: int) -> np.ndarray:
    """Cycle starts: from each key's first row follow "first row at t + window" links."""
    is_start = np.zeros(n, dtype=bool)
    current = pos_first
    while len(current):  # one step per cycle number (a dozen in a year), all keys at once
        is_start[current] = True
        current = nxt[current]
        current = current[current >= 0]
    return is_start


def dedup_pandas(data: dict[str, Any]) -> np.ndarray:
    import pandas as pd

    window = 30 * US_DAY
    df = pd.DataFrame(
        {
            "key": e164_pandas(pd.Series(data["leads"]["phone"])),
            "t": data["leads"]["created_at"].view(np.int64),
            "row": np.arange(len(data["leads"]["phone"])),
        }
    ).dropna(subset=["key"])
    df = df.sort_values(["key", "t", "row"], kind="stable", ignore_index=True)
    df["pos"] = np.arange(len(df))
    probe = pd.DataFrame({"key": df["key"], "t": df["t"] + window, "pos": df["pos"]})
    right = df[["key", "t", "pos"]].rename(columns={"pos": "nxt"})
    m = pd.merge_asof(
        probe.sort_values("t", kind="stable"),
        right.sort_values("t", kind="stable"),
        on="t",
        by="key",
        direction="forward",
    )
    nxt = np.full(len(df), -1, dtype=np.int64)
    nxt[m["pos"].to_numpy()] = m["nxt"].fillna(-1).to_numpy(np.int64)
    first = df["key"].ne(df["key"].shift())
    is_start = _chain(df["pos"][first].to_numpy(), nxt, len(df))
    start_row = df["row"].where(pd.Series(is_start)).ffill().astype(np.int64)
    kept = np.arange(len(data["leads"]["phone"]))
    kept[df["row"].to_numpy()] = start_row.to_numpy()
    return kept


def dedup_duckdb(con: Any) -> np.ndarray:
    window = 30 * US_DAY
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE d AS
        SELECT key, t, rn, row_number() OVER (ORDER BY key, t, rn) AS pos FROM (
            SELECT {_duck_phone("phone")} AS key, epoch_us(created_at) AS t, rn FROM leads
            WHERE phone IS NOT NULL)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE nx AS
        WITH first_at AS (SELECT key, t, min(pos) AS pos FROM d GROUP BY key, t)
        SELECT a.pos, f.pos AS nxt FROM d a
        ASOF LEFT JOIN first_at f ON a.key = f.key AND f.t >= a.t + {window}
    """)
    sql = """
    WITH starts AS (
        WITH RECURSIVE s(pos) AS (
            SELECT min(pos) FROM d GROUP BY key
            UNION ALL
            SELECT nx.nxt FROM s JOIN nx ON nx.pos = s.pos WHERE nx.nxt IS NOT NULL
        ) SELECT pos FROM s
    ),
    k AS (
        SELECT d.rn, max(CASE WHEN s.pos IS NOT NULL THEN d.pos END)
            OVER (PARTITION BY d.key ORDER BY d.pos ROWS UNBOUNDED PRECEDING) AS start_pos
        FROM d LEFT JOIN starts s ON s.pos = d.pos
    )
    SELECT k.rn, d.rn AS kept FROM k JOIN d ON d.pos = k.start_pos
    """
    out = con.execute(sql).fetchnumpy()
    kept = np.arange(con.execute("SELECT count(*) FROM leads").fetchall()[0][0])
    kept[np.asarray(out["rn"], dtype=np.int64)] = np.asarray(out["kept"], dtype=np.int64)
    return kept


# --- assignment (nearest) ---------------------------------------------------------------

MAX_CHOICES = 20


def _tie(n_dealers: int, seed: int = 0) -> np.ndarray:
    """The documented tie-break: a permutation of the dealers drawn from the seed."""
    tie = np.empty(n_dealers, dtype=np.int64)
    tie[np.random.default_rng(seed).permutation(n_dealers)] = np.arange(n_dealers)
    return tie


def assign_nearest_pandas(data: dict[str, Any]) -> np.ndarray:
    """Nearest strategy with daily capacity, in pandas: preference lists, then capped rounds.

    Area = the lead's (city, province); its dealers are those in the city, else
    those in the province; ordered by distance from the area's dealers' centre,
    ties by the seeded permutation; at most 20 choices. Round k: every pending
    lead proposes its k-th choice; per (dealer, local day) the earliest leads
    (created_at, then row) are accepted while capacity lasts.
    """
    import pandas as pd

    d = pd.DataFrame({k: data["dealers"][k] for k in ("city", "province", "lat", "lon")})
    d["idx"] = np.arange(len(d))
    d["tie"] = _tie(len(d))
    cap = data["dealers"]["daily_capacity"]
    leads = pd.DataFrame({"city": data["leads"]["city"], "province": data["leads"]["province"]})
    created = data["leads"]["created_at"].view(np.int64)
    leads["day"] = (created + 8 * 3_600_000_000) // US_DAY  # Asia/Shanghai, no DST
    leads["row"] = np.arange(len(leads))
    areas = leads[["city", "province"]].drop_duplicates()
    by_city = areas.merge(d[["city", "idx"]], on="city")
    served = by_city[["city", "province"]].drop_duplicates()
    rest = areas.merge(served, how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    by_prov = rest.merge(d[["province", "idx"]], on="province")
    m = pd.concat([by_city, by_prov], ignore_index=True).merge(
        d[["idx", "lat", "lon", "tie"]], on="idx"
    )
    centre = m.groupby(["city", "province"])[["lat", "lon"]].transform("mean")
    p1, p2 = np.radians(centre["lat"]), np.radians(m["lat"])
    dp, dl = p2 - p1, np.radians(m["lon"]) - np.radians(centre["lon"])
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    m["dist"] = 2 * 6371.0 * np.arcsin(np.sqrt(a))
    m = m.sort_values(["city", "province", "dist", "tie"], kind="stable")
    m["k"] = m.groupby(["city", "province"]).cumcount()
    m = m[m["k"] < MAX_CHOICES]
    result = np.full(len(leads), -1, dtype=np.int64)
    empty = pd.MultiIndex.from_arrays([[], []], names=["idx", "day"])
    used = pd.Series(np.zeros(0, dtype=np.int64), index=empty)
    pending = leads
    for k in range(MAX_CHOICES):
        prop = pending.merge(
            m.loc[m["k"] == k, ["city", "province", "idx"]], on=["city", "province"]
        )
        if prop.empty:
            break
        prop["created"] = created[prop["row"].to_numpy()]
        prop = prop.sort_values(["idx", "day", "created", "row"], kind="stable")
        rank = prop.groupby(["idx", "day"]).cumcount().to_numpy()
        key = pd.MultiIndex.from_arrays([prop["idx"], prop["day"]], names=["idx", "day"])
        before = used.reindex(key).fillna(0).to_numpy()
        ok = before + rank < cap[prop["idx"].to_numpy()]
        acc = prop[ok]
        result[acc["row"].to_numpy()] = acc["idx"].to_numpy()
        used = used.add(acc.groupby(["idx", "day"]).size(), fill_value=0)
        pending = pending[result[pending["row"].to_numpy()] < 0]
    return result


def assign_nearest_duckdb(con: Any, data: dict[str, Any]) -> np.ndarray:
    """The same nearest-with-capacity rounds in DuckDB SQL (one statement per round)."""
    import pandas as pd

    d = pd.DataFrame({k: data["dealers"][k] for k in ("city", "province", "lat", "lon")})
    d["idx"] = np.arange(len(d))
    d["tie"] = _tie(len(d))
    d["cap"] = data["dealers"]["daily_capacity"]
    con.register("dealers_df", d)
    con.execute("CREATE OR REPLACE TEMP TABLE dealers AS SELECT * FROM dealers_df")
    con.unregister("dealers_df")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE pref AS
        WITH areas AS (SELECT DISTINCT city, province FROM leads),
        by_city AS (SELECT a.city, a.province, d.idx FROM areas a JOIN dealers d ON d.city = a.city),
        by_prov AS (
            SELECT a.city, a.province, d.idx FROM areas a JOIN dealers d ON d.province = a.province
            WHERE NOT EXISTS (
                SELECT 1 FROM by_city b WHERE b.city = a.city AND b.province = a.province)
        ),
        m AS (
            SELECT m.city, m.province, d.idx, d.tie, d.lat, d.lon,
                avg(d.lat) OVER (PARTITION BY m.city, m.province) AS clat,
                avg(d.lon) OVER (PARTITION BY m.city, m.province) AS clon
            FROM (SELECT * FROM by_city UNION ALL SELECT * FROM by_prov) m JOIN dealers d USING (idx)
        ),
        dist AS (
            SELECT *, 2 * 6371.0 * asin(sqrt(
                pow(sin((radians(lat) - radians(clat)) / 2), 2)
                + cos(radians(clat)) * cos(radians(lat))
                  * pow(sin((radians(lon) - radians(clon)) / 2), 2))) AS dist
            FROM m
        )
        SELECT city, province, idx,
            row_number() OVER (PARTITION BY city, province ORDER BY dist, tie) - 1 AS k
        FROM dist QUALIFY k < {MAX_CHOICES}
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE pending AS
        SELECT rn, city, province, epoch_us(created_at) AS created,
            (epoch_us(created_at) + 28800000000) // 86400000000 AS day FROM leads
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE used (idx BIGINT, day BIGINT, n BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE result (rn BIGINT, idx BIGINT)")
    for k in range(MAX_CHOICES):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE acc AS
            WITH prop AS (
                SELECT p.rn, f.idx, p.day, p.created FROM pending p
                JOIN pref f ON f.city = p.city AND f.province = p.province AND f.k = {k}
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY idx, day ORDER BY created, rn) - 1 AS r
                FROM prop
            )
            SELECT r.rn, r.idx, r.day FROM ranked r JOIN dealers d USING (idx)
            LEFT JOIN used u ON u.idx = r.idx AND u.day = r.day
            WHERE coalesce(u.n, 0) + r.r < d.cap
        """)
        con.execute("INSERT INTO result SELECT rn, idx FROM acc")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE used AS
            SELECT idx, day, sum(n) AS n FROM (
                SELECT idx, day, n FROM used UNION ALL SELECT idx, day, count(*) FROM acc GROUP BY ALL
            ) GROUP BY idx, day
        """)
        con.execute("DELETE FROM pending WHERE rn IN (SELECT rn FROM acc)")
    out = con.execute("SELECT rn, idx FROM result").fetchnumpy()
    result = np.full(len(data["leads"]["city"]), -1, dtype=np.int64)
    result[np.asarray(out["rn"], dtype=np.int64)] = np.asarray(out["idx"], dtype=np.int64)
    return result


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


def sla_pandas(data: dict[str, Any], as_of: np.datetime64) -> np.ndarray:
    """Vectorised pandas: the business clock on int64 Series, first contact by merge + min."""
    import pandas as pd

    day_len, open_us, offset = 9 * 3_600_000_000, 9 * 3_600_000_000, 8 * 3_600_000_000
    leads = pd.DataFrame(
        {"lead_id": data["leads"]["lead_id"], "created": data["leads"]["created_at"].view(np.int64)}
    )
    local = leads["created"] + offset  # Asia/Shanghai has no DST
    day = local // US_DAY
    clock = day * day_len + (local - day * US_DAY - open_us).clip(0, day_len)
    target = clock + 30 * 60_000_000
    m = (target - 1) // day_len
    due = m * US_DAY + open_us + (target - m * day_len) - offset
    c = pd.DataFrame(
        {"lead_id": data["contacts"]["lead_id"], "ts": data["contacts"]["ts"].view(np.int64)}
    ).merge(leads, on="lead_id")
    first = c[c["ts"] >= c["created"]].groupby("lead_id")["ts"].min()
    first_ts = leads["lead_id"].map(first)
    breached = np.where(first_ts.notna(), first_ts > due, due < as_of.astype(np.int64))
    return np.asarray(breached, dtype=bool)


def sla_business_hour_sample(data: dict[str, Any], rows: int, as_of: np.datetime64) -> np.ndarray:
    """pandas CustomBusinessHour per row on a sample: an independent check of the formula."""
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
    local = leads["created_at"] + pd.Timedelta(hours=8)
    due = local.map(due_of) - pd.Timedelta(hours=8)
    c = pd.DataFrame(data["contacts"]).merge(leads, on="lead_id")
    c = c[c["ts"] >= c["created_at"]]
    first = leads["lead_id"].map(c.groupby("lead_id")["ts"].min())
    breached = np.where(first.notna(), first > due, due < pd.Timestamp(as_of))
    return np.asarray(breached, dtype=bool)


# --- harness ----------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


LAST_CPU: list[float] = []


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, peak extra MiB over the RSS before the call, result).

    The process CPU seconds of the call (all threads: DuckDB uses several) are
    appended to ``LAST_CPU``, for the table.
    """
    try:  # reset the high-water mark so VmHWM is this call's peak (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    base = _status_kib("VmRSS")
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    seconds = time.perf_counter() - t
    LAST_CPU.append(time.process_time() - c)
    return seconds, max(_status_kib("VmHWM") - base, 0) / 1024, out


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 400 dealers")
    parser.add_argument("--leads", type=int, default=None)
    args = parser.parse_args()
    n = args.leads or (100_000 if args.quick else 1_000_000)
    n_dealers = 400 if args.quick else 2_000
    import duckdb
    import pandas as pd

    print(load())
    t_gen, data = timed(lambda: make_data(n, n_dealers))
    as_of = np.datetime64("2026-01-01T00:00:00", "us")
    con = duckdb.connect()
    for name in ("leads", "events", "contacts"):
        df = pd.DataFrame(data[name])
        df["rn"] = np.arange(len(df))
        con.register(f"{name}_df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")
    print(
        f"generated {n:,} leads, {len(data['events']['ts']):,} events, {n_dealers:,} dealers "
        f"in {t_gen:.1f}s"
    )
    rows: list[list[str]] = []

    def row(name: str, ours: tuple[float, float], pd_: Any = None, dd: Any = None) -> None:
        engines = [e for e in (ours, pd_, dd) if e is not None]
        cpus = dict(zip(map(id, engines), LAST_CPU[-len(engines) :], strict=True))
        cells = [name]
        for e in (ours, pd_, dd):
            cells += (
                ["n/a", "n/a", "n/a"]
                if e is None
                else [f"{e[0]:.2f}", f"{cpus[id(e)]:.2f}", f"{e[1]:,.0f}"]
            )
        for other in (pd_, dd):
            cells.append(
                "n/a"
                if other is None
                else f"{other[0] / ours[0]:.1f}x ({cpus[id(other)] / cpus[id(ours)]:.1f}x)"
            )
        rows.append(cells)
        print("  " + "  ".join(cells), flush=True)

    # grading
    t_o, m_o, g = measured(lambda: grade_leads(data["leads"], data["events"], as_of=as_of))
    t_p, m_p, s_pd = measured(lambda: engagement_pandas(data, as_of))
    t_d, m_d, s_dd = measured(lambda: engagement_duckdb(con, as_of))
    eng = g.contributions[:, 2:].sum(axis=1)
    assert np.allclose(eng, s_pd, atol=1e-6), "grading: pandas disagrees"
    assert np.allclose(eng, s_dd, atol=1e-6), "grading: duckdb disagrees"
    row("grade_leads (full) vs score", (t_o, m_o), (t_p, m_p), (t_d, m_d))

    # dedup
    t_o, m_o, dd = measured(lambda: dedupe_leads(data["leads"], window="30d"))
    t_p, m_p, kept_pd = measured(lambda: dedup_pandas(data))
    t_d, m_d, kept_dd = measured(lambda: dedup_duckdb(con))
    assert (data["leads"]["lead_id"][kept_pd] == dd.kept_id).all(), "dedup: pandas disagrees"
    assert (data["leads"]["lead_id"][kept_dd] == dd.kept_id).all(), "dedup: duckdb disagrees"
    row("dedupe_leads", (t_o, m_o), (t_p, m_p), (t_d, m_d))

    # assignment
    unassigned = {**data["leads"], "dealer_id": np.full(n, None, dtype=object)}
    t_o, m_o, near = measured(
        lambda: assign_leads(unassigned, data["dealers"], strategy="nearest", as_of=as_of)
    )
    t_p, m_p, near_pd = measured(lambda: assign_nearest_pandas(data))
    t_d, m_d, near_dd = measured(lambda: assign_nearest_duckdb(con, data))
    ids = np.concatenate((data["dealers"]["dealer_id"], np.array([None], dtype=object)))
    assert (ids[near_pd] == near.dealer_id).all(), "assignment: pandas disagrees"
    assert (ids[near_dd] == near.dealer_id).all(), "assignment: duckdb disagrees"
    row("assign_leads (nearest)", (t_o, m_o), (t_p, m_p), (t_d, m_d))
    for strategy in ("round_robin", "capacity"):
        t_o, m_o, _ = measured(
            lambda s=strategy: assign_leads(unassigned, data["dealers"], strategy=s, as_of=as_of)  # type: ignore[misc]
        )
        row(f"assign_leads ({strategy})", (t_o, m_o))

    # SLA
    t_o, m_o, sla = measured(
        lambda: sla_report(
            data["leads"], data["contacts"], first_contact_within="30min", as_of=as_of
        )
    )
    t_p, m_p, br_pd = measured(lambda: sla_pandas(data, as_of))
    t_d, m_d, br_dd = measured(lambda: sla_duckdb(con, as_of))
    assert (br_pd == sla.breached).all(), "sla: pandas disagrees"
    assert (br_dd == sla.breached).all(), "sla: duckdb disagrees"
    sample = min(n, 2_000)
    br_bh = sla_business_hour_sample(data, sample, as_of)
    assert (br_bh == sla.breached[:sample]).all(), "sla: CustomBusinessHour disagrees"
    row("sla_report", (t_o, m_o), (t_p, m_p), (t_d, m_d))

    headers = [
        "operation",
        "autoops s",
        "cpu s",
        "MiB",
        "pandas s",
        "cpu s",
        "MiB",
        "duckdb s",
        "cpu s",
        "MiB",
        "vs pandas (cpu)",
        "vs duckdb (cpu)",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(
        "s: wall seconds; cpu s: process CPU seconds (all threads; DuckDB runs several, numpy "
        "and pandas one); MiB: peak extra resident memory during the call; ratios: other "
        "engine's time / autoops's (>1: autoops faster), wall and (cpu). Results asserted "
        "equal across engines "
        f"(SLA also against pandas CustomBusinessHour on {sample:,} rows)."
    )
    print(
        f"process peak RSS {_status_kib('VmPeak') and _status_kib('VmHWM') / 1024:,.0f} MiB "
        f"(since the last reset); {load()}"
    )


if __name__ == "__main__":
    main()
