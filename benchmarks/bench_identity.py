# ruff: noqa: B023  (lambdas are called at once inside the loop)
"""Benchmark autoops.identity against scipy, networkx and DuckDB SQL, in one run.

Run: python benchmarks/bench_identity.py [--quick] [--sizes 1000000 2000000 4000000]
     [--add-sizes 1000000 2000000] [--no-pandas]

Records are synthetic: each person (n/8 of them) has a phone, a unionid, an
app account and a device; each record carries some of them (20% of phones
written "+86 …"), and 2% of records come from 50 shared tablets. Every size
runs in a fresh subprocess, so the peak RSS printed is that size's own.

* floor: ``scipy.sparse.csgraph.connected_components`` on the same
  record-identifier edges, already factorised, no rules (building the sparse
  matrix is not counted).
* kernel: ``autoops.identity._kernel.components`` on those same edges.
* resolve: the whole pipeline from raw strings (factorise, normalise, hash,
  hubs, components, limits, ids), default and unprotected rules.
* networkx and the DuckDB SQL approach (iterative min-label propagation) run
  on the same edges up to ``--nx-max`` / ``--duckdb-max`` records.
* graph.add: 10,000 new records added to a graph of N records (median of 3),
  with the number of records re-solved.

Times are seconds; "x floor" is the ratio to the scipy time of the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

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
    """Wall seconds and the result; ``timed.cpu`` holds the call's CPU seconds (less noisy)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    timed.cpu = time.process_time() - c  # type: ignore[attr-defined]
    return time.perf_counter() - t, out


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_size(n: int, nx_max: int, duckdb_max: int) -> dict[str, Any]:
    """Everything for one size, in this process (called in a subprocess)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from autoops.identity import MergeRules, resolve
    from autoops.identity._kernel import components

    resolve(make_records(1000, seed=9))  # warm up: imports (pandas, phone tables)
    cols = make_records(n)
    n_rec, rec, key, k = edges_of(cols)
    base_mib = peak_mib()
    m = coo_matrix((np.ones(len(rec)), (rec, key + n_rec)), shape=(n_rec + k, n_rec + k)).tocsr()
    out: dict[str, Any] = {"n": n, "edges": len(rec)}
    out["floor"], (n_comp, _) = timed(lambda: connected_components(m, directed=False))
    out["floor_cpu"] = timed.cpu  # type: ignore[attr-defined]
    out["kernel"], lab = timed(lambda: components(n_rec + k, rec, key + n_rec))
    out["kernel_cpu"] = timed.cpu  # type: ignore[attr-defined]
    assert len(np.unique(lab)) == n_comp
    out["resolve_unprotected"], _ = timed(lambda: resolve(cols, MergeRules.unprotected()))
    out["resolve_unprotected_cpu"] = timed.cpu  # type: ignore[attr-defined]
    out["resolve_default"], res = timed(lambda: resolve(cols))
    out["resolve_default_cpu"] = timed.cpu  # type: ignore[attr-defined]
    out["people"] = res.people
    # the share of the phone normaliser (another module): its time on this input's distinct phones
    from autoops._factorize import factorize_objects
    from autoops.identity._normalize import canonical_mobiles
    from autoops.models import normalize_phones

    _, raw_phones = factorize_objects(cols["phone"])
    distinct = factorize_objects(canonical_mobiles(raw_phones))[1]
    out["normalize_phones"], _ = timed(lambda: normalize_phones(distinct))
    out["normalize_phones_cpu"] = timed.cpu  # type: ignore[attr-defined]
    out["distinct_phones"] = len(distinct)
    out["hubs"] = len(res.hubs())
    out["peak_resolve_mib"] = peak_mib()
    out["input_mib"] = base_mib
    if n <= nx_max:
        import networkx as nx

        def run_nx() -> int:
            g = nx.Graph()
            g.add_edges_from(zip(rec.tolist(), (key + n_rec).tolist(), strict=True))
            return int(nx.number_connected_components(g))

        out["networkx"], _ = timed(run_nx)
    if n <= duckdb_max:
        out["duckdb"], comps = timed(lambda: _duckdb(rec, key))
        assert comps == len(np.unique(lab[np.unique(rec)]))  # records holding an identifier
    out["peak_mib"] = peak_mib()
    return out


def one_add(n: int, batch: int = 10_000, repeats: int = 3) -> dict[str, Any]:
    from autoops.identity import IdentityGraph

    cols = make_records(n + repeats * batch, seed=1)
    g = IdentityGraph()
    build, _ = timed(lambda: g.add({c: v[:n] for c, v in cols.items()}))
    times, affected = [], []
    for i in range(repeats):
        lo = n + i * batch
        sec, _ = timed(lambda: g.add({c: v[lo : lo + batch] for c, v in cols.items()}))
        times.append(sec)
        affected.append(g.last_affected)
    return {"n": n, "build": build, "add": statistics.median(times),
            "affected": int(statistics.median(affected)), "peak_mib": peak_mib()}  # fmt: skip


def _duckdb(rec: np.ndarray, key: np.ndarray) -> int:
    """Connected components the way SQL pipelines do it: iterate min-label propagation."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("e_view", {"rec": rec, "key": key})
    con.execute("create table e as select * from e_view")
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


