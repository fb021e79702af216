"""Run the doctests of every public object of autoops.leads, methods included.

pytest's ``--doctest-modules`` skips methods whose functions live in a private
module once the class is re-exported, so this test finds them explicitly and
also checks that every public callable carries a ``>>>`` example.
"""

from __future__ import annotations

import doctest
import inspect

import pytest

import autoops.leads as leads

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _public_members() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for name in leads.__all__:
        obj = getattr(leads, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out.append((name, obj))
        if inspect.isclass(obj) and not issubclass(obj, dict):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or (inspect.isclass(obj) and issubclass(obj, str)):
                    continue
                func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
                if inspect.isfunction(func) or isinstance(func, property):
                    out.append((f"{name}.{attr}", func))
    return out


@pytest.mark.parametrize(
    ("name", "obj"), _public_members(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_public_member_has_running_example(name: str, obj: object) -> None:
    target = obj.fget if isinstance(obj, property) else obj
    doc = inspect.getdoc(target) or ""
    assert ">>>" in doc, f"{name} has no >>> example"
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(target, name, module=False, globs=dict(vars(leads)))
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"doctest of {name} failed"
