"""Vectorised evaluation of audience rules, and explanations per person."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_value
from autoops._tabular import Tabular, as_array, columns, source_columns
from autoops._time import to_utc_us
from autoops.errors import InvalidInput
from autoops.segment._common import (
    RowMap,
    SummaryTable,
    as_of_us,
    coded,
    display_id,
    duration_us,
    factorize_text,
    group_people,
    isin_text,
    present_names,
    read_columns,
    ts_us,
)
from autoops.segment._rules import (
    AllOf,
    AnyOf,
    Attr,
    Audience,
    Between,
    Compare,
    Count,
    Exists,
    Field,
    HasTag,
    IsIn,
    Not,
    Score,
)
from autoops.segment._scan import (
    Coded,
    member_rows,
    not_none,
    text_groups,
    window_groups,
)

__all__ = ["AudienceResult", "Explanation", "evaluate"]

_NAT = np.iinfo(np.int64).min
_EVENT_DEFAULTS = {"person": "person", "event": "event", "ts": "ts", "touchpoint": "touchpoint"}


def _walk(rule: Audience) -> list[Audience]:
    out = [rule]
    for child in rule.children():
        out.extend(_walk(child))
    return out


def _field_key(field: Field) -> str:
    return repr(field)


@attrs.frozen(slots=True)
class Explanation:
    """Why one person is in or out of an audience, predicate by predicate.

    Attributes:
        person: the person id.
        passed: whether the whole rule holds.
        lines: ``(depth, held, text, value)`` per node, depth-first; *value*
            is the person's (masked) value of the field the node reads.

    Examples:
        >>> from autoops.segment import attr
        >>> people = {"person_id": [1], "age": [41], "tags": [""]}
        >>> e = (attr("age") >= 30).evaluate(people).explain(1)
        >>> e.passed, e.lines[0][:3]
        (True, (0, True, "attr('age') >= 30"))
    """

    person: Any
    passed: bool
    lines: tuple[tuple[int, bool, str, str], ...]

    def __str__(self) -> str:
        head = f"person {display_id(self.person)}: {'in' if self.passed else 'not in'} the audience"
        body = []
        for depth, held, text, value in self.lines:
            mark = "✓" if held else "✗"
            suffix = f"  [{value}]" if value else ""
            body.append(f"{'  ' * depth}{mark} {text}{suffix}")
        return "\n".join([head, *body])

    def __repr__(self) -> str:
        return short_repr("Explanation", person=display_id(self.person), passed=self.passed)


@attrs.frozen(slots=True, repr=False)
class AudienceResult(Tabular):
    """The people an audience rule selects, with what each predicate decided.

    Attributes:
        rule: the evaluated :class:`Audience`.
        ids: person ids in the audience, in the order of the people table.
        mask: per row of the people table, whether the person is in.
        person: every person id of the people table, in table order.
        as_of: the ``as_of`` used for counts (UTC; NaT when none was needed).

    ``len(result)`` is the audience size and ``pid in result`` tests membership.
    ``summary()`` and ``explain()`` report every predicate for every person:
    when ``evaluate()`` read events only for the people its other predicates
    left undecided, their first call counts everyone's events (once), and
    until then the result keeps a reference to the events.

    Examples:
        >>> from autoops.segment import attr
        >>> res = (attr("age") >= 30).evaluate({"person_id": [1, 2], "age": [41, 20]})
        >>> res, len(res), 1 in res, 2 in res
        (AudienceResult(people=2, selected=1), 1, True, False)
    """

    rule: Audience
    ids: npt.NDArray[Any]
    mask: npt.NDArray[np.bool_]
    person: npt.NDArray[Any]
    as_of: np.datetime64
    _detail: _Detail = attrs.field(alias="detail")

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {"person": self.ids}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, person_id: object) -> bool:
        return bool(self.mask[self._row(person_id)]) if self._find(person_id) is not None else False

    def _find(self, person_id: object) -> int | None:
        hits = np.flatnonzero(self.person == person_id)
        return int(hits[0]) if hits.size else None

    def _row(self, person_id: object) -> int:
        row = self._find(person_id)
        if row is None:
            raise InvalidInput(
                f"person {display_id(person_id)} is not in the people table",
                field="person_id",
                code="unknown_person",
            )
        return row

    def explain(self, person_id: Any) -> Explanation:
        """Which predicate held or failed for one person, with the values read.

        Raises:
            InvalidInput: the person is not in the people table.

        Examples:
            >>> from autoops.segment import attr, tag
            >>> people = {"person_id": [7], "city": ["Shanghai"],
            ...           "tags": ["family,price_sensitive"]}
            >>> rule = (attr("city") == "Shanghai") & ~tag("price_sensitive")
            >>> print(rule.evaluate(people).explain(7))
            person 7: not in the audience
            ✗ all of
              ✓ attr('city') == 'Shanghai'  [city='Shanghai']
              ✗ not
                ✓ tag('price_sensitive')  [tags='family,price_sensitive']
        """
        row = self._row(person_id)
        masks, values = self._detail.get()
        lines: list[tuple[int, bool, str, str]] = []

        def visit(rule: Audience, depth: int) -> None:
            held = bool(masks[id(rule)][row])
            if isinstance(rule, AllOf):
                text, value = "all of", ""
            elif isinstance(rule, AnyOf):
                text, value = "any of", ""
            elif isinstance(rule, Not):
                text, value = "not", ""
            else:
                text = repr(rule)
                key = "tags" if isinstance(rule, HasTag) else _field_key(rule.field)  # type: ignore[attr-defined]
                label, arr = values[key]
                value = f"{label}={_show(_value_at(arr, row))}"
            lines.append((depth, held, text, value))
            for child in rule.children():
                visit(child, depth + 1)

        visit(self.rule, 0)
        return Explanation(person=self.person[row], passed=bool(self.mask[row]), lines=tuple(lines))

    def summary(self) -> SummaryTable:
        """People for whom each node of the rule holds (depth-first), and the audience size.

        Examples:
            >>> from autoops.segment import attr
            >>> people = {"person_id": [1, 2], "age": [41, 20], "tags": ["", ""]}
            >>> (attr("age") >= 30).evaluate(people).summary().rows()
            [("attr('age') >= 30", 1)]
        """
        nodes = _walk(self.rule)
        labels = []
        for node in nodes:
            if isinstance(node, AllOf):
                labels.append("all of")
            elif isinstance(node, AnyOf):
                labels.append("any of")
            elif isinstance(node, Not):
                labels.append("not")
            else:
                labels.append(repr(node))
        masks, _ = self._detail.get()
        counts = [int(masks[id(node)].sum()) for node in nodes]
        return SummaryTable(
            "Audience predicates",
            {
                "predicate": np.array(labels, dtype=object),
                "people": np.array(counts, dtype=np.int64),
            },
        )

    def __repr__(self) -> str:
        return short_repr("AudienceResult", people=len(self.person), selected=len(self.ids))

    def _repr_html_(self) -> str:
        rows = [[display_id(p)] for p in self.ids[:10].tolist()]
        return self.summary()._repr_html_() + html_table(repr(self), ["person"], rows)


def _value_at(column: npt.NDArray[Any] | Coded, row: int) -> Any:
    if isinstance(column, Coded):
        code = int(column.codes[row])
        return None if code < 0 else column.categories[code]
    return column[row]


def _show(value: Any) -> str:
    if isinstance(value, np.datetime64):
        return str(value) if not np.isnat(value) else "NaT"
    if isinstance(value, np.floating | float):
        return "NaN" if np.isnan(value) else f"{float(value):g}"
    if isinstance(value, np.bool_ | bool):
        return str(bool(value))
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, str):
        digits = sum(ch.isdigit() for ch in value)
        return repr(mask_value(value)) if "@" in value or digits >= 7 else repr(value)
    return repr(value)


class _Context:
    """The people table's columns and per-field values for one evaluation."""

    def __init__(
        self,
        fields: list[Field],
        nodes: list[Audience],
        people: Any,
        scores: Any,
        id_column: str,
        tags_column: str,
    ) -> None:
        self.values: dict[str, tuple[str, npt.NDArray[Any]]] = {}
        attr_names = sorted({f.name for f in fields if isinstance(f, Attr)})
        needs_tags = any(isinstance(n, HasTag) for n in nodes)
        names = [id_column, *attr_names]
        if needs_tags and tags_column not in names:
            names.append(tags_column)
        # string categoricals stay codes: predicates are then decided per category
        source = source_columns(people)
        text_names = [*attr_names, *([tags_column] if needs_tags else [])]
        cols: dict[str, Any] = {
            name: enc
            for name in text_names
            if name != id_column and (enc := _string_categorical(source.get(name))) is not None
        }
        plain = [name for name in dict.fromkeys(names) if name not in cols]
        cols.update(columns(people, plain, what="people"))
        self.ids = cols[id_column]
        self.n = len(self.ids)
        self.mapper = RowMap(self.ids)
        if not self.mapper.distinct(self.ids):
            uniques, (codes,) = group_people(self.ids, fields=(id_column,))
            assert codes is not None
            if len(uniques) < len(self.ids):
                counts = np.bincount(codes)
                dup_rows = np.flatnonzero(counts[codes] > 1)[:5].tolist()
                raise InvalidInput(
                    "duplicate person ids in the people table",
                    field=id_column,
                    row=dup_rows,
                    code="duplicate_person",
                )
        for name in attr_names:
            self.values[repr(Attr(name))] = (name, cols[name])
        if needs_tags:
            self.values["tags"] = (tags_column, cols[tags_column])
            self.tags = _TagIndex(cols[tags_column], tags_column)
        score_names = sorted({f.name for f in fields if isinstance(f, Score)})
        for name in score_names:
            self.values[repr(Score(name))] = (name, self._score(scores, name))

    def _score(self, scores: Any, name: str) -> npt.NDArray[Any]:
        available = sorted(scores) if isinstance(scores, Mapping) else []
        if not isinstance(scores, Mapping) or name not in scores:
            listed = ", ".join(available) or "(none: pass scores=)"
            msg = f"no score named {name!r}; available: {listed}"
            raise InvalidInput(msg, field=name, code="unknown_score")
        value = scores[name]
        if hasattr(value, "person") and hasattr(value, "score"):
            ids, vals = as_array(value.person), as_array(value.score)
        elif isinstance(value, tuple) and len(value) == 2:
            ids, vals = as_array(value[0]), as_array(value[1])
        else:
            vals = as_array(value)
            if len(vals) != self.n:
                msg = (
                    f"score {name!r} has {len(vals)} values for {self.n} people; pass (ids, values)"
                )
                raise InvalidInput(msg, field=name, code="ragged")
            return vals
        if len(ids) != len(vals):
            raise InvalidInput(
                f"score {name!r}: {len(ids)} ids but {len(vals)} values", field=name, code="ragged"
            )
        # ids in increasing order (as every autoops result holds them) are distinct
        ascending = ids.dtype.kind in "iu" and bool(np.all(ids[1:] > ids[:-1]))
        lo = self.mapper.lo
        if ascending and self.mapper.consecutive and ids.dtype.kind == "i" and ids.size:
            # the people's ids are one slice of the sorted score ids: row = id - lo
            first = int(np.searchsorted(ids, lo, side="left"))
            last = int(np.searchsorted(ids, self.ids[-1], side="right"))
            inner = slice(first, last)
            rows = ids[inner].astype(np.int64, copy=False) - np.int64(lo)
            vals = vals[inner]
            outside = np.zeros(0, dtype=np.int64)
            hit = np.ones(0, dtype=bool)  # not read: nothing is outside now
        else:
            rows = self.mapper.rows(ids, name)
            hit = rows >= 0
            outside = np.flatnonzero(~hit)
        twice = not ascending and np.bincount(rows[hit], minlength=self.n).max(initial=0) > 1
        if not twice and not ascending and outside.size > 1:
            others, _ = group_people(ids[outside], fields=(name,))
            twice = len(others) < outside.size
        if twice:
            raise InvalidInput(
                f"score {name!r} lists a person twice", field=name, code="duplicate_person"
            )
        if not outside.size and len(rows) == self.n and vals.dtype.kind in "iufb":
            return vals.astype(np.float64)  # every person has a value, in row order
        if vals.dtype.kind in "iufb":
            out: npt.NDArray[Any] = np.full(self.n, np.nan)
        elif vals.dtype.kind == "M":
            out = np.full(self.n, np.datetime64("NaT"), dtype=vals.dtype)
        else:
            out = np.full(self.n, None, dtype=object)
        if outside.size:
            out[rows[hit]] = vals[hit]
        else:
            out[rows] = vals
        return out