def _child(args: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child failed: {' '.join(args)}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--add-sizes", type=int, nargs="*")
    ap.add_argument("--nx-max", type=int, default=200_000)
    ap.add_argument("--duckdb-max", type=int, default=1_000_000)
    ap.add_argument("--no-pandas", action="store_true", help="numpy-only factorisation")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one-add", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.no_pandas:
        import autoops._factorize as fac

        fac.USE_PANDAS = False
    if args.one:
        print(json.dumps(one_size(args.one, args.nx_max, args.duckdb_max)))
        return
    if args.one_add:
        print(json.dumps(one_add(args.one_add)))
        return
    sizes = args.sizes or ([100_000] if args.quick else [1_000_000, 2_000_000, 4_000_000])
    add_sizes = args.add_sizes if args.add_sizes is not None else (
        [100_000, 200_000] if args.quick else [1_000_000, 2_000_000])  # fmt: skip
    extra = ["--nx-max", str(args.nx_max), "--duckdb-max", str(args.duckdb_max)]
    if args.no_pandas:
        extra.append("--no-pandas")
    print(f"factorisation: {'numpy hash table' if args.no_pandas else 'pandas.factorize'}")
    print(f"{'records':>11} {'tool':<40} {'seconds':>8} {'x floor':>8} {'cpu s':>7} {'x floor':>8}")
    results = []
    for n in sizes:
        r = _child(["--one", str(n), *extra])
        results.append(r)
        floor = r["floor"]
        rows = [
            ("scipy connected_components (floor)", floor, r["floor_cpu"]),
            ("autoops kernel, same edges", r["kernel"], r["kernel_cpu"]),
            ("resolve unprotected (raw strings, all)", r["resolve_unprotected"],
             r["resolve_unprotected_cpu"]),
            ("resolve automotive_default", r["resolve_default"], r["resolve_default_cpu"]),
            (f"  of which normalize_phones ({r['distinct_phones']:,})", r["normalize_phones"],
             r["normalize_phones_cpu"]),
        ]  # fmt: skip
        if "networkx" in r:
            rows.append(("networkx connected_components", r["networkx"], None))
        if "duckdb" in r:
            rows.append(("DuckDB SQL min-label propagation", r["duckdb"], None))
        for name, sec, cpu in rows:
            cpu_txt = f"{cpu:>7.2f} {cpu / r['floor_cpu']:>8.1f}" if cpu is not None else ""
            print(f"{n:>11,} {name:<40} {sec:>8.2f} {sec / floor:>8.1f} {cpu_txt}")
        per_rec = (r["peak_resolve_mib"] - r["input_mib"]) * 2**20 / n
        print(f"{'':>11} people={r['people']:,} hubs={r['hubs']} edges={r['edges']:,} "
              f"peak RSS {r['peak_resolve_mib']:,.0f} MiB (input {r['input_mib']:,.0f} MiB; "
              f"~{per_rec:,.0f} B/record above the input)")  # fmt: skip
    if len(results) > 1:
        print("doubling: time(2n)/time(n) for resolve automotive_default")
        for a, b in itertools.pairwise(results):
            print(f"  {a['n']:>11,} -> {b['n']:>11,}: {b['resolve_default'] / a['resolve_default']:.2f}"
                  f" (records x{b['n'] / a['n']:.1f})")  # fmt: skip
    for n in add_sizes:
        r = _child(["--one-add", str(n)] + (["--no-pandas"] if args.no_pandas else []))
        print(f"graph.add 10,000 into {n:>11,}: {r['add']:.3f} s (records re-solved "
              f"{r['affected']:,}; building the graph took {r['build']:.1f} s; "
              f"peak RSS {r['peak_mib']:,.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
