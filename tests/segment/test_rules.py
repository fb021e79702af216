"""The audience rule language: building, printing, JSON round trips, errors."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import given, settings

from autoops.errors import ConfigError
from autoops.segment import Audience, all_of, any_of, attr, count, score, tag

from .strategies import rules

NAMESPACE = {
    "attr": attr,
    "count": count,
    "score": score,
    "tag": tag,
    "all_of": all_of,
    "any_of": any_of,
}


@settings(max_examples=300, deadline=None)
@given(rules())
def test_json_round_trip_is_exact(rule):  # type: ignore[no-untyped-def]
    text = rule.to_json()
    back = Audience.from_json(text)
    assert back == rule
    assert back.to_json() == text
    assert repr(back) == repr(rule)
    assert hash(back) == hash(rule)


@settings(max_examples=200, deadline=None)
@given(rules())
def test_repr_is_the_python_expression(rule):  # type: ignore[no-untyped-def]
    assert eval(repr(rule), dict(NAMESPACE)) == rule


def test_issue_example_prints_and_serialises() -> None:
    rule = (
        (attr("city") == "Shanghai")
        & (count("test_drive", within="30d") >= 1)
        & ~tag("price_sensitive")
    )
    assert repr(rule) == (
        "(attr('city') == 'Shanghai') & (count('test_drive', within='30d') >= 1) & ~tag('price_sensitive')"
    )
    assert json.loads(rule.to_json()) == {
        "version": 1,
        "rule": {
            "all": [
                {"field": {"attr": "city"}, "op": "==", "value": "Shanghai"},
                {"field": {"count": "test_drive", "within": "30d"}, "op": ">=", "value": 1},
                {"not": {"tag": "price_sensitive"}},
            ]
        },
    }


def test_and_or_flatten_but_keep_nesting() -> None:
    a, b, c = attr("a") == 1, attr("b") == 2, tag("x")
    assert len(((a & b) & c).children()) == 3
    assert len(((a | b) | c).children()) == 3
    assert len((a & (b & c)).children()) == 2
    mixed = (a | b) & c
    assert repr(mixed) == "((attr('a') == 1) | (attr('b') == 2)) & tag('x')"
    assert repr(all_of(all_of(a, b), c)) == "all_of((attr('a') == 1) & (attr('b') == 2), tag('x'))"
    assert repr(a & (b & c)) == "(attr('a') == 1) & ((attr('b') == 2) & tag('x'))"
    assert repr(~~c) == "~~tag('x')"


def test_values_and_durations_are_normalised() -> None:
    assert count("click", within=timedelta(days=7)).to_dict() == {"count": "click", "within": "7d"}
    assert count("click", within=timedelta(minutes=90)).to_dict()["within"] == "90min"
    assert (attr("n") >= 3).to_dict()["value"] == 3
    assert isinstance((attr("n") >= 3.0).to_dict()["value"], float)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: count("click") >= "many", "is a count; compare it with a number"),
        (lambda: attr("x") == None, "use .exists"),  # noqa: E711
        (lambda: attr("x") == float("nan"), "finite"),
        (lambda: attr("x").isin([]), "non-empty"),
        (lambda: attr("x").isin([1, "a"]), "mix types"),
        (lambda: attr("x").between(5, 1), "above high"),
        (lambda: attr("x").between(1, "z"), "one type"),
        (lambda: attr(""), "non-empty"),
        (lambda: tag("a,b"), "without commas"),
        (lambda: count("click", within="soon"), "duration"),
        (lambda: count("click", within=timedelta(microseconds=5)), "millisecond"),
        (lambda: attr("x") == [1], "string, number or boolean"),
    ],
)
def test_construction_errors(build, match):  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=match):
        build()


def test_python_boolean_operators_are_refused() -> None:
    with pytest.raises(TypeError, match=re.escape("use & | ~")):
        (attr("a") == 1) and (attr("b") == 2)
    with pytest.raises(TypeError, match="compare a field first"):
        (attr("a") == 1) & attr("b")  # type: ignore[operator]
    with pytest.raises(TypeError, match="no truth value"):
        bool(attr("a"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "malformed JSON"),
        ("[]", "expected an object"),
        ('{"version": 2, "rule": {"tag": "x"}}', "unsupported version 2; available: 1"),
        (
            '{"version": 1, "rule": {"tag": "x"}, "name": "y"}',
            "unknown keys \\['name'\\]; available: rule, version",
        ),
        ('{"rule": {"every": []}}', "expected one of all, any, not, tag, or field with op"),
        ('{"rule": {"all": {"tag": "x"}}}', "rule.all: expected a list"),
        ('{"rule": {"all": [{"tag": "x"}, {"op": "=="}]}}', "rule.all\\[1\\]: expected one of"),
        (
            '{"rule": {"field": {"attr": "a"}, "op": "~", "value": 1}}',
            "available: ==, !=, <, <=, >, >=, in, between, exists",
        ),
        (
            '{"rule": {"field": {"colour": "a"}, "op": "==", "value": 1}}',
            "rule.field: expected exactly one of attr, score, count",
        ),
        (
            '{"rule": {"field": {"count": "x", "since": "1d"}, "op": ">=", "value": 1}}',
            "available: count, touchpoints, within",
        ),
        (
            '{"rule": {"field": {"attr": "a"}, "op": "in", "value": 1}}',
            "takes keys \\['field', 'op', 'values'\\]",
        ),
        (
            '{"rule": {"field": {"count": "x", "within": "x"}, "op": ">=", "value": 1}}',
            "rule.field.within",
        ),
        ('{"rule": {"not": {"tag": ""}}}', "rule.not.tag"),
    ],
)
def test_from_json_errors_name_the_path_and_list_what_is_available(text, match):  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=match):
        Audience.from_json(text)