class _EventCounts:
    """The events that an audience's :func:`count` fields read, checked once, counted on demand.

    :meth:`count` counts either every person's events (one window scan per
    field) or, given a member table, only the events of the people whose
    result still depends on a count: then one pass over the person column
    finds those people's rows, and only their timestamps and event names are
    read (a NaT among them is an error; other rows' timestamps are not read).
    """

    def __init__(
        self, fields: list[Count], events: Any, as_of: Any, event_columns: Mapping[str, str] | None
    ) -> None:
        if events is None:
            raise InvalidInput(
                f"{fields[0]!r} needs events=; pass the events table",
                field="events",
                code="missing_events",
            )
        if as_of is None:
            raise InvalidInput(f"{fields[0]!r} needs as_of=", field="as_of", code="missing_as_of")
        mapping = dict(_EVENT_DEFAULTS)
        if event_columns is not None:
            unknown = sorted(set(event_columns) - set(_EVENT_DEFAULTS))
            if unknown:
                msg = f"unknown keys {unknown}; available: {', '.join(_EVENT_DEFAULTS)}"
                raise InvalidInput(msg, field="event_columns")
            mapping.update(event_columns)
        self.mapping = mapping
        self.fields = list({repr(f): f for f in fields}.values())
        wants_touch = any(f.touchpoints is not None for f in self.fields)
        self.cols = read_columns(
            events,
            "events",
            text=("event", "touchpoint"),
            person=mapping["person"],
            event=mapping["event"],
            ts=mapping["ts"],
            touchpoint=mapping["touchpoint"] if wants_touch else None,
        )
        self.cutoff = as_of_us(as_of)
        self.as_of = np.datetime64(self.cutoff, "us")
        # NaT is checked by the scans
        self.times = ts_us(self.cols["ts"], field=mapping["ts"], allow_nat=True)
        self.lows = [
            None if f.within is None else self.cutoff - duration_us(f.within, key=repr(f))
            for f in self.fields
        ]

    def count(
        self, mapper: RowMap, n: int, member: tuple[npt.NDArray[np.bool_], int] | None = None
    ) -> dict[str, tuple[str, npt.NDArray[np.int64]]]:
        """Per count field: (label, count per person row).

        With *member* (a table and its base id, see :func:`_member_table`) the
        counts are exact for the member people only (others may read 0).
        """
        cols, mapping, cutoff = self.cols, self.mapping, self.cutoff
        event_arr = cols["event"]
        rows = None
        if member is not None:
            rows = member_rows(cols["person"], *member)
            at = self.times.take(rows)
            _no_nat(at, rows, mapping["ts"])
            inside = np.flatnonzero(at <= cutoff)  # positions: boolean indexing is slower
            rows, at = rows.take(inside), at.take(inside)
        out: dict[str, tuple[str, npt.NDArray[np.int64]]] = {}
        for field, lo in zip(self.fields, self.lows, strict=True):
            if isinstance(event_arr, Coded):
                # the event's rows from the codes (a byte a row), then only their timestamps
                found = _code_rows(event_arr, field.event)
                when = self.times.take(found)
                _no_nat(when, found, mapping["ts"])
                start = np.iinfo(np.int64).min if lo is None else lo
                inside = (when - np.int64(start)).view(np.uint64) <= np.uint64(cutoff - start)
                keep = found.take(np.flatnonzero(inside))
            elif rows is None:
                # time first (one streaming pass); the event text only on the rows left
                keep, _ = window_groups(
                    self.times,
                    cutoff,
                    lo,
                    [(event_arr, [(field.event,)])],
                    field=mapping["ts"],
                    select=_first_group,
                )
            else:
                keep = rows if lo is None else rows.take(np.flatnonzero(at >= lo))
                hit = text_groups(event_arr, [(field.event,)], keep) == 0
                keep = keep.take(np.flatnonzero(hit))
            if keep.size == 0 and not _occurs(event_arr, field.event):
                present = present_names(event_arr)
                msg = (
                    f"event {field.event!r} never occurs in events; available: {', '.join(present)}"
                )
                raise InvalidInput(msg, field=mapping["event"], code="unknown_event")
            if field.touchpoints is not None:
                keep = keep[text_groups(cols["touchpoint"], [field.touchpoints], keep) == 0]
            people_rows = mapper.rows(cols["person"][keep], mapping["person"])
            counted = np.bincount(people_rows[people_rows >= 0], minlength=n)
            out[repr(field)] = (f"count {field.event}", counted.astype(np.int64, copy=False))
        return out


