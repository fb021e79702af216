"""Benchmark autoops.leads against pandas and DuckDB on generated leads.

Run ``python benchmarks/bench_leads.py`` (1,000,000 leads, 3,000,000 events,
2,000 dealers; ``--quick``: 100,000 leads, 400 dealers; ``--repeat N`` runs per
engine, best shown; ``--only grade,sla``). Every comparison computes the same
outputs in the same run and they are asserted equal; the table prints each
engine's best wall time, that run's CPU time and peak extra memory, and
autoops's speed-up ratios. The engines run interleaved, and every run gets a
fresh copy of the string columns (new objects, so no run reuses string hashes
cached by another; see ``Fresh``); DuckDB reads tables loaded before the timing.

Every engine also makes the input check that every autoops lead function
makes, lead ids present and unique (pandas: ``Index.is_unique``; DuckDB:
``count(DISTINCT lead_id)``). pandas and DuckDB return row positions where
autoops returns lead ids (their gather to ids is not timed).

Compared outputs (all engines compute all of them):

* grading: suggested grade, reason (with ``+stale``), score, idle days per lead.
  Phones are normalised with the same rules everywhere: autoops and pandas call
  ``autoops.models.normalize_phones`` on the distinct spellings; DuckDB runs the
  same rules in SQL (``DUCK_KEY``; Chinese numbers only). pandas: groupby sums and
  maxima per phone, a join, the rules on columns; DuckDB: FILTER aggregates and CASE.
* dedup (30-day anchored windows per phone): kept lead, cycle number, previous
  cycle's kept lead, cycle size, distinct touchpoints per cycle, key status.
  pandas: sort, ``merge_asof`` for the first lead at t + window, the chain of
  cycle starts followed with array steps (one step per cycle number), ``ffill``,
  groupby transforms; DuckDB: an ASOF join, a recursive CTE for the chain, window
  aggregates.
* assignment, nearest and capacity strategies with daily capacity: dealer and
  choice (round) per lead. Per area (city, else province dealers) a preference
  list (nearest: distance from the dealers' centre; capacity: largest capacity
  first; ties by the seeded permutation; 20 choices); capacity also picks first
  from the least-loaded slot sequence of the area and day (slot j of a dealer
  with capacity c at fill fraction j / c). Then capped rounds: per (dealer, local
  day) the earliest leads are accepted while capacity lasts. pandas: merges, sorts
  and grouped cumcounts; DuckDB: window functions, one statement per round.
  ``round_robin`` (the Balinski-Young quota method) is timed for autoops only:
  each seat depends on the counts after all previous seats of the area, which
  needs one SQL recursion step or pandas step per lead of the largest area.
* SLA (30 business minutes, 09:00-18:00 every day, Asia/Shanghai): per lead the
  deadline, first contact, breach, response in business minutes; per dealer
  leads, contacted, breaches, pending and nearest-rank p50/p90 response. autoops
  is timed for ``sla_report`` plus ``per_dealer()``. The deadline formula is also
  checked against pandas ``CustomBusinessHour`` on 2,000 rows.
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


# --- phones -----------------------------------------------------------------------------

GRADES = np.array(["H", "A", "B", "C", "N", "O", "D", "T", "F"], dtype=object)
REASONS = (
    "delivered",
    "ordered",
    "order_cancelled",
    "defeated",
    "price_negotiated",
    "test_drive_done",
    "stated_horizon",
    "score",
    "no_signal",
)
REASON_NAMES = np.array([*REASONS, *(r + "+stale" for r in REASONS)], dtype=object)
PRIVATE = ("app", "mini_program", "website", "official_account", "wecom", "showroom")
PRIVATE += ("hotline", "head_unit", "dealer_crm")


def e164_pandas(phone: Any) -> tuple[Any, Any]:
    """(E.164 number as float key or NaN, status) per row, each distinct spelling parsed once.

    This is how a pandas user would call the shared normaliser: factorise, parse
    the uniques, map back.
    """
    import pandas as pd

    codes, uniq = pd.factorize(phone)
    batch = normalize_phones(np.asarray(uniq, dtype=object))
    number = np.full(len(uniq) + 1, np.nan)
    number[:-1][batch.valid] = batch.e164[batch.valid].astype(np.int64)
    status = np.append(
        np.where(batch.valid, "ok", np.where(batch.missing, "missing", "invalid")), "missing"
    )
    return pd.Series(number[codes], index=phone.index), status[codes]


# The same rules as autoops.models.normalize_phones for Chinese numbers, in SQL (foreign
# numbers, which autoops parses with the optional phonenumbers package, are invalid here;
# the generated data has none). Input: a relation with column ``raw``.
DUCK_E164 = r"""
    SELECT raw, t, len, d, nd, chars_ok, has_plus, stray_plus,
        CASE WHEN cc0086 THEN 4 WHEN ccp86 OR ccb86 THEN 2 ELSE 0 END AS strip0,
        cc0086 OR ccp86 OR ccb86 AS with_cc,
        ((has_plus AND NOT ccp86) OR (NOT has_plus AND d LIKE '00%' AND NOT cc0086)) AND nd >= 7
            AS foreign_
    FROM (
        SELECT *, NOT has_plus AND d LIKE '0086%' AS cc0086, has_plus AND d LIKE '86%' AS ccp86,
            NOT has_plus AND NOT d LIKE '0086%' AND nd = 13 AND d LIKE '861%'
                AND NOT d LIKE '8610%' AS ccb86
        FROM (
            SELECT raw, t, length(raw) AS len, d, length(d) AS nd,
                regexp_full_match(t, '[0-9+ ()./\t\x{3000}\x{a0}\x{ff08}\x{ff09}\x{ff0d}\x{2014}\x{2013}\-]*')
                    AS chars_ok,
                regexp_matches(t, '^[^0-9]*\+') AS has_plus,
                regexp_matches(t, '[0-9][^+]*\+') AS stray_plus
            FROM (
                SELECT raw, t, regexp_replace(t, '[^0-9]', '', 'g') AS d FROM (
                    SELECT raw, translate(raw, '０１２３４５６７８９＋', '0123456789+') AS t FROM src
                )
            )
        )
    )
