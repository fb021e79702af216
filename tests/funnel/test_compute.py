"""Metamorphic properties, unordered/open against the oracle, input formats, bad input."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoops.errors import ConfigError, InvalidInput
from autoops.funnel import Exclusion, Funnel, Step, _order, compute

from ..threads import with_threads
from .oracle import oracle
from .strategies import EVENTS, funnels, logs

_S = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def depths(f: Funnel, ev: dict[str, Any]) -> dict[int, int]:
    r = compute(f, ev)
    return {int(u): int(d) for u, d in zip(r.units, r.depth, strict=True) if d > 0}


def _take(ev: dict[str, Any], idx: np.ndarray) -> dict[str, Any]:
    return {k: v[idx] for k, v in ev.items()}


@_S
@given(ev=logs(), f=funnels(), seed=st.integers(0, 2**16))
def test_shuffling_rows_changes_nothing_but_tie_order(
    ev: dict[str, Any], f: Funnel, seed: int
) -> None:
    # ties are broken by input order; give every row a unique seq so order is total
    ev = dict(ev, seq=np.arange(len(ev["event"])))
    perm = np.random.default_rng(seed).permutation(len(ev["event"]))
    a = compute(f, ev, seq="seq")
    b = compute(f, _take(ev, perm), seq="seq")
    assert a.counts.tolist() == b.counts.tolist()
    assert a.depth.tolist() == b.depth.tolist()
    assert perm[b.chain_row[b.chain_row >= 0]].tolist() == a.chain_row[a.chain_row >= 0].tolist()


@_S
@given(ev=logs(), f=funnels())
def test_rows_sorted_by_person_are_not_sorted_again(ev: dict[str, Any], f: Funnel) -> None:
    # an export ordered by (person, time) is already the engine's order: no sort runs,
    # and the results are the drawn log's (ties keep their input order in both)
    by_person = np.lexsort((ev["ts"], ev["one_id"]))
    a = compute(f, ev)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_order, "sort_rows", _no_sort)
        b = compute(f, _take(ev, by_person))
    assert a.counts.tolist() == b.counts.tolist()
    assert a.units.tolist() == b.units.tolist() and a.depth.tolist() == b.depth.tolist()
    got = b.chain_row >= 0
    assert by_person[b.chain_row[got]].tolist() == a.chain_row[a.chain_row >= 0].tolist()
    assert np.array_equal(got, a.chain_row >= 0)


@_S
@given(ev=logs(), f=funnels())
def test_a_log_in_time_order_equals_the_same_rows_out_of_it(ev: dict[str, Any], f: Funnel) -> None:
    # an append-only log skips the radix passes' ordering by time (its times travel
    # with the keys as they are); every output, the latest time (as_of) and the sorted
    # times equal those of the same rows drawn out of time order (DP blocks of 2 rows)
    by_time = np.argsort(ev["ts"], kind="stable")
    timed = _take(ev, by_time)
    a = compute(f, ev)
    with pytest.MonkeyPatch.context() as mp:
        from autoops.funnel import _kernel

        mp.setattr(_kernel, "DP_BLOCK_ROWS", 2)
        b = compute(f, timed)
    assert a.counts.tolist() == b.counts.tolist() and a.depth.tolist() == b.depth.tolist()
    assert a.as_of == b.as_of
    assert b.plan.rows.ts.tolist() == timed["ts"].view(np.int64)[b.plan.source_row].tolist()
    assert sorted(a.plan.rows.ts.tolist()) == sorted(b.plan.rows.ts.tolist())
    got = b.chain_row >= 0
    assert by_time[b.chain_row[got]].tolist() == a.chain_row[a.chain_row >= 0].tolist()


def _no_sort(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("rows in (unit, ts) order were sorted")


@_S
@given(ev=logs(), f=funnels(order="ordered"))
def test_non_matching_events_change_nothing(ev: dict[str, Any], f: Funnel) -> None:
    n = len(ev["event"])
    noise = dict(ev)
    noise["event"] = np.concatenate([ev["event"], np.array(["noise"] * n, dtype=object)])
    for key in ("one_id", "ts", "p", "order_id"):
        noise[key] = np.concatenate([ev[key], ev[key]])
    assert depths(f, ev) == depths(f, noise)


@_S
@given(ev=logs(), f=funnels())
def test_wider_window_never_lowers_depth(ev: dict[str, Any], f: Funnel) -> None:
    wide = f.model_copy(update={"window": "60min"})
    narrow, wider = depths(f, ev), depths(wide, ev)
    assert all(wider.get(u, 0) >= d for u, d in narrow.items())


@_S
@given(ev=logs(), f=funnels(), data=st.data())
def test_exclusion_or_hold_never_raises_depth(ev: dict[str, Any], f: Funnel, data: Any) -> None:
    k = len(f.steps)
    base = depths(f, ev)
    more_excl = f.model_copy(
        update={"exclusions": [*f.exclusions, Exclusion(step=Step(event="X"))]}
    )
    stricter = depths(Funnel(**more_excl.model_dump()), ev)
    assert all(stricter.get(u, 0) <= base.get(u, 0) for u in set(base) | set(stricter))
    if f.hold is None:
        held = Funnel(**dict(f.model_dump(), hold={"order_id": list(range(1, k + 1))}))
        with_hold = depths(held, ev)
        assert all(with_hold.get(u, 0) <= base.get(u, 0) for u in set(base) | set(with_hold))


@_S
@given(ev=logs(), f=funnels())
def test_counts_and_partition(ev: dict[str, Any], f: Funnel) -> None:
    r = compute(f, ev)
    c = r.counts
    assert all(c[i] >= c[i + 1] for i in range(len(c) - 1))
    for k in range(1, len(c)):
        reached = set(r.persons(k).tolist())
        dropped = set(r.persons(k, "dropped").tolist())
        nxt = set(r.persons(k + 1).tolist())
        assert dropped | nxt == reached and not dropped & nxt
    assert r.dropoffs.tolist() == [int(c[i] - c[i + 1]) for i in range(len(c) - 1)]


@st.composite
def disjoint_funnels(draw: Any, order: str) -> Funnel:
    names = draw(st.lists(st.sampled_from(EVENTS), min_size=2, max_size=4, unique=True))
    return Funnel(steps=names, window=f"{draw(st.sampled_from([2, 5, 30]))}min", order=order)


@_S
@given(ev=logs(), f=disjoint_funnels("unordered"))
def test_unordered_agrees_with_oracle(ev: dict[str, Any], f: Funnel) -> None:
    """Depth per unit and the best anchor's chain (the earliest of the deepest)."""
    want = oracle(f, ev)
    assert depths(f, ev) == {u: w["depth"] for u, w in want.items() if w["depth"]}
    r = compute(f, ev)
    for u, row in zip(r.units.tolist(), r.chain_row, strict=True):
        assert row[row >= 0].tolist() == want[u]["chain"]


