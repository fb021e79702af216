"""Earning rules: touchpoint events in, earn instructions out (vectorised)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_id
from autoops._tabular import Tabular, columns
from autoops._time import DEFAULT_TZ, aware, local_naive, to_utc_us
from autoops.errors import ConfigError, InvalidInput
from autoops.loyalty._rows import isnone

__all__ = ["ActionRule", "Campaign", "EarnInstructions", "EarningRules"]

_PERIODS = (("daily", "daily_cap"), ("weekly", "weekly_cap"), ("monthly", "monthly_cap"))
_DAY_US = 86_400_000_000


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _rule_tuple(value: Iterable[ActionRule]) -> tuple[ActionRule, ...]:
    return tuple(value)


def _campaign_tuple(value: Iterable[Campaign]) -> tuple[Campaign, ...]:
    return tuple(value)


def _positive_or_none(value: int | None, key: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ConfigError("must be a positive integer or None", key=key)


@attrs.frozen
class ActionRule:
    """Points (and growth value) for one kind of event.

    An *action* rule pays *points* per event. A *spend* rule (``yuan_per_point``
    set) pays ``floor(amount / yuan_per_point) * points`` for events whose
    ``amount`` (yuan) is at least *min_amount* and whose ``category`` is not
    in *exclude_categories* — 105 yuan at 10 yuan per point earns 10 points
    (amounts are compared in whole fen, so there is no float drift). Caps
    limit the points this rule pays one member per local calendar day, ISO
    week (Monday first) and month in the program's time zone. *only_if*
    names a boolean column an event must have true (e.g. ``"converted"`` for
    referrals that converted). *lock_days* keeps the points pending (e.g. the
    7-day return period of a purchase).

    Raises:
        ConfigError: a negative amount, a non-positive cap, an empty event.

    Examples:
        >>> ActionRule("check_in", points=5, daily_cap=5).name
        'check_in'
        >>> ActionRule("mall_purchase", yuan_per_point=10).spend
        True
        >>> ActionRule("post", points=-1)
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: rules.post.points: must be a non-negative integer [config_error]
    """

    event: str
    points: int = 1
    growth: int = 0
    yuan_per_point: int | None = None
    min_amount: float = 0.0
    exclude_categories: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    daily_cap: int | None = None
    weekly_cap: int | None = None
    monthly_cap: int | None = None
    only_if: str | None = None
    lock_days: int = 0
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.event:
            raise ConfigError("must name an event", key="rules.event")
        if not self.name:
            object.__setattr__(self, "name", self.event)
        base = f"rules.{self.name}"
        for key in ("points", "growth", "lock_days"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError("must be a non-negative integer", key=f"{base}.{key}")
        _positive_or_none(self.yuan_per_point, f"{base}.yuan_per_point")
        for _, key in _PERIODS:
            _positive_or_none(getattr(self, key), f"{base}.{key}")
        if self.min_amount < 0:
            raise ConfigError("must be non-negative", key=f"{base}.min_amount")

    @property
    def spend(self) -> bool:
        """Whether this rule pays per yuan spent.

        Examples:
            >>> ActionRule("post").spend
            False
        """
        return self.yuan_per_point is not None


@attrs.frozen
class Campaign:
    """A bonus window: points of matching events in ``[start, end)`` are multiplied by *factor*.

    An empty *events* matches every rule. When campaigns overlap, the largest factor applies.

    Examples:
        >>> from datetime import datetime, timezone
        >>> c = Campaign("double_11", datetime(2026, 11, 11, tzinfo=timezone.utc),
        ...              datetime(2026, 11, 12, tzinfo=timezone.utc), factor=2.0)
        >>> c.factor
        2.0
    """

    name: str
    start: datetime
    end: datetime
    factor: float
    events: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def __attrs_post_init__(self) -> None:
        aware(self.start, field=f"campaigns.{self.name}.start")
        aware(self.end, field=f"campaigns.{self.name}.end")
        if self.end <= self.start:
            raise ConfigError("end must be after start", key=f"campaigns.{self.name}.end")
        if not self.factor > 0:
            raise ConfigError("factor must be positive", key=f"campaigns.{self.name}.factor")


@attrs.frozen(slots=True, repr=False)
class EarnInstructions(Tabular):
    """What the earning rules grant, one row per (event, rule) match, aligned by ``row``.

    ``points`` is after campaign factor, tier multiplier, flooring and caps;
    ``capped_by`` names the first cap that cut the row (``daily``, ``weekly``,
    ``monthly``) or is ``None``; ``key`` is ``"<rule>:<event_id>"`` so the same
    events applied twice earn once. Feed it to :meth:`post` (or
    ``Ledger.earn_many``).

    Examples:
        >>> rules = EarningRules([ActionRule("check_in", points=5)])
        >>> from datetime import datetime, timezone
        >>> ev = {"event_id": [1], "member_id": ["member-0001"], "event": ["check_in"],
        ...       "ts": [datetime(2026, 3, 1, tzinfo=timezone.utc)]}
        >>> rules.apply(ev).summary()["points"]
        5
    """

    row: npt.NDArray[np.int64]
    member_id: npt.NDArray[Any]
    rule: npt.NDArray[Any]
    key: npt.NDArray[Any]
    reason: npt.NDArray[Any]
    occurred_at: npt.NDArray[Any]
    base_points: npt.NDArray[np.int64]
    points: npt.NDArray[np.int64]
    growth: npt.NDArray[np.int64]
    multiplier: npt.NDArray[np.float64]
    capped_by: npt.NDArray[Any]
    locked_until: npt.NDArray[Any]

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {name: getattr(self, name) for name in attrs.fields_dict(type(self))}

    def summary(self) -> dict[str, Any]:
        """Headline figures: rows, members, points, growth, rows cut by a cap.

        Examples:
            >>> EarningRules([ActionRule("post")]).apply(
            ...     {"event_id": [], "member_id": [], "event": [], "ts": []}).summary()["rows"]
            0
        """
        return {
            "rows": len(self.row),
            "members": len(set(self.member_id.tolist())),
            "points": int(self.points.sum()),
            "growth": int(self.growth.sum()),
            "capped_rows": int((~isnone(self.capped_by)).sum()),
        }

    def __repr__(self) -> str:
        return short_repr("EarnInstructions", **self.summary())

    def _repr_html_(self) -> str:
        rows = [
            [mask_id(m), r, int(p), c or ""]
            for m, r, p, c in zip(
                self.member_id, self.rule, self.points, self.capped_by, strict=True
            )
        ]
        return html_table(repr(self), ["member", "rule", "points", "capped by"], rows)

    def post(self, ledger: Any) -> tuple[Any, Any]:
        """Post the points (rows with points > 0) and the growth (growth > 0) to *ledger*.

        Returns the two :class:`EarnBatch` results (points, growth).
        Re-posting the same instructions writes nothing (``duplicate`` rows).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.loyalty import Ledger
            >>> rules = EarningRules([ActionRule("post", points=10, growth=2)])
            >>> ev = {"event_id": [7], "member_id": ["member-0001"], "event": ["post"],
            ...       "ts": [datetime(2026, 3, 1, tzinfo=timezone.utc)]}
            >>> ledger = Ledger(clock=lambda: datetime(2026, 3, 2, tzinfo=timezone.utc))
            >>> p, g = rules.apply(ev).post(ledger)
            >>> p.summary()["earned"], g.summary()["earned"], ledger.growth_value("member-0001")
            (1, 1, 2)
        """
        pts = self.points > 0
        grw = self.growth > 0
        points = ledger.earn_many(
            {
                "member_id": self.member_id[pts],
                "points": self.points[pts],
                "key": self.key[pts],
                "reason": self.reason[pts],
                "occurred_at": self.occurred_at[pts],
                "locked_until": self.locked_until[pts],
            }
        )
        growth = ledger.earn_many(
            {
                "member_id": self.member_id[grw],
                "points": self.growth[grw],
                "key": np.array([f"{k}#growth" for k in self.key[grw]], dtype=object),
                "reason": self.reason[grw],
                "occurred_at": self.occurred_at[grw],
            },
            account="growth",
        )
        return points, growth


@attrs.frozen
class EarningRules:
    """A set of earning rules and campaigns, applied to touchpoint events in bulk.

    ``apply(events)`` matches each event to the rules of its ``event`` name
    and computes, in this order: base points (per action, or floor of the
    spend), campaign factor (largest matching), tier multiplier, floor to an
    integer, then the caps of the rule per member — daily, then weekly, then
    monthly, each over the points left after the previous cap, counting
    events in time order (ties by input order) and local calendar periods in
    *tz*. Growth value is paid per matching event and is not capped.

    Attributes:
        rules: the :class:`ActionRule` list (names must be unique).
        campaigns: :class:`Campaign` bonus windows.
        tz: the program's time zone for caps.

    Raises:
        ConfigError: duplicate rule names (key ``rules``).

    Examples:
        >>> from datetime import datetime, timezone
        >>> rules = EarningRules([ActionRule("mall_purchase", yuan_per_point=10)])
        >>> ev = {"event_id": [1], "member_id": ["member-0001"], "event": ["mall_purchase"],
        ...       "ts": [datetime(2026, 3, 1, tzinfo=timezone.utc)], "amount": [105.0]}
        >>> rules.apply(ev).points.tolist()
        [10]
    """

    rules: tuple[ActionRule, ...] = attrs.field(converter=_rule_tuple)
    campaigns: tuple[Campaign, ...] = attrs.field(default=(), converter=_campaign_tuple)
    tz: str = DEFAULT_TZ

    def __attrs_post_init__(self) -> None:
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"rule names must be unique: {sorted(names)}", key="rules")

    @classmethod
    def automotive_default(cls) -> EarningRules:
        """A typical car-maker programme: check-ins, posts, test drives, referrals, purchases.

        Examples:
            >>> sorted(r.name for r in EarningRules.automotive_default().rules)[:3]
            ['after_sales', 'check_in', 'comment']
        """
        return cls(
            [
                ActionRule("check_in", points=5, growth=1, daily_cap=5),
                ActionRule("post", points=20, growth=5, daily_cap=60, monthly_cap=600),
                ActionRule("comment", points=2, daily_cap=20),
                ActionRule("share", points=5, daily_cap=15, weekly_cap=60),
                ActionRule("test_drive", points=200, growth=50, monthly_cap=400),
                ActionRule("referral", points=1000, growth=200),
                ActionRule(
                    "mall_purchase",
                    yuan_per_point=10,
                    growth=2,
                    lock_days=7,
                    exclude_categories=("gift_card",),
                ),
                ActionRule(
                    "after_sales", yuan_per_point=10, min_amount=100.0, growth=5, lock_days=7
                ),
            ]
        )

    def to_json(self) -> str:
        """Serialise to JSON (round-trips through :meth:`from_json`).

        Examples:
            >>> r = EarningRules.automotive_default()
            >>> EarningRules.from_json(r.to_json()) == r
            True
        """
        data = {
            "tz": self.tz,
            "rules": [attrs.asdict(r) for r in self.rules],
            "campaigns": [
                {**attrs.asdict(c), "start": c.start.isoformat(), "end": c.end.isoformat()}
                for c in self.campaigns
            ],
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EarningRules:
        """Read rules written by :meth:`to_json`; errors name the key.

        Examples:
            >>> EarningRules.from_json('{"rules": [{"event": "post", "points": 3}]}').rules[0].points
            3
        """
        try:
            data = json.loads(text)
            rules = [ActionRule(**r) for r in data.get("rules", [])]
            campaigns = [
                Campaign(
                    **{
                        **c,
                        "start": datetime.fromisoformat(c["start"]),
                        "end": datetime.fromisoformat(c["end"]),
                    }
                )
                for c in data.get("campaigns", [])
            ]
        except (TypeError, KeyError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"cannot read earning rules: {exc}", key="rules") from exc
        return cls(rules, campaigns, data.get("tz", DEFAULT_TZ))

    def apply(
        self,
        events: Any,
        *,
        member: str = "member_id",
        multipliers: Mapping[str, float] | Sequence[float] | npt.NDArray[Any] | None = None,
    ) -> EarnInstructions:
        """Turn events into earn instructions (see the class docs for the order of steps).

        Args:
            events: a table with ``event_id``, *member*, ``event``, ``ts``
                (aware, or numpy datetime64 taken as UTC) and, for spend
                rules, ``amount`` and optionally ``category``; plus any
                ``only_if`` columns. Events with no member (``None``) are skipped.
            member: the member column name (e.g. ``"one_id"``).
            multipliers: tier multipliers, a mapping member → factor (missing = 1)
                or an array aligned with *events*.

        Returns:
            :class:`EarnInstructions`, one row per (event, rule) match.

        Raises:
            InvalidInput: a missing column, or naive timestamps.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = datetime(2026, 3, 1, tzinfo=timezone.utc)
            >>> rules = EarningRules([ActionRule("check_in", points=5, daily_cap=5)])
            >>> ev = {"event_id": [1, 2], "member_id": ["member-0001"] * 2,
            ...       "event": ["check_in"] * 2, "ts": [t, t]}
            >>> out = rules.apply(ev)
            >>> out.points.tolist(), out.capped_by.tolist()
            ([5, 0], [None, 'daily'])
        """
        optional = ["amount", "category", *{r.only_if for r in self.rules if r.only_if}]
        cols = columns(
            events, ["event_id", member, "event", "ts"], optional=optional, what="events"
        )
        n = len(cols["event"])
        ts = to_utc_us(cols["ts"], field="ts")
        if isinstance(multipliers, Mapping):
            mult_all = np.array(
                [float(multipliers.get(m, 1.0)) for m in cols[member]], dtype=np.float64
            )
        elif multipliers is None:
            mult_all = np.ones(n, dtype=np.float64)
        else:
            mult_all = np.asarray(multipliers, dtype=np.float64)
            if mult_all.shape != (n,):
                raise InvalidInput("must align with the events", field="multipliers")
        members_all = cols[member]
        has_member = ~isnone(members_all)
        if members_all.dtype.kind in "iu":
            has_member = members_all >= 0
        parts: list[dict[str, Any]] = []
        event_names = cols["event"].astype(object)
        for rule_index, rule in enumerate(self.rules):
            hit = (event_names == rule.event) & has_member & ~np.isnat(ts)
            if rule.only_if:
                if rule.only_if not in cols:
                    raise InvalidInput(f"rule {rule.name!r} needs this column", field=rule.only_if)
                hit &= cols[rule.only_if].astype(bool)
            if rule.spend:
                if "amount" not in cols:
                    raise InvalidInput(f"spend rule {rule.name!r} needs amounts", field="amount")
                amount = cols["amount"].astype(np.float64)
                ok_amount = np.isfinite(amount) & (amount >= rule.min_amount) & (amount > 0)
                hit &= ok_amount
                if rule.exclude_categories and "category" in cols:
                    hit &= ~np.isin(cols["category"].astype(object), list(rule.exclude_categories))
            idx = np.flatnonzero(hit)
            if rule.spend:
                assert rule.yuan_per_point is not None
                fen = np.round(cols["amount"][idx].astype(np.float64) * 100).astype(np.int64)
                base = (fen // (rule.yuan_per_point * 100)) * rule.points
            else:
                base = np.full(len(idx), rule.points, dtype=np.int64)
            parts.append({"idx": idx, "rule": rule_index, "base": base})
        return self._finish(parts, cols, member, ts, mult_all)

    def _campaign_factor(
        self, rule: ActionRule, ts: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
        factor = np.ones(len(ts), dtype=np.float64)
        name = np.full(len(ts), None, dtype=object)
        for c in self.campaigns:
            if c.events and rule.event not in c.events and rule.name not in c.events:
                continue
            lo = int(to_utc_us([c.start])[0].astype(np.int64))
            hi = int(to_utc_us([c.end])[0].astype(np.int64))
            inside = (ts >= lo) & (ts < hi) & (c.factor > factor)
            factor[inside] = c.factor
            name[inside] = c.name
        return factor, name

    def _finish(
        self,
        parts: list[dict[str, Any]],
        cols: dict[str, npt.NDArray[Any]],
        member: str,
        ts: npt.NDArray[Any],
        mult_all: npt.NDArray[np.float64],
    ) -> EarnInstructions:
        idx = np.concatenate([p["idx"] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        rule_code = (
            np.concatenate([np.full(len(p["idx"]), p["rule"], dtype=np.int64) for p in parts])
            if parts
            else np.zeros(0, dtype=np.int64)
        )
        base = (
            np.concatenate([p["base"] for p in parts]).astype(np.int64)
            if parts
            else np.zeros(0, dtype=np.int64)
        )
        ts_us = ts.astype(np.int64)[idx]
        factor = np.ones(len(idx), dtype=np.float64)
        campaign = np.full(len(idx), None, dtype=object)
        for r, rule in enumerate(self.rules):
            sel = rule_code == r
            if sel.any() and self.campaigns:
                f, c = self._campaign_factor(rule, ts_us[sel])
                factor[sel] = f
                campaign[sel] = c
        mult = mult_all[idx]
        pts = np.floor(base * factor * mult + 1e-9).astype(np.int64)
        members = cols[member][idx]
        member_str = np.array([str(m) for m in members], dtype=object)
        capped = np.full(len(idx), None, dtype=object)
        if len(idx):
            pts, capped = self._caps(pts, member_str, rule_code, ts_us, idx)
        names = np.array([r.name for r in self.rules], dtype=object)
        rule_names = names[rule_code] if len(idx) else np.zeros(0, dtype=object)
        event_ids = cols["event_id"][idx]
        keys = np.array(
            [f"{r}:{e}" for r, e in zip(rule_names, event_ids, strict=True)], dtype=object
        )
        reasons = np.array(
            [r if c is None else f"{r} ({c})" for r, c in zip(rule_names, campaign, strict=True)],
            dtype=object,
        )
        lock = np.array([r.lock_days for r in self.rules], dtype=np.int64)
        lock_us = lock[rule_code] * _DAY_US if len(idx) else np.zeros(0, dtype=np.int64)
        locked = np.where(lock_us > 0, ts_us + lock_us, np.iinfo(np.int64).min).view(
            "datetime64[us]"
        )
        growth = np.array([r.growth for r in self.rules], dtype=np.int64)
        return EarnInstructions(
            row=idx.astype(np.int64),
            member_id=member_str,
            rule=rule_names.astype(object),
            key=keys,
            reason=reasons,
            occurred_at=ts_us.view("datetime64[us]"),
            base_points=base,
            points=pts,
            growth=growth[rule_code] if len(idx) else np.zeros(0, dtype=np.int64),
            multiplier=factor * mult,
            capped_by=capped,
            locked_until=locked,
        )

    def _caps(
        self,
        pts: npt.NDArray[np.int64],
        member: npt.NDArray[Any],
        rule_code: npt.NDArray[np.int64],
        ts_us: npt.NDArray[np.int64],
        row: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        _, member_code = np.unique(member, return_inverse=True)
        order = np.lexsort((row, ts_us, rule_code, member_code))
        p = pts[order].copy()
        capped = np.full(len(p), None, dtype=object)
        local = local_naive(ts_us[order].view("datetime64[us]"), self.tz)
        days = local.astype("datetime64[D]").astype(np.int64)
        buckets = {
            "daily": days,
            "weekly": (days + 3) // 7,  # 1970-01-01 was a Thursday; weeks start on Monday
            "monthly": local.astype("datetime64[M]").astype(np.int64),
        }
        m, r = member_code[order], rule_code[order]
        for period, attr in _PERIODS:
            caps = np.array(
                [
                    np.iinfo(np.int64).max if getattr(x, attr) is None else getattr(x, attr)
                    for x in self.rules
                ],
                dtype=np.int64,
            )
            cap = caps[r]
            if (cap == np.iinfo(np.int64).max).all():
                continue
            b = buckets[period]
            start = np.ones(len(p), dtype=bool)
            start[1:] = (m[1:] != m[:-1]) | (r[1:] != r[:-1]) | (b[1:] != b[:-1])
            cs = np.cumsum(p)
            group_start = np.maximum.accumulate(np.where(start, np.arange(len(p)), 0))
            before = cs - p - np.where(group_start > 0, cs[group_start - 1], 0)
            allowed = np.clip(cap - before, 0, p)
            cut = (allowed < p) & isnone(capped)
            capped[cut] = period
            p = allowed
        out = np.empty_like(p)
        out[order] = p
        out_capped = np.empty(len(p), dtype=object)
        out_capped[order] = capped
        return out, out_capped