"""
DUCK_KEY = f"""
    SELECT raw,
        CASE WHEN len = 0 THEN 'missing' WHEN good THEN 'ok' ELSE 'invalid' END AS status,
        CASE WHEN good THEN CAST('86' || substr(d, skip + 1) AS BIGINT) END AS key
    FROM (
        SELECT *, len > 0 AND len <= 24 AND chars_ok AND NOT stray_plus AND NOT foreign_
                AND (mobile OR service OR landline) AS good,
            strip + CASE WHEN local_landline THEN 1 ELSE 0 END AS skip
        FROM (
            SELECT *, nl = 11 AND fst = '1' AND snd >= '3' AS mobile,
                service,
                (NOT with_cc AND fst = '0' AND snd > '0' AND nl IN (11, 12)) AS local_landline,
                (NOT with_cc AND fst = '0' AND snd > '0' AND nl IN (11, 12))
                OR (with_cc AND ((fst >= '2' AND fst <= '9' AND nl IN (10, 11))
                    OR (substr(d, strip + 1, 2) = '10' AND nl = 10)) AND NOT service) AS landline
            FROM (
                SELECT *, nl = 10 AND substr(d, strip + 1, 3) IN ('400', '800') AND NOT trunk0
                    AS service,
                    substr(d, strip + 1, 1) AS fst, substr(d, strip + 2, 1) AS snd
                FROM (
                    SELECT *, strip0 + trunk0::INT AS strip, nd - strip0 - trunk0::INT AS nl
                    FROM (
                        SELECT *, with_cc AND substr(d, strip0 + 1, 1) = '0' AS trunk0
                        FROM ({DUCK_E164})
                    )
                )
            )
        )
    )
"""


def duck_phone_keys(con: Any, table: str, sources: list[str]) -> None:
    """TEMP TABLE *table* (raw, status, key) over the distinct raw phones of *sources*."""
    union = " UNION ".join(f"SELECT phone AS raw FROM {s} WHERE phone IS NOT NULL" for s in sources)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS WITH src AS (SELECT DISTINCT raw FROM ({union})) {DUCK_KEY}"
    )


# --- input checks ----------------------------------------------------------------------


def check_ids_pandas(ids: np.ndarray) -> None:
    """The check every autoops lead function makes: lead ids present and unique."""
    import pandas as pd

    index = pd.Index(ids, dtype=object)
    if index.hasnans or not index.is_unique:
        raise ValueError("lead_id must be present and unique")


def check_ids_duckdb(con: Any) -> None:
    """The same check in SQL."""
    ok = con.execute(
        "SELECT count(lead_id) = count(*) AND count(DISTINCT lead_id) = count(*) FROM leads"
    ).fetchall()[0][0]
    if not ok:
        raise ValueError("lead_id must be present and unique")


# --- grading --------------------------------------------------------------------------

WEIGHTS = {
    "horizon": (10.0, 1.0),
    "private_touchpoint": (5.0, 1.0),
    "visit": (20.0, 1.0),
    "test_drive": (25.0, 1.0),
    "price_content": (10.0, 3.0),
    "content": (10.0, 10.0),
    "app": (10.0, 10.0),
    "reply": (10.0, 5.0),
}
CONTENT = ("content_view", "page_view", "click", "favourite", "share", "comment")
APP = ("login", "app_open", "check_in", "post")
#: rule events: name -> event names; "last" = latest such event of the person, if >= created
LAST = {
    "delivery": ("delivery",),
    "order": ("small_order", "big_order"),
    "refund": ("refund",),
    "test_drive": ("test_drive",),
    "quote": ("quote", "price_negotiation"),
}
HALF_LIFE, LOOKBACK, STALE = 30 * US_DAY, 180 * US_DAY, 60 * US_DAY


def _sql_in(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{x}'" for x in names) + ")"


def grade_rules(
    status: np.ndarray,
    horizon: np.ndarray,
    touch_private: np.ndarray,
    eng: np.ndarray,
    flags: dict[str, np.ndarray],
    last_order: np.ndarray,
    last_refund: np.ndarray,
    reference: np.ndarray,
    as_of_us: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grading rules on whole columns (shared by the pandas formulation; plain numpy)."""
    fit = np.stack(
        [np.where(horizon >= 0, 1.0 - np.minimum(horizon, 90) / 90.0, 0.0), touch_private], 1
    )
    values = np.concatenate((fit, eng), axis=1)
    w = np.array([v[0] for v in WEIGHTS.values()])
    c = np.array([v[1] for v in WEIGHTS.values()])
    score = (w * np.minimum(values, c) / c).sum(axis=1)
    cancelled = flags["order"] & flags["refund"] & (last_refund >= last_order)
    hz = np.where(horizon <= 7, 0, np.where(horizon <= 15, 1, np.where(horizon <= 30, 2, 3)))
    by_score = np.where(score >= 60, 0, np.where(score >= 40, 1, np.where(score >= 20, 2, 3)))
    signal = (eng.sum(axis=1) > 0) | (horizon >= 0)
    conds = [
        (status == "delivered") | flags["delivery"],
        (status == "ordered") | (flags["order"] & ~cancelled),
        (status == "order_cancelled") | cancelled,
        status == "defeated",
        flags["quote"],
        (status == "test_driven") | flags["test_drive"],
        horizon >= 0,
        signal,
    ]
    grade = np.select(conds, [6, 5, 7, 8, 0, 0, hz, by_score], 4)
    reason = np.select(conds, list(range(8)), 8)
    stale = (grade <= 2) & (as_of_us - reference > STALE)
    grade = np.where(stale, 3, grade)
    reason = np.where(stale, reason + len(REASONS), reason)
    return GRADES[grade], REASON_NAMES[reason], score