def _code_rows(events: Coded, name: str) -> npt.NDArray[np.int64]:
    """Rows of a dictionary-encoded column holding *name*."""
    hit = np.flatnonzero(np.asarray(events.categories == name, dtype=bool)).tolist()
    if len(hit) == 1:  # a Python int keeps the comparison in the codes' own (small) type
        return np.flatnonzero(events.codes == hit[0])
    return np.flatnonzero(np.isin(events.codes, hit))


def _no_nat(times: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], field: str) -> None:
    """Raise for the first NaT among *times* (read at *rows*)."""
    nat = np.flatnonzero(times == _NAT)
    if nat.size:
        raise InvalidInput(
            "missing timestamp (NaT)", field=field, row=int(rows[nat[0]]), code="nat"
        )


#: ids this far from the int64 limits keep ``person - base`` free of overflow
_SAFE_ID = 1 << 62


def _member_table(
    mapper: RowMap, person: npt.NDArray[Any], needed: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], int] | None:
    """``(member, base)``: ``member[id - base]`` holds for the ids of the *needed* rows.

    ``False`` pads both ends (see :func:`member_rows`). ``None`` when
    the event person ids are not signed integers or the people ids are not a
    compact integer range: then every person is counted.
    """
    if person.dtype.kind != "i" or not (mapper.consecutive or mapper.table is not None):
        return None
    size = len(needed) if mapper.consecutive else len(mapper.table)  # type: ignore[arg-type]
    if not -_SAFE_ID < mapper.lo < _SAFE_ID - size:
        return None
    member = np.zeros(size + 2, dtype=bool)
    if mapper.consecutive:
        member[1:-1] = needed
    else:
        table = mapper.table
        assert table is not None
        member[1:-1] = needed[table] & (table >= 0)
    return member, mapper.lo - 1


