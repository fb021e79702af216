"""Medals (勋章): rule-based awards, once per member, idempotent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_id
from autoops._tabular import Tabular, columns
from autoops._time import to_utc_us
from autoops.errors import ConfigError
from autoops.loyalty._rows import isnone

__all__ = ["MedalAwards", "MedalRule", "MedalRules"]


@attrs.frozen
class MedalRule:
    """Award *medal* when a member's count of *event* reaches *at_least*.

    The award instant is the timestamp of the qualifying (the *at_least*-th)
    event, counting in time order, ties by input order.

    Examples:
        >>> MedalRule("ten_check_ins", "check_in", at_least=10).at_least
        10
        >>> MedalRule("x", "check_in", at_least=0)
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: medals.x.at_least: must be a positive integer [config_error]
    """

    medal: str
    event: str
    at_least: int = 1
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.medal or not self.event:
            raise ConfigError("name the medal and the event", key="medals")
        if (
            isinstance(self.at_least, bool)
            or not isinstance(self.at_least, int)
            or self.at_least < 1
        ):
            raise ConfigError("must be a positive integer", key=f"medals.{self.medal}.at_least")


@attrs.frozen(slots=True, repr=False)
class MedalAwards(Tabular):
    """Medals earned by the events: one row per (member, medal); ``new`` marks first awards.

    Examples:
        >>> import numpy as np
        >>> a = MedalAwards(member_id=np.array(["member-0001"], dtype=object),
        ...                 medal=np.array(["first_test_drive"], dtype=object),
        ...                 awarded_at=np.array(["2026-03-01"], dtype="datetime64[us]"),
        ...                 new=np.array([True]))
        >>> a.summary()
        {'awards': 1, 'new': 1}
    """

    member_id: npt.NDArray[Any]
    medal: npt.NDArray[Any]
    awarded_at: npt.NDArray[Any]
    new: npt.NDArray[np.bool_]

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "member_id": self.member_id,
            "medal": self.medal,
            "awarded_at": self.awarded_at,
            "new": self.new,
        }

    def summary(self) -> dict[str, int]:
        """Counts of qualifying and newly awarded medals.

        Examples:
            >>> import numpy as np
            >>> e = np.array([], dtype=object)
            >>> MedalAwards(member_id=e, medal=e, awarded_at=np.array([], dtype="datetime64[us]"),
            ...             new=np.array([], dtype=bool)).summary()
            {'awards': 0, 'new': 0}
        """
        return {"awards": len(self.medal), "new": int(self.new.sum())}

    def __repr__(self) -> str:
        return short_repr("MedalAwards", **self.summary())

    def _repr_html_(self) -> str:
        rows = [
            [mask_id(m), x, bool(n)]
            for m, x, n in zip(self.member_id, self.medal, self.new, strict=True)
        ]
        return html_table(repr(self), ["member", "medal", "new"], rows)


def _medal_tuple(value: Iterable[MedalRule]) -> tuple[MedalRule, ...]:
    return tuple(value)


@attrs.frozen
class MedalRules:
    """A set of medal rules applied to events in bulk.

    Examples:
        >>> from datetime import datetime, timezone
        >>> rules = MedalRules([MedalRule("first_test_drive", "test_drive")])
        >>> ev = {"member_id": ["member-0001"], "event": ["test_drive"],
        ...       "ts": [datetime(2026, 3, 1, tzinfo=timezone.utc)]}
        >>> rules.apply(ev).medal.tolist()
        ['first_test_drive']
    """

    rules: tuple[MedalRule, ...] = attrs.field(converter=_medal_tuple)

    def __attrs_post_init__(self) -> None:
        names = [r.medal for r in self.rules]
        if len(set(names)) != len(names):
            raise ConfigError("medal names must be unique", key="medals")

    @classmethod
    def automotive_default(cls) -> MedalRules:
        """First test drive, first delivery, ten check-ins, referral champion (5 referrals).

        Examples:
            >>> [r.medal for r in MedalRules.automotive_default().rules][:2]
            ['first_test_drive', 'first_delivery']
        """
        return cls(
            [
                MedalRule("first_test_drive", "test_drive", 1, "took a first test drive"),
                MedalRule("first_delivery", "delivery", 1, "took delivery of a car"),
                MedalRule("ten_check_ins", "check_in", 10, "checked in 10 times"),
                MedalRule("referral_champion", "referral", 5, "referred 5 people"),
            ]
        )

    def apply(self, events: Any, *, member: str = "member_id", ledger: Any = None) -> MedalAwards:
        """Find the medals the events earn; with *ledger*, award them (once per member).

        Args:
            events: a table with *member*, ``event`` and ``ts`` (aware, or
                numpy datetime64 taken as UTC); rows without a member are skipped.
            member: the member column.
            ledger: when given, new medals are stored in one transaction;
                medals the member already has are reported with ``new=False``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> t = datetime(2026, 3, 1, tzinfo=timezone.utc)
            >>> rules = MedalRules([MedalRule("first_test_drive", "test_drive")])
            >>> ev = {"member_id": ["member-0001"], "event": ["test_drive"], "ts": [t]}
            >>> ledger = Ledger()
            >>> rules.apply(ev, ledger=ledger).new.tolist(), rules.apply(ev, ledger=ledger).new.tolist()
            ([True], [False])
        """
        cols = columns(events, [member, "event", "ts"], what="events")
        ts = to_utc_us(cols["ts"], field="ts").astype(np.int64)
        members = cols[member]
        present = members >= 0 if members.dtype.kind in "iu" else ~isnone(members)
        member_str = np.array([str(m) for m in members], dtype=object)
        out_m, out_medal, out_at = [], [], []
        event = cols["event"].astype(object)
        for rule in self.rules:
            idx = np.flatnonzero((event == rule.event) & present & (ts != np.iinfo(np.int64).min))
            if not len(idx):
                continue
            _, codes = np.unique(member_str[idx].astype(str), return_inverse=True)
            order = np.lexsort((idx, ts[idx], codes))
            c = codes[order]
            start = np.ones(len(c), dtype=bool)
            start[1:] = c[1:] != c[:-1]
            first = np.maximum.accumulate(np.where(start, np.arange(len(c)), 0))
            rank = np.arange(len(c)) - first
            hit = idx[order][rank == rule.at_least - 1]
            out_m.append(member_str[hit])
            out_medal.append(np.full(len(hit), rule.medal, dtype=object))
            out_at.append(ts[hit])
        m = np.concatenate(out_m) if out_m else np.array([], dtype=object)
        medal = np.concatenate(out_medal) if out_medal else np.array([], dtype=object)
        at = np.concatenate(out_at) if out_at else np.array([], dtype=np.int64)
        new = np.ones(len(m), dtype=bool)
        if ledger is not None and len(m):
            with ledger.store.session() as s:
                s.lock(sorted(set(m.tolist())))
                have = {(a, b) for a, b, _, _ in s.medals(None)}
                new = np.array(
                    [(a, b) not in have for a, b in zip(m, medal, strict=True)], dtype=bool
                )
                reasons = {r.medal: r.reason for r in self.rules}
                s.add_medals(
                    [
                        (str(a), str(b), int(t), reasons[b])
                        for a, b, t in zip(m[new], medal[new], at[new], strict=True)
                    ]
                )
        return MedalAwards(member_id=m, medal=medal, awarded_at=at.view("datetime64[us]"), new=new)