def grade_pandas(data: dict[str, Any], as_of: np.datetime64) -> dict[str, np.ndarray]:
    """Full grading in pandas: features by groupby, last rule events by groupby max, rules."""
    check_ids_pandas(data["leads"]["lead_id"])
    import pandas as pd

    as_of_us = int(as_of.astype(np.int64))
    lc = data["leads"]
    n = len(lc["phone"])
    # lead and event phones normalised together: each distinct spelling parsed once
    keys = e164_pandas(pd.Series(np.concatenate((lc["phone"], data["events"]["phone"]))))[0]
    ev = pd.DataFrame(data["events"])
    ev["key"] = keys.to_numpy()[n:]
    ev["t"] = ev["ts"].to_numpy().view(np.int64)
    ev = ev[(ev["t"] <= as_of_us) & ev["key"].notna()]
    recent = ev["t"] >= as_of_us - LOOKBACK
    w = np.power(0.5, (as_of_us - ev["t"]) / HALF_LIFE).where(recent, 0.0)
    event, cat = ev["event"], ev["category"].fillna("")
    price = (event == "content_view") & (cat == "price")
    masks = {
        "visit": event == "visit",
        "test_drive": event == "test_drive",
        "price_content": price,
        "content": event.isin(CONTENT) & ~price,
        "app": event.isin(APP),
        "reply": event == "wecom_reply",
    }
    cols = {f"f_{k}": w.where(m, 0.0) for k, m in masks.items()}
    for k, names in LAST.items():
        cols[f"l_{k}"] = ev["t"].where(event.isin(names))
    cols["l_any"] = ev["t"]
    per = (
        pd.DataFrame(cols)
        .groupby(ev["key"])
        .agg(
            {
                **{c: "sum" for c in cols if c.startswith("f_")},
                **{c: "max" for c in cols if c.startswith("l_")},
            }
        )
    )
    leads = pd.DataFrame({"key": keys.to_numpy()[:n]})
    j = leads.join(per, on="key")
    created = lc["created_at"].view(np.int64)
    eng = j[[f"f_{k}" for k in masks]].fillna(0.0).to_numpy()
    last = {k: j[f"l_{k}"].to_numpy() for k in (*LAST, "any")}
    flags = {k: last[k] >= created for k in LAST}  # NaN compares False
    last_any = last["any"]
    reference = np.where(np.isnan(last_any), created, np.fmax(last_any, created)).astype(np.int64)
    status = pd.Series(lc["status"]).to_numpy(dtype=object)
    touch_private = pd.Series(lc["touchpoint"]).isin(PRIVATE).to_numpy(dtype=float)
    grade, reason, score = grade_rules(
        status,
        lc["stated_horizon_days"],
        touch_private,
        eng,
        flags,
        np.nan_to_num(last["order"], nan=-1),
        np.nan_to_num(last["refund"], nan=-1),
        reference,
        as_of_us,
    )
    return {
        "grade": grade,
        "reason": reason,
        "score": score,
        "idle_days": (as_of_us - reference) / US_DAY,
    }


def grade_duckdb(con: Any, as_of: np.datetime64) -> dict[str, np.ndarray]:
    """Full grading in DuckDB SQL: phone keys (normalised in SQL), FILTER aggregates, CASE rules."""
    check_ids_duckdb(con)
    as_of_us = int(as_of.astype(np.int64))
    duck_phone_keys(con, "gk", ["leads", "events"])
    decay = f"pow(0.5, ({as_of_us} - t) / {HALF_LIFE}.0)"
    recent = f"t >= {as_of_us - LOOKBACK}"
    price = "event = 'content_view' AND category = 'price'"
    feats = {
        "visit": "event = 'visit'",
        "test_drive": "event = 'test_drive'",
        "price_content": price,
        "content": f"event IN {_sql_in(CONTENT)} AND NOT coalesce({price}, false)",
        "app": f"event IN {_sql_in(APP)}",
        "reply": "event = 'wecom_reply'",
    }
    aggs = [
        f"coalesce(sum({decay}) FILTER (WHERE {recent} AND {c}), 0) AS f_{k}"
        for k, c in feats.items()
    ]
    aggs += [f"max(t) FILTER (WHERE event IN {_sql_in(v)}) AS l_{k}" for k, v in LAST.items()]
    aggs.append("max(t) AS l_any")
    contrib = [
        f"{w} * least(CASE WHEN h >= 0 THEN 1.0 - least(h, 90) / 90.0 ELSE 0 END, {c}) / {c}"
        for (w, c) in [WEIGHTS["horizon"]]
    ]
    contrib.append(
        f"{WEIGHTS['private_touchpoint'][0]} * CASE WHEN touchpoint IN {_sql_in(PRIVATE)} THEN 1 ELSE 0 END"
    )
    contrib += [
        f"{w} * least(coalesce(f_{k}, 0), {c}) / {c}" for k, (w, c) in WEIGHTS.items() if k in feats
    ]
    eng = " + ".join(f"coalesce(f_{k}, 0)" for k in feats)
    sql = f"""
    WITH ev AS (
        SELECT k.key, epoch_us(e.ts) AS t, e.event, e.category
        FROM events e JOIN gk k ON k.raw = e.phone
        WHERE k.key IS NOT NULL AND epoch_us(e.ts) <= {as_of_us}
    ), per AS (SELECT key, {", ".join(aggs)} FROM ev GROUP BY key),
    l AS (
        SELECT l.rn, l.status, l.touchpoint, l.stated_horizon_days AS h,
            epoch_us(l.created_at) AS created, p.*
        FROM leads l LEFT JOIN gk k ON k.raw = l.phone LEFT JOIN per p ON p.key = k.key
    ), f AS (
        SELECT rn, h, {" + ".join(contrib)} AS score,
            CASE WHEN l_any IS NULL THEN created ELSE greatest(l_any, created) END AS ref,
            coalesce(l_delivery >= created, false) AS delivery,
            coalesce(l_order >= created, false) AS ordered_ev,
            coalesce(l_refund >= created, false) AND coalesce(l_refund >= l_order, false)
                AND coalesce(l_order >= created, false) AS cancelled,
            coalesce(l_test_drive >= created, false) AS drove,
            coalesce(l_quote >= created, false) AS quoted,
            ({eng}) > 0 OR h >= 0 AS signal, status
        FROM l
    ), g AS (
        SELECT rn, score, ref,
            CASE
                WHEN status = 'delivered' OR delivery THEN [6, 0]
                WHEN status = 'ordered' OR (ordered_ev AND NOT cancelled) THEN [5, 1]
                WHEN status = 'order_cancelled' OR cancelled THEN [7, 2]
                WHEN status = 'defeated' THEN [8, 3]
                WHEN quoted THEN [0, 4]
                WHEN status = 'test_driven' OR drove THEN [0, 5]
                WHEN h >= 0 THEN [CASE WHEN h <= 7 THEN 0 WHEN h <= 15 THEN 1 WHEN h <= 30 THEN 2
                                       ELSE 3 END, 6]
                WHEN signal THEN [CASE WHEN score >= 60 THEN 0 WHEN score >= 40 THEN 1
                                       WHEN score >= 20 THEN 2 ELSE 3 END, 7]
                ELSE [4, 8]
            END AS gr
        FROM f
    )
    SELECT rn, score, ({as_of_us} - ref) / {US_DAY}.0 AS idle_days,
        CASE WHEN gr[1] <= 2 AND {as_of_us} - ref > {STALE} THEN 3 ELSE gr[1] END AS grade,
        CASE WHEN gr[1] <= 2 AND {as_of_us} - ref > {STALE} THEN gr[2] + {len(REASONS)}
             ELSE gr[2] END AS reason
    FROM g ORDER BY rn
    """
    out = con.execute(sql).fetchnumpy()
    return {
        "grade": GRADES[np.asarray(out["grade"], dtype=np.int64)],
        "reason": REASON_NAMES[np.asarray(out["reason"], dtype=np.int64)],
        "score": np.asarray(out["score"], dtype=float),
        "idle_days": np.asarray(out["idle_days"], dtype=float),
    }