def _occurs(values: npt.NDArray[Any] | Coded, name: str) -> bool:
    """Whether *name* occurs in a text column (a strided sample first, then every row)."""
    if not isinstance(values, Coded):
        sample = values[:: max(1, len(values) // 4096)].tolist()
        if any(isinstance(v, str) and v == name for v in sample):
            return True
    return bool(isin_text(values, (name,)).any())


def _first_group(groups: list[npt.NDArray[np.integer[Any]]]) -> npt.NDArray[np.bool_]:
    found: npt.NDArray[np.bool_] = groups[0] == 0
    return found


class _Detail:
    """Every node's mask and every field's values, for ``explain()`` and ``summary()``.

    When ``evaluate()`` counted events only for the people whose result
    depended on them, the count nodes' masks are exact only for those people;
    *complete* then counts everyone's events, once, on first use.
    """

    def __init__(
        self,
        masks: dict[int, npt.NDArray[np.bool_]],
        values: Mapping[str, tuple[str, npt.NDArray[Any]]],
        complete: Callable[[], tuple[dict[int, npt.NDArray[np.bool_]], Mapping[str, Any]]]
        | None = None,
    ) -> None:
        self.masks, self.values, self.complete = masks, values, complete

    def get(
        self,
    ) -> tuple[dict[int, npt.NDArray[np.bool_]], Mapping[str, tuple[str, npt.NDArray[Any]]]]:
        if self.complete is not None:
            self.masks, self.values = self.complete()
            self.complete = None  # the events are no longer referenced
        return self.masks, self.values


def _string_categorical(values: Any) -> Coded | None:
    """A pandas categorical of strings as its codes (``None`` for anything else)."""
    if values is None or type(values).__module__.split(".")[0] != "pandas":
        return None
    enc = coded(values)
    if enc is None:
        return None
    raw = values.cat.categories if hasattr(values, "cat") else values.categories
    return enc if all(isinstance(c, str) for c in raw.tolist()) else None


class _TagIndex:
    """Answers "has tag t" per person: tokens are split on commas, spaces stripped."""

    def __init__(self, values: npt.NDArray[Any] | Coded, column: str) -> None:
        self.padded: npt.NDArray[Any] | None = None
        if isinstance(values, Coded):  # a categorical of strings: one token set per category
            self._tokens(values)
            return
        first = _first_present(values, "")
        if isinstance(first, list | tuple | np.ndarray):
            items = values.tolist()
            joined = [",".join(str(t) for t in v) if v is not None else "" for v in items]
            arr = np.array(joined, dtype=object)
        elif isinstance(first, str):
            arr = values if values.dtype == object else values.astype(object)
        else:
            msg = f"tags must be comma-separated strings or lists, got {type(first).__name__}"
            raise InvalidInput(msg, field=column)
        enc = factorize_text(arr)
        if enc is not None:  # one token set per distinct tag string
            self._tokens(enc)
            return
        missing = np.array([v is None for v in arr.tolist()], dtype=bool)
        if missing.any():
            arr = arr.copy()
            arr[missing] = ""
        sd = np.strings.strip(arr.astype(np.dtypes.StringDType()), " ")
        while True:  # drop the spaces around commas, however many
            before = sd
            sd = np.strings.replace(np.strings.replace(sd, " ,", ","), ", ", ",")
            if np.array_equal(before, sd):
                break
        self.padded = np.strings.add(np.strings.add(",", sd), ",")

    def _tokens(self, enc: Coded) -> None:
        self.codes = enc.codes
        self.tokens = [
            frozenset(t.strip(" ") for t in str(u).split(",")) for u in enc.categories.tolist()
        ]

    def has(self, name: str) -> npt.NDArray[np.bool_]:
        if self.padded is not None:
            return np.asarray(np.strings.find(self.padded, f",{name},") >= 0, dtype=bool)
        lut = np.array([name in tokens for tokens in self.tokens] + [False], dtype=bool)
        found: npt.NDArray[np.bool_] = lut[self.codes]
        return found


def _first_present(arr: npt.NDArray[Any], default: Any) -> Any:
    """The first value that is not ``None`` (*default* when there is none)."""
    if arr.dtype != object:
        return arr[0] if len(arr) else default
    where = np.flatnonzero(not_none(arr)[:1024])
    if not where.size:
        where = np.flatnonzero(not_none(arr))
    return arr[where[0]] if where.size else default


def _kind(arr: npt.NDArray[Any]) -> str:
    if arr.dtype.kind == "b":
        return "bool"
    if arr.dtype.kind in "iuf":
        return "number"
    if arr.dtype.kind == "M":
        return "datetime"
    if arr.dtype.kind in "US":
        return "string"
    first = _first_present(arr, None)
    if isinstance(first, bool):
        return "bool_object"
    if isinstance(first, int | float):
        return "number_object"
    return "string"


def _prepare(
    arr: npt.NDArray[Any], label: str, values: tuple[Any, ...], what: str
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_], tuple[Any, ...]]:
    """(comparable column, present mask, converted values), or a type error."""
    kind = _kind(arr)
    nums = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if kind in ("number", "number_object"):
        if not nums:
            raise InvalidInput(
                f"{what}: {label} holds numbers; got {values!r}", field=label, code="wrong_type"
            )
        if arr.dtype.kind == "i" and all(abs(v) < 2**53 for v in values):
            # signed integers compare as they are (no float copy), and are never missing
            return arr, np.ones(len(arr), dtype=bool), values
        col = (
            arr.astype(np.float64)
            if kind == "number"
            else np.array([np.nan if v is None else v for v in arr.tolist()], dtype=np.float64)
        )
        return col, ~np.isnan(col), values
    if kind in ("bool", "bool_object"):
        if not all(isinstance(v, bool) for v in values):
            raise InvalidInput(
                f"{what}: {label} holds booleans; got {values!r}", field=label, code="wrong_type"
            )
        present = (
            np.ones(len(arr), dtype=bool)
            if kind == "bool"
            else np.array([v is not None for v in arr.tolist()], dtype=bool)
        )
        col = (
            np.array([bool(v) for v in arr.tolist()], dtype=bool) if kind == "bool_object" else arr
        )
        return col, present, values
    if kind == "datetime":
        if not all(isinstance(v, str) for v in values):
            raise InvalidInput(
                f"{what}: {label} holds timestamps; compare with ISO strings with an offset",
                field=label,
                code="wrong_type",
            )
        try:
            converted = tuple(int(x) for x in to_utc_us(list(values), field=label).astype(np.int64))
        except InvalidInput as exc:
            raise InvalidInput(f"{what}: {exc.message}", field=label, code="wrong_type") from exc
        col = arr.astype("datetime64[us]").astype(np.int64)
        return col, col != _NAT, converted
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput(
            f"{what}: {label} holds strings; got {values!r}", field=label, code="wrong_type"
        )
    present = not_none(arr) if arr.dtype == object else np.ones(len(arr), dtype=bool)
    return arr, present, values


def _compare(
    col: npt.NDArray[Any], present: npt.NDArray[np.bool_], op: str, value: Any
) -> npt.NDArray[np.bool_]:
    if col.dtype == object:
        out = np.zeros(len(col), dtype=bool)
        if op in ("==", "!="):
            # long columns: encoded once, compared on their distinct values
            eq = text_groups(col, [(value,)]) == 0 if len(col) >= 4096 else col == value
            out = (eq if op == "==" else ~eq) & present
            return np.asarray(out, dtype=bool)
        idx = np.flatnonzero(present)
        text = col[idx].astype(str)
        out[idx] = _OPS[op](text, value)
        return out
    return np.asarray(_OPS[op](col, value), dtype=bool) & present


_OPS: dict[str, Any] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def evaluate(
    rule: Audience,
    people: Any,
    *,
    events: Any = None,
    as_of: Any = None,
    scores: Any = None,
    id_column: str = "person_id",
    tags_column: str = "tags",
    event_columns: Mapping[str, str] | None = None,
) -> AudienceResult:
    """Evaluate *rule* over *people* (see :meth:`Audience.evaluate`).

    The per-person leaves (attributes, tags, scores) come first. Event counts
    are then needed only for the people those leaves leave undecided (in
    three-valued logic, with every count unknown); when they are few, only
    their events are read, and the per-node detail for ``explain()`` /
    ``summary()`` is completed on first use.
    """
    nodes = _walk(rule)
    fields: list[Field] = [
        n.field for n in nodes if isinstance(n, Compare | IsIn | Between | Exists)
    ]
    count_fields = [f for f in fields if isinstance(f, Count)]
    # the events are checked first: their errors are reported before the people's
    counter = _EventCounts(count_fields, events, as_of, event_columns) if count_fields else None
    ctx = _Context(fields, nodes, people, scores, id_column, tags_column)
    leaves: dict[int, npt.NDArray[np.bool_]] = {}
    for node in nodes:
        if isinstance(node, HasTag):
            leaves[id(node)] = ctx.tags.has(node.name)
        elif not node.children() and not isinstance(node.field, Count):  # type: ignore[attr-defined]
            leaves[id(node)] = _leaf(node, ctx.values)
    if counter is None:
        detail = _Detail(*_masks(rule, leaves, ctx.values))
    else:
        needed = _undecided(rule, leaves, ctx.n)
        member = None
        # a dictionary-encoded event column is read by its codes: everyone costs the same
        coded_events = isinstance(counter.cols["event"], Coded)
        if not coded_events and np.count_nonzero(needed) <= ctx.n * FEW_UNDECIDED:
            member = _member_table(ctx.mapper, counter.cols["person"], needed)

        def full() -> tuple[dict[int, npt.NDArray[np.bool_]], Mapping[str, Any]]:
            assert counter is not None
            values = {**ctx.values, **counter.count(ctx.mapper, ctx.n)}
            return _masks(rule, leaves, values)

        if member is None:
            detail = _Detail(*full())
        else:
            values = {**ctx.values, **counter.count(ctx.mapper, ctx.n, member)}
            detail = _Detail(*_masks(rule, leaves, values), complete=full)
    final = detail.masks[id(rule)]
    return AudienceResult(
        rule=rule,
        ids=ctx.ids[final],
        mask=final,
        person=ctx.ids,
        as_of=np.datetime64("NaT", "us") if counter is None else counter.as_of,
        detail=detail,
    )


#: counts read only the undecided people's events when at most this share of the people are
FEW_UNDECIDED = 0.125


def _masks(
    rule: Audience,
    leaves: Mapping[int, npt.NDArray[np.bool_]],
    values: Mapping[str, tuple[str, npt.NDArray[Any]]],
) -> tuple[dict[int, npt.NDArray[np.bool_]], Mapping[str, tuple[str, npt.NDArray[Any]]]]:
    """Every node's mask, from the leaves computed and the count values."""
    masks: dict[int, npt.NDArray[np.bool_]] = {}

    def run(node: Audience) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_]
        if isinstance(node, AllOf | AnyOf):
            parts = [run(child) for child in node.items]
            out = parts[0].copy()
            for part in parts[1:]:
                if isinstance(node, AllOf):
                    out &= part
                else:
                    out |= part
        elif isinstance(node, Not):
            out = ~run(node.item)
        elif id(node) in leaves:
            out = leaves[id(node)]
        else:
            out = _leaf(node, values)
        masks[id(node)] = out
        return out

    run(rule)
    return masks, values


