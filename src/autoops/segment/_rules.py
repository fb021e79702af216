"""The audience rule language: fields, predicates, AND / OR / NOT, JSON.

A rule is a tree of frozen nodes. Fields (:func:`attr`, :func:`score`,
:func:`count`) compare into predicates; :func:`tag` is a predicate; ``&``,
``|`` and ``~`` combine them. Every node validates on construction, prints as
the Python expression that builds it, and serialises to a small JSON object;
:meth:`Audience.from_json` rebuilds exactly the same tree. Evaluation lives in
:mod:`autoops.segment._evaluate`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from autoops._time import parse_duration
from autoops.errors import ConfigError

if TYPE_CHECKING:
    from autoops.segment._evaluate import AudienceResult, Explanation

__all__ = ["Audience", "Field", "all_of", "any_of", "attr", "count", "score", "tag"]

JSON_VERSION = 1
COMPARE_OPS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=")
ALL_OPS: tuple[str, ...] = (*COMPARE_OPS, "in", "between", "exists")
Scalar = str | int | float | bool


def _scalar(value: Any, key: str) -> Scalar:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"must be a finite number, got {value!r}", key=key)
        return float(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _scalar(value.item(), key)
    msg = f"must be a string, number or boolean, got {type(value).__name__}"
    raise ConfigError(msg, key=key)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration_text(value: str | timedelta | None, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        parse_duration(value, key=key)
        return value
    if isinstance(value, timedelta):
        parse_duration(value, key=key)
        us = value // timedelta(microseconds=1)
        for unit, size in (
            ("d", 86_400_000_000),
            ("h", 3_600_000_000),
            ("min", 60_000_000),
            ("s", 1_000_000),
        ):
            if us % size == 0:
                return f"{us // size}{unit}"
        if us % 1000 == 0:
            return f"{us // 1000}ms"
        raise ConfigError("durations finer than a millisecond are not supported", key=key)
    raise ConfigError(f"expected a duration such as '30d', got {type(value).__name__}", key=key)


class Field:
    """A per-person value that comparisons turn into audience predicates.

    Build fields with :func:`attr`, :func:`score` and :func:`count`; compare
    them with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` or the methods
    :meth:`isin`, :meth:`between` and :meth:`exists`.

    Examples:
        >>> attr("age") >= 30
        attr('age') >= 30
    """

    __slots__ = ()
    numeric_only: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The field as a JSON-ready dict.

        Examples:
            >>> count("click", within="7d").to_dict()
            {'count': 'click', 'within': '7d'}
        """
        raise NotImplementedError

    def _cmp(self, op: str, value: Any) -> Audience:
        return Compare(self, op, value)

    def __eq__(self, value: Any) -> Audience:  # type: ignore[override]
        return self._cmp("==", value)

    def __ne__(self, value: Any) -> Audience:  # type: ignore[override]
        return self._cmp("!=", value)

    def __lt__(self, value: Any) -> Audience:
        return self._cmp("<", value)

    def __le__(self, value: Any) -> Audience:
        return self._cmp("<=", value)

    def __gt__(self, value: Any) -> Audience:
        return self._cmp(">", value)

    def __ge__(self, value: Any) -> Audience:
        return self._cmp(">=", value)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __bool__(self) -> bool:
        raise TypeError("a field has no truth value; compare it, e.g. attr('age') >= 30")

    def isin(self, values: Iterable[Any]) -> Audience:
        """True when the value is one of *values* (the rule language's ``in``).

        Examples:
            >>> attr("city").isin(["Shanghai", "Hangzhou"])
            attr('city').isin(['Shanghai', 'Hangzhou'])
        """
        return IsIn(self, tuple(values))

    def between(self, low: Any, high: Any) -> Audience:
        """True when ``low <= value <= high`` (both ends included).

        Examples:
            >>> attr("age").between(25, 35)
            attr('age').between(25, 35)
        """
        return Between(self, low, high)

    def exists(self) -> Audience:
        """True when the value is present (not None, NaN or NaT).

        Examples:
            >>> attr("joined_at").exists()
            attr('joined_at').exists()
        """
        return Exists(self)


class Attr(Field):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"an attribute name must be a non-empty string, got {name!r}", key="attr"
            )
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        return {"attr": self.name}

    def __repr__(self) -> str:
        return f"attr({self.name!r})"


class Score(Field):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a score name must be a non-empty string, got {name!r}", key="score")
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.name}

    def __repr__(self) -> str:
        return f"score({self.name!r})"


class Count(Field):
    __slots__ = ("event", "touchpoints", "within")
    numeric_only = True

    def __init__(
        self,
        event: str,
        within: str | timedelta | None = None,
        touchpoints: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(event, str) or not event:
            raise ConfigError(
                f"an event name must be a non-empty string, got {event!r}", key="count"
            )
        self.event = event
        self.within = _duration_text(within, "within")
        if touchpoints is None:
            self.touchpoints: tuple[str, ...] | None = None
        else:
            if isinstance(touchpoints, str):
                touchpoints = (touchpoints,)
            items = tuple(str(getattr(t, "value", t)) for t in touchpoints)
            if not items:
                raise ConfigError(
                    "give at least one touchpoint, or None for all", key="touchpoints"
                )
            self.touchpoints = items

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"count": self.event}
        if self.within is not None:
            out["within"] = self.within
        if self.touchpoints is not None:
            out["touchpoints"] = list(self.touchpoints)
        return out

    def __repr__(self) -> str:
        args = [repr(self.event)]
        if self.within is not None:
            args.append(f"within={self.within!r}")
        if self.touchpoints is not None:
            args.append(f"touchpoints={list(self.touchpoints)!r}")
        return f"count({', '.join(args)})"


def attr(name: str) -> Field:
    """A column of the people table, e.g. ``attr("city") == "Shanghai"``.

    Args:
        name: the column name; checked against the table at evaluation.

    Examples:
        >>> attr("city") == "Shanghai"
        attr('city') == 'Shanghai'
    """
    return Attr(name)


def score(name: str) -> Field:
    """A named per-person score passed to ``evaluate(scores=...)``.

    Args:
        name: the key in the *scores* mapping, e.g. ``"intent"``.

    Examples:
        >>> score("intent") >= 60
        score('intent') >= 60
    """
    return Score(name)


def count(
    event: str, *, within: str | timedelta | None = None, touchpoints: Iterable[str] | None = None
) -> Field:
    """The number of a person's *event* rows in the window ending at ``as_of``.

    Rows with ``as_of - within <= ts <= as_of`` count (both edges included;
    all rows up to ``as_of`` when *within* is None), optionally only on the
    given *touchpoints*.

    Args:
        event: the event name, e.g. ``"test_drive"``.
        within: the window, e.g. ``"30d"``.
        touchpoints: optional touchpoint values to restrict to.

    Examples:
        >>> count("test_drive", within="30d") >= 1
        count('test_drive', within='30d') >= 1
    """
    return Count(event, within, touchpoints)


def tag(name: str) -> Audience:
    """True when the person's tags include *name*.

    Tags are read from a comma-separated string column (``"family,price_sensitive"``)
    or a column of lists; surrounding spaces are ignored.

    Examples:
        >>> ~tag("price_sensitive")
        ~tag('price_sensitive')
    """
    return HasTag(name)


def all_of(*rules: Audience) -> Audience:
    """True when every rule holds (the same as joining them with ``&``).

    Handy when the rules come from a list; one rule gives a one-item AND.

    Examples:
        >>> all_of(attr("city") == "Shanghai", tag("family"))
        (attr('city') == 'Shanghai') & tag('family')
    """
    for rule in rules:
        _check_rule(rule, "all_of")
    return AllOf(tuple(rules))


def any_of(*rules: Audience) -> Audience:
    """True when at least one rule holds (the same as joining them with ``|``).

    Examples:
        >>> any_of(tag("family"), tag("ev_interest"))
        tag('family') | tag('ev_interest')
    """
    for rule in rules:
        _check_rule(rule, "any_of")
    return AnyOf(tuple(rules))


class Audience:
    """An audience rule: a tree of predicates combined with ``&``, ``|`` and ``~``.

    Build one from :func:`attr`, :func:`score`, :func:`count` and :func:`tag`;
    run it with :meth:`evaluate`; store it with :meth:`to_json` and rebuild it
    with :meth:`Audience.from_json` (exactly: equal rules, equal JSON).

    Comparisons with a missing value (None, NaN, NaT) are false, ``!=``
    included; ``~`` negates the result, so ``~(attr("city") == "Shanghai")``
    includes people without a city while ``attr("city") != "Shanghai"`` does
    not.

    Examples:
        >>> rule = ((attr("city") == "Shanghai") & (count("test_drive", within="30d") >= 1)
        ...         & ~tag("price_sensitive"))
        >>> rule
        (attr('city') == 'Shanghai') & (count('test_drive', within='30d') >= 1) & ~tag(...)
        >>> Audience.from_json(rule.to_json()) == rule
        True
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The rule as a JSON-ready dict (the ``"rule"`` part of :meth:`to_json`).

        Examples:
            >>> (~tag("vip")).to_dict()
            {'not': {'tag': 'vip'}}
        """
        raise NotImplementedError

    def children(self) -> tuple[Audience, ...]:
        """The direct sub-rules (empty for a leaf predicate).

        Examples:
            >>> len(((attr("a") == 1) & (attr("b") == 2)).children())
            2
        """
        return ()

    def __and__(self, other: Audience) -> Audience:
        # chains flatten from the left: a & b & c is one AND of three
        _check_rule(other, "&")
        left = self.items if isinstance(self, AllOf) else (self,)
        return AllOf((*left, other))

    def __or__(self, other: Audience) -> Audience:
        _check_rule(other, "|")
        left = self.items if isinstance(self, AnyOf) else (self,)
        return AnyOf((*left, other))

    def __invert__(self) -> Audience:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError("use & | ~ to combine rules, not and / or / not")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Audience) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def to_json(self) -> str:
        """Serialise the rule to compact JSON with sorted keys (for a database column).

        Examples:
            >>> (attr("age") >= 30).to_json()
            '{"rule":{"field":{"attr":"age"},"op":">=","value":30},"version":1}'
        """
        return json.dumps(
            {"version": JSON_VERSION, "rule": self.to_dict()}, sort_keys=True, separators=(",", ":")
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Audience:
        """Rebuild a rule from :meth:`to_json` output.

        Raises:
            ConfigError: malformed JSON, an unknown operator or key, or a bad
                value; the message names the JSON path and lists what is allowed.

        Examples:
            >>> Audience.from_json('{"version": 1, "rule": {"tag": "family"}}')
            tag('family')
            >>> Audience.from_json('{"version": 1, "rule": {"field": {"attr": "age"},'
            ...                    ' "op": "~=", "value": 3}}')
            Traceback (most recent call last):
            ...
            autoops.errors.ConfigError: rule.op: unknown operator '~='; available: ==, !=, <, ...
        """
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"malformed JSON: {exc}", key="json") from exc
        if not isinstance(raw, dict) or "rule" not in raw:
            raise ConfigError('expected an object {"version": 1, "rule": {...}}', key="json")
        extra = sorted(set(raw) - {"version", "rule"})
        if extra:
            raise ConfigError(f"unknown keys {extra}; available: rule, version", key="json")
        if raw.get("version", JSON_VERSION) != JSON_VERSION:
            raise ConfigError(
                f"unsupported version {raw.get('version')!r}; available: {JSON_VERSION}",
                key="version",
            )
        return _rule_from(raw["rule"], "rule")

    def evaluate(
        self,
        people: Any,
        *,
        events: Any = None,
        as_of: Any = None,
        scores: Any = None,
        id: str = "person_id",
        tags: str = "tags",
        event_columns: Any = None,
    ) -> AudienceResult:
        """Evaluate the rule for every row of *people*, vectorised.

        Args:
            people: one row per person: a mapping of columns, a pandas, polars
                or pyarrow table, or an autoops table (``data.people``).
            events: the events that :func:`count` fields count (same forms).
            as_of: the end of every :func:`count` window (required with counts).
            scores: name → per-person values for :func:`score` fields: an
                autoops result with ``person`` and ``score`` (``IntentScores``),
                a ``(person_ids, values)`` pair, or an array aligned with *people*.
                People absent from a score get a missing value.
            id: the people table's id column.
            tags: the people table's tag column.
            event_columns: mapping of ``person``, ``event``, ``ts``,
                ``touchpoint`` to column names of *events* (defaults are those
                names; ``{"person": "true_person_id"}`` for the synthetic data).

        Returns:
            An ``AudienceResult`` whose ``ids`` are the people in the audience,
            in table order; ``explain(person_id)`` says which predicate held.

        Raises:
            InvalidInput: an unknown column, score or event (listing those
                available), a value of the wrong type, duplicate person ids.

        Examples:
            >>> people = {"person_id": [1, 2, 3], "city": ["Shanghai", "Beijing", "Shanghai"],
            ...           "tags": ["family", "", "price_sensitive"]}
            >>> rule = (attr("city") == "Shanghai") & ~tag("price_sensitive")
            >>> rule.evaluate(people).ids.tolist()
            [1]
        """
        from autoops.segment._evaluate import evaluate

        return evaluate(
            self,
            people,
            events=events,
            as_of=as_of,
            scores=scores,
            id_column=id,
            tags_column=tags,
            event_columns=event_columns,
        )

    def explain(self, person_id: Any, people: Any, **kwargs: Any) -> Explanation:
        """Evaluate the rule and say, predicate by predicate, why *person_id* is in or out.

        Takes the same keyword arguments as :meth:`evaluate`; to explain many
        people, evaluate once and call ``result.explain(person_id)``.

        Examples:
            >>> people = {"person_id": [1, 2], "city": ["Shanghai", "Beijing"], "tags": ["", ""]}
            >>> print((attr("city") == "Shanghai").explain(2, people))
            person 2: not in the audience
            ✗ attr('city') == 'Shanghai'  [city='Beijing']
        """
        return self.evaluate(people, **kwargs).explain(person_id)


def _check_rule(other: object, op: str) -> None:
    if not isinstance(other, Audience):
        msg = f"cannot combine a rule with {type(other).__name__} using {op}; compare a field first"
        raise TypeError(msg)


def _fmt_value(value: object) -> str:
    return repr(value)


class Compare(Audience):
    __slots__ = ("field", "op", "value")

    def __init__(self, field: Field, op: str, value: Any) -> None:
        if op not in COMPARE_OPS:
            raise ConfigError(f"unknown operator {op!r}; available: {', '.join(ALL_OPS)}", key="op")
        if value is None:
            raise ConfigError("compare with None is not allowed; use .exists()", key="value")
        self.field = field
        self.op = op
        self.value = _scalar(value, "value")
        if field.numeric_only and not _is_number(self.value):
            raise ConfigError(
                f"{field!r} is a count; compare it with a number, got {value!r}", key="value"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field.to_dict(), "op": self.op, "value": self.value}

    def __repr__(self) -> str:
        return f"{self.field!r} {self.op} {_fmt_value(self.value)}"


class IsIn(Audience):
    __slots__ = ("field", "values")

    def __init__(self, field: Field, values: tuple[Any, ...]) -> None:
        if isinstance(values, str) or not values:
            raise ConfigError("isin needs a non-empty list of values", key="values")
        items = tuple(_scalar(v, "values") for v in values)
        kinds = {"number" if _is_number(v) else type(v).__name__ for v in items}
        if len(kinds) > 1:
            raise ConfigError(f"values mix types {sorted(kinds)}", key="values")
        if field.numeric_only and kinds != {"number"}:
            raise ConfigError(f"{field!r} is a count; use numbers", key="values")
        self.field = field
        self.values = items

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field.to_dict(), "op": "in", "values": list(self.values)}

    def __repr__(self) -> str:
        return f"{self.field!r}.isin({list(self.values)!r})"


class Between(Audience):
    __slots__ = ("field", "high", "low")

    def __init__(self, field: Field, low: Any, high: Any) -> None:
        lo, hi = _scalar(low, "low"), _scalar(high, "high")
        if isinstance(lo, bool) or isinstance(hi, bool):
            raise ConfigError("between needs numbers or strings, not booleans", key="low")
        if _is_number(lo) != _is_number(hi):
            raise ConfigError(
                f"low and high must be of one type, got {low!r} and {high!r}", key="high"
            )
        if field.numeric_only and not _is_number(lo):
            raise ConfigError(f"{field!r} is a count; use numbers", key="low")
        if lo > hi:  # type: ignore[operator]
            raise ConfigError(f"low {low!r} is above high {high!r}", key="low")
        self.field = field
        self.low = lo
        self.high = hi

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field.to_dict(), "op": "between", "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"{self.field!r}.between({self.low!r}, {self.high!r})"


class Exists(Audience):
    __slots__ = ("field",)

    def __init__(self, field: Field) -> None:
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field.to_dict(), "op": "exists"}

    def __repr__(self) -> str:
        return f"{self.field!r}.exists()"


class HasTag(Audience):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip() or "," in name:
            raise ConfigError(
                f"a tag must be a non-empty string without commas, got {name!r}", key="tag"
            )
        self.name = name.strip()

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.name}

    def __repr__(self) -> str:
        return f"tag({self.name!r})"


class AllOf(Audience):
    __slots__ = ("items",)

    def __init__(self, items: tuple[Audience, ...]) -> None:
        if not items:
            raise ConfigError("'all' needs at least one rule", key="all")
        self.items = items

    def children(self) -> tuple[Audience, ...]:
        return self.items

    def to_dict(self) -> dict[str, Any]:
        return {"all": [item.to_dict() for item in self.items]}

    def __repr__(self) -> str:
        if len(self.items) == 1 or isinstance(self.items[0], AllOf):
            return _call(self)
        return " & ".join(_paren(item) for item in self.items)


class AnyOf(Audience):
    __slots__ = ("items",)

    def __init__(self, items: tuple[Audience, ...]) -> None:
        if not items:
            raise ConfigError("'any' needs at least one rule", key="any")
        self.items = items

    def children(self) -> tuple[Audience, ...]:
        return self.items

    def to_dict(self) -> dict[str, Any]:
        return {"any": [item.to_dict() for item in self.items]}

    def __repr__(self) -> str:
        if len(self.items) == 1 or isinstance(self.items[0], AnyOf):
            return _call(self)
        return " | ".join(_paren(item) for item in self.items)


class Not(Audience):
    __slots__ = ("item",)

    def __init__(self, item: Audience) -> None:
        self.item = item

    def children(self) -> tuple[Audience, ...]:
        return (self.item,)

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.item.to_dict()}

    def __repr__(self) -> str:
        return f"~{_paren(self.item)}"


def _call(rule: AllOf | AnyOf) -> str:
    # a group whose first item is a group of the same kind: & or | would flatten it
    name = "all_of" if isinstance(rule, AllOf) else "any_of"
    return f"{name}({', '.join(repr(item) for item in rule.items)})"


def _paren(rule: Audience) -> str:
    # comparisons bind looser than & | ~ in Python; nested and/or keep their shape
    text = repr(rule)
    return f"({text})" if isinstance(rule, Compare | AllOf | AnyOf) else text


_FIELD_KEYS = ("attr", "score", "count")


def _field_from(raw: Any, path: str) -> Field:
    if not isinstance(raw, dict):
        raise ConfigError(f"expected an object with one of {', '.join(_FIELD_KEYS)}", key=path)
    kinds = [k for k in _FIELD_KEYS if k in raw]
    if len(kinds) != 1:
        raise ConfigError(
            f"expected exactly one of {', '.join(_FIELD_KEYS)}; got keys {sorted(raw)}", key=path
        )
    kind = kinds[0]
    allowed = {"attr": {"attr"}, "score": {"score"}, "count": {"count", "within", "touchpoints"}}[
        kind
    ]
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ConfigError(
            f"unknown keys {extra}; available: {', '.join(sorted(allowed))}", key=path
        )
    try:
        if kind == "attr":
            return Attr(raw["attr"])
        if kind == "score":
            return Score(raw["score"])
        touch = raw.get("touchpoints")
        if touch is not None and not isinstance(touch, list):
            raise ConfigError("touchpoints must be a list of names", key=f"{path}.touchpoints")
        return Count(raw["count"], raw.get("within"), touch)
    except ConfigError as exc:
        raise ConfigError(exc.message, key=f"{path}.{exc.key}") from exc


def _rule_from(raw: Any, path: str) -> Audience:
    if not isinstance(raw, dict):
        raise ConfigError("expected an object: all, any, not, tag or a field comparison", key=path)
    try:
        return _rule_from_dict(raw, path)
    except ConfigError as exc:
        if exc.key is not None and exc.key.startswith(path):
            raise
        raise ConfigError(exc.message, key=f"{path}.{exc.key}" if exc.key else path) from exc


def _rule_from_dict(raw: dict[str, Any], path: str) -> Audience:
    for key in ("all", "any"):
        if key in raw:
            if set(raw) != {key}:
                raise ConfigError(f"'{key}' must stand alone; got keys {sorted(raw)}", key=path)
            items = raw[key]
            if not isinstance(items, list):
                raise ConfigError("expected a list of rules", key=f"{path}.{key}")
            rules = tuple(_rule_from(item, f"{path}.{key}[{i}]") for i, item in enumerate(items))
            return AllOf(rules) if key == "all" else AnyOf(rules)
    if "not" in raw:
        if set(raw) != {"not"}:
            raise ConfigError(f"'not' must stand alone; got keys {sorted(raw)}", key=path)
        return Not(_rule_from(raw["not"], f"{path}.not"))
    if "tag" in raw:
        if set(raw) != {"tag"}:
            raise ConfigError(f"'tag' must stand alone; got keys {sorted(raw)}", key=path)
        return HasTag(raw["tag"])
    if "field" not in raw or "op" not in raw:
        msg = f"expected one of all, any, not, tag, or field with op; got keys {sorted(raw)}"
        raise ConfigError(msg, key=path)
    op = raw["op"]
    if op not in ALL_OPS:
        raise ConfigError(
            f"unknown operator {op!r}; available: {', '.join(ALL_OPS)}", key=f"{path}.op"
        )
    field = _field_from(raw["field"], f"{path}.field")
    expected = {"field", "op"} | (
        {"value"}
        if op in COMPARE_OPS
        else {"values"}
        if op == "in"
        else {"low", "high"}
        if op == "between"
        else set()
    )
    if set(raw) != expected:
        missing = sorted(expected - set(raw))
        extra = sorted(set(raw) - expected)
        raise ConfigError(
            f"operator {op!r} takes keys {sorted(expected)}; missing {missing}, unknown {extra}",
            key=path,
        )
    if op in COMPARE_OPS:
        return Compare(field, op, raw["value"])
    if op == "in":
        if not isinstance(raw["values"], list):
            raise ConfigError("expected a list", key=f"{path}.values")
        return IsIn(field, tuple(raw["values"]))
    if op == "between":
        return Between(field, raw["low"], raw["high"])
    return Exists(field)
