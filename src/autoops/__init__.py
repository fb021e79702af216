"""autoops: automotive user operations for car makers and dealers.

Typed models, One ID identity merging, funnels and segments, lead management,
a loyalty ledger and channel clients. Subpackages load on first use, so
``import autoops`` stays cheap and pulls in no optional extra.

Examples:
    >>> import autoops
    >>> autoops.__version__
    '0.1.0.dev0'
    >>> autoops.datasets.synthetic(people=10, seed=1).people.person_id.size
    10
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_SUBPACKAGES = (
    "channels",
    "datasets",
    "errors",
    "funnel",
    "identity",
    "leads",
    "loyalty",
    "models",
    "segment",
)

__all__ = ["__version__", *_SUBPACKAGES]

if TYPE_CHECKING:
    from autoops import (  # noqa: F401
        channels,
        datasets,
        errors,
        funnel,
        identity,
        leads,
        loyalty,
        models,
        segment,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"autoops.{name}")
    raise AttributeError(f"module 'autoops' has no attribute {name!r}")
