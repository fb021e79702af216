"""Tiers (等级) from growth value: windows, upgrades, downgrade policies, previews."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_id
from autoops._tabular import Tabular
from autoops._time import DEFAULT_TZ, aware, local_naive
from autoops.errors import ConfigError, InvalidInput
from autoops.loyalty._rows import from_us, to_us
from autoops.models._loyalty import Tier

__all__ = ["GrowthProgram", "TierChanges"]

_ROLLING = re.compile(r"^(\d+)d$")
_DOWNGRADES = ("none", "after_days", "one_down", "balance_based")
_DAY_US = 86_400_000_000


@attrs.frozen(slots=True, repr=False)
class TierChanges(Tabular):
    """Tier changes decided by one ``GrowthProgram.evaluate()`` run (changed members only).

    ``from_tier`` is ``None`` for a member's first tier; ``growth`` is the
    growth value in the window at ``as_of``; ``reason`` says why.

    Examples:
        >>> import numpy as np
        >>> from datetime import datetime, timezone
        >>> t = TierChanges(member_id=np.array(["member-0001"], dtype=object),
        ...     from_tier=np.array(["silver"], dtype=object), to_tier=np.array(["gold"], dtype=object),
        ...     growth=np.array([1200]), reason=np.array(["upgrade"], dtype=object),
        ...     as_of=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> t.summary()["upgrades"]
        1
    """

    member_id: npt.NDArray[Any]
    from_tier: npt.NDArray[Any]
    to_tier: npt.NDArray[Any]
    growth: npt.NDArray[np.int64]
    reason: npt.NDArray[Any]
    as_of: datetime

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "member_id": self.member_id,
            "from_tier": self.from_tier,
            "to_tier": self.to_tier,
            "growth": self.growth,
            "reason": self.reason,
        }

    def summary(self) -> dict[str, int]:
        """Counts of joins, upgrades and downgrades.

        Examples:
            >>> import numpy as np
            >>> from datetime import datetime, timezone
            >>> e = np.array([], dtype=object)
            >>> TierChanges(member_id=e, from_tier=e, to_tier=e, growth=np.array([], dtype=np.int64),
            ...             reason=e, as_of=datetime(2026, 1, 1, tzinfo=timezone.utc)).summary()
            {'changes': 0, 'joins': 0, 'upgrades': 0, 'downgrades': 0}
        """
        reasons = self.reason.astype(str) if len(self.reason) else np.array([], dtype=str)
        return {
            "changes": len(self.member_id),
            "joins": int(np.char.startswith(reasons, "join").sum()),
            "upgrades": int(np.char.startswith(reasons, "upgrade").sum()),
            "downgrades": int(np.char.startswith(reasons, "downgrade").sum()),
        }

    def __repr__(self) -> str:
        return short_repr("TierChanges", **self.summary())

    def _repr_html_(self) -> str:
        rows = [
            [mask_id(m), f or "", t, int(g), r]
            for m, f, t, g, r in zip(
                self.member_id, self.from_tier, self.to_tier, self.growth, self.reason, strict=True
            )
        ]
        return html_table(repr(self), ["member", "from", "to", "growth", "reason"], rows)


def _tier_tuple(value: Iterable[Tier]) -> tuple[Tier, ...]:
    return tuple(value)


@attrs.frozen
class GrowthProgram:
    """Tiers by growth value, with a counting window and a downgrade policy.

    A member's level is the highest tier whose ``threshold`` their growth
    value in the *window* reaches. Windows: ``"cumulative"`` (all time),
    ``"calendar_year"`` (the local calendar year of ``as_of`` in *tz*), or
    rolling ``"365d"`` (the N days up to and including ``as_of``). Growth
    reversals count at the instant of the growth they reverse. Upgrades take
    effect at once. When the value falls below the current tier, *downgrade*
    decides: ``"none"`` (never), ``"after_days"`` (after *grace_days* below,
    straight to the supported tier), ``"one_down"`` (one level per
    evaluation) or ``"balance_based"`` (straight to the supported tier).
    Tier state is stored in the ledger's store; evaluating again at the same
    instant changes nothing.

    The program works on the ledger given to each method
    (``program.evaluate(ledger, as_of)``) or on the one it holds: pass
    ``ledger=`` on construction or call :meth:`bind`, then write
    ``program.evaluate(as_of)``, ``program.required_to_keep(member_id)``,
    ``program.distribution()`` and so on. An explicit ledger argument always
    wins over the held one.

    Raises:
        ConfigError: no tiers, thresholds not strictly increasing from 0,
            duplicate names, an unknown window or downgrade policy.

    Examples:
        >>> from autoops.models import Tier
        >>> p = GrowthProgram([Tier(name="silver", threshold=0), Tier(name="gold", threshold=1000)],
        ...                   window="365d", downgrade="one_down")
        >>> p.window_days
        365
        >>> from autoops.loyalty import Ledger
        >>> bound = GrowthProgram([Tier(name="silver", threshold=0)], ledger=Ledger())
        >>> bound.distribution()
        {'silver': 0}
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_tier_tuple)
    window: str = "cumulative"
    downgrade: str = "none"
    grace_days: int = 30
    tz: str = DEFAULT_TZ
    ledger: Any = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError("give at least one tier", key="tiers")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds[0] != 0 or any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ConfigError("thresholds must start at 0 and strictly increase", key="tiers")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ConfigError("tier names must be unique", key="tiers")
        if self.window not in ("cumulative", "calendar_year") and not _ROLLING.match(self.window):
            raise ConfigError("use 'cumulative', 'calendar_year' or 'Nd' (rolling)", key="window")
        if self.downgrade not in _DOWNGRADES:
            raise ConfigError(f"use one of {_DOWNGRADES}", key="downgrade")
        if self.grace_days < 0:
            raise ConfigError("must be non-negative", key="grace_days")

    @property
    def window_days(self) -> int | None:
        """The rolling window length in days, or ``None``.

        Examples:
            >>> from autoops.models import Tier
            >>> GrowthProgram([Tier(name="base", threshold=0)]).window_days is None
            True
        """
        match = _ROLLING.match(self.window)
        return int(match.group(1)) if match else None

    def bind(self, ledger: Any) -> GrowthProgram:
        """The same program holding *ledger*, so methods need no ledger argument.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> ledger = Ledger(clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc))
            >>> _ = ledger.grow("member-0001", 150, reason="referral", key="g")
            >>> p = GrowthProgram([Tier(name="silver", threshold=0),
            ...                    Tier(name="gold", threshold=100)]).bind(ledger)
            >>> p.evaluate(datetime(2026, 1, 3, tzinfo=timezone.utc)).to_tier.tolist()
            ['gold']
            >>> p.required_to_keep("member-0001")["tier"]
            'gold'
        """
        return attrs.evolve(self, ledger=ledger)

    def _ledger(self, ledger: Any) -> Any:
        found = self.ledger if ledger is None else ledger
        if found is None:
            msg = (
                "give a ledger: GrowthProgram(..., ledger=...), program.bind(ledger) or an argument"
            )
            raise ConfigError(msg, key="ledger")
        return found

    def _ledger_and_instant(self, ledger: Any, as_of: datetime | None) -> tuple[Any, datetime]:
        if isinstance(ledger, datetime):  # the bound form: evaluate(as_of)
            if as_of is not None:
                raise InvalidInput("give as_of once", field="as_of")
            ledger, as_of = None, ledger
        found = self._ledger(ledger)
        when = found.clock() if as_of is None else as_of
        if not isinstance(when, datetime):
            raise InvalidInput(
                f"expected an aware datetime, got {type(when).__name__}", field="as_of"
            )
        return found, aware(when, field="as_of")

    def _in_window(self, ts: npt.NDArray[np.int64], as_of: int) -> npt.NDArray[np.bool_]:
        inside = ts <= as_of
        days = self.window_days
        if days is not None:
            inside &= ts > as_of - days * _DAY_US
        elif self.window == "calendar_year":
            years = local_naive(ts.view("datetime64[us]"), self.tz).astype("datetime64[Y]")
            year = local_naive(np.array([as_of], dtype=np.int64).view("datetime64[us]"), self.tz)
            inside &= years == year.astype("datetime64[Y]")[0]
        return inside

    def values(self, ledger: Any = None, as_of: datetime | None = None) -> dict[str, int]:
        """Growth value in the window at *as_of*, per member with any growth.

        *ledger* may be left out when the program holds one (then
        ``values(as_of)``); *as_of* defaults to the ledger's now.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> ledger = Ledger()
            >>> _ = ledger.grow("member-0001", 30, reason="post", key="g",
            ...                 occurred_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
            >>> GrowthProgram([Tier(name="base", threshold=0)]).values(
            ...     ledger, datetime(2026, 2, 1, tzinfo=timezone.utc))
            {'member-0001': 30}
        """
        ledger, as_of = self._ledger_and_instant(ledger, as_of)
        members, values = self._values(ledger, to_us(as_of))
        return dict(zip(members.tolist(), values.tolist(), strict=True))

    def _values(self, ledger: Any, as_of: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        with ledger.store.session(write=False) as s:
            rows = s.growth_rows()
        if not rows:
            return np.array([], dtype=object), np.array([], dtype=np.int64)
        member = np.array([r[0] for r in rows], dtype=object)
        ts = np.array([r[1] for r in rows], dtype=np.int64)
        delta = np.array([r[2] for r in rows], dtype=np.int64)
        uniques, codes = np.unique(member.astype(str), return_inverse=True)
        inside = self._in_window(ts, as_of)
        sums = np.bincount(codes[inside], weights=delta[inside], minlength=len(uniques))
        return uniques.astype(object), np.maximum(sums, 0).astype(np.int64)

    def _level(self, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        thresholds = np.array([t.threshold for t in self.tiers], dtype=np.int64)
        return (np.searchsorted(thresholds, values, side="right") - 1).astype(np.int64)

    def evaluate(self, ledger: Any = None, as_of: datetime | None = None) -> TierChanges:
        """Decide and store every member's tier at *as_of*; return the changes.

        Two forms: ``evaluate(ledger, as_of)``, and ``evaluate(as_of)`` on a
        program that holds its ledger (``ledger=`` or :meth:`bind`); *as_of*
        defaults to the ledger's now and must be timezone-aware.

        Raises:
            ConfigError: no ledger given and none held.
            InvalidInput: *as_of* naive or not a datetime.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> ledger = Ledger(clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc))
            >>> p = GrowthProgram([Tier(name="silver", threshold=0), Tier(name="gold", threshold=100)])
            >>> _ = ledger.grow("member-0001", 150, reason="referral", key="g")
            >>> p.evaluate(ledger, datetime(2026, 1, 3, tzinfo=timezone.utc)).to_tier.tolist()
            ['gold']
            >>> len(p.evaluate(ledger, datetime(2026, 1, 3, tzinfo=timezone.utc)))
            0
        """
        ledger, as_of = self._ledger_and_instant(ledger, as_of)
        at = to_us(as_of)
        members, values = self._values(ledger, at)
        with ledger.store.session(write=False) as s:
            states = s.tier_states()
        extra = sorted(set(states) - set(members.tolist()))
        if extra:
            members = np.concatenate([members, np.array(extra, dtype=object)])
            values = np.concatenate([values, np.zeros(len(extra), dtype=np.int64)])
        names = [t.name for t in self.tiers]
        index = {name: i for i, name in enumerate(names)}
        current = np.array([index.get(states.get(m, (None, None, None))[0] or "", -1) for m in members],
                           dtype=np.int64)  # fmt: skip
        below = np.array(
            [states.get(m, (None, None, None))[2] or -1 for m in members], dtype=np.int64
        )
        target = self._level(values)
        new = current.copy()
        reason = np.full(len(members), None, dtype=object)
        up = target > current
        new[up] = target[up]
        reason[up & (current < 0)] = "join"
        reason[up & (current >= 0)] = "upgrade: growth reached the threshold"
        down = target < current
        new_below = np.where(down, np.where(below >= 0, below, at), -1)
        if self.downgrade == "one_down":
            new[down] = current[down] - 1
            reason[down] = "downgrade: one level below the threshold"
        elif self.downgrade == "balance_based":
            new[down] = target[down]
            reason[down] = "downgrade: to the level the growth supports"
        elif self.downgrade == "after_days":
            due = down & (at - new_below >= self.grace_days * _DAY_US)
            new[due] = target[due]
            reason[due] = f"downgrade: below the threshold for {self.grace_days} days"
            new_below[due] = -1
        changed = new != current
        rows = []
        for i in np.flatnonzero(changed | (new_below != below)):
            m = str(members[i])
            since = at if changed[i] else states.get(m, (None, at, None))[1]
            rows.append((m, names[new[i]], since, None if new_below[i] < 0 else int(new_below[i])))
        if rows:
            with ledger.store.session() as s:
                s.write_tiers(rows)
        idx = np.flatnonzero(changed)
        tier_names = np.array(names, dtype=object)
        return TierChanges(
            member_id=members[idx].astype(object),
            from_tier=np.array([names[c] if c >= 0 else None for c in current[idx]], dtype=object),
            to_tier=tier_names[new[idx]] if len(idx) else np.array([], dtype=object),
            growth=values[idx],
            reason=reason[idx],
            as_of=as_of,
        )

    def current(self, ledger: Any = None) -> dict[str, str]:
        """Each member's stored tier (as of the last evaluation).

        Examples:
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> GrowthProgram([Tier(name="base", threshold=0)]).current(Ledger())
            {}
        """
        with self._ledger(ledger).store.session(write=False) as s:
            return {m: t for m, (t, _, _) in s.tier_states().items() if t is not None}

    def distribution(self, ledger: Any = None) -> dict[str, int]:
        """Members per tier (every tier listed, lowest first).

        Examples:
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> GrowthProgram([Tier(name="base", threshold=0)]).distribution(Ledger())
            {'base': 0}
        """
        counts = dict.fromkeys((t.name for t in self.tiers), 0)
        for tier in self.current(self._ledger(ledger)).values():
            if tier in counts:
                counts[tier] += 1
        return counts

    def multipliers(self, ledger: Any = None) -> dict[str, float]:
        """Member → the points multiplier of their tier (feed to ``EarningRules.apply``).

        Examples:
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> GrowthProgram([Tier(name="base", threshold=0)]).multipliers(Ledger())
            {}
        """
        factor = {t.name: t.multiplier for t in self.tiers}
        return {m: factor[t] for m, t in self.current(self._ledger(ledger)).items() if t in factor}

    def required_to_keep(
        self,
        ledger: Any,
        member_id: str | datetime | None = None,
        as_of: datetime | None = None,
        *,
        by: datetime | None = None,
    ) -> dict[str, Any]:
        """Preview what a member needs to keep their current tier.

        Two forms: ``required_to_keep(ledger, member_id, as_of)`` and, on a
        program holding its ledger, ``required_to_keep(member_id, as_of)``
        (the issue's ``required_to_keep(member_id)``); *as_of* defaults to the
        ledger's now.

        Counts the growth already earned (up to *as_of*) that will still be in
        the window at *by* — the end of the calendar year for
        ``calendar_year``, *as_of* + 30 days otherwise — and returns the
        shortfall against the current tier's threshold.

        Returns:
            ``{"tier", "threshold", "counted_at_by", "required", "by"}``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> from autoops.models import Tier
            >>> ledger = Ledger(clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc))
            >>> p = GrowthProgram([Tier(name="silver", threshold=0), Tier(name="gold", threshold=100)],
            ...                   window="30d")
            >>> _ = ledger.grow("member-0001", 120, reason="referral", key="g")
            >>> _ = p.evaluate(ledger, datetime(2026, 1, 3, tzinfo=timezone.utc))
            >>> p.required_to_keep(ledger, "member-0001", datetime(2026, 1, 3, tzinfo=timezone.utc))["required"]
            100
        """
        if isinstance(ledger, str):  # the bound form: required_to_keep(member_id, as_of)
            if as_of is not None:
                raise InvalidInput("too many arguments for the bound form", field="as_of")
            ledger, member_id, as_of = None, ledger, member_id  # type: ignore[assignment]
        if not isinstance(member_id, str):
            raise InvalidInput("must be a member id string", field="member_id")
        ledger, as_of = self._ledger_and_instant(ledger, as_of)
        at = to_us(as_of)
        if by is None:
            if self.window == "calendar_year":
                local = local_naive(np.array([at], dtype=np.int64).view("datetime64[us]"), self.tz)
                year_end = (local.astype("datetime64[Y]") + np.timedelta64(1, "Y")).astype(
                    "datetime64[us]"
                )
                offset = local.astype(np.int64)[0] - at
                end = int(year_end.astype(np.int64)[0]) - offset - 1
            else:
                end = at + 30 * _DAY_US
        else:
            end = to_us(by)
        tier_name = self.current(ledger).get(member_id, self.tiers[0].name)
        threshold = next(t.threshold for t in self.tiers if t.name == tier_name)
        with ledger.store.session(write=False) as s:
            rows = [r for r in s.growth_rows() if r[0] == member_id and r[1] <= at]
        ts = np.array([r[1] for r in rows], dtype=np.int64)
        delta = np.array([r[2] for r in rows], dtype=np.int64)
        counted = int(delta[self._in_window(ts, end)].sum()) if rows else 0
        return {
            "tier": tier_name,
            "threshold": threshold,
            "counted_at_by": max(counted, 0),
            "required": max(0, threshold - max(counted, 0)),
            "by": from_us(end),
        }
