# ruff: noqa: B023  (lambdas are called at once inside the loop)
"""Benchmark autoops.identity against scipy, networkx and DuckDB SQL, in one run.

Run: python benchmarks/bench_identity.py [--quick] [--sizes 1000000 2000000 4000000]
     [--add-sizes 1000000 2000000] [--repeat 3] [--no-pandas] [--input object arrow]
     python benchmarks/bench_identity.py --stages 1000000 [--input arrow]   (CPU seconds per stage)
     --threads N sets AUTOOPS_THREADS for resolve (default: the environment's, else the CPUs;
     --stages always profiles one thread, cProfile sees only its own thread)

Records are synthetic: each person (n/8 of them) has a phone, a unionid, an
app account and a device; each record carries some of them (20% of phones
written "+86 …"), and 2% of records come from 50 shared tablets. Every size
runs in a fresh subprocess, so the peak RSS printed is that size's own.

``--input`` gives the form of the records handed to ``resolve``, built before
any timing: ``object`` (numpy object columns of Python strings, the default;
each distinct string is one object, repeated over its rows, as pandas'
``read_csv`` of object columns and indexing an array of values make them), ``fresh`` (the same columns with one string object per row, as a JSON
or ``csv`` reader makes them), ``arrow`` (a pyarrow Table), ``polars`` (a
polars DataFrame) or ``pandas`` (a pandas DataFrame with Arrow-backed
``str`` columns, pandas 3's default). With several forms each (size, form)
runs in its own subprocess and the one_id of every form must equal the first
form's.

* floor: ``scipy.sparse.csgraph.connected_components`` on the same
  record-identifier edges, no rules: the edges that ``resolve`` with
  ``MergeRules.unprotected()`` links (identifiers already normalised and
  factorised, taken from that run), as a CSR matrix built beforehand. Only the
  call is timed; "scipy incl. CSR" adds building the matrix from the edge
  arrays. The partition is checked against ``resolve``'s.
* kernel: ``autoops.identity._kernel.components`` on those same edges.
* resolve: the whole pipeline from raw strings (factorise, normalise, hash,
  hubs, components, limits, ids), default and unprotected rules, their runs
  alternating (default first; ``--default-first`` times every default run
  before the unprotected ones, the order before session 7, which charged the
  default rules for the process's cold heap).
* "read the 4 raw columns as resolve does": ``_prepare._read_column`` of each
  identifier column, one after the other on one thread (codes and distinct
  values: ``encode_short`` for short ASCII text, Arrow's dictionary encoding
  for other text; object columns of strings copied into Arrow first, one
  object of each when their objects repeat). Next to
  it, factorising the raw columns the usual way, the first step of any
  pipeline that starts from strings: "pandas.factorize" for object columns,
  "Arrow dictionary_encode" (``autoops._tabular.encode``) for the other forms.
* networkx and the DuckDB SQL approach (iterative min-label propagation) run
  on the same edges up to ``--nx-max`` / ``--duckdb-max`` records.
* graph.add: 10,000 new records added to a graph of N records (median of 3),
  with the number of records re-solved.

Times are seconds (the best of ``--repeat`` runs; wall and CPU); "x floor" is
the ratio to the scipy time of the same run. Peak RSS is the size's own; the
bytes per record are measured above the resident input table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
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


INPUTS = ("object", "fresh", "arrow", "polars", "pandas")
ID_COLUMNS = ("phone", "wechat_unionid", "app_user_id", "device_id")


def as_input(cols: dict[str, np.ndarray], form: str) -> Any:
    """The same records in the form *form* (see ``--input``)."""
    if form == "object":
        return cols
    if form == "fresh":  # a new string object per row (s[:1] + s[1:] is a copy)
        return {
            k: np.array([None if s is None else s[:1] + s[1:] for s in v.tolist()], dtype=object)
            if v.dtype == object
            else v
            for k, v in cols.items()
        }
    import pyarrow as pa

    table = pa.table({k: pa.array(v) for k, v in cols.items()})  # None -> null
    if form == "arrow":
        return table
    if form == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table.to_pandas()  # pandas 3: ``str`` columns with pyarrow storage


def same_edges(res: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """The (record, key) edges a resolution linked: normalised, factorised, status OK."""
    from autoops.identity._normalize import Status

    prep, sol = res._prep, res._sol
    ok = (sol.e_status == Status.OK) & (sol.e_key >= 0)
    return prep.e_rec[ok], sol.e_key[ok], len(sol.key_tok)


def timed(fn):  # type: ignore[no-untyped-def]
    """Wall seconds and the result; ``timed.cpu`` holds the call's CPU seconds (less noisy),
    ``timed.sys`` the part of them spent in the kernel (mostly faulting in fresh pages)."""
    t, c = time.perf_counter(), time.process_time()
    s0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    out = fn()
    timed.cpu = time.process_time() - c  # type: ignore[attr-defined]
    timed.sys = resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0  # type: ignore[attr-defined]
    return time.perf_counter() - t, out


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """The resident set now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_mib()


