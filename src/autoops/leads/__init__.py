"""Leads (线索): grading, de-duplication, dealer assignment, follow-up SLA,
lead quality and defeated-lead reactivation.

Every function takes lead columns (a mapping of arrays, a pandas, polars or
pyarrow table, ``data.leads`` of the synthetic dataset) or a list of
:class:`autoops.models.Lead` models, and returns a result holding numpy arrays
aligned with the input rows, with ``summary()``, ``to_pandas()`` /
``to_polars()`` and a masked ``repr``. Rules are typed policy objects with
automotive defaults.

Examples:
    >>> from autoops.leads import GradeProfile
    >>> GradeProfile.common().horizons["H"]
    7
"""

from __future__ import annotations

import contextlib

from autoops.leads._assign import Assignment, AssignPolicy, assign_leads, quota_sequence
from autoops.leads._calendar import BusinessCalendar
from autoops.leads._dedupe import Deduplication, dedupe_leads
from autoops.leads._grade import Grading, GradingPolicy, grade_leads
from autoops.leads._profile import GRADE_DEFINITIONS, GradeProfile, next_followup_due
from autoops.leads._quality import FLAGS, LeadQuality, QualityPolicy, lead_quality
from autoops.leads._reactivate import Reactivation, reactivation_candidates
from autoops.leads._sla import DealerSla, SlaReport, sla_report
from autoops.leads._state import (
    TRANSITIONS,
    DefeatReason,
    LeadLifecycle,
    StatusChange,
    can_transition,
    check_transitions,
)

__all__ = [
    "FLAGS",
    "GRADE_DEFINITIONS",
    "TRANSITIONS",
    "AssignPolicy",
    "Assignment",
    "BusinessCalendar",
    "DealerSla",
    "Deduplication",
    "DefeatReason",
    "GradeProfile",
    "Grading",
    "GradingPolicy",
    "LeadLifecycle",
    "LeadQuality",
    "QualityPolicy",
    "Reactivation",
    "SlaReport",
    "StatusChange",
    "assign_leads",
    "can_transition",
    "check_transitions",
    "dedupe_leads",
    "grade_leads",
    "lead_quality",
    "next_followup_due",
    "quota_sequence",
    "reactivation_candidates",
    "sla_report",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, dict | frozenset):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "autoops.leads"
del _name, _obj
