"""Typed records that cross boundaries (pydantic v2; frozen; extra fields forbidden).

Every model masks personal data in its ``repr``, never echoes input values in
validation errors, and refuses naive datetimes unless the caller names the
zone to assume (``Model.model_validate(data, context={"assume_tz": "Asia/Shanghai"})``
or ``Model.from_rows(rows, assume_tz="Asia/Shanghai")``).

Examples:
    >>> from autoops.models import TouchpointKind, normalize_phone
    >>> TouchpointKind.WECOM.domain.value
    'private'
    >>> normalize_phone("(+86)13812345678").e164
    '+8613812345678'
"""

from __future__ import annotations

import contextlib

from autoops.models._base import Instant, Record
from autoops.models._events import TouchpointEvent
from autoops.models._identifiers import Identifiers, normalize_email, normalize_vin
from autoops.models._lead import Lead, LeadGrade, LeadStatus
from autoops.models._loyalty import (
    Award,
    Balance,
    Finding,
    GrowthEvent,
    Hold,
    HoldState,
    LotMove,
    Medal,
    PointsTransaction,
    Tier,
    TxKind,
)
from autoops.models._member import Consent, ConsentGrant, Dealer, Member, Purpose
from autoops.models._phone import PhoneBatch, PhoneResult, normalize_phone, normalize_phones
from autoops.models._touchpoint import Domain, TouchpointKind

__all__ = [
    "Award",
    "Balance",
    "Consent",
    "ConsentGrant",
    "Dealer",
    "Domain",
    "Finding",
    "GrowthEvent",
    "Hold",
    "HoldState",
    "Identifiers",
    "Instant",
    "Lead",
    "LeadGrade",
    "LeadStatus",
    "LotMove",
    "Medal",
    "Member",
    "PhoneBatch",
    "PhoneResult",
    "PointsTransaction",
    "Purpose",
    "Record",
    "Tier",
    "TouchpointEvent",
    "TouchpointKind",
    "TxKind",
    "normalize_email",
    "normalize_phone",
    "normalize_phones",
    "normalize_vin",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, str):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = __name__
del _name, _obj