def best_of(repeat: int, fn):  # type: ignore[no-untyped-def]
    """The fastest of *repeat* calls: (wall seconds, its CPU seconds, the last result)."""
    runs = []
    for _ in range(repeat):
        wall, out = timed(fn)
        runs.append((wall, timed.cpu))  # type: ignore[attr-defined]
    wall, cpu = min(runs)
    return wall, cpu, out


def one_size(
    n: int, nx_max: int, duckdb_max: int, repeat: int, form: str, default_first: bool = False
) -> dict[str, Any]:
    """Everything for one size, in this process (called in a subprocess)."""
    import pandas as pd
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from autoops._tabular import encode, source_columns
    from autoops.identity import MergeRules, resolve
    from autoops.identity._kernel import components
    from autoops.identity._prepare import _read_column

    resolve(as_input(make_records(1000, seed=9), form))  # warm up: imports, phone tables
    cols = as_input(make_records(n), form)
    from autoops._parallel import thread_count

    out: dict[str, Any] = {"n": n, "input": form, "input_mib": rss_mib()}  # holding the input
    out["threads"] = thread_count()

    def default_run(first: bool) -> tuple[float, float, float]:
        wall, res = timed(lambda: resolve(cols))
        cpu, sys_s = timed.cpu, timed.sys  # type: ignore[attr-defined]
        if first:
            out["peak_resolve_mib"] = peak_mib()  # one default call's own peak
            out["people"] = res.people
            # the partition and ids, to compare input forms run in other processes
            out["one_id_digest"] = int(np.bitwise_xor.reduce(res.one_id * np.arange(1, n + 1)))
            out["hubs"] = len(res.hubs())
        return wall, cpu, sys_s

    # the two rule sets alternate (default, unprotected, default, …): the first big call
    # of a process faults in its heap, and on this VM memory freed seconds earlier is
    # slow to touch again, so timing every default run first charged the default rules
    # for it (session 4; --default-first: that former order, kept to compare)
    runs_d: list[tuple[float, float, float]] = []
    runs_u: list[tuple[float, float, float]] = []
    free: Any = None
    if default_first:
        runs_d = [default_run(i == 0) for i in range(repeat)]
    for i in range(repeat):
        free = None  # the previous result released before the next timed call
        if not default_first:
            runs_d.append(default_run(i == 0))
        wall, free = timed(lambda: resolve(cols, MergeRules.unprotected()))
        runs_u.append((wall, timed.cpu, timed.sys))  # type: ignore[attr-defined]
    out["resolve_default"], out["resolve_default_cpu"], out["resolve_default_sys"] = min(runs_d)
    (out["resolve_unprotected"], out["resolve_unprotected_cpu"],
     out["resolve_unprotected_sys"]) = min(runs_u)  # fmt: skip
    out["default_first"] = default_first
    rec, key, k = same_edges(free)
    out["edges"] = len(rec)
    nodes = n + k

    def csr() -> Any:
        return csr_matrix((np.ones(len(rec), dtype=np.int8), (rec, key + n)), shape=(nodes, nodes))

    m = csr()
    out["floor"], out["floor_cpu"], (n_comp, lab_sp) = best_of(
        repeat, lambda: connected_components(m, directed=False)
    )
    out["floor_csr"], out["floor_csr_cpu"], _ = best_of(
        repeat, lambda: connected_components(csr(), directed=False)
    )
    out["kernel"], out["kernel_cpu"], lab = best_of(repeat, lambda: components(nodes, rec, key + n))
    # the same partition three times: scipy, the kernel, resolve without rules
    assert len(np.unique(lab)) == n_comp
    assert len(np.unique(lab_sp[:n])) == free.people == len(np.unique(lab[:n]))
    del free
    source = source_columns(cols)
    # the columns as resolve reads them (one thread, column after column): short ASCII
    # values by encode_short, other text by Arrow; object columns copied into Arrow first
    # (one object of each when they repeat)
    out["read"], out["read_cpu"], _ = best_of(
        repeat, lambda: [_read_column(source[c]) for c in ID_COLUMNS]
    )
    if form in ("object", "fresh"):
        out["factorize"], out["factorize_cpu"], _ = best_of(
            repeat, lambda: [pd.factorize(source[c]) for c in ID_COLUMNS]
        )
    else:  # Arrow's dictionary_encode: what a pipeline reading Arrow strings does at least
        out["factorize"], out["factorize_cpu"], _ = best_of(
            repeat, lambda: [encode(source[c]) for c in ID_COLUMNS]
        )
    if n <= nx_max:
        import networkx as nx

        def run_nx() -> int:
            g = nx.Graph()
            g.add_edges_from(zip(rec.tolist(), (key + n).tolist(), strict=True))
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
    times, cpus, affected = [], [], []
    for i in range(repeats):
        lo = n + i * batch
        sec, _ = timed(lambda: g.add({c: v[lo : lo + batch] for c, v in cols.items()}))
        times.append(sec)
        cpus.append(timed.cpu)  # type: ignore[attr-defined]
        affected.append(g.last_affected)
    return {"n": n, "build": build, "add": statistics.median(times),
            "add_cpu": statistics.median(cpus), "affected": int(statistics.median(affected)),
            "peak_mib": peak_mib()}  # fmt: skip