def check_grading(g: Any, other: dict[str, np.ndarray], engine: str) -> None:
    assert (g.suggested == other["grade"]).all(), f"grading: {engine} grades disagree"
    assert (g.reason == other["reason"]).all(), f"grading: {engine} reasons disagree"
    assert np.allclose(g.score, other["score"], atol=1e-6), f"grading: {engine} scores disagree"
    assert np.allclose(g.idle_days, other["idle_days"]), f"grading: {engine} idle days disagree"


# --- dedup ----------------------------------------------------------------------------

WINDOW = 30 * US_DAY


def _chain(pos_first: np.ndarray, nxt: np.ndarray, n: int) -> np.ndarray:
    """Cycle starts: from each key's first row follow "first row at t + window" links."""
    is_start = np.zeros(n, dtype=bool)
    current = pos_first
    while len(current):  # one step per cycle number (a dozen in a year), all keys at once
        is_start[current] = True
        current = nxt[current]
        current = current[current >= 0]
    return is_start


def dedup_pandas(data: dict[str, Any]) -> dict[str, np.ndarray]:
    """kept row, cycle, previous kept row, cycle size, distinct touchpoints, key status."""
    check_ids_pandas(data["leads"]["lead_id"])
    import pandas as pd

    lc = data["leads"]
    n = len(lc["phone"])
    key, status = e164_pandas(pd.Series(lc["phone"]))
    df = pd.DataFrame(
        {
            "key": key,
            "t": lc["created_at"].view(np.int64),
            "row": np.arange(n),
            "touch": lc["touchpoint"],
        }
    ).dropna(subset=["key"])
    df = df.sort_values(["key", "t", "row"], kind="stable", ignore_index=True)
    df["pos"] = np.arange(len(df))
    probe = pd.DataFrame({"key": df["key"], "t": df["t"] + WINDOW, "pos": df["pos"]})
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
    is_start = pd.Series(_chain(df["pos"][first].to_numpy(), nxt, len(df)))
    start_row = df["row"].where(is_start).ffill().astype(np.int64)
    df["cycle_id"] = is_start.cumsum()
    df["cycle"] = is_start.astype(np.int64).groupby(df["key"]).cumsum()
    by_cycle = df.groupby("cycle_id")
    size = by_cycle["row"].transform("size")
    touches = by_cycle["touch"].transform("nunique")
    starts = df.loc[is_start, ["key", "row"]]
    prev = starts.groupby("key")["row"].shift().fillna(-1).astype(np.int64)
    out = {
        "kept": np.arange(n),
        "cycle": np.zeros(n, dtype=np.int64),
        "previous": np.full(n, -1, dtype=np.int64),
        "size": np.ones(n, dtype=np.int64),
        "touches": pd.Series(lc["touchpoint"]).notna().to_numpy(np.int64),
        "status": status,
    }
    rows = df["row"].to_numpy()
    out["kept"][rows] = start_row.to_numpy()
    out["cycle"][rows] = df["cycle"].to_numpy()
    out["previous"][starts["row"].to_numpy()] = prev.to_numpy()
    out["size"][rows] = size.to_numpy()
    out["touches"][rows] = touches.to_numpy()
    return out


