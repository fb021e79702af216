"""DuckDB SQL references for retention and monthly actives (written from SEMANTICS.md)."""

from __future__ import annotations

from typing import Any

_LEN = {"day": 86_400_000_000, "week": 7 * 86_400_000_000, "month": 30 * 86_400_000_000}


def _bucket(period: str, clock: str) -> str:
    if clock == "rolling":
        return f"(b.ts - b.t0) // {_LEN[period]}"
    if period == "month":
        return "(year(b.lt) * 12 + month(b.lt)) - (year(b.l0) * 12 + month(b.l0))"
    size = 86_400 * (7 if period == "week" else 1)
    return f"(epoch(date_trunc('{period}', b.lt)) - epoch(date_trunc('{period}', b.l0))) // {size}"


def retention_sql(
    *,
    period: str,
    clock: str,
    cohort_type: str,
    criterion: str,
    min_returns: int,
    periods: int,
    as_of: int,
    tz: str = "Asia/Shanghai",
) -> str:
    """(cohort label, k, count) rows; k = 0 gives the cohort size."""
    part = "one_id" if cohort_type == "first_time" else f"one_id, date_trunc('{period}', lt)"
    retained = (
        f"SELECT cohort, k, count(*) AS n FROM per WHERE n >= {min_returns} "
        f"AND k BETWEEN 1 AND {periods} GROUP BY cohort, k"
        if criterion == "on"
        else f"SELECT cohort, kk AS k, count(*) AS n FROM (SELECT one_id, t0, cohort, kk, sum(n) AS s "
        f"FROM per JOIN range(1, {periods} + 1) t(kk) ON per.k >= kk GROUP BY ALL) "
        f"WHERE s >= {min_returns} GROUP BY cohort, kk"
    )
    return f"""
    WITH e AS (
        SELECT one_id, event, ts,
               timezone('{tz}', make_timestamp(ts)::TIMESTAMPTZ) AS lt
        FROM ev WHERE ts <= {as_of}),
    c AS (
        SELECT one_id, ts AS t0, lt AS l0, date_trunc('{period}', lt) AS cohort FROM e
        WHERE event = 'a'
        QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY ts, lt) = 1),
    b AS (
        SELECT c.one_id, c.t0, c.l0, c.cohort, e.ts, e.lt FROM c JOIN e
        ON e.one_id = c.one_id AND e.ts > c.t0 AND e.event = 'b'),
    per AS (
        SELECT one_id, t0, cohort, {_bucket(period, clock)} AS k, count(*) AS n
        FROM b GROUP BY ALL)
    SELECT cohort, 0 AS k, count(*) AS n FROM c GROUP BY cohort
    UNION ALL {retained}
    ORDER BY cohort, k
    """


def mau_sql(period: str, tz: str = "Asia/Shanghai") -> str:
    """(period start label, distinct units) over private-domain, person-initiated rows."""
    private = "'app','mini_program','website','official_account','wecom','showroom','hotline','head_unit','dealer_crm'"
    return f"""
    SELECT date_trunc('{period}', timezone('{tz}', make_timestamp(ts)::TIMESTAMPTZ)) AS p,
           count(DISTINCT one_id) AS n
    FROM ev WHERE touchpoint IN ({private})
      AND event NOT IN ('push_sent', 'message_delivered', 'system')
    GROUP BY p ORDER BY p
    """


def run(con: Any, sql: str, frame: Any) -> list[tuple[Any, ...]]:
    """Run *sql* with *frame* registered as ``ev``."""
    con.execute("SET TimeZone = 'UTC'")
    con.register("ev", frame)
    try:
        return [tuple(r) for r in con.execute(sql).fetchall()]
    finally:
        con.unregister("ev")


def retention_sum_sql(
    *, period: str, clock: str, criterion: str, periods: int, as_of: int, tz: str = "Asia/Shanghai"
) -> str:
    """(cohort label, k, sum of amount) for first-time cohorts; k = 0 gives the size."""
    cmp = "b.k = kk" if criterion == "on" else "b.k >= kk"
    return f"""
    WITH e AS (
        SELECT one_id, event, ts, amount,
               timezone('{tz}', make_timestamp(ts)::TIMESTAMPTZ) AS lt
        FROM ev WHERE ts <= {as_of}),
    c AS (
        SELECT one_id, ts AS t0, lt AS l0, date_trunc('{period}', lt) AS cohort FROM e
        WHERE event = 'a'
        QUALIFY row_number() OVER (PARTITION BY one_id ORDER BY ts) = 1),
    r AS (
        SELECT c.one_id, c.t0, c.l0, c.cohort, e.ts, e.lt, e.amount FROM c JOIN e
        ON e.one_id = c.one_id AND e.ts > c.t0 AND e.event = 'b'),
    b AS (SELECT b.cohort, b.amount, {_bucket(period, clock)} AS k FROM r b)
    SELECT cohort, 0 AS k, count(*) AS n FROM c GROUP BY cohort
    UNION ALL
    SELECT b.cohort, kk AS k, sum(b.amount) FROM b JOIN range(1, {periods} + 1) t(kk) ON {cmp}
    GROUP BY b.cohort, kk
    ORDER BY cohort, k
    """
