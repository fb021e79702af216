# ruff: noqa: B023  (lambdas are called at once inside the loop)
"""Benchmark autoops.identity.resolve against scipy, networkx and DuckDB SQL.

Run: python benchmarks/bench_identity.py [--quick] [--sizes 1000000 2000000]

Records are synthetic: each person has a phone, a unionid, an app account and
a device; each record carries one to three of them (some messy phone shapes),
and 2% of records come from shared tablets. The scipy floor is
``scipy.sparse.csgraph.connected_components`` on the same record-identifier
edges with no rules (factorised already); networkx and DuckDB run only at the
smaller sizes. Times are seconds measured in one run; ratios are against the floor.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def make_records(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    people = max(n // 8, 1)
    person = rng.integers(0, people, n)
    phones = np.array([f"13{d:09d}" for d in rng.integers(0, 10**9, people)], dtype=object)
    fmt = rng.random(n)
    phone = phones[person].copy()
    plus = fmt < 0.2
    phone[plus] = np.array(["+86 " + p for p in phone[plus]], dtype=object)
    cols = {
        "record_id": np.arange(n, dtype=np.int64),
        "phone": np.where(rng.random(n) < 0.5, phone, None),
        "wechat_unionid": np.where(rng.random(n) < 0.4,
                                   np.array([f"oU{p:010d}" for p in range(people)], dtype=object)[person], None),
        "app_user_id": np.where(rng.random(n) < 0.3,
                                np.array([f"u{p:09d}" for p in range(people)], dtype=object)[person], None),
        "device_id": np.where(rng.random(n) < 0.3,
                              np.array([f"dev-{p:08x}" for p in range(people)], dtype=object)[person], None),
    }  # fmt: skip
    tablet = rng.random(n) < 0.02
    cols["device_id"][tablet] = np.array(
        [f"kiosk-{t}" for t in rng.integers(0, 50, int(tablet.sum()))], dtype=object
    )
    return cols


def edges_of(cols: dict[str, np.ndarray]) -> tuple[int, np.ndarray, np.ndarray, int]:
    n = len(cols["record_id"])
    rec, key = [], []
    offset = 0
    for name in ("phone", "wechat_unionid", "app_user_id", "device_id"):
        col = cols[name]
        rows = np.flatnonzero(np.not_equal(col, None))
        _, inv = np.unique(col[rows].astype(str), return_inverse=True)
        rec.append(rows)
        key.append(inv + offset)
        offset += int(inv.max()) + 1 if len(inv) else 0
    return n, np.concatenate(rec), np.concatenate(key), offset


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    args = ap.parse_args()
    sizes = args.sizes or ([100_000] if args.quick else [1_000_000, 2_000_000])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from autoops.identity import MergeRules, resolve
    from autoops.identity._kernel import components

    print(f"{'records':>10} {'tool':<34} {'seconds':>8} {'x floor':>8}")
    for n in sizes:
        cols = make_records(n)
        n_rec, rec, key, k = edges_of(cols)
        m = coo_matrix((np.ones(len(rec)), (rec, key + n_rec)), shape=(n_rec + k, n_rec + k))
        floor, _ = timed(lambda: connected_components(m, directed=False))
        rows = [("scipy connected_components (floor)", floor)]
        t_kernel, _ = timed(lambda: components(n_rec + k, rec, key + n_rec))
        rows.append(("autoops kernel, same edges", t_kernel))
        t_un, _ = timed(lambda: resolve(cols, MergeRules.unprotected()))
        rows.append(("resolve unprotected (normalise+all)", t_un))
        t_def, res = timed(lambda: resolve(cols))
        rows.append(("resolve automotive_default", t_def))
        if n <= 200_000:
            import networkx as nx

            def run_nx() -> int:
                g = nx.Graph()
                g.add_edges_from(zip(rec.tolist(), (key + n_rec).tolist(), strict=True))
                return nx.number_connected_components(g)

            rows.append(("networkx connected_components", timed(run_nx)[0]))
            rows.append(("duckdb SQL label propagation", timed(lambda: _duckdb(rec, key))[0]))
        for name, sec in rows:
            print(f"{n:>10,} {name:<34} {sec:>8.2f} {sec / floor:>8.1f}")
        print(f"{'':>10} people={res.people:,} hubs={len(res.hubs())}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


def _duckdb(rec: np.ndarray, key: np.ndarray) -> int:
    import duckdb

    con = duckdb.connect()
    con.register("e", {"rec": rec, "key": key})
    con.execute("create table lab as select rec, min(rec) over (partition by key) as l, key from e")
    while True:
        con.execute("""create or replace table lab2 as
            with r as (select rec, min(l) as l from lab group by rec),
                 k as (select e.key, min(r.l) as l from e join r using (rec) group by e.key)
            select e.rec, k.l, e.key from e join k using (key)""")
        changed = con.execute("""select count(*) from lab2 join lab using (rec, key)
                                 where lab2.l <> lab.l""").fetchone()[0]  # type: ignore[index]
        con.execute("create or replace table lab as select * from lab2")
        if changed == 0:
            break
    return int(con.execute("select count(distinct l) from lab").fetchone()[0])  # type: ignore[index]


if __name__ == "__main__":
    main()