def dedup_duckdb(con: Any) -> dict[str, np.ndarray]:
    check_ids_duckdb(con)
    duck_phone_keys(con, "dk", ["leads"])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE d AS
        SELECT k.key, epoch_us(l.created_at) AS t, l.rn, l.touchpoint,
            row_number() OVER (ORDER BY k.key, epoch_us(l.created_at), l.rn) AS pos
        FROM leads l JOIN dk k ON k.raw = l.phone WHERE k.key IS NOT NULL
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE nx AS
        WITH first_at AS (SELECT key, t, min(pos) AS pos FROM d GROUP BY key, t)
        SELECT a.pos, f.pos AS nxt FROM d a
        ASOF LEFT JOIN first_at f ON a.key = f.key AND f.t >= a.t + {WINDOW}
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
        SELECT d.rn, d.key, d.touchpoint, s.pos IS NOT NULL AS is_start,
            max(CASE WHEN s.pos IS NOT NULL THEN d.pos END)
                OVER (PARTITION BY d.key ORDER BY d.pos ROWS UNBOUNDED PRECEDING) AS start_pos,
            sum(CASE WHEN s.pos IS NOT NULL THEN 1 ELSE 0 END)
                OVER (PARTITION BY d.key ORDER BY d.pos ROWS UNBOUNDED PRECEDING) AS cycle
        FROM d LEFT JOIN starts s ON s.pos = d.pos
    ),
    c AS (
        SELECT start_pos, count(*) AS size, count(DISTINCT touchpoint) AS touches
        FROM k GROUP BY start_pos
    ),
    p AS (
        SELECT rn, lag(rn, 1, -1) OVER (PARTITION BY key ORDER BY start_pos) AS previous
        FROM k WHERE is_start
    )
    SELECT k.rn, d.rn AS kept, k.cycle, coalesce(p.previous, -1) AS previous, c.size, c.touches
    FROM k JOIN d ON d.pos = k.start_pos JOIN c USING (start_pos) LEFT JOIN p ON p.rn = k.rn
    """
    got = con.execute(sql).fetchnumpy()
    n = con.execute("SELECT count(*) FROM leads").fetchall()[0][0]
    rest = con.execute("""
        SELECT l.rn, coalesce(k.status, 'missing') AS status,
            CASE WHEN l.touchpoint IS NULL THEN 0 ELSE 1 END AS touches
        FROM leads l LEFT JOIN dk k ON k.raw = l.phone ORDER BY l.rn
    """).fetchnumpy()
    rn = np.asarray(got["rn"], dtype=np.int64)
    out = {
        "kept": np.arange(n),
        "cycle": np.zeros(n, dtype=np.int64),
        "previous": np.full(n, -1, dtype=np.int64),
        "size": np.ones(n, dtype=np.int64),
        "touches": np.asarray(rest["touches"], dtype=np.int64),
        "status": np.asarray(rest["status"], dtype=object),
    }
    for name, col in (
        ("kept", "kept"),
        ("cycle", "cycle"),
        ("previous", "previous"),
        ("size", "size"),
        ("touches", "touches"),
    ):
        out[name][rn] = np.asarray(got[col], dtype=np.int64)
    return out


def check_dedup(r: Any, other: dict[str, np.ndarray], ids: np.ndarray, engine: str) -> None:
    prev = np.append(ids, None)[other["previous"]]
    assert (ids[other["kept"]] == r.kept_id).all(), f"dedup: {engine} kept ids disagree"
    assert (other["cycle"] == r.cycle).all(), f"dedup: {engine} cycles disagree"
    assert (prev == r.previous_id).all(), f"dedup: {engine} previous ids disagree"
    assert (other["size"] == r.cycle_size).all(), f"dedup: {engine} cycle sizes disagree"
    assert (other["touches"] == r.touchpoint_count).all(), f"dedup: {engine} touchpoints disagree"
    assert (other["status"] == r.key_status).all(), f"dedup: {engine} key status disagrees"


# --- assignment (nearest, capacity) -------------------------------------------------------

MAX_CHOICES = 20


def _tie(n_dealers: int, seed: int = 0) -> np.ndarray:
    """The documented tie-break: a permutation of the dealers drawn from the seed."""
    tie = np.empty(n_dealers, dtype=np.int64)
    tie[np.random.default_rng(seed).permutation(n_dealers)] = np.arange(n_dealers)
    return tie


def _pref_pandas(data: dict[str, Any], leads: Any, strategy: str) -> Any:
    """Per area (city, province): its dealers (the city's, else the province's) in the
    strategy's order (nearest: distance from their centre; capacity: largest first), ties by
    the seeded permutation, at most 20; column ``k`` is the position."""
    import pandas as pd

    d = pd.DataFrame({k: data["dealers"][k] for k in ("city", "province", "lat", "lon")})
    d["idx"] = np.arange(len(d))
    d["tie"] = _tie(len(d))
    d["cap"] = data["dealers"]["daily_capacity"]
    areas = leads[["city", "province"]].drop_duplicates()
    by_city = areas.merge(d[["city", "idx"]], on="city")
    served = by_city[["city", "province"]].drop_duplicates()
    rest = areas.merge(served, how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    by_prov = rest.merge(d[["province", "idx"]], on="province")
    m = pd.concat([by_city, by_prov], ignore_index=True).merge(
        d[["idx", "lat", "lon", "tie", "cap"]], on="idx"
    )
    if strategy == "nearest":
        centre = m.groupby(["city", "province"])[["lat", "lon"]].transform("mean")
        p1, p2 = np.radians(centre["lat"]), np.radians(m["lat"])
        dp, dl = p2 - p1, np.radians(m["lon"]) - np.radians(centre["lon"])
        a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        m["order"] = 2 * 6371.0 * np.arcsin(np.sqrt(a))
    else:
        m["order"] = -m["cap"]
    m = m.sort_values(["city", "province", "order", "tie"], kind="stable")
    m["k"] = m.groupby(["city", "province"]).cumcount()
    return m


def assign_pandas(data: dict[str, Any], strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """Capped rounds in pandas: (dealer row or -1, choice or -1) per lead.

    Round 0 proposes the strategy's pick (capacity: the least-loaded slot sequence of the
    lead's area and day) or the area list's first dealer; later rounds walk the list.
    Per (dealer, local day) the earliest leads (created_at, then row) are accepted while
    capacity lasts.
    """
    check_ids_pandas(data["leads"]["lead_id"])
    import pandas as pd

    cap = data["dealers"]["daily_capacity"]
    leads = pd.DataFrame({"city": data["leads"]["city"], "province": data["leads"]["province"]})
    created = data["leads"]["created_at"].view(np.int64)
    leads["day"] = (created + 8 * 3_600_000_000) // US_DAY  # Asia/Shanghai, no DST
    leads["row"] = np.arange(len(leads))
    leads["created"] = created
    m = _pref_pandas(data, leads, strategy)
    leads["pick"] = -1
    if strategy == "capacity":
        # slot j of a dealer with capacity c is due at fill fraction j / c
        slots = m.loc[m["cap"] > 0, ["city", "province", "idx", "tie", "cap"]]
        slots = slots.loc[slots.index.repeat(slots["cap"])]
        slots["frac"] = slots.groupby(["city", "province", "idx"]).cumcount() / slots["cap"]
        slots = slots.sort_values(["city", "province", "frac", "tie"], kind="stable")
        slots["r"] = slots.groupby(["city", "province"]).cumcount()
        ranked = leads.sort_values(["city", "province", "day", "created", "row"], kind="stable")
        ranked["r"] = ranked.groupby(["city", "province", "day"]).cumcount()
        picked = ranked.merge(slots[["city", "province", "r", "idx"]], on=["city", "province", "r"])
        leads.loc[picked["row"].to_numpy(), "pick"] = picked["idx"].to_numpy()
    has_pick = (leads["pick"] >= 0).to_numpy()
    m = m[m["k"] < MAX_CHOICES]
    result = np.full(len(leads), -1, dtype=np.int64)
    choice = np.full(len(leads), -1, dtype=np.int64)
    empty = pd.MultiIndex.from_arrays([[], []], names=["idx", "day"])
    used = pd.Series(np.zeros(0, dtype=np.int64), index=empty)
    pending = leads
    for r in range(MAX_CHOICES + 1):
        first = pending[pending["pick"] >= 0] if r == 0 else pending.iloc[:0]
        walk = pending if r > 0 else pending[pending["pick"] < 0]
        walk = walk.assign(k=r - has_pick[walk["row"].to_numpy()])
        prop = pd.concat(
            [
                first.rename(columns={"pick": "idx"}),
                walk.drop(columns="pick")
                .merge(m[["city", "province", "k", "idx"]], on=["city", "province", "k"])
                .drop(columns="k"),
            ],
            ignore_index=True,
        )
        if prop.empty:
            break
        prop = prop.sort_values(["idx", "day", "created", "row"], kind="stable")
        rank = prop.groupby(["idx", "day"]).cumcount().to_numpy()
        key = pd.MultiIndex.from_arrays([prop["idx"], prop["day"]], names=["idx", "day"])
        before = used.reindex(key).fillna(0).to_numpy()
        ok = before + rank < cap[prop["idx"].to_numpy()]
        acc = prop[ok]
        result[acc["row"].to_numpy()] = acc["idx"].to_numpy()
        choice[acc["row"].to_numpy()] = r
        used = used.add(acc.groupby(["idx", "day"]).size(), fill_value=0)
        pending = pending[result[pending["row"].to_numpy()] < 0]
    return result, choice


def assign_duckdb(con: Any, data: dict[str, Any], strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """The same capped rounds in DuckDB SQL (one statement per round)."""
    check_ids_duckdb(con)
    import pandas as pd

    d = pd.DataFrame({k: data["dealers"][k] for k in ("city", "province", "lat", "lon")})
    d["idx"] = np.arange(len(d))
    d["tie"] = _tie(len(d))
    d["cap"] = data["dealers"]["daily_capacity"]
    con.register("dealers_df", d)
    con.execute("CREATE OR REPLACE TEMP TABLE dealers AS SELECT * FROM dealers_df")
    con.unregister("dealers_df")
    order = (
        """2 * 6371.0 * asin(sqrt(
                pow(sin((radians(lat) - radians(clat)) / 2), 2)
                + cos(radians(clat)) * cos(radians(lat))
                  * pow(sin((radians(lon) - radians(clon)) / 2), 2)))"""
        if strategy == "nearest"
        else "-cap"
    )
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
            SELECT m.city, m.province, d.idx, d.tie, d.lat, d.lon, d.cap,
                avg(d.lat) OVER (PARTITION BY m.city, m.province) AS clat,
                avg(d.lon) OVER (PARTITION BY m.city, m.province) AS clon
            FROM (SELECT * FROM by_city UNION ALL SELECT * FROM by_prov) m JOIN dealers d USING (idx)
        )
        SELECT city, province, idx, cap, tie,
            row_number() OVER (PARTITION BY city, province ORDER BY {order}, tie) - 1 AS k
        FROM m
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE pending AS
        SELECT rn, city, province, epoch_us(created_at) AS created,
            (epoch_us(created_at) + 28800000000) // 86400000000 AS day, -1 AS pick FROM leads
    """)
    if strategy == "capacity":
        con.execute("""
            CREATE OR REPLACE TEMP TABLE picks AS
            WITH slots AS (
                SELECT city, province, idx,
                    row_number() OVER (PARTITION BY city, province ORDER BY j / cap, tie) - 1 AS r
                FROM (SELECT *, unnest(range(cap))::DOUBLE AS j FROM pref WHERE cap > 0)
            ), ranked AS (
                SELECT rn, city, province,
                    row_number() OVER (PARTITION BY city, province, day ORDER BY created, rn) - 1
                        AS r
                FROM pending
            )
            SELECT rn, idx FROM ranked JOIN slots USING (city, province, r)
        """)
        con.execute("UPDATE pending SET pick = picks.idx FROM picks WHERE pending.rn = picks.rn")
    con.execute(f"DELETE FROM pref WHERE k >= {MAX_CHOICES}")
    con.execute("CREATE OR REPLACE TEMP TABLE used (idx BIGINT, day BIGINT, n BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE result (rn BIGINT, idx BIGINT, choice BIGINT)")
    for r in range(MAX_CHOICES + 1):
        first = f"SELECT rn, pick AS idx, day, created FROM pending WHERE pick >= 0 AND {r} = 0"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE acc AS
            WITH prop AS (
                {first}
                UNION ALL
                SELECT p.rn, f.idx, p.day, p.created FROM pending p
                JOIN pref f ON f.city = p.city AND f.province = p.province
                    AND f.k = {r} - CASE WHEN p.pick >= 0 THEN 1 ELSE 0 END
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY idx, day ORDER BY created, rn) - 1 AS r
                FROM prop
            )
            SELECT r.rn, r.idx, r.day FROM ranked r JOIN dealers d USING (idx)
            LEFT JOIN used u ON u.idx = r.idx AND u.day = r.day
            WHERE coalesce(u.n, 0) + r.r < d.cap
        """)
        con.execute(f"INSERT INTO result SELECT rn, idx, {r} FROM acc")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE used AS
            SELECT idx, day, sum(n) AS n FROM (
                SELECT idx, day, n FROM used UNION ALL SELECT idx, day, count(*) FROM acc GROUP BY ALL
            ) GROUP BY idx, day
        """)
        con.execute("DELETE FROM pending WHERE rn IN (SELECT rn FROM acc)")
    out = con.execute("SELECT rn, idx, choice FROM result").fetchnumpy()
    result = np.full(len(data["leads"]["city"]), -1, dtype=np.int64)
    choice = np.full(len(data["leads"]["city"]), -1, dtype=np.int64)
    rn = np.asarray(out["rn"], dtype=np.int64)
    result[rn] = np.asarray(out["idx"], dtype=np.int64)
    choice[rn] = np.asarray(out["choice"], dtype=np.int64)
    return result, choice