def _undecided(
    rule: Audience, leaves: Mapping[int, npt.NDArray[np.bool_]], n: int
) -> npt.NDArray[np.bool_]:
    """People whose result depends on an event count (Kleene logic, counts unknown).

    Each node is ``(surely true, surely false)``, or ``None`` when unknown for
    everyone. A person surely in or out keeps that answer whatever the counts.
    """

    def tri(node: Audience) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None:
        if id(node) in leaves:
            m = leaves[id(node)]
            return m, ~m
        if isinstance(node, Not):
            inner = tri(node.item)
            return None if inner is None else (inner[1], inner[0])
        if not isinstance(node, AllOf | AnyOf):
            return None  # a count
        parts = [tri(child) for child in node.items]
        known = [p for p in parts if p is not None]
        if not known:
            return None
        # AND: surely true when every part is, surely false when any part is; OR: dual
        settle, every = (1, 0) if isinstance(node, AllOf) else (0, 1)
        one = known[0][settle].copy()
        for p in known[1:]:
            one |= p[settle]
        if len(known) < len(parts):
            all_ = np.zeros(n, dtype=bool)
        else:
            all_ = known[0][every].copy()
            for p in known[1:]:
                all_ &= p[every]
        return (all_, one) if isinstance(node, AllOf) else (one, all_)

    found = tri(rule)
    if found is None:
        return np.ones(n, dtype=bool)
    undecided: npt.NDArray[np.bool_] = ~(found[0] | found[1])
    return undecided


