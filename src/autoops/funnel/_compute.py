"""From events and a :class:`Funnel` to a :class:`FunnelResult`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._parallel import take
from autoops._tabular import factorize
from autoops._time import to_utc_us
from autoops.errors import InvalidInput
from autoops.funnel._columns import (
    EventColumns,
    column_mask,
    dense_codes,
    is_null,
    known_event_check,
    read_events,
)
from autoops.funnel._kernel import (
    HeldCodes,
    Hold,
    Rows,
    StepMasks,
    Transition,
    canonical_chains,
    open_reached,
    ordered_dp_depth,
    ranges,
    unordered_depth,
)
from autoops.funnel._order import order_rows
from autoops.funnel._result import FunnelResult, LazyChains
from autoops.funnel._spec import Funnel, Step

__all__ = ["Plan", "compute", "plan"]

I64 = npt.NDArray[np.int64]
_NEG = np.iinfo(np.int64).min
_POS = np.iinfo(np.int64).max


@attrs.frozen
class Plan:
    """Sorted rows, transitions and the maps back to the input (internal)."""

    funnel: Funnel
    rows: Rows
    transitions: list[Transition]
    source_row: I64  # sorted row -> input row
    unit_values: npt.NDArray[Any]
    breakdown: npt.NDArray[Any] | None  # per input row (read at the attributed rows only)
    entry_bounds: tuple[int, int]
    latest: int  # the latest time of a sorted row (0 when there is none)


def _instant_us(value: Any, field: str, assume_tz: str | None = None) -> int:
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, datetime | str):
        return int(to_utc_us([value], field=field, assume_tz=assume_tz).astype(np.int64)[0])
    raise InvalidInput(f"expected an aware datetime, got {type(value).__name__}", field=field)


def _codes(values: npt.NDArray[Any]) -> I64:
    """Non-negative integer codes for equality tests; -1 for null (None, NaN, NaT).

    Integers (and integral floats within ±2**62, which convert exactly) spanning
    less than 2**32 are their own codes, shifted to start at 0 — no ranking, no
    random access; other floats (fractions, huge values, infinities) are ranked.

    >>> _codes(np.array([3.0, np.nan, 1e300, np.inf, 2e300, 3.0])).tolist()
    [0, -1, 1, 3, 2, 0]
    """
    if values.dtype.kind in "iub":
        return _int_codes(values.astype(np.int64, copy=False))
    if values.dtype.kind in "fM":
        null = np.isnan(values) if values.dtype.kind == "f" else np.isnat(values)
        present = values[~null]
        whole = present.dtype.kind == "f" and bool(np.all(present == np.round(present)))
        if whole and len(present) and max(-present.min(), present.max()) > 2**62:
            whole = False  # (beyond int64, or infinite: a cast would not keep them apart)
        if whole:
            if not null.any():
                return _int_codes(present.astype(np.int64))
            out = np.full(len(values), -1, dtype=np.int64)
            out[~null] = _int_codes(present.astype(np.int64))
            return out
        out = np.full(len(values), -1, dtype=np.int64)
        _, inv = np.unique(present, return_inverse=True)
        out[~null] = inv
        return out
    obj = values.astype(object)
    if not len(obj) or is_null(obj).all():
        return np.full(len(obj), -1, dtype=np.int64)
    c, _ = factorize(obj)
    return np.asarray(c, dtype=np.int64)


def _int_codes(v: I64) -> I64:
    if len(v) == 0:
        return v
    lo = int(v.min())
    if int(v.max()) - lo < 2**32:
        return np.asarray(v - lo, dtype=np.int64)
    return dense_codes(v)[0]


class HeldValues:
    """The codes of one held column, made from the input values when the DP compares
    rows (internal; :class:`~autoops.funnel._kernel.Hold`).

    The DP compares the held values of the few rows that continue a chain, so no
    code is made, and no value gathered from the input, for the other held rows.
    Each pair of row sets is coded together by :func:`_codes` (equal codes, equal
    values; -1 for null), so its codes compare with each other.

    >>> held = HeldValues(np.array([5.0, np.nan, 7.0, 5.0]), np.array([3, 2, 1, 0]))
    >>> [c.tolist() for c in held.pair(np.array([0, 1]), np.array([2, 3]))]
    [[0, 2], [-1, 0]]
    >>> [c.tolist() for c in held.block(2, 4).pair(np.array([0]), np.array([1]))]
    [[-1], [0]]
    >>> sub = held.subset(np.array([0, 3]), np.array([1, 4]))  # sorted rows 0 and 3
    >>> [c.tolist() for c in sub.pair(np.array([0]), np.array([1]))]
    [[0], [0]]
    """

    lazy = True

    def __init__(self, values: npt.NDArray[Any], src: I64) -> None:
        self.values = values  # the input column
        self.src = src  # sorted row -> input row

    def pair(self, q_idx: I64, r_idx: I64) -> tuple[I64, I64]:
        """The codes of rows *q_idx* and of rows *r_idx*, made together."""
        rows = np.concatenate([take(self.src, q_idx), take(self.src, r_idx)])
        codes = _codes(take(self.values, rows))
        return codes[: len(q_idx)], codes[len(q_idx) :]

    def block(self, lo: int, hi: int) -> HeldValues:
        """The same for sorted rows [lo, hi), counted from lo."""
        return HeldValues(self.values, self.src[lo:hi])

    def subset(self, starts: I64, ends: I64) -> HeldValues:
        """The same for the sorted rows of the ranges [starts[i], ends[i]), counted by their
        place among those rows."""
        return HeldValues(self.values, take(self.src, ranges(starts, ends)))


def _code_type(top: int) -> type[np.signedinteger[Any]]:
    """int32 for hold codes up to *top* when they fit (half the memory), else int64."""
    return np.int32 if top < 2**31 - 1 else np.int64


def _hold_codes(ev: EventColumns, fields: tuple[str, ...], rows: I64) -> I64:
    """One code per combination of the held fields on *rows* (-1 if any is null): a hold
    of several fields (one field is coded when compared, :class:`HeldValues`)."""
    codes: I64 | None = None
    for field in fields:
        c = _codes(take(np.asarray(ev.column(field)), rows))
        ok = c >= 0
        dense = np.full(len(c), -1, dtype=np.int64)
        dense[ok] = dense_codes(c[ok])[0]
        if codes is None:
            codes = dense
        else:
            width = np.int64(int(dense.max(initial=0)) + 1)
            both = (codes >= 0) & (dense >= 0)
            combined = np.where(both, codes * width + dense, -1)
            codes = np.full(len(c), -1, dtype=np.int64)
            codes[both] = dense_codes(combined[both])[0]
    assert codes is not None
    return codes


def plan(
    funnel: Funnel,
    events: Any,
    *,
    unit: Any = "one_id",
    event: str = "event",
    ts: str = "ts",
    seq: str | None = None,
    assume_tz: str | None = None,
) -> Plan:
    """Read, validate, match and sort the rows a funnel needs (internal)."""
    k = len(funnel.steps)
    needed = {event}
    for st in [*funnel.steps, *(x.step for x in funnel.exclusions)]:
        needed.update(c.column for c in st.where)
    holds = funnel.hold_steps
    needed.update(holds)
    if funnel.breakdown:
        needed.add(funnel.breakdown)
    if seq:
        needed.add(seq)
    ev = read_events(events, unit=unit, ts=ts, needed=sorted(needed - {ts}), assume_tz=assume_tz)
    every_spec = [*funnel.steps, *(x.step for x in funnel.exclusions)]
    n_steps = len(funnel.steps)
    # steps and exclusions with the same predicate share one match bit (unordered
    # funnels keep one bit a step: their overlap check reads them)
    bit_of, specs = _shared_bits(every_spec, share=funnel.order != "unordered")
    bits = _match_bits(ev, event, funnel, specs)
    if funnel.order == "unordered":
        one = bits.dtype.type(1)
        step_bits = bits & ((one << bits.dtype.type(n_steps)) - one)
        overlap = (step_bits & (step_bits - one)) != 0  # two or more step bits
        if overlap.any():
            msg = (
                "unordered funnels need steps whose predicates never overlap; rows match two steps"
            )
            raise InvalidInput(msg, field=event, row=[int(i) for i in np.nonzero(overlap)[0][:10]])
    d0, d1 = _NEG, _POS
    if funnel.entry_range is not None:
        d0 = _instant_us(funnel.entry_range[0], "entry_range")
        d1 = _instant_us(funnel.entry_range[1], "entry_range")
    entry: tuple[int, int] | None = None if funnel.entry_range is None else (d0, d1)
    if funnel.order == "open":
        entry = (d0, d1 if d1 == _POS else d1 + funnel.window_us)
    # the field sets held between consecutive steps, and the steps declaring them all
    hold_fields = list(
        dict.fromkeys(
            f
            for f in (
                tuple(f for f, idx in holds.items() if j in idx and j + 1 in idx)
                for j in range(1, k)
            )
            if f
        )
    )
    # a hold of several fields keeps dense codes of the rows of the steps declaring them
    # all (their match bits); a hold of one field reads its column when the DP compares
    several = [fields for fields in hold_fields if len(fields) > 1]
    hold_masks = [
        sum(
            1 << b
            for b in {bit_of[i - 1] for i in set.intersection(*(set(holds[f]) for f in fields))}
        )
        for fields in several
    ]
    # strict order counts every row; otherwise only rows matching a step or exclusion
    s = order_rows(
        ev.unit,
        ev.ts,
        bits,
        len(ev.unit_values),
        n_bits=len(specs),
        all_rows=funnel.order == "strict",
        tie=ev.column(seq) if seq else None,
        entry=entry,
        hold_masks=hold_masks,
    )
    del bits
    src = s.src
    # steps read their masks from the match bits block by block; exclusions, which
    # cut segments, are whole masks
    excl_s = [StepMasks(s.bits, [1 << b])[0] for b in bit_of[n_steps:]]
    rows = Rows(
        unit=s.unit,
        ts=s.ts,
        steps=StepMasks(s.bits, [1 << b for b in bit_of[:n_steps]]),
        entry=s.entry,
        starts=s.starts,
        distinct=s.distinct,
    )
    hold_codes: dict[tuple[str, ...], Hold] = {
        fields: HeldValues(np.asarray(ev.column(fields[0])), src)
        for fields in hold_fields
        if len(fields) == 1
    }
    for fields, sub in zip(several, s.held, strict=True):
        got = _hold_codes(ev, fields, take(src, sub))
        hold_codes[fields] = HeldCodes(sub, got.astype(_code_type(int(got.max(initial=0)))))

    transitions: list[Transition] = []
    gaps = funnel.gap_bounds_us()
    for j in range(1, k):
        breakers: npt.NDArray[np.bool_] | None = None
        for x, m in zip(funnel.exclusions, excl_s, strict=True):
            before = x.before if x.before is not None else k
            if x.after <= j and j + 1 <= before:
                breakers = m if breakers is None else breakers | m
        every = funnel.order == "strict" and funnel.strict_repeats == "break"
        if funnel.order == "strict" and funnel.strict_repeats == "tolerate":
            not_prev = ~rows.steps[j - 1]
            breakers = not_prev if breakers is None else breakers | not_prev
        fields = tuple(f for f, idx in holds.items() if j in idx and j + 1 in idx)
        hold = hold_codes[fields] if fields else None
        lo, hi_gap = gaps[j - 1]
        transitions.append(Transition(breakers, every, hold, lo, hi_gap))
    bd = np.asarray(ev.column(funnel.breakdown)) if funnel.breakdown else None
    return Plan(funnel, rows, transitions, src, ev.unit_values, bd, (d0, d1), s.latest)


def _shared_bits(specs: list[Step], *, share: bool) -> tuple[list[int], list[Step]]:
    """(the match bit of each spec, the specs owning a bit): specs with the same event
    names and conditions share a bit when *share* (a 20-step funnel cycling three
    events needs three bits, and its sort keys still fit 64 bits)."""
    if not share:
        return list(range(len(specs))), specs
    owner: dict[Any, int] = {}
    bit_of = []
    for st in specs:
        key = (frozenset(st.events), tuple(c.model_dump_json() for c in st.where))
        bit_of.append(owner.setdefault(key, len(owner)))
    distinct = list({b: st for b, st in zip(bit_of, specs, strict=True)}.values())
    return bit_of, distinct


def _match_bits(
    ev: EventColumns, event: str, funnel: Funnel, specs: list[Step]
) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Bit i of row r is set when row r matches ``specs[i]`` (steps, then exclusions).

    A categorical event column without property conditions costs one table
    lookup per row for all steps together (a column of Python strings is
    factorised first when more than two names are matched); otherwise each event name is
    compared once and each condition evaluated once per step. The bits sit in
    the narrowest unsigned integer that holds them (one byte per row for up
    to eight steps and exclusions), so the later gather stays in the cache.
    """
    width = next(
        w
        for w in (np.uint8, np.uint16, np.uint32, np.uint64)
        if len(specs) <= 8 * np.dtype(w).itemsize
    )
    names = list(dict.fromkeys(n for st in specs for n in st.events))
    by_table = all(st.events and not st.where for st in specs)
    coded = ev.coded.get(event)
    if coded is None and by_table and len(names) > 2:
        col = np.asarray(ev.column(event))
        if col.dtype == object:  # Python strings: one hashing pass, not one comparison a name
            coded = factorize(col)
    if coded is not None and by_table:
        codes, cats = coded
        present = set(cats.tolist())
        for st in funnel.steps:
            for name in st.events:
                known_event_check(ev, event, name, name in present)
        table = np.zeros(len(cats) + 1, dtype=width)  # last slot: null code -1
        for i, st in enumerate(specs):
            hit = np.isin(cats, list(st.events)).astype(width)
            table[:-1] |= hit << width(i)
        return take(table, codes)  # code -1 (null) reads the last slot
    by_name = {name: column_mask(ev, event, "==", name) for name in names}
    for st in funnel.steps:
        for name in st.events:
            known_event_check(ev, event, name, bool(by_name[name].any()) or _has(ev, event, name))
    bits = np.zeros(ev.n, dtype=width)
    for i, st in enumerate(specs):
        m = np.ones(ev.n, dtype=bool) if not st.events else np.zeros(ev.n, dtype=bool)
        for name in st.events:
            m |= by_name[name]
        for cond in st.where:
            m &= column_mask(ev, cond.column, cond.op, cond.value)
        bits |= m.astype(width) << width(i)
    return bits