def check_assign(
    a: Any, other: tuple[np.ndarray, np.ndarray], ids: np.ndarray, engine: str
) -> None:
    assert (ids[other[0]] == a.dealer_id).all(), f"assignment: {engine} dealers disagree"
    assert (other[1] == a.choice).all(), f"assignment: {engine} choices disagree"


# --- SLA --------------------------------------------------------------------------------

DAY_LEN, OPEN_US, OFFSET = 9 * 3_600_000_000, 9 * 3_600_000_000, 8 * 3_600_000_000
SLA_US = 30 * 60_000_000
NAT = np.iinfo(np.int64).min


def sla_pandas(data: dict[str, Any], as_of: np.datetime64) -> dict[str, Any]:
    """Vectorised pandas: the business clock B(t) on int64 Series (09:00-18:00 every day,
    UTC+8), first contact by merge + groupby-min, response in business minutes, and the
    per-dealer table (leads, contacted, breaches, pending, nearest-rank p50/p90)."""
    check_ids_pandas(data["leads"]["lead_id"])
    import pandas as pd

    leads = pd.DataFrame(
        {
            "lead_id": data["leads"]["lead_id"],
            "dealer": data["leads"]["dealer_id"],
            "created": data["leads"]["created_at"].view(np.int64),
        }
    )

    def clock(t: Any) -> Any:
        local = t + OFFSET
        day = local // US_DAY
        return day * DAY_LEN + (local - day * US_DAY - OPEN_US).clip(0, DAY_LEN)

    target = clock(leads["created"]) + SLA_US
    m = (target - 1) // DAY_LEN
    due = m * US_DAY + OPEN_US + (target - m * DAY_LEN) - OFFSET
    c = pd.DataFrame(
        {"lead_id": data["contacts"]["lead_id"], "ts": data["contacts"]["ts"].view(np.int64)}
    ).merge(leads, on="lead_id")
    first = c[c["ts"] >= c["created"]].groupby("lead_id")["ts"].min()
    first_ts = leads["lead_id"].map(first)
    contacted = first_ts.notna()
    breached = np.where(contacted, first_ts > due, due < as_of.astype(np.int64))
    response = (clock(first_ts) - clock(leads["created"])) / 60_000_000
    leads["contacted"] = contacted
    leads["breached"] = breached
    leads["pending"] = ~contacted & ~breached
    leads["response"] = response
    per = leads.groupby("dealer").agg(
        leads=("created", "size"),
        contacted=("contacted", "sum"),
        breaches=("breached", "sum"),
        pending=("pending", "sum"),
    )
    r = leads.loc[contacted, ["dealer", "response"]].sort_values(["dealer", "response"])
    r["rank"] = r.groupby("dealer").cumcount() + 1
    k = r.groupby("dealer")["response"].transform("size")
    for q in (50, 90):
        pick = r[r["rank"] == np.maximum(np.ceil(q / 100 * k), 1)]
        per[f"p{q}"] = pick.set_index("dealer")["response"]
    return {
        "due": due.to_numpy(),
        "first": first_ts.fillna(NAT).to_numpy(np.int64),
        "breached": np.asarray(breached, dtype=bool),
        "response": response.to_numpy(float),
        "per_dealer": per.sort_index(),
    }