def _leaf(
    node: Audience, values: Mapping[str, tuple[str, npt.NDArray[Any]]]
) -> npt.NDArray[np.bool_]:
    field: Field = node.field  # type: ignore[attr-defined]
    label, arr = values[repr(field)]
    if isinstance(arr, Coded):  # decided once per category; a missing value (-1) is false
        per_category = _leaf(node, {repr(field): (label, arr.categories)})
        found: npt.NDArray[np.bool_] = np.append(per_category, False)[arr.codes]
        return found
    if isinstance(node, Exists):
        kind = _kind(arr)
        if kind in ("number",):
            return ~np.isnan(arr.astype(np.float64))
        if kind == "datetime":
            present: npt.NDArray[np.bool_] = ~np.isnat(arr)
            return present
        if arr.dtype == object:
            return np.array(
                [not (v is None or (isinstance(v, float) and np.isnan(v))) for v in arr.tolist()],
                dtype=bool,
            )
        return np.ones(len(arr), dtype=bool)
    if isinstance(node, Compare):
        col, present, (value,) = _prepare(arr, label, (node.value,), repr(node))
        return _compare(col, present, node.op, value)
    if isinstance(node, IsIn):
        col, present, wanted = _prepare(arr, label, node.values, repr(node))
        if col.dtype == object:
            return isin_text(col, wanted) & present
        return np.isin(col, np.array(wanted)) & present
    assert isinstance(node, Between)
    col, present, (low, high) = _prepare(arr, label, (node.low, node.high), repr(node))
    return _compare(col, present, ">=", low) & _compare(col, present, "<=", high)