#: stages of resolve() reported by --stages: (label, module file, function)
STAGES = (
    ("factorise raw columns (pandas)", "_factorize.py", "factorize_objects"),
    ("object columns: their references numbered (encode_words)", "_encode.py", "encode_words"),
    ("object columns to Arrow (pyarrow.array)", "_prepare.py", "_object_strings"),
    ("factorise raw columns (short ASCII: encode_short)", "_encode.py", "encode_short"),
    ("factorise raw columns (other Arrow: dictionary_encode)", "_tabular.py", "arrow_dictionary"),
    ("read the columns (all, incl. the four above)", "_prepare.py", "_read_column"),
    ("normalise distinct values", "_normalize.py", "normalize_forms"),
    ("tokens and keys (incl. normalising)", "_prepare.py", "_distinct_facts"),
    ("record ids checked unique (integer fast path)", "_prepare.py", "_int_tokens_unique"),
    ("prepare (all, incl. the above)", "_prepare.py", "prepare"),
    ("hub fan-out: bound per type", "_kernel.py", "fanout_candidates"),
    ("hub fan-out: exact counts of the candidates", "_kernel.py", "fanout_exact"),
    ("components (key graph, both batches)", "_kernel.py", "key_components"),
    ("component numbers of records and keys", "_kernel.py", "_dense_components"),
    ("cluster labels after a split (split_labels)", "_kernel.py", "split_labels"),
    ("dense cluster labels (with assets: dense)", "_kernel.py", "dense"),
    ("One IDs", "_solve.py", "one_ids_from"),
    ("constrained pass", "_kernel.py", "constrained_pass"),
    ("solve (all, incl. the above)", "_solve.py", "solve"),
)


