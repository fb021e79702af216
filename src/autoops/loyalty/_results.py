"""Tabular results of bulk ledger operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_id
from autoops._tabular import Tabular

__all__ = ["EarnBatch", "ExpiryReport"]


@attrs.frozen(slots=True, repr=False)
class ExpiryReport(Tabular):
    """What one ``Ledger.expire()`` run expired: one row per member with expired points.

    Attributes:
        member_id: the member (object array).
        transaction_id: the ``expire`` transaction written for that member.
        points: points expired (int64).
        as_of: the instant the run expired up to (inclusive).
        holds_released: overdue holds lapsed by the run.

    Examples:
        >>> import numpy as np
        >>> from datetime import datetime, timezone
        >>> r = ExpiryReport(member_id=np.array(["member-0001"], dtype=object),
        ...                  transaction_id=np.array(["tx_1"], dtype=object),
        ...                  points=np.array([10]), as_of=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> r.total, r
        (10, ExpiryReport(members=1, points=10, holds_released=0))
    """

    member_id: npt.NDArray[Any]
    transaction_id: npt.NDArray[Any]
    points: npt.NDArray[np.int64]
    as_of: datetime
    holds_released: int = 0

    @property
    def total(self) -> int:
        """Points expired in all.

        Examples:
            >>> import numpy as np
            >>> from datetime import datetime, timezone
            >>> ExpiryReport(member_id=np.array([], dtype=object), transaction_id=np.array([], dtype=object),
            ...              points=np.array([], dtype=np.int64), as_of=datetime(2026, 1, 1, tzinfo=timezone.utc)).total
            0
        """
        return int(self.points.sum())

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "member_id": self.member_id,
            "transaction_id": self.transaction_id,
            "points": self.points,
        }

    def summary(self) -> dict[str, Any]:
        """Headline figures.

        Examples:
            >>> import numpy as np
            >>> from datetime import datetime, timezone
            >>> ExpiryReport(member_id=np.array([], dtype=object), transaction_id=np.array([], dtype=object),
            ...              points=np.array([], dtype=np.int64), as_of=datetime(2026, 1, 1, tzinfo=timezone.utc)).summary()["points"]
            0
        """
        return {
            "members": len(self.member_id),
            "points": self.total,
            "holds_released": self.holds_released,
            "as_of": self.as_of.isoformat(),
        }

    def __repr__(self) -> str:
        return short_repr("ExpiryReport", members=len(self.member_id), points=self.total,
                          holds_released=self.holds_released)  # fmt: skip

    def _repr_html_(self) -> str:
        rows = [[mask_id(m), int(p)] for m, p in zip(self.member_id, self.points, strict=True)]
        return html_table(repr(self), ["member", "points expired"], rows)


@attrs.frozen(slots=True, repr=False)
class EarnBatch(Tabular):
    """Per-row outcome of ``Ledger.earn_many()``, aligned with the input rows.

    ``status`` is ``"earned"`` (written now), ``"duplicate"`` (the key was
    already used with the same payload: nothing written, ``transaction_id``
    is the original) or ``"failed"`` (``error`` says why; nothing written for
    that row, the other rows are unaffected).

    Examples:
        >>> import numpy as np
        >>> b = EarnBatch(transaction_id=np.array(["tx_1", None], dtype=object),
        ...               status=np.array(["earned", "failed"], dtype=object),
        ...               error=np.array([None, "points: must be positive"], dtype=object))
        >>> b.summary()
        {'rows': 2, 'earned': 1, 'duplicate': 0, 'failed': 1}
    """

    transaction_id: npt.NDArray[Any]
    status: npt.NDArray[Any]
    error: npt.NDArray[Any]

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {"transaction_id": self.transaction_id, "status": self.status, "error": self.error}

    def summary(self) -> dict[str, int]:
        """Counts of rows by status.

        Examples:
            >>> import numpy as np
            >>> EarnBatch(transaction_id=np.array([], dtype=object), status=np.array([], dtype=object),
            ...           error=np.array([], dtype=object)).summary()["rows"]
            0
        """
        return {
            "rows": len(self.status),
            "earned": int((self.status == "earned").sum()),
            "duplicate": int((self.status == "duplicate").sum()),
            "failed": int((self.status == "failed").sum()),
        }

    def __repr__(self) -> str:
        return short_repr("EarnBatch", **self.summary())

    def _repr_html_(self) -> str:
        rows = [
            [i, s, e or ""] for i, (s, e) in enumerate(zip(self.status, self.error, strict=True))
        ]
        return html_table(repr(self), ["row", "status", "error"], rows)
