"""Run the doctests of public methods and properties, which ``--doctest-modules`` misses.

Once a class is re-exported with its public ``__module__``, pytest's doctest
collection finds the class docstring in the package's ``__init__`` but skips
its methods: their functions' globals belong to the private module. This test
finds every public method and property of every public class and runs its
examples with the private module's globals plus the package's public names.
Functions and class docstrings are left to ``--doctest-modules``.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
from typing import Any

import pytest

import autoops

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def public_methods() -> list[tuple[str, Any, str]]:
    found: list[tuple[str, Any, str]] = []
    for package_name in autoops.__all__:
        if package_name == "__version__":
            continue
        try:
            package = importlib.import_module(f"autoops.{package_name}")
        except ModuleNotFoundError:
            continue
        for name in getattr(package, "__all__", ()):
            cls = getattr(package, name)
            if not inspect.isclass(cls) or getattr(cls, "_is_protocol", False):
                continue  # a Protocol's methods are signatures, documented on the implementations
            for attr, member in vars(cls).items():
                if attr.startswith("_"):
                    continue
                target = (
                    member.__func__ if isinstance(member, classmethod | staticmethod) else member
                )
                target = target.fget if isinstance(target, property) else target
                if not inspect.isfunction(target) or target.__module__.startswith("pydantic"):
                    continue
                found.append((f"{package.__name__}.{name}.{attr}", target, package.__name__))
    return found


@pytest.mark.parametrize(
    ("name", "target", "package"),
    public_methods(),
    ids=lambda v: v if isinstance(v, str) and "." in v and v.count(".") > 1 else "",
)
def test_method_examples_run(name: str, target: Any, package: str) -> None:
    globs = dict(vars(importlib.import_module(target.__module__)))
    globs.update(
        {
            k: getattr(importlib.import_module(package), k)
            for k in importlib.import_module(package).__all__
        }
    )
    tests = doctest.DocTestFinder(recurse=False).find(target, name, module=False, globs=globs)
    examples = [ex for t in tests for ex in t.examples]
    assert examples, f"{name} has no >>> example"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=lambda _text: None)
    assert runner.failures == 0, f"{runner.failures} example(s) of {name} failed"