def sla_duckdb(con: Any, as_of: np.datetime64) -> dict[str, Any]:
    check_ids_duckdb(con)
    local = "(epoch_us({c}) + 8 * 3600000000)"
    bclock = (
        f"(({local} // {US_DAY}) * {DAY_LEN} "
        f"+ least(greatest({local} % {US_DAY} - {OPEN_US}, 0), {DAY_LEN}))"
    )
    as_of_us = int(as_of.astype(np.int64))
    sql = f"""
    WITH first AS (
        SELECT c.lead_id, min(c.ts) AS first_ts FROM contacts c JOIN leads l USING (lead_id)
        WHERE c.ts >= l.created_at GROUP BY c.lead_id
    ), d AS (
        SELECT l.rn, l.dealer_id, f.first_ts, {bclock.replace("{c}", "created_at")} AS b_created,
            {bclock.replace("{c}", "first_ts")} AS b_first
        FROM leads l LEFT JOIN first f USING (lead_id)
    ), e AS (
        SELECT *, b_created + {SLA_US} AS target, ((b_created + {SLA_US} - 1) // {DAY_LEN}) AS m
        FROM d
    ), r AS (
        SELECT rn, dealer_id, m * {US_DAY} + {OPEN_US} + (target - m * {DAY_LEN}) - {OFFSET}
            AS due_us, epoch_us(first_ts) AS first_us, (b_first - b_created) / 60000000.0 AS response
        FROM e
    )
    SELECT *, CASE WHEN first_us IS NOT NULL THEN first_us > due_us ELSE due_us < {as_of_us} END
        AS breached
    FROM r
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE sla AS {sql}")
    out = con.execute("SELECT * FROM sla ORDER BY rn").fetchnumpy()
    per = con.execute("""
        WITH c AS (
            SELECT dealer_id, response,
                row_number() OVER (PARTITION BY dealer_id ORDER BY response) AS rank,
                count(*) OVER (PARTITION BY dealer_id) AS k
            FROM sla WHERE first_us IS NOT NULL
        ), q AS (
            SELECT dealer_id,
                min(response) FILTER (WHERE rank = greatest(ceil(0.5 * k), 1)) AS p50,
                min(response) FILTER (WHERE rank = greatest(ceil(0.9 * k), 1)) AS p90
            FROM c GROUP BY dealer_id
        )
        SELECT dealer_id, count(*) AS leads, count(first_us) AS contacted,
            sum(breached::INT) AS breaches,
            sum((first_us IS NULL AND NOT breached)::INT) AS pending, any_value(q.p50) AS p50,
            any_value(q.p90) AS p90
        FROM sla LEFT JOIN q USING (dealer_id) GROUP BY dealer_id ORDER BY dealer_id
    """).df()
    first = out["first_us"]
    return {
        "due": np.asarray(out["due_us"], dtype=np.int64),
        "first": np.where(np.ma.getmaskarray(first), NAT, np.ma.getdata(first)).astype(np.int64),
        "breached": np.asarray(out["breached"], dtype=bool),
        "response": np.ma.filled(out["response"].astype(float), np.nan),
        "per_dealer": per.set_index("dealer_id"),
    }


def sla_autoops(leads: Any, contacts: Any, as_of: np.datetime64) -> tuple[Any, Any]:
    report = sla_report(leads, contacts, first_contact_within="30min", as_of=as_of)
    return report, report.per_dealer()


def check_sla(ours: tuple[Any, Any], other: dict[str, Any], engine: str) -> None:
    r, per = ours
    assert (r.due.view(np.int64) == other["due"]).all(), f"sla: {engine} deadlines disagree"
    assert (r.first_contact_at.view(np.int64) == other["first"]).all(), f"sla: {engine} first"
    assert (r.breached == other["breached"]).all(), f"sla: {engine} breaches disagree"
    assert np.allclose(r.response_minutes, other["response"], equal_nan=True), f"sla: {engine}"
    p = other["per_dealer"]
    assert (per.dealer_id == p.index.to_numpy(dtype=object)).all(), f"sla: {engine} dealers"
    for ours_col, col in (
        ("leads", "leads"),
        ("contacted", "contacted"),
        ("breaches", "breaches"),
        ("pending", "pending"),
    ):
        assert (getattr(per, ours_col) == p[col].to_numpy(np.int64)).all(), f"sla: {engine} {col}"
    for q in ("p50", "p90"):
        theirs = p[q].to_numpy(dtype=float)
        ours_q = getattr(per, f"{q}_minutes")
        assert np.allclose(ours_q, theirs, equal_nan=True), f"sla: {engine} {q} disagrees"


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


class Fresh:
    """Copies of the data whose strings are new objects, as if just read from a file.

    Python caches a string's hash in the object, so an engine that runs on
    objects another engine (or an earlier run) already hashed would skip work;
    every timed run gets its own fresh copy (made outside the timing). Rows that
    shared one object still share one (new) object, as pyarrow's ``to_pandas``
    does for repeated values: low-cardinality columns (event names, statuses,
    cities) hold a few objects, phones and ids one object per row.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        import pandas as pd

        self.data = data
        self.shared: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for table, cols in data.items():
            for name, col in cols.items():
                if col.dtype != object:
                    continue
                refs = np.frompyfunc(id, 1, 1)(col).astype(np.int64)
                codes, firsts = pd.factorize(refs)
                first = np.empty(len(firsts), dtype=np.int64)
                first[codes[::-1]] = np.arange(len(col))[::-1]
                distinct = col[first]
                none = distinct == None  # noqa: E711
                self.shared[table, name] = (codes, distinct.astype(str), none)

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for table, cols in self.data.items():
            out[table] = dict(cols)
            for name in cols:
                if (table, name) in self.shared:
                    codes, text, none = self.shared[table, name]
                    copies = text.astype(object)  # new objects
                    copies[none] = None
                    out[table][name] = copies[codes]
        return out


