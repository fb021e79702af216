"""Lazy imports of optional extras, with an error that names the extra."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from autoops.errors import MissingExtraError

__all__ = ["available", "require"]


def require(module: str, extra: str) -> ModuleType:
    """Import *module*, or raise :class:`MissingExtraError` naming *extra*.

    Examples:
        >>> require("json", "core").__name__
        'json'
        >>> require("no_such_module_here", "pandas")
        Traceback (most recent call last):
        ...
        autoops.errors.MissingExtraError: this feature needs no_such_module_here: pip install 'autoops[pandas]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module.split(".")[0], extra) from exc


def available(module: str) -> bool:
    """Whether *module* can be imported (without importing it).

    Examples:
        >>> available("json"), available("no_such_module_here")
        (True, False)
    """
    return importlib.util.find_spec(module) is not None
