"""One ID: merge records into people without fusing strangers, with the evidence.

Examples:
    >>> from autoops.identity import resolve
    >>> res = resolve({"phone": ["13812345670", "+86 138 1234 5670"]})
    >>> res.people
    1
"""

from __future__ import annotations

from autoops.identity._graph import Created, IdentityGraph, Merged, MergeDelta, Split
from autoops.identity._resolution import (
    Evaluation,
    Evidence,
    Explanation,
    Health,
    Resolution,
    Table,
)
from autoops.identity._resolve import resolve
from autoops.identity._rules import IdType, MergeRules

__all__ = [
    "Created",
    "Evaluation",
    "Evidence",
    "Explanation",
    "Health",
    "IdType",
    "IdentityGraph",
    "MergeDelta",
    "MergeRules",
    "Merged",
    "Resolution",
    "Split",
    "Table",
    "resolve",
]

# doctest skips methods whose class claims another module: list them explicitly
__test__ = {}
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        for _attr, _member in vars(_obj).items():
            _func = getattr(_member, "__func__", _member)
            if callable(_func) and getattr(_func, "__doc__", None) and not _attr.startswith("_"):
                __test__[f"{_name}.{_attr}"] = _func
    _obj.__module__ = "autoops.identity"
del _name, _obj