Timing = tuple[float, float, float, Any]


def compare(
    engines: list[Callable[[dict[str, Any] | None], Any]], fresh: Fresh, repeat: int
) -> list[Timing]:
    """Per engine: (best wall seconds, that run's process CPU seconds, peak extra MiB, result).

    The engines run interleaved (A B C A B C ...), so a burst of load from other
    work hits them alike. Each run gets a fresh copy of the data. CPU seconds
    count all threads (DuckDB runs several). The peak is VmHWM over the RSS
    before the call (the high-water mark is reset before each run).
    """
    best = [(float("inf"), 0.0, 0.0)] * len(engines)
    results: list[Any] = [None] * len(engines)
    for _ in range(repeat):
        for i, fn in enumerate(engines):
            results[i] = None
            copy = fresh()
            try:  # reset the high-water mark so VmHWM is this call's peak (Linux >= 4.0)
                with open("/proc/self/clear_refs", "w") as fh:
                    fh.write("5")
            except OSError:
                pass
            base = _status_kib("VmRSS")
            t, c = time.perf_counter(), time.process_time()
            results[i] = fn(copy)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            mib = max(_status_kib("VmHWM") - base, 0) / 1024
            del copy
            if wall < best[i][0]:
                best[i] = (wall, cpu, mib)
    return [(*b, r) for b, r in zip(best, results, strict=True)]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


#: the names ``--only`` takes
OPERATIONS = ("grade", "dedupe", "nearest", "round_robin", "capacity", "sla")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 400 dealers")
    parser.add_argument("--leads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine; best is shown")
    parser.add_argument(
        "--only",
        default=",".join(OPERATIONS),
        help="comma-separated operations",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(OPERATIONS):
        parser.error(f"unknown --only {sorted(only - set(OPERATIONS))}; choose from {OPERATIONS}")
    n = args.leads or (100_000 if args.quick else 1_000_000)
    n_dealers = 400 if args.quick else 2_000
    import duckdb
    import pandas as pd

    print(load())
    t0 = time.perf_counter()
    data = make_data(n, n_dealers)
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
        f"in {time.perf_counter() - t0:.1f}s; best of {args.repeat} runs per engine"
    )
    rows: list[list[str]] = []
    ids = data["leads"]["lead_id"]
    dealer_ids = np.concatenate((data["dealers"]["dealer_id"], np.array([None], dtype=object)))

    fresh = Fresh(data)

    def run(*engines: Callable[[Any], Any]) -> list[Timing]:
        return compare(list(engines), fresh, args.repeat)

    def row(name: str, ours: Any, pd_: Any = None, dd: Any = None) -> None:
        cells = [name]
        for e in (ours, pd_, dd):
            cells += ["n/a"] * 3 if e is None else [f"{e[0]:.2f}", f"{e[1]:.2f}", f"{e[2]:,.0f}"]
        for other in (pd_, dd):
            cells.append(
                "n/a" if other is None else f"{other[0] / ours[0]:.1f}x ({other[1] / ours[1]:.1f}x)"
            )
        rows.append(cells)
        print("  " + "  ".join(cells), flush=True)

    if "grade" in only:
        o, p, d = run(
            lambda x: grade_leads(x["leads"], x["events"], as_of=as_of),
            lambda x: grade_pandas(x, as_of),
            lambda _: grade_duckdb(con, as_of),
        )
        check_grading(o[3], p[3], "pandas")
        check_grading(o[3], d[3], "duckdb")
        row("grade_leads", o, p, d)

    if "dedupe" in only:
        o, p, d = run(
            lambda x: dedupe_leads(x["leads"], window="30d"),
            dedup_pandas,
            lambda _: dedup_duckdb(con),
        )
        check_dedup(o[3], p[3], ids, "pandas")
        check_dedup(o[3], d[3], ids, "duckdb")
        row("dedupe_leads", o, p, d)

    def unassigned(x: dict[str, Any]) -> dict[str, Any]:
        return {**x["leads"], "dealer_id": np.full(n, None, dtype=object)}

    for strategy in ("nearest", "capacity"):
        if strategy not in only:
            continue
        o, p, d = run(
            lambda x, s=strategy: assign_leads(
                unassigned(x), x["dealers"], strategy=s, as_of=as_of
            ),  # type: ignore[misc]
            lambda x, s=strategy: assign_pandas(x, s),  # type: ignore[misc]
            lambda _, s=strategy: assign_duckdb(con, data, s),  # type: ignore[misc]
        )
        check_assign(o[3], p[3], dealer_ids, "pandas")
        check_assign(o[3], d[3], dealer_ids, "duckdb")
        row(f"assign_leads ({strategy})", o, p, d)
    if "round_robin" in only:
        (o,) = run(
            lambda x: assign_leads(unassigned(x), x["dealers"], strategy="round_robin", as_of=as_of)
        )
        row("assign_leads (round_robin)", o)

    if "sla" in only:
        o, p, d = run(
            lambda x: sla_autoops(x["leads"], x["contacts"], as_of),
            lambda x: sla_pandas(x, as_of),
            lambda _: sla_duckdb(con, as_of),
        )
        check_sla(o[3], p[3], "pandas")
        check_sla(o[3], d[3], "duckdb")
        sample = min(n, 2_000)
        br_bh = sla_business_hour_sample(data, sample, as_of)
        assert (br_bh == o[3][0].breached[:sample]).all(), "sla: CustomBusinessHour disagrees"
        row("sla_report + per_dealer", o, p, d)

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
        f"s: best wall seconds of {args.repeat} (engines interleaved, fresh strings each run); cpu s: that run's process CPU seconds (all "
        "threads: DuckDB runs several, numpy and pandas one); MiB: peak extra resident memory "
        "during the call; ratios: other engine's time / autoops's (>1: autoops faster), wall "
        "and (cpu). All outputs listed in the module docstring asserted equal across engines."
    )
    print(f"{load()}")


if __name__ == "__main__":
    main()