def _has(ev: EventColumns, event: str, name: str) -> bool:
    if event in ev.coded:
        return name in set(ev.coded[event][1].tolist())
    names = ev.column(event)
    return bool(np.any(names == name))


def _reached(depth: I64, k: int) -> npt.NDArray[np.bool_]:
    """``reached[u, j]``: unit u reached step j + 1 (its depth is at least j + 1), built a
    column at a time (twice as fast as one broadcast comparison over six columns)."""
    reached = np.empty((len(depth), k), dtype=bool)
    for j in range(k):
        np.greater_equal(depth, j + 1, out=reached[:, j])
    return reached


def depth_and_chains(
    p: Plan,
) -> tuple[Plan, I64, I64, npt.NDArray[np.bool_], Callable[[], I64]]:
    """(the plan as results keep it, unit codes, depth, reached matrix, a thunk giving
    chain rows in sorted order).

    The canonical chains of ordered funnels (a backward pass per step) are
    only computed when asked for: counts and persons need the depth alone. The
    plan kept has its one-field holds frozen (see ``_kernel._freeze``): chains
    and trends computed later read no input column again.
    """
    f = p.funnel
    k = len(f.steps)
    if f.order in ("ordered", "strict"):
        levels, depth, frozen = ordered_dp_depth(
            p.rows, p.transitions, f.window_us, f.entry == "first"
        )
        units = p.rows.units()
        reached = _reached(depth, k)
        trs = [
            attrs.evolve(tr, hold=frozen[id(tr.hold)]) if id(tr.hold) in frozen else tr
            for tr in p.transitions
        ]
        kept = attrs.evolve(p, transitions=trs)
        return (
            kept,
            units,
            depth,
            reached,
            lambda: canonical_chains(kept.rows, kept.transitions, levels())[2],
        )
    if f.order == "unordered":
        units, depth, chain = unordered_depth(p.rows, f.window_us, p.rows.entry)
        reached = _reached(depth, k)
    else:
        units, reached, chain = open_reached(p.rows, p.rows.entry)
        depth = reached.sum(axis=1).astype(np.int64)
    return p, units, depth, reached, lambda: chain


