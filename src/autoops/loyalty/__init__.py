"""Loyalty: a points ledger with growth values, tiers and medals.

Points (积分) are earned for activity and spent in the brand mall; growth
value (成长值) is never spent and drives tiers (等级); medals (勋章) are side
rewards. The :class:`Ledger` keeps integer points in lots that expire
earliest-first, with holds, pending (locked) points, reversals with named
policies, idempotency keys and an invariant checker, over a
:class:`MemoryStore`, a :class:`SQLiteStore` (the embedded default) or a
:class:`PostgresStore` (production; ``[postgres]`` extra, loaded lazily).

Examples:
    >>> from autoops.loyalty import Ledger
    >>> ledger = Ledger()
    >>> _ = ledger.earn("member-0001", 200, reason="purchase", key="order-1")
    >>> ledger.balance("member-0001").available
    200
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autoops.loyalty._core import MAX_POINTS, Ledger
from autoops.loyalty._expiry import ExpiryPolicy
from autoops.loyalty._growth import GrowthProgram, TierChanges
from autoops.loyalty._medals import MedalAwards, MedalRule, MedalRules
from autoops.loyalty._results import EarnBatch, ExpiryReport
from autoops.loyalty._rules import ActionRule, Campaign, EarningRules, EarnInstructions
from autoops.loyalty._sqlite import SQLiteStore
from autoops.loyalty._store import LedgerStore, MemoryStore

if TYPE_CHECKING:
    from autoops.loyalty._postgres import PostgresStore

__all__ = [
    "MAX_POINTS",
    "ActionRule",
    "Campaign",
    "EarnBatch",
    "EarnInstructions",
    "EarningRules",
    "ExpiryPolicy",
    "ExpiryReport",
    "GrowthProgram",
    "Ledger",
    "LedgerStore",
    "MedalAwards",
    "MedalRule",
    "MedalRules",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "TierChanges",
]

for _obj in (
    ActionRule,
    Campaign,
    EarnBatch,
    EarnInstructions,
    EarningRules,
    ExpiryPolicy,
    ExpiryReport,
    GrowthProgram,
    Ledger,
    LedgerStore,
    MedalAwards,
    MedalRule,
    MedalRules,
    MemoryStore,
    SQLiteStore,
    TierChanges,
):
    _obj.__module__ = __name__
del _obj


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from autoops.loyalty._postgres import PostgresStore

        PostgresStore.__module__ = __name__
        return PostgresStore
    raise AttributeError(f"module 'autoops.loyalty' has no attribute {name!r}")