@_S
@given(
    ev=logs(),
    f=st.sampled_from(["unordered", "open"]).flatmap(disjoint_funnels),
    block=st.integers(1, 6),
)
def test_unordered_and_open_blocks_of_units_change_nothing(
    ev: dict[str, Any], f: Funnel, block: int
) -> None:
    """Blocks of whole units (a few rows each, on three threads) give every unit the
    depth, steps reached and chain of the one-block path."""
    from autoops.funnel import _kernel

    one = compute(f, ev)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_kernel, "UNORDERED_BLOCK_ROWS", block)
        split = with_threads(3, lambda: compute(f, ev))
    assert split.units.tolist() == one.units.tolist()
    assert split.depth.tolist() == one.depth.tolist()
    assert split.reached.tolist() == one.reached.tolist()
    assert split.chain_row.tolist() == one.chain_row.tolist()


@_S
@given(ev=logs(), f=disjoint_funnels("open"))
def test_open_agrees_with_oracle(ev: dict[str, Any], f: Funnel) -> None:
    r = compute(f, ev)
    got = {int(u): row.tolist() for u, row in zip(r.units, r.reached, strict=True)}
    for u, w in oracle(f, ev).items():
        assert got.get(u, [False] * len(f.steps)) == w["reached"]


def test_input_formats_agree() -> None:
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    ev = {
        "one_id": np.array([1, 1, 2, 2]),
        "event": np.array(["lead", "visit", "lead", "lead"], dtype=object),
        "ts": np.array(
            ["2026-01-01", "2026-01-02", "2026-01-01", "2026-01-05"], dtype="datetime64[us]"
        ),
    }
    f = Funnel(steps=["lead", "visit"])
    want = compute(f, ev).counts.tolist()
    df = pd.DataFrame({**ev, "ts": pd.Series(ev["ts"]).dt.tz_localize("UTC")})
    assert compute(f, df).counts.tolist() == want
    assert compute(f, pl.from_pandas(df)).counts.tolist() == want
    assert compute(f, pa.Table.from_pandas(df)).counts.tolist() == want
    cat = df.assign(event=df["event"].astype("category"))
    assert compute(f, cat).counts.tolist() == want
    assert compute(f, dict(ev, event=pd.Categorical(ev["event"]))).counts.tolist() == want
    assert compute(f, pl.from_pandas(cat)).counts.tolist() == want
    assert compute(f, pa.Table.from_pandas(cat)).counts.tolist() == want
    with pytest.raises(InvalidInput, match="no event named 'vist'"):
        compute(Funnel(steps=["lead", "vist"]), cat)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_text_and_nullable_columns_in_every_form_agree(seed: int) -> None:
    """The automotive funnel (a hold on ``order_id``, a refund exclusion) over the same
    log given as numpy object columns, pandas ``str``/object/categorical, polars
    ``String``/``Categorical`` and Arrow string/dictionary columns: Arrow-backed text is
    dictionary-encoded, a polars float column's nulls read as NaN, and every form gives
    the same units, depth and chains, missing event names and order ids included."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(seed)
    n = 3_000
    names = np.array([*["lead", "visit", "test_drive", "small_order", "big_order"],
                      *["delivery", "refund", "app_open", None]], dtype=object)  # fmt: skip
    event = names[rng.integers(0, len(names), n)]
    ts = np.datetime64("2026-01-01", "us") + rng.integers(0, 20 * 86_400, n).astype(
        "timedelta64[s]"
    )
    unit = rng.integers(0, 200, n)
    order = (unit * 2 + rng.integers(0, 2, n)).astype(np.float64)  # two orders a unit
    order[rng.random(n) < 0.3] = np.nan
    f = Funnel.automotive()
    want = compute(f, {"one_id": unit, "event": event, "ts": ts, "order_id": order})
    frame = pd.DataFrame({"one_id": unit, "ts": pd.Series(ts).dt.tz_localize("UTC"),
                          "order_id": order})  # fmt: skip
    forms: dict[str, Any] = {
        "pandas str": frame.assign(event=pd.Series(event, dtype="str")),
        "pandas object": frame.assign(event=pd.Series(event, dtype=object)),
        "pandas category": frame.assign(event=pd.Series(event, dtype="category")),
        "polars String": pl.from_pandas(frame).with_columns(
            pl.Series("event", event.tolist(), dtype=pl.String)
        ),
        "polars Categorical": pl.from_pandas(frame).with_columns(
            pl.Series("event", event.tolist(), dtype=pl.Categorical)
        ),
        "arrow string": pa.Table.from_pandas(frame).append_column(
            "event", pa.array(event.tolist(), type=pa.string())
        ),
        "arrow dictionary": pa.Table.from_pandas(frame).append_column(
            "event", pa.array(event.tolist()).dictionary_encode()
        ),
    }
    assert forms["polars String"]["order_id"].null_count() > 0  # nulls, not NaN
    # the routes: Arrow-backed text is coded by Arrow, polars float nulls read as NaN
    from autoops._tabular import as_array
    from autoops.funnel._columns import _categorical

    for form in ("pandas str", "polars String", "arrow string"):
        assert _categorical(forms[form], "event") is not None, form
    assert as_array(forms["polars String"]["order_id"]).dtype == np.float64
    for form, table in forms.items():
        got = compute(f, table)
        assert got.units.tolist() == want.units.tolist(), form
        assert got.depth.tolist() == want.depth.tolist(), form
        assert got.chain_row.tolist() == want.chain_row.tolist(), form
    assert want.counts[0] > 0 and want.counts[4] > 0  # the log reaches the held steps


def test_touchpoint_event_models() -> None:
    from autoops.models import TouchpointEvent

    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    models = [
        TouchpointEvent(event_id="1", occurred_at=t, touchpoint="app", event="lead", one_id=5),
        TouchpointEvent(
            event_id="2",
            occurred_at=t.replace(day=2),
            touchpoint="showroom",
            event="visit",
            one_id=5,
        ),
    ]
    r = compute(Funnel(steps=["lead", "visit"], breakdown="touchpoint"), models)
    assert r.counts.tolist() == [1, 1]
    assert r.breakdown_table()["value"].tolist() == ["app"]


def test_unknown_step_lists_known_events() -> None:
    ev = {"one_id": [1], "event": ["lead"], "ts": np.array(["2026-01-01"], dtype="datetime64[us]")}
    with pytest.raises(InvalidInput, match=r"no event named 'vist'.*known events: lead") as info:
        compute(Funnel(steps=["lead", "vist"]), ev)
    assert info.value.code == "unknown_event"
    with pytest.raises(InvalidInput, match="no event named 'vist'"):
        compute(Funnel(steps=[Step(event=["lead", "vist"])]), ev)  # one typo among several
    with pytest.raises(InvalidInput, match="no event named 'vist'"):  # a factorised column
        three = dict(ev, one_id=[1, 1], event=["lead", "drive"], ts=np.repeat(ev["ts"], 2))
        compute(Funnel(steps=["lead", "drive", "vist"]), three)


@_S
@given(ev=logs(), f=funnels())
def test_string_and_categorical_event_columns_agree(ev: dict[str, Any], f: Funnel) -> None:
    # a column of Python strings (with missing names) is factorised when more than
    # two names are matched; a categorical column is read as codes: same results
    pd = pytest.importorskip("pandas")
    ev = {k: np.concatenate([v, v[:1]]) for k, v in ev.items()}  # a copy of row 0 ...
    ev["event"][-1] = None  # ... without its event name
    strings = compute(f, ev)
    categorical = compute(f, dict(ev, event=pd.Categorical(ev["event"])))
    assert strings.units.tolist() == categorical.units.tolist()
    assert strings.depth.tolist() == categorical.depth.tolist()
    assert strings.chain_row.tolist() == categorical.chain_row.tolist()


def test_naive_timestamps_are_refused() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"one_id": [1], "event": ["lead"], "ts": pd.to_datetime(["2026-01-01"])})
    with pytest.raises(InvalidInput, match="naive"):
        compute(Funnel(steps=["lead"]), df)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/St_Johns"])
def test_assume_tz_reads_naive_timestamps_as_local_times(tz: str) -> None:
    """Naive timestamps (a pandas column, strings) and a naive *as_of* are local times
    of *assume_tz* for the funnel, retention and actives alike: every result equals the
    one from the same times made aware in that zone."""
    pd = pytest.importorskip("pandas")
    from autoops.funnel import active_users, retention

    local = pd.to_datetime(["2026-01-31 23:30", "2026-02-01 00:30", "2026-02-20 08:00",
                            "2026-01-15 12:00", "2026-03-01 00:00"])  # fmt: skip
    base = {"one_id": [1, 1, 1, 2, 2], "event": ["lead", "visit", "test_drive", "lead", "visit"],
            "touchpoint": ["app"] * 5}  # fmt: skip
    naive = pd.DataFrame(dict(base, ts=local))
    strings = pd.DataFrame(dict(base, ts=local.strftime("%Y-%m-%d %H:%M")))
    aware = pd.DataFrame(dict(base, ts=local.tz_localize(tz)))
    funnel = Funnel(steps=["lead", "visit", "test_drive"], window="30d")
    as_of, as_of_aware = datetime(2026, 3, 1), pd.Timestamp("2026-03-01", tz=tz)
    want = funnel.compute(aware, as_of=as_of_aware)
    want_ret = retention(aware, cohort="lead", period="month", periods=2, tz=tz, as_of=as_of_aware)
    want_act = active_users(aware, period="month", tz=tz, as_of=as_of_aware)
    frames = [naive, strings]
    for module in ("polars", "pyarrow"):
        lib = pytest.importorskip(module)
        frames.append(lib.from_pandas(naive) if module == "polars" else lib.table(naive))
    for frame in frames:
        with pytest.raises(InvalidInput, match="assume_tz"):
            funnel.compute(frame)
        got = funnel.compute(frame, as_of=as_of, assume_tz=tz)
        assert got.counts.tolist() == want.counts.tolist()
        assert got.chain_ts.tolist() == want.chain_ts.tolist()
        ret = retention(frame, cohort="lead", period="month", periods=2, tz=tz, as_of=as_of,
                        assume_tz=tz)  # fmt: skip
        assert ret.counts.tolist() == want_ret.counts.tolist()
        assert ret.complete.tolist() == want_ret.complete.tolist()
        act = active_users(frame, period="month", tz=tz, as_of=as_of, assume_tz=tz)
        assert act.active.tolist() == want_act.active.tolist()
        assert act.complete.tolist() == want_act.complete.tolist()
    # a local time late on January 31 is a January lead in its own zone
    assert want_ret.labels == ["2026-01"] and want_ret.size.tolist() == [2]


def test_missing_unit_and_timestamp_name_rows() -> None:
    ev = {
        "one_id": [1, None, 2, None],
        "event": ["lead"] * 4,
        "ts": np.array(["2026-01-01"] * 4, dtype="datetime64[us]"),
    }
    with pytest.raises(InvalidInput) as info:
        compute(Funnel(steps=["lead"]), ev)
    assert info.value.row == [1, 3] and info.value.field == "one_id"
    ev2 = {
        "one_id": [1, 2],
        "event": ["lead"] * 2,
        "ts": np.array(["2026-01-01", "NaT"], dtype="datetime64[us]"),
    }
    with pytest.raises(InvalidInput) as info2:
        compute(Funnel(steps=["lead"]), ev2)
    assert info2.value.row == [1] and info2.value.field == "ts"


@pytest.mark.parametrize("window", ["0d", "-1d", "0s"])
def test_non_positive_window_is_refused(window: str) -> None:
    with pytest.raises(ConfigError, match="window"):
        Funnel(steps=["a", "b"], window=window)


def test_unordered_overlap_is_refused() -> None:
    ev = {
        "one_id": [1, 1],
        "event": ["a", "b"],
        "ts": np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[us]"),
    }
    with pytest.raises(InvalidInput, match="overlap") as info:
        compute(Funnel(steps=[Step(event=["a", "b"]), "b"], order="unordered"), ev)
    assert info.value.row == [1]


def test_unordered_refuses_exclusions() -> None:
    with pytest.raises(ConfigError, match="exclusions"):
        Funnel(steps=["a", "b"], order="unordered", exclusions=[Exclusion(step=Step(event="x"))])


@_S
@given(ev=logs(), f=funnels(), data=st.data())
def test_categorical_event_column_agrees(ev: dict[str, Any], f: Funnel, data: Any) -> None:
    pd = pytest.importorskip("pandas")
    names = ev["event"].copy()
    # some missing event names: code -1 in the categorical, None in the object column
    drop = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names))))
    drop[ev["one_id"] == 999] = False
    names[drop] = None
    obj = dict(ev, event=names)
    coded = dict(ev, event=pd.Categorical(names))
    a, b = compute(f, obj), compute(f, coded)
    assert a.units.tolist() == b.units.tolist() and a.depth.tolist() == b.depth.tolist()
    assert a.chain_row.tolist() == b.chain_row.tolist()


@_S
@given(ev=logs(), f=funnels(), data=st.data())
def test_a_hold_of_two_fields_equals_one_of_their_joined_values(
    ev: dict[str, Any], f: Funnel, data: Any
) -> None:
    """Two held fields (coded together for the held rows) give the depths that one
    field holding both values does (coded when the DP compares rows); a null in
    either is a null."""
    k = len(f.steps)
    lo = data.draw(st.integers(1, k))
    hi = data.draw(st.integers(lo, k))
    both = [
        None if o is None or p is None else f"{o}|{p}"
        for o, p in zip(ev["order_id"], ev["p"], strict=True)
    ]
    ev = dict(ev, both=np.array(both, dtype=object))
    held = list(range(lo, hi + 1))
    if f.order == "open" or len(held) < 2:
        return
    two = Funnel(**dict(f.model_dump(), hold={"order_id": held, "p": held}))
    one = Funnel(**dict(f.model_dump(), hold={"both": held}))
    assert depths(two, ev) == depths(one, ev)
