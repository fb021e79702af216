"""Defeated-lead reactivation (战败召回): which defeated leads are worth a call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import parse_duration
from autoops.leads._features import lex_position, read_events
from autoops.leads._input import read_leads, utc_scalar
from autoops.leads._link import person_codes
from autoops.leads._result import ResultBase, is_none

__all__ = ["Reactivation", "reactivation_candidates"]

_DAY = 86_400_000_000
#: engagement since defeat: feature → (weight, cap)
_WEIGHTS = {
    "visit": (25.0, 1.0),
    "test_drive": (25.0, 1.0),
    "price_content": (20.0, 2.0),
    "content": (10.0, 5.0),
    "app": (10.0, 5.0),
    "reply": (10.0, 3.0),
}
_EXCLUDED_REASONS = ("invalid_contact", "duplicate", "bought_competitor", "bought_other_dealer")


@attrs.frozen(slots=True, repr=False)
class Reactivation(ResultBase):
    """Result of :func:`reactivation_candidates`, aligned with the input leads.

    Attributes:
        lead_id: the input lead ids.
        candidate: defeated, past the cool-off and not excluded.
        score: engagement since the defeat, 0..100 (NaN for non-candidates).
        rank: 1 = best candidate; -1 for non-candidates.
        reason: for candidates, the engagement that earned the score (``"test_drive,
            price_content"`` or ``"cool_off_passed"``); otherwise why not
            (``not_defeated``, ``in_cool_off``, ``excluded_reason:<code>``,
            ``has_newer_lead``, ``already_ordered``).
        defeated_at: when the lead was defeated (UTC).

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from autoops.leads import reactivation_candidates
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> r = reactivation_candidates({"lead_id": ["L1"], "created_at": [t],
        ...                              "status": ["defeated"]}, None,
        ...                             as_of=t + timedelta(days=45))
        >>> r.reason.tolist(), r.rank.tolist()
        (['cool_off_passed'], [1])
    """

    lead_id: npt.NDArray[Any]
    candidate: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]
    rank: npt.NDArray[np.int64]
    reason: npt.NDArray[Any]
    defeated_at: npt.NDArray[Any]
    _title = "reactivation (first rows)"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "lead_id": self.lead_id,
            "candidate": self.candidate,
            "score": self.score,
            "rank": self.rank,
            "reason": self.reason,
            "defeated_at": self.defeated_at,
        }

    def top(self, k: int = 10) -> dict[str, npt.NDArray[Any]]:
        """The *k* best candidates, best first (columns as in ``to_dicts``).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from autoops.leads import reactivation_candidates
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> r = reactivation_candidates({"lead_id": ["L1", "L2"], "created_at": [t, t],
            ...                              "status": ["defeated", "new"]}, None,
            ...                             as_of=t + timedelta(days=45))
            >>> r.top(5)["lead_id"].tolist()
            ['L1']
        """
        rows = np.flatnonzero(self.candidate)
        rows = rows[np.argsort(self.rank[rows], kind="stable")][:k]
        return {name: col[rows] for name, col in self._columns().items()}

    def summary(self) -> dict[str, Any]:
        """Defeated leads, candidates and exclusions by reason.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import reactivation_candidates
            >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> reactivation_candidates({"lead_id": ["L1"], "created_at": [t],
            ...                          "status": ["defeated"]}, None, as_of=t).summary()
            {'defeated': 1, 'candidates': 0, 'in_cool_off': 1}
        """
        defeated = self.reason != "not_defeated"
        out: dict[str, Any] = {
            "defeated": int(defeated.sum()),
            "candidates": int(self.candidate.sum()),
        }
        for why in ("in_cool_off", "has_newer_lead", "already_ordered"):
            k = int((self.reason == why).sum())
            if k:
                out[why] = k
        excluded = int(np.char.startswith(self.reason.astype(str), "excluded_reason").sum())
        if excluded:
            out["excluded_reason"] = excluded
        return out


def reactivation_candidates(
    leads: Any,
    events: Any,
    *,
    as_of: Any,
    cool_off: str | timedelta = "30d",
    half_life: str | timedelta = "30d",
    excluded_reasons: tuple[str, ...] = _EXCLUDED_REASONS,
) -> Reactivation:
    """Rank defeated leads worth recalling (战败激活), each with the reason.

    A lead is a candidate when its ``status`` is ``defeated``, it was defeated
    at least *cool_off* before *as_of* (``defeated_at`` column, else
    ``last_contact_at``, else ``created_at``), its ``defeat_reason`` (if that
    column exists) is not in *excluded_reasons* (invalid contact, duplicate,
    already bought elsewhere by default), the same person (normalised phone)
    has no newer lead that is not defeated, and the person has no
    ``small_order``/``big_order``/``delivery`` event after the defeat.

    Candidates are scored by the person's engagement after the defeat and up
    to *as_of*: ``visit`` 25, ``test_drive`` 25, ``price_content`` 20 (cap 2),
    ``content`` 10 (cap 5), ``app`` 10 (cap 5), ``reply`` 10 (cap 3); each
    event counts ``0.5 ** (age / half_life)``, capped, scaled to the weight, so
    the score lies in 0..100. Ranks go by score (higher first), then the more
    recent defeat, then input order. Every lead is reported; non-candidates
    carry the reason they were left out.

    Args:
        leads: ``lead_id``, ``created_at``, ``status`` and optional ``phone``,
            ``defeated_at``, ``last_contact_at``, ``defeat_reason``; or ``Lead`` models.
        events: events with ``ts``, ``event``, ``phone`` (optional ``category``), or ``None``.
        as_of: the time of the run (aware).
        cool_off: the least time since the defeat.
        half_life: the decay of engagement.
        excluded_reasons: defeat reasons that rule a lead out.

    Returns:
        A :class:`Reactivation` aligned with the input leads.

    Raises:
        ConfigError: bad durations.
        InvalidInput: missing columns, naive times, duplicate lead ids.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from autoops.leads import reactivation_candidates
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> leads = {"lead_id": ["L1", "L2"], "created_at": [t, t],
        ...          "status": ["defeated", "defeated"], "phone": ["13955501234", "13955501235"]}
        >>> events = {"ts": [t + timedelta(days=40)], "event": ["content_view"],
        ...           "category": ["price"], "phone": ["13955501235"]}
        >>> r = reactivation_candidates(leads, events, as_of=t + timedelta(days=45))
        >>> r.rank.tolist(), r.reason.tolist()
        ([2, 1], ['cool_off_passed', 'price_content'])
    """
    cool = parse_duration(cool_off, key="cool_off") // timedelta(microseconds=1)
    hl = parse_duration(half_life, key="half_life") // timedelta(microseconds=1)
    as_of_us = int(utc_scalar(as_of, "as_of").astype(np.int64))
    cols = read_leads(
        leads,
        ("created_at", "status"),
        optional=("phone", "defeated_at", "last_contact_at", "defeat_reason"),
    )
    n = len(cols["lead_id"])
    none = np.full(n, None, dtype=object)
    created = cols["created_at"].astype(np.int64)
    nat = np.iinfo(np.int64).min
    defeated_at = created.copy()
    for name in ("last_contact_at", "defeated_at"):
        if name in cols:
            col = cols[name]
            defeated_at = np.where(np.isnat(col), defeated_at, col.astype(np.int64))
    status = cols["status"].astype(object)
    defeated = status == "defeated"
    reason = np.full(n, "not_defeated", dtype=object)
    reason[defeated] = "candidate"
    in_cool = defeated & (as_of_us - defeated_at < cool)
    reason[in_cool] = "in_cool_off"
    if "defeat_reason" in cols:
        dr = cols["defeat_reason"].astype(object)
        bad = defeated & ~in_cool & ~is_none(dr) & np.isin(dr.astype(str), list(excluded_reasons))
        reason[bad] = "excluded_reason:" + dr[bad].astype(str).astype(object)

    phone = cols.get("phone", none).astype(object)
    lead_code, _ = person_codes(phone, np.zeros(0, dtype=object))
    # a newer lead of the same person that is not defeated
    has_code = lead_code >= 0
    newest_live = np.full(int(lead_code.max(initial=0)) + 1, nat, dtype=np.int64)
    live = has_code & ~defeated
    np.maximum.at(newest_live, lead_code[live], created[live])
    newer = has_code & (np.where(has_code, newest_live[np.maximum(lead_code, 0)], nat) > created)
    reason[(reason == "candidate") & newer] = "has_newer_lead"

    score = np.zeros(n, dtype=np.float64)
    parts = np.full(n, "", dtype=object)
    if events is not None:
        ev = read_events(phone, events, as_of_us)
        code = ev.lead_code
        order = np.lexsort((ev.ts, ev.code))
        g_sorted, t_sorted = ev.code[order], ev.ts[order]
        start = lex_position(g_sorted, t_sorted, code, defeated_at)  # events after the defeat
        end = lex_position(g_sorted, t_sorted, code, np.full(n, as_of_us))
        ok = code >= 0
        bought_rows = ev.event_in(("small_order", "big_order", "delivery"))[order]
        cs_bought = np.concatenate(([0], np.cumsum(bought_rows)))
        bought = ok & (cs_bought[end] - cs_bought[start] > 0)
        reason[(reason == "candidate") & bought] = "already_ordered"
        decay = np.power(0.5, (as_of_us - t_sorted) / hl)
        for name, (weight, cap) in _WEIGHTS.items():
            mask = ev.feature_mask(name)[order]
            cs = np.concatenate(([0.0], np.cumsum(np.where(mask, decay, 0.0))))
            value = np.where(ok, cs[end] - cs[start], 0.0)
            score += weight * np.minimum(value, cap) / cap
            hit = value > 0
            parts[hit] = np.where(parts[hit] == "", name, parts[hit] + "," + name)
    candidate = reason == "candidate"
    reason[candidate] = np.where(parts[candidate] == "", "cool_off_passed", parts[candidate])
    score = np.where(candidate, score, np.nan)
    rank = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(candidate)
    order_c = rows[np.lexsort((rows, -defeated_at[rows], -score[rows]))]
    rank[order_c] = np.arange(1, len(order_c) + 1)
    return Reactivation(
        lead_id=cols["lead_id"],
        candidate=candidate,
        score=score,
        rank=rank,
        reason=reason,
        defeated_at=np.where(defeated, defeated_at, nat).view("datetime64[us]"),
    )