def compute(
    funnel: Funnel,
    events: Any,
    *,
    unit: Any = "one_id",
    event: str = "event",
    ts: str = "ts",
    seq: str | None = None,
    as_of: Any = None,
    assume_tz: str | None = None,
) -> FunnelResult:
    """Compute *funnel* over *events*: depth per unit, counts, rates, chains.

    Rows are ordered per unit by (ts, *seq*) — input order breaks remaining
    ties. ``datetime64`` columns are taken as UTC; other timestamp columns
    must be timezone-aware. Every unit with at least one row matching a step
    or an exclusion (strict order: every unit) appears in ``result.units``.

    Args:
        funnel: the definition.
        events: numpy columns (a mapping), a pandas/polars/pyarrow table, an
            autoops table, or a list of ``TouchpointEvent`` models.
        unit: the unit column name, or an array of unit ids aligned with rows.
        event: the event name column.
        ts: the timestamp column.
        seq: an optional tie-break column (e.g. an ingestion id).
        as_of: the end of the data (default: the latest timestamp); used to
            flag incomplete trend periods.
        assume_tz: the zone of naive timestamps in the timestamp column and
            *as_of* (e.g. ``"Asia/Shanghai"`` for local times exported
            without an offset); by default naive timestamps are refused.
            numpy ``datetime64`` values are UTC either way.

    Returns:
        A :class:`FunnelResult`.

    Raises:
        InvalidInput: unknown step events (listing the known ones), naive or
            missing timestamps, missing unit ids (with row indices), rows
            matching two steps of an unordered funnel.

    Examples:
        >>> import numpy as np
        >>> from autoops.funnel import Funnel, compute
        >>> ev = {"one_id": [1, 1, 1, 2], "event": ["lead", "visit", "lead", "lead"],
        ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-01"],
        ...                      dtype="datetime64[us]")}
        >>> compute(Funnel(steps=["lead", "visit"]), ev).counts.tolist()
        [2, 1]

        Local times exported without an offset need their zone named:

        >>> local = dict(ev, ts=["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00",
        ...                      "2026-01-01 09:00"])
        >>> compute(Funnel(steps=["lead", "visit"]), local, assume_tz="Asia/Shanghai").counts.tolist()
        [2, 1]
    """
    p = plan(funnel, events, unit=unit, event=event, ts=ts, seq=seq, assume_tz=assume_tz)
    p, units, depth, reached, chain_thunk = depth_and_chains(p)

    def chains() -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        chain = chain_thunk()
        chain_src = np.where(chain >= 0, p.source_row[np.maximum(chain, 0)], -1)
        chain_ts = np.where(chain >= 0, p.rows.ts[np.maximum(chain, 0)], _NEG)
        return chain_src, chain_ts.view("datetime64[us]")

    as_of_us = p.latest if as_of is None else _instant_us(as_of, "as_of", assume_tz)
    attribution: npt.NDArray[Any] | None = None
    if p.breakdown is not None:
        chain = chain_thunk()
        pos = funnel.attribution_step
        if pos == -1:
            if funnel.order == "open":
                last = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1)
            else:
                last = np.maximum(depth - 1, 0)
            row = chain[np.arange(len(units)), last]
        else:
            row = chain[:, pos]
        attribution = np.asarray(
            np.where(row >= 0, p.breakdown[p.source_row[np.maximum(row, 0)]], None),
            dtype=object,
        )
    return FunnelResult(
        funnel=funnel,
        units=p.unit_values[units],
        depth=depth,
        reached=reached,
        attribution=attribution,
        as_of=np.datetime64(as_of_us, "us"),
        plan=p,
        chains=LazyChains(chains),
    )
