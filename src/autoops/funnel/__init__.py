"""Funnels, retention and monthly actives with one exact definition.

``Funnel`` is a validated, JSON-storable definition; :func:`compute` runs it
over events (numpy columns, pandas/polars/pyarrow tables, autoops tables or
``TouchpointEvent`` lists) with a vectorised engine that agrees exactly with a
brute-force oracle and a DuckDB SQL reference (see ``docs/funnel``).
:func:`retention` builds cohort matrices and :func:`active_users` the
DAU/WAU/MAU series of the private domain.

Examples:
    >>> import numpy as np
    >>> from autoops.funnel import Funnel, compute
    >>> ev = {"one_id": [1, 1, 2], "event": ["lead", "visit", "lead"],
    ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "datetime64[us]")}
    >>> compute(Funnel(steps=["lead", "visit"]), ev).counts.tolist()
    [2, 1]
"""

from __future__ import annotations

from autoops.funnel._active import OUTBOUND_EVENTS, PRIVATE_TOUCHPOINTS, ActiveUsers, active_users
from autoops.funnel._compute import compute
from autoops.funnel._result import FunnelResult, wilson
from autoops.funnel._retention import RetentionTable, retention
from autoops.funnel._spec import Condition, Exclusion, Funnel, Step
from autoops.funnel._trends import TrendTable

__all__ = [
    "OUTBOUND_EVENTS",
    "PRIVATE_TOUCHPOINTS",
    "ActiveUsers",
    "Condition",
    "Exclusion",
    "Funnel",
    "FunnelResult",
    "RetentionTable",
    "Step",
    "TrendTable",
    "active_users",
    "compute",
    "retention",
    "wilson",
]

for _obj in (
    ActiveUsers,
    Condition,
    Exclusion,
    Funnel,
    FunnelResult,
    RetentionTable,
    Step,
    TrendTable,
    active_users,
    compute,
    retention,
    wilson,
):
    _obj.__module__ = "autoops.funnel"
del _obj