def stages(n: int, form: str) -> dict[str, float]:
    """CPU seconds per stage of one ``resolve`` (default rules), from cProfile."""
    os.environ["AUTOOPS_THREADS"] = "1"  # cProfile sees the calling thread only
    import cProfile
    import pstats

    from autoops.identity import resolve

    resolve(as_input(make_records(1000, seed=9), form))
    cols = as_input(make_records(n), form)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    resolve(cols)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in stats.values())
    out = {"resolve (total)": total}
    for label, file, fn in STAGES:
        out[label] = sum(v[3] for k, v in stats.items() if k[0].endswith(file) and k[2] == fn)
    return out


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


def _print_size(r: dict[str, Any]) -> None:
    """The table rows of one (size, input form) run."""
    n, form, floor = r["n"], r["input"], r["floor"]
    factorise = "pandas.factorize" if form in ("object", "fresh") else "Arrow dictionary_encode"
    rows = [
        ("scipy connected_components (floor)", floor, r["floor_cpu"]),
        ("scipy incl. building the CSR matrix", r["floor_csr"], r["floor_csr_cpu"]),
        ("autoops kernel, same edges", r["kernel"], r["kernel_cpu"]),
        ("resolve unprotected (raw strings, all)", r["resolve_unprotected"],
         r["resolve_unprotected_cpu"], r["resolve_unprotected_sys"]),
        ("resolve automotive_default", r["resolve_default"], r["resolve_default_cpu"],
         r["resolve_default_sys"]),
        ("  read the 4 raw columns as resolve does", r["read"], r["read_cpu"]),
        (f"  {factorise}, 4 raw columns", r["factorize"], r["factorize_cpu"]),
    ]  # fmt: skip
    if "networkx" in r:
        rows.append(("networkx connected_components", r["networkx"], None))
    if "duckdb" in r:
        rows.append(("DuckDB SQL min-label propagation", r["duckdb"], None))
    for name, sec, cpu, *sys_s in rows:
        cpu_txt = f"{cpu:>7.2f} {cpu / r['floor_cpu']:>8.1f}" if cpu is not None else ""
        sys_txt = f" {sys_s[0]:>6.2f}" if sys_s else ""
        print(f"{n:>11,} {form:<7} {name:<42} {sec:>8.2f} {sec / floor:>8.1f} {cpu_txt}{sys_txt}")
    per_rec = (r["peak_resolve_mib"] - r["input_mib"]) * 2**20 / n
    print(f"{'':>11} people={r['people']:,} hubs={r['hubs']} edges={r['edges']:,} "
          f"peak RSS after resolve {r['peak_resolve_mib']:,.0f} MiB (input "
          f"{r['input_mib']:,.0f} MiB; ~{per_rec:,.0f} B/record above the input); "
          f"threads {r['threads']}; load {os.getloadavg()[0]:.1f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--add-sizes", type=int, nargs="*")
    ap.add_argument("--nx-max", type=int, default=200_000)
    ap.add_argument("--duckdb-max", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; the best is shown")
    ap.add_argument("--no-pandas", action="store_true", help="numpy-only factorisation")
    ap.add_argument("--stages", type=int, help="CPU seconds per stage of resolve at this size")
    ap.add_argument("--input", nargs="+", choices=INPUTS, default=["object"],
                    help="form of the records given to resolve (each in its own run)")  # fmt: skip
    ap.add_argument(
        "--threads",
        type=int,
        help="AUTOOPS_THREADS for resolve (default: the environment's, else the CPUs)",
    )
    ap.add_argument("--default-first", action="store_true",
                    help="time every default-rules run before the unprotected ones (the "
                         "order before session 7) instead of alternating them")  # fmt: skip
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one-add", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads is not None:
        os.environ["AUTOOPS_THREADS"] = str(args.threads)  # read by the child processes too
    if args.no_pandas:
        import autoops._factorize as fac

        fac.USE_PANDAS = False
    if args.one:
        print(json.dumps(one_size(args.one, args.nx_max, args.duckdb_max, args.repeat,
                                  args.input[0], args.default_first)))  # fmt: skip
        return
    if args.stages:
        for form in args.input:
            for label, sec in stages(args.stages, form).items():
                print(f"{args.stages:>11,} {form:<7} {label:<48} {sec:>7.2f} s cpu")
        return
    if args.one_add:
        print(json.dumps(one_add(args.one_add)))
        return
    sizes = args.sizes if args.sizes is not None else (
        [100_000] if args.quick else [1_000_000, 2_000_000, 4_000_000])  # fmt: skip
    add_sizes = args.add_sizes if args.add_sizes is not None else (
        [100_000, 200_000] if args.quick else [1_000_000, 2_000_000])  # fmt: skip
    extra = ["--nx-max", str(args.nx_max), "--duckdb-max", str(args.duckdb_max)]
    if args.default_first:
        extra.append("--default-first")
    if args.no_pandas:
        extra.append("--no-pandas")
    from autoops._parallel import thread_count

    print(f"factorisation: {'numpy hash table' if args.no_pandas else 'pandas.factorize'}; "
          f"best of {args.repeat}; resolve on {thread_count()} thread(s) (AUTOOPS_THREADS), "
          f"scipy on one; default and unprotected rules "
          f"{'each run in a row, default first' if args.default_first else 'alternating'}")  # fmt: skip
    print(
        "x floor: wall seconds / scipy's wall seconds; cpu x floor: CPU seconds of all "
        "threads / scipy's CPU seconds; sys s: the resolve calls' kernel seconds (of cpu s)"
    )
    print(f"{'records':>11} {'input':<7} {'tool':<42} {'seconds':>8} {'x floor':>8} {'cpu s':>7} "
          f"{'x floor':>8} {'sys s':>6}")  # fmt: skip
    results: dict[str, list[dict[str, Any]]] = {form: [] for form in args.input}
    for n in sizes:
        for form in args.input:
            r = _child(["--one", str(n), "--repeat", str(args.repeat), "--input", form, *extra])
            results[form].append(r)
            first = results[args.input[0]][-1]
            if (r["people"], r["one_id_digest"]) != (first["people"], first["one_id_digest"]):
                raise SystemExit(f"{form} input gave other One IDs than {args.input[0]} at {n:,}")
            _print_size(r)
    for form, runs in results.items():
        if len(runs) > 1:
            print(f"doubling ({form} input): time(2n)/time(n) for resolve automotive_default")
            for a, b in itertools.pairwise(runs):
                print(f"  {a['n']:>11,} -> {b['n']:>11,}: "
                      f"{b['resolve_default'] / a['resolve_default']:.2f}"
                      f" (cpu {b['resolve_default_cpu'] / a['resolve_default_cpu']:.2f}; sys "
                      f"{a['resolve_default_sys']:.2f} -> {b['resolve_default_sys']:.2f} s; scipy floor "
                      f"{b['floor_cpu'] / a['floor_cpu']:.2f}; records x{b['n'] / a['n']:.1f})")  # fmt: skip
    for n in add_sizes:
        r = _child(["--one-add", str(n)] + (["--no-pandas"] if args.no_pandas else []))
        print(f"graph.add 10,000 into {n:>11,}: {r['add']:.3f} s, cpu {r['add_cpu']:.3f} s "
              f"(records re-solved "
              f"{r['affected']:,}; building the graph took {r['build']:.1f} s; "
              f"peak RSS {r['peak_mib']:,.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
