"""Segmentation: RFM, activity tiers, lifecycle stages, intent scores, audiences.

Every function takes columns (numpy arrays, lists, pandas/polars/pyarrow
series, or column names with ``data=`` a table), an explicit ``as_of``
instant, and returns a frozen result holding per-person arrays sorted by
person id, with ``summary()``, ``to_pandas()``/``to_polars()`` and
``_repr_html_``. Windows are exact durations measured back from ``as_of``
with both edges included; rows after ``as_of`` are ignored.
"""

from __future__ import annotations

from autoops.segment._activity import TIERS, ActivityTiers, activity_tiers
from autoops.segment._common import OUTBOUND_EVENTS, SummaryTable
from autoops.segment._evaluate import AudienceResult, Explanation
from autoops.segment._intent import IntentScores, IntentWeights, intent_scores
from autoops.segment._lifecycle import (
    ORIENTATIONS,
    STAGES,
    LifecycleRules,
    LifecycleStages,
    ValueOrientation,
    lifecycle_stages,
    value_orientation,
)
from autoops.segment._matrix import DEFAULT_STRATEGIES, IntentMatrix, intent_matrix
from autoops.segment._rfm import RFM, RFM_SEGMENTS, RFMThresholds, ntile, rfm
from autoops.segment._rules import Audience, Field, all_of, any_of, attr, count, score, tag

__all__ = [
    "DEFAULT_STRATEGIES",
    "ORIENTATIONS",
    "OUTBOUND_EVENTS",
    "RFM",
    "RFM_SEGMENTS",
    "STAGES",
    "TIERS",
    "ActivityTiers",
    "Audience",
    "AudienceResult",
    "Explanation",
    "Field",
    "IntentMatrix",
    "IntentScores",
    "IntentWeights",
    "LifecycleRules",
    "LifecycleStages",
    "RFMThresholds",
    "SummaryTable",
    "ValueOrientation",
    "activity_tiers",
    "all_of",
    "any_of",
    "attr",
    "count",
    "intent_matrix",
    "intent_scores",
    "lifecycle_stages",
    "ntile",
    "rfm",
    "score",
    "tag",
    "value_orientation",
]


for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
