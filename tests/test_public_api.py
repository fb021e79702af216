"""The public surface: pinned names, docstrings with runnable examples, no eager extras."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

import autoops

PACKAGES = [name for name in autoops.__all__ if name != "__version__"]


def public_modules() -> list[ModuleType]:
    modules = []
    for name in PACKAGES:
        try:
            modules.append(importlib.import_module(f"autoops.{name}"))
        except ModuleNotFoundError:
            continue
    return modules


def test_subpackages_exist() -> None:
    assert {m.__name__ for m in public_modules()} >= {
        "autoops.models",
        "autoops.datasets",
        "autoops.errors",
    }


@pytest.mark.parametrize("module", public_modules(), ids=lambda m: m.__name__)
def test_all_resolves_without_duplicates(module: ModuleType) -> None:
    names = list(module.__all__)  # ruff's RUF022 keeps it sorted
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", public_modules(), ids=lambda m: m.__name__)
def test_every_public_callable_has_a_runnable_example(module: ModuleType) -> None:
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if getattr(obj, "_is_protocol", False):
            continue  # a Protocol is documented by its implementations' examples
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc:
            missing.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member)
                    or isinstance(member, property | classmethod | staticmethod)
                ):
                    continue
                target = (
                    member.fget
                    if isinstance(member, property)
                    else getattr(member, "__func__", member)
                )
                if target is None or getattr(target, "__module__", "").startswith("pydantic"):
                    continue
                if ">>>" not in (inspect.getdoc(target) or ""):
                    missing.append(f"{name}.{attr}")
    assert not missing, f"public API without a >>> example: {missing}"


@pytest.mark.parametrize("module", public_modules(), ids=lambda m: m.__name__)
def test_reexports_carry_the_public_module(module: ModuleType) -> None:
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == module.__name__, f"{name}.__module__ is {obj.__module__}"


def test_import_loads_no_extra() -> None:
    code = (
        "import sys, autoops, autoops.models, autoops.datasets, autoops.errors;"
        "extras = ['pandas', 'polars', 'pyarrow', 'duckdb', 'matplotlib', 'phonenumbers', 'psycopg',"
        " 'redis', 'cryptography', 'scipy', 'networkx'];"
        "print(','.join(m for m in extras if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoops.datasets import synthetic
    from autoops.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(MissingExtraError, match=r"autoops\[polars\]") as info:
        synthetic(people=5, seed=1).people.to_polars()
    assert info.value.extra == "polars"
    assert isinstance(info.value, ImportError)
