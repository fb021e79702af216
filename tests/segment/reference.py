"""Independent references in DuckDB SQL for every segmentation function.

Each reference restates the documented rule in SQL over plain tables with
timestamps as int64 microseconds (UTC) and returns rows sorted by person, so
tests can compare them with the numpy kernels exactly, ties included.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import numpy as np
import pandas as pd

DAY_US = 86_400_000_000


_SHARED: list[duckdb.DuckDBPyConnection] = []


def _con(**tables: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """One in-memory connection per process; each call re-registers its tables."""
    if not _SHARED:
        con = duckdb.connect()
        con.execute("SET threads TO 1")
        _SHARED.append(con)
    con = _SHARED[0]
    for name, df in tables.items():
        con.register(name, df)
    return con


def _q(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)


def _frame(**cols: Any) -> pd.DataFrame:
    out = {}
    for name, values in cols.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "M":
            arr = arr.astype("datetime64[us]").astype(np.int64)
        out[name] = arr
    return pd.DataFrame(out)


def _people_sql(universe: bool) -> str:
    return (
        "SELECT person FROM ev UNION SELECT person FROM uni"
        if universe
        else "SELECT DISTINCT person FROM ev"
    )


def rfm_ref(
    person: Any,
    ts: Any,
    amount: Any,
    as_of_us: int,
    bins: int,
    people: Any = None,
    thresholds: Any = None,
) -> list[tuple[Any, ...]]:
    """Rows (person, frequency, cents, last_us|None, r, f, m, segment) sorted by person."""
    ev = _frame(person=person, ts=ts, amount=np.asarray(amount, dtype=np.float64))
    uni = _frame(person=people if people is not None else np.asarray(person)[:0])
    con = _con(ev=ev, uni=uni)
    b = bins
    if thresholds is None:
        scores = f"""
            SELECT person, f, cents, last,
                   ntile({b}) OVER (ORDER BY last, person) AS r,
                   ntile({b}) OVER (ORDER BY f, person) AS fs,
                   ntile({b}) OVER (ORDER BY cents, person) AS ms
            FROM agg"""
    else:
        rc = " + ".join(
            f"(CASE WHEN {as_of_us} - last > {round(d * DAY_US)} THEN 1 ELSE 0 END)"
            for d in thresholds.recency_days
        )
        fc = " + ".join(f"(CASE WHEN f >= {c} THEN 1 ELSE 0 END)" for c in thresholds.frequency)
        mc = " + ".join(
            f"(CASE WHEN cents / 100.0 >= {c} THEN 1 ELSE 0 END)" for c in thresholds.monetary
        )
        scores = f"SELECT person, f, cents, last, {b} - ({rc}) AS r, 1 + {fc} AS fs, 1 + {mc} AS ms FROM agg"
    lvl = lambda x: f"(1 + (({x} - 1) * 8 + {b - 1}) // {2 * (b - 1)})"  # noqa: E731
    sql = f"""
    WITH agg AS (
        SELECT person, count(*) AS f, sum(round_even(amount * 100, 0)) AS cents, max(ts) AS last
        FROM ev WHERE ts <= {as_of_us} GROUP BY person),
    sc AS ({scores}),
    lv AS (SELECT *, {lvl("r")} AS r5, ({lvl("fs")} + {lvl("ms")} + 1) // 2 AS fm5 FROM sc)
    SELECT p.person, coalesce(lv.f, 0), coalesce(lv.cents, 0), lv.last,
           coalesce(lv.r, 0), coalesce(lv.fs, 0), coalesce(lv.ms, 0),
           CASE
             WHEN lv.person IS NULL THEN 'no_transactions'
             WHEN r5 = 5 AND fm5 >= 4 THEN 'champions'
             WHEN r5 IN (3, 4) AND fm5 >= 4 THEN 'loyal'
             WHEN r5 >= 4 AND fm5 IN (2, 3) THEN 'potential_loyalist'
             WHEN r5 = 5 AND fm5 = 1 THEN 'new'
             WHEN r5 = 4 AND fm5 = 1 THEN 'promising'
             WHEN r5 = 3 AND fm5 = 3 THEN 'need_attention'
             WHEN r5 = 3 AND fm5 <= 2 THEN 'about_to_sleep'
             WHEN r5 <= 2 AND fm5 IN (3, 4) THEN 'at_risk'
             WHEN r5 <= 2 AND fm5 = 5 THEN 'cannot_lose'
             WHEN r5 <= 2 AND fm5 <= 2 THEN 'hibernating'
           END
    FROM ({_people_sql(people is not None)}) p LEFT JOIN lv USING (person)
    ORDER BY p.person"""
    return con.sql(sql).fetchall()


def tiers_ref(
    person: Any,
    ts: Any,
    as_of_us: int,
    window_us: int,
    thresholds: tuple[int, int, int],
    touchpoint: Any = None,
    event: Any = None,
    touchpoints: Any = None,
    exclude: Any = (),
    people: Any = None,
) -> list[tuple[Any, ...]]:
    """Rows (person, interactions, tier) sorted by person."""
    n = len(np.asarray(person))
    ev = _frame(
        person=person,
        ts=ts,
        tp=np.asarray(touchpoint if touchpoint is not None else [None] * n, dtype=object),
        event=np.asarray(event if event is not None else [None] * n, dtype=object),
    )
    uni = _frame(person=people if people is not None else np.asarray(person)[:0])
    con = _con(ev=ev, uni=uni)
    cond = [f"ts <= {as_of_us}", f"ts >= {as_of_us - window_us}"]
    if touchpoint is not None and touchpoints is not None:
        cond.append(f"tp IN ({', '.join(_q(t) for t in touchpoints)})")
    if event is not None and exclude:
        cond.append(f"event NOT IN ({', '.join(_q(e) for e in exclude)})")
    h, m, lo = thresholds
    sql = f"""
    WITH c AS (SELECT person, count(*) AS k FROM ev WHERE {" AND ".join(cond)} GROUP BY person)
    SELECT p.person, coalesce(k, 0) AS k,
           CASE WHEN coalesce(k, 0) >= {h} THEN 'high' WHEN coalesce(k, 0) >= {m} THEN 'medium'
                WHEN coalesce(k, 0) >= {lo} THEN 'low' ELSE 'inactive' END
    FROM ({_people_sql(people is not None)}) p LEFT JOIN c USING (person) ORDER BY p.person"""
    return con.sql(sql).fetchall()


def intent_ref(
    person: Any,
    action: Any,
    ts: Any,
    as_of_us: int,
    weights: dict[str, float],
    caps: dict[str, float],
    half_life_us: int | None = None,
    window_us: int | None = None,
) -> list[tuple[Any, ...]]:
    """Rows (person, score, last_seen_us|None, count per action...) sorted by person."""
    ev = _frame(person=person, action=np.asarray(action, dtype=object), ts=ts)
    con = _con(ev=ev)
    contrib = (
        "1.0" if half_life_us is None else f"pow(0.5, ({as_of_us} - ts) / {float(half_life_us)})"
    )
    counts = ", ".join(
        f"coalesce(sum({contrib}) FILTER (WHERE action = {_q(a)}), 0) AS c{i}"
        for i, a in enumerate(weights)
    )
    window = "" if window_us is None else f" AND ts >= {as_of_us - window_us}"
    names = ", ".join(_q(a) for a in weights)
    terms = " + ".join(
        f"{float(w)} * least(c{i}, {float(caps[a])}) / {float(caps[a])}"
        for i, (a, w) in enumerate(weights.items())
    )
    total = sum(weights.values())
    last = f"max(ts) FILTER (WHERE action IN ({names}) AND ts <= {as_of_us}{window})"
    sql = f"""
    WITH c AS (
        SELECT person, {last} AS last,
               {counts.replace("WHERE action", f"WHERE ts <= {as_of_us}{window} AND action")}
        FROM ev GROUP BY person)
    SELECT person, 100.0 * ({terms}) / {float(total)}, last, {", ".join(f"c{i}" for i in range(len(weights)))}
    FROM c ORDER BY person"""
    return con.sql(sql).fetchall()


def matrix_ref(
    scores: Any,
    last_us: Any,
    as_of_us: int,
    intent_bands: dict[str, float],
    recency_bands: list[tuple[str, int | None]],
) -> list[tuple[str, str]]:
    """(intent band, recency band) per input row, in input order."""
    last = np.asarray(last_us, dtype=object)
    df = pd.DataFrame(
        {"i": np.arange(len(scores)), "s": np.asarray(scores, dtype=np.float64), "last": last}
    )
    df["last"] = df["last"].astype("Int64")
    con = _con(t=df)
    ib = " ".join(
        f"WHEN s >= {float(lo)} THEN {_q(name)}"
        for name, lo in sorted(intent_bands.items(), key=lambda kv: -kv[1])
    )
    rb = " ".join(
        f"WHEN last IS NOT NULL AND {as_of_us} - last <= {us} THEN {_q(name)}"
        for name, us in recency_bands[:-1]
    )
    sql = f"SELECT CASE {ib} END, CASE {rb} ELSE {_q(recency_bands[-1][0])} END FROM t ORDER BY i"
    return [(a, b) for a, b in con.sql(sql).fetchall()]


def lifecycle_ref(
    person: Any,
    event: Any,
    ts: Any,
    as_of_us: int,
    dormant_us: int,
    lead_person: Any = None,
    lead_status: Any = None,
    lead_ts: Any = None,
    owners: Any = None,
) -> list[tuple[Any, str]]:
    """Rows (person, stage) sorted by person, default rules."""
    ev = _frame(person=person, event=np.asarray(event, dtype=object), ts=ts)
    empty = np.asarray(person)[:0]
    leads = _frame(
        person=lead_person if lead_person is not None else empty,
        status=np.asarray(lead_status if lead_status is not None else [], dtype=object),
        ts=lead_ts if lead_ts is not None else np.zeros(0, dtype=np.int64),
    )
    own = _frame(person=owners if owners is not None else empty)
    con = _con(ev=ev, leads=leads, own=own)
    sql = f"""
    WITH ppl AS (SELECT person FROM ev UNION SELECT person FROM leads UNION SELECT person FROM own),
    e AS (SELECT * FROM ev WHERE ts <= {as_of_us}),
    l AS (SELECT * FROM leads WHERE ts <= {as_of_us}),
    f AS (
        SELECT p.person,
          (SELECT count(*) FROM e WHERE e.person = p.person AND event = 'delivery') > 0
            OR p.person IN (SELECT person FROM own) AS owner,
          (SELECT count(*) FROM e WHERE e.person = p.person AND event IN ('small_order', 'big_order'))
            > (SELECT count(*) FROM e WHERE e.person = p.person AND event = 'refund') AS ordered,
          (SELECT count(*) FROM l WHERE l.person = p.person) > 0
            AND (SELECT count(*) FROM l WHERE l.person = p.person AND status <> 'defeated') = 0 AS defeated,
          greatest(
            (SELECT max(ts) FROM e WHERE e.person = p.person
               AND event NOT IN ('push_sent', 'message_delivered', 'system')),
            (SELECT max(ts) FROM l WHERE l.person = p.person)) AS last,
          (SELECT count(*) FROM e WHERE e.person = p.person AND event IN ('lead', 'visit', 'test_drive', 'small_order', 'big_order')) > 0
            OR (SELECT count(*) FROM l WHERE l.person = p.person) > 0 AS intent
        FROM ppl p)
    SELECT person, CASE
        WHEN owner THEN 'owner' WHEN ordered THEN 'ordered' WHEN defeated THEN 'defeated'
        WHEN last IS NULL OR last < {as_of_us - dormant_us} THEN 'dormant'
        WHEN intent THEN 'intent' ELSE 'potential' END
    FROM f ORDER BY person"""
    return con.sql(sql).fetchall()


def orientation_ref(
    person: Any, category: Any, ts: Any, as_of_us: int
) -> list[tuple[Any, int, int, str]]:
    """Rows (person, rational, emotional, orientation) sorted by person, defaults."""
    ev = _frame(person=person, cat=np.asarray(category, dtype=object), ts=ts)
    con = _con(ev=ev)
    sql = f"""
    WITH c AS (SELECT person,
        count(*) FILTER (WHERE ts <= {as_of_us} AND cat IN ('spec', 'price', 'test_report')) AS r,
        count(*) FILTER (WHERE ts <= {as_of_us} AND cat IN ('lifestyle', 'travel', 'community')) AS e
        FROM ev GROUP BY person)
    SELECT person, r, e, CASE WHEN r > e THEN 'rational' WHEN e > r THEN 'emotional'
                              WHEN r > 0 THEN 'balanced' ELSE 'unknown' END
    FROM c ORDER BY person"""
    return con.sql(sql).fetchall()


# --- audiences -----------------------------------------------------------------


def _field_sql(field: dict[str, Any], counts: dict[str, str]) -> str:
    if "attr" in field:
        return f'p."{field["attr"]}"'
    if "score" in field:
        return f'p."score_{field["score"]}"'
    key = json.dumps(field, sort_keys=True)
    return counts[key]


def _rule_sql(rule: dict[str, Any], counts: dict[str, str], ts_cols: set[str]) -> str:
    if "all" in rule:
        return "(" + " AND ".join(_rule_sql(r, counts, ts_cols) for r in rule["all"]) + ")"
    if "any" in rule:
        return "(" + " OR ".join(_rule_sql(r, counts, ts_cols) for r in rule["any"]) + ")"
    if "not" in rule:
        return f"(NOT {_rule_sql(rule['not'], counts, ts_cols)})"
    if "tag" in rule:
        return (
            "coalesce(list_contains(list_transform(string_split(p.tags, ','), lambda x: trim(x)), "
            f"{_q(rule['tag'])}), FALSE)"
        )
    col = _field_sql(rule["field"], counts)
    is_ts = rule["field"].get("attr") in ts_cols

    def lit(v: Any) -> str:
        if is_ts:
            return f"epoch_us(CAST({_q(v)} AS TIMESTAMPTZ))"
        return _q(v)

    op = rule["op"]
    if op == "exists":
        return f"({col} IS NOT NULL AND NOT (isnan(TRY_CAST({col} AS DOUBLE)) IS TRUE))"
    if op == "in":
        return f"coalesce({col} IN ({', '.join(lit(v) for v in rule['values'])}), FALSE)"
    if op == "between":
        return f"coalesce({col} BETWEEN {lit(rule['low'])} AND {lit(rule['high'])}, FALSE)"
    sql_op = {"==": "=", "!=": "<>"}.get(op, op)
    return f"coalesce({col} {sql_op} {lit(rule['value'])}, FALSE)"


def _count_fields(rule: dict[str, Any], out: list[dict[str, Any]]) -> None:
    for key in ("all", "any"):
        for item in rule.get(key, []):
            _count_fields(item, out)
    if "not" in rule:
        _count_fields(rule["not"], out)
    if "field" in rule and "count" in rule["field"]:
        out.append(rule["field"])


def audience_ref(
    rule_json: str,
    people: pd.DataFrame,
    events: pd.DataFrame | None = None,
    as_of_us: int | None = None,
    ts_cols: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Any]:
    """Person ids selected by the rule, in people-table order.

    *people* has ``person_id``, attribute columns, ``tags`` and ``score_<name>``
    columns (timestamps as int64 µs); *events* has person, event, ts (µs), touchpoint.
    """
    rule = json.loads(rule_json)["rule"]
    fields: list[dict[str, Any]] = []
    _count_fields(rule, fields)
    people = people.copy()
    people["_row"] = np.arange(len(people))
    counts: dict[str, str] = {}
    for field in fields:
        key = json.dumps(field, sort_keys=True)
        if key in counts:
            continue
        cond = ["e.person = p.person_id", f"e.event = {_q(field['count'])}", f"e.ts <= {as_of_us}"]
        if field.get("within") is not None:
            from datetime import timedelta

            from autoops._time import parse_duration

            us = parse_duration(field["within"]) // timedelta(microseconds=1)
            cond.append(f"e.ts >= {as_of_us - us}")
        if field.get("touchpoints") is not None:
            cond.append(f"e.touchpoint IN ({', '.join(_q(t) for t in field['touchpoints'])})")
        counts[key] = f"(SELECT count(*) FROM ev e WHERE {' AND '.join(cond)})"
    con = _con(**{"ppl": people, **({"ev": events} if events is not None else {})})
    where = _rule_sql(rule, counts, set(ts_cols))
    sql = f"SELECT person_id FROM ppl p WHERE {where} ORDER BY _row"
    return [row[0] for row in con.sql(sql).fetchall()]
