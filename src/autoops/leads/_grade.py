"""Lead grading: a suggested grade with its reason and a transparent score."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import parse_duration
from autoops.errors import ConfigError
from autoops.leads._codes import codes_of, in_set
from autoops.leads._features import last_per_code, read_events
from autoops.leads._input import read_leads, utc_scalar
from autoops.leads._profile import GradeProfile
from autoops.leads._result import ResultBase, is_none
from autoops.models import TouchpointKind

__all__ = ["Grading", "GradingPolicy", "grade_leads"]

_DAY = 86_400_000_000
_GRADES = ("H", "A", "B", "C", "N", "O", "D", "T", "F")
_REASONS = (
    "delivered",
    "ordered",
    "order_cancelled",
    "defeated",
    "price_negotiated",
    "test_drive_done",
    "stated_horizon",
    "score",
    "no_signal",
)
#: the private-domain touchpoints of the documented domain table
_PRIVATE = tuple(kind.value for kind in TouchpointKind.private())
#: feature → (weight, cap); the weights add up to 100
_WEIGHTS = {
    "horizon": (10.0, 1.0),
    "private_touchpoint": (5.0, 1.0),
    "visit": (20.0, 1.0),
    "test_drive": (25.0, 1.0),
    "price_content": (10.0, 3.0),
    "content": (10.0, 10.0),
    "app": (10.0, 10.0),
    "reply": (10.0, 5.0),
}


def _weights(value: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    out = dict(_WEIGHTS)
    for name, pair in dict(value).items():
        if name not in _WEIGHTS:
            raise ConfigError(
                f"unknown feature {name!r}; known: {', '.join(_WEIGHTS)}", key="weights"
            )
        weight, cap = (float(x) for x in pair)
        if weight < 0 or cap <= 0:
            raise ConfigError(f"{name}: weight must be >= 0 and cap > 0", key="weights")
        out[name] = (weight, cap)
    return out


def _half_life(value: str | timedelta) -> timedelta:
    return parse_duration(value, key="half_life")


def _lookback(value: str | timedelta) -> timedelta:
    return parse_duration(value, key="lookback")


def _stale_after(value: str | timedelta) -> timedelta:
    return parse_duration(value, key="stale_after")


@attrs.frozen(slots=True)
class GradingPolicy:
    """Rules of :func:`grade_leads`.

    Args:
        weights: feature → ``(weight, cap)``. A feature's contribution is
            ``weight * min(value, cap) / cap``; the score is their sum (0..Σ weights,
            100 with the defaults).
        half_life: an event's engagement value halves every *half_life* before *as_of*.
        lookback: events older than this before *as_of* are ignored.
        stale_after: an active lead not contacted (``last_contact_at``) or
            engaged for this long is capped at C.
        thresholds: score cut-offs for H, A and B (C below B; N without any signal).
        negotiation_events: event names that mean a price was negotiated (→ H).

    Raises:
        ConfigError: a bad value, naming the key.

    Examples:
        >>> from autoops.leads import GradingPolicy
        >>> p = GradingPolicy(half_life="14d")
        >>> GradingPolicy.from_json(p.to_json()) == p
        True
    """

    weights: dict[str, tuple[float, float]] = attrs.field(factory=dict, converter=_weights)
    half_life: timedelta = attrs.field(default=timedelta(days=30), converter=_half_life)
    lookback: timedelta = attrs.field(default=timedelta(days=180), converter=_lookback)
    stale_after: timedelta = attrs.field(default=timedelta(days=60), converter=_stale_after)
    thresholds: tuple[float, float, float] = (60.0, 40.0, 20.0)
    negotiation_events: tuple[str, ...] = attrs.field(
        default=("quote", "price_negotiation"), converter=tuple
    )

    def __attrs_post_init__(self) -> None:
        h, a, b = self.thresholds
        if not h > a > b > 0:
            raise ConfigError("need H > A > B > 0", key="thresholds")

    def to_json(self) -> str:
        """Serialise to JSON.

        Examples:
            >>> from autoops.leads import GradingPolicy
            >>> '"half_life": "2592000s"' in GradingPolicy().to_json()
            True
        """
        return json.dumps(
            {
                "weights": {k: list(v) for k, v in self.weights.items()},
                "half_life": f"{int(self.half_life.total_seconds())}s",
                "lookback": f"{int(self.lookback.total_seconds())}s",
                "stale_after": f"{int(self.stale_after.total_seconds())}s",
                "thresholds": list(self.thresholds),
                "negotiation_events": list(self.negotiation_events),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> GradingPolicy:
        """Read a policy written by :meth:`to_json`.

        Raises:
            ConfigError: an unknown key, naming it.

        Examples:
            >>> from autoops.leads import GradingPolicy
            >>> GradingPolicy.from_json('{"thresholds": [70, 50, 30]}').thresholds
            (70.0, 50.0, 30.0)
        """
        data = json.loads(text)
        unknown = sorted(set(data) - {a.name for a in attrs.fields(cls)})
        if unknown:
            raise ConfigError("unknown key", key=unknown[0])
        if "thresholds" in data:
            data["thresholds"] = tuple(float(x) for x in data["thresholds"])
        return cls(**data)


@attrs.frozen(slots=True, repr=False)
class Grading(ResultBase):
    """Result of :func:`grade_leads`, aligned with the input leads.

    Attributes:
        lead_id: the input lead ids.
        entered: the grade a consultant entered (authoritative), or ``None``.
        suggested: the grade the rules suggest.
        grade: ``entered`` where present, else ``suggested``.
        agrees: ``entered == suggested`` (False where nothing was entered).
        reason: why ``suggested`` (``delivered``, ``ordered``, ``order_cancelled``,
            ``defeated``, ``test_drive_done``, ``price_negotiated``,
            ``stated_horizon``, ``score``, ``no_signal``), with
            ``+stale`` when staleness capped it at C.
        score: the transparent score, the sum of ``contributions``' row.
        idle_days: days from the last contact or event (or capture) to *as_of*.
        contributions: ``(leads, features)`` matrix; columns named by ``features``.
        features: feature names.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import grade_leads
        >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
        >>> g = grade_leads({"lead_id": ["L1"], "created_at": [t], "phone": ["13955501234"],
        ...                  "status": ["contacted"], "grade": [None], "touchpoint": ["app"],
        ...                  "stated_horizon_days": [10]}, None, as_of=t)
        >>> g.explain(0)["reason"], g.explain(0)["suggested"]
        ('stated_horizon', 'A')
    """

    lead_id: npt.NDArray[Any]
    entered: npt.NDArray[Any]
    suggested: npt.NDArray[Any]
    grade: npt.NDArray[Any]
    agrees: npt.NDArray[np.bool_]
    reason: npt.NDArray[Any]
    score: npt.NDArray[np.float64]
    idle_days: npt.NDArray[np.float64]
    contributions: npt.NDArray[np.float64]
    features: tuple[str, ...]
    _title = "grading (first rows)"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        cols: dict[str, npt.NDArray[Any]] = {
            "lead_id": self.lead_id,
            "entered": self.entered,
            "suggested": self.suggested,
            "grade": self.grade,
            "agrees": self.agrees,
            "reason": self.reason,
            "score": self.score,
            "idle_days": self.idle_days,
        }
        for j, name in enumerate(self.features):
            cols[f"c_{name}"] = self.contributions[:, j]
        return cols

    def explain(self, row: int) -> dict[str, Any]:
        """One lead's grade, reason, score and per-feature contributions.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import grade_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> g = grade_leads({"lead_id": ["L1"], "created_at": [t], "status": ["new"],
            ...                  "touchpoint": ["app"]}, None, as_of=t)
            >>> g.explain(0)["contributions"]["private_touchpoint"]
            5.0
        """
        return {
            "lead_id": self.lead_id[row],
            "entered": self.entered[row],
            "suggested": self.suggested[row],
            "reason": self.reason[row],
            "score": float(self.score[row]),
            "idle_days": round(float(self.idle_days[row]), 2),
            "contributions": {
                name: round(float(self.contributions[row, j]), 4)
                for j, name in enumerate(self.features)
            },
        }

    def summary(self) -> dict[str, Any]:
        """Leads, the final grade mix and the agreement rate with consultants.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import grade_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> grade_leads({"lead_id": ["L1"], "created_at": [t], "status": ["ordered"]},
            ...             None, as_of=t).summary()["O"]
            1
        """
        entered = ~is_none(self.entered)
        out: dict[str, Any] = {"leads": len(self.lead_id)}
        values, counts = np.unique(self.grade.astype(str), return_counts=True)
        for g in "HABCNODTF":
            k = int(counts[values == g].sum())
            if k:
                out[g] = k
        out["agreement"] = (
            round(float(self.agrees[entered].mean()), 4) if entered.any() else float("nan")
        )
        return out


def grade_leads(
    leads: Any,
    events: Any,
    *,
    as_of: Any,
    profile: GradeProfile | None = None,
    policy: GradingPolicy | None = None,
) -> Grading:
    """Suggest a grade for each lead, with the reason and a transparent score.

    **Rules**, first match wins: status ``delivered`` or a ``delivery`` event → D;
    status ``ordered`` or a ``small_order``/``big_order`` event not followed by a
    ``refund`` → O; status ``order_cancelled`` or a refund after the last order →
    T; status ``defeated`` → F; a negotiation event (``quote``: a price
    negotiated at the showroom, usually after a test drive) → H
    (``price_negotiated``); status ``test_driven`` or a ``test_drive`` event →
    H (``test_drive_done``); a stated purchase horizon
    → the profile's grade for it; otherwise the score: ≥ H/A/B thresholds → H,
    A, B, any other signal → C, nothing at all → N. Funnel events count only
    at or after the lead's ``created_at`` (and at or before *as_of*). An active
    suggestion (H/A/B) is capped at C when neither a contact (``last_contact_at``)
    nor an event happened within ``stale_after`` before *as_of*.

    **Score** = Σ features ``weight · min(value, cap) / cap`` (0..100 with the
    default weights, which add up to 100): fit — ``horizon`` (1 − horizon /
    C-horizon, for a stated horizon) and ``private_touchpoint`` (captured in the
    private domain or a showroom) — plus engagement — ``visit``, ``test_drive``,
    ``price_content``, ``content``, ``app``, ``reply`` — where each event of the
    person (same normalised phone) within ``lookback`` counts
    ``0.5 ** (age / half_life)``. The per-feature contributions add up to the
    score exactly. A consultant's grade (``grade`` column) stays authoritative:
    ``grade`` = entered where present, and the suggestion is reported beside it.
    The result is a pure function of the inputs.

    Args:
        leads: ``lead_id``, ``created_at`` and optional ``phone``, ``status``,
            ``grade``, ``touchpoint``, ``stated_horizon_days`` (-1 unknown),
            ``last_contact_at``; or ``Lead`` models.
        events: events with ``ts``, ``event``, ``phone`` (optional ``category``),
            or ``None``.
        as_of: the grading time (aware).
        profile: the :class:`GradeProfile` (horizons); common preset by default.
        policy: a :class:`GradingPolicy`.

    Returns:
        A :class:`Grading` aligned with the input leads.

    Raises:
        InvalidInput: missing columns, naive times, duplicate lead ids.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from autoops.leads import grade_leads
        >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
        >>> leads = {"lead_id": ["L1", "L2"], "created_at": [t, t],
        ...          "phone": ["13955501234", "13955501235"], "grade": ["B", None],
        ...          "status": ["contacted", "contacted"]}
        >>> events = {"ts": [t + timedelta(days=2)], "event": ["test_drive"],
        ...           "phone": ["+86 139 5550 1234"]}
        >>> g = grade_leads(leads, events, as_of=t + timedelta(days=3))
        >>> g.suggested.tolist(), g.grade.tolist(), g.reason.tolist()
        (['H', 'N'], ['B', 'N'], ['test_drive_done', 'no_signal'])
    """
    profile = profile or GradeProfile.common()
    policy = policy or GradingPolicy()
    as_of_us = int(utc_scalar(as_of, "as_of").astype(np.int64))
    optional = ("phone", "status", "grade", "touchpoint", "stated_horizon_days", "last_contact_at")
    cols = read_leads(leads, ("created_at",), optional=optional)
    n = len(cols["lead_id"])
    none = np.full(n, None, dtype=object)
    created = cols["created_at"].view(np.int64)
    horizon = cols.get("stated_horizon_days", np.full(n, -1, dtype=np.int64))
    phone = cols.get("phone", none)
    st_code, st_names = codes_of(cols.get("status", none))

    def status_is(name: str) -> npt.NDArray[np.bool_]:
        hit = np.flatnonzero(st_names == name)
        found: npt.NDArray[np.bool_] = st_code == (int(hit[0]) if len(hit) else -2)
        return found

    features = tuple(_WEIGHTS)
    width = len(features)
    values: npt.NDArray[np.float64] | None = None  # (leads, features), gathered per person

    nat = np.iinfo(np.int64).min
    last_event = np.full(n, nat, dtype=np.int64)
    delivered = ordered = cancelled = drove = negotiated = np.zeros(n, dtype=bool)
    if events is not None:
        ev = read_events(phone, events, as_of_us)
        lead_code = ev.lead_code
        n_codes = int(max(lead_code.max(initial=-1), ev.code.max(initial=-1))) + 1
        has = lead_code >= 0
        code = np.where(has, lead_code, 0)
        # the engagement features are disjoint: one feature index per event row, then one
        # weighted bincount of (person, feature) gives every feature's decayed sum
        # (the table has all feature columns, so one gather builds the leads' matrix)
        feature = ev.feature_index(features[2:]) + 2
        rows = np.flatnonzero(
            (feature >= 2) & (ev.ts >= as_of_us - policy.lookback // timedelta(microseconds=1))
        )
        age = (as_of_us - ev.ts[rows]) / (policy.half_life // timedelta(microseconds=1))
        # one extra all-zero row answers the leads without a person code
        per_code = np.bincount(
            ev.code[rows] * width + feature[rows],
            weights=np.exp2(-age),
            minlength=(n_codes + 1) * width,
        ).reshape(n_codes + 1, width)
        # (bincount of no rows gives integers); np.take of whole rows is several times
        # faster than fancy indexing
        per_code = per_code.astype(np.float64, copy=False)
        values = np.take(per_code, np.where(has, lead_code, n_codes), axis=0)

        def since_created(
            names: tuple[str, ...],
        ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
            last = ev.last_of(names, n_codes)[code]
            return has & (last != nat) & (last >= created), last

        delivered, _ = since_created(("delivery",))
        ordered_ev, last_order = since_created(("small_order", "big_order"))
        refunded, last_refund = since_created(("refund",))
        drove, _ = since_created(("test_drive",))
        negotiated, _ = since_created(policy.negotiation_events)
        cancelled = ordered_ev & refunded & (last_refund >= last_order)
        ordered = ordered_ev & ~cancelled
        per_last = last_per_code(ev.code, ev.ts, None, n_codes)
        last_event = np.where(has, per_last[code], nat)

    if values is None:
        values = np.zeros((n, width), dtype=np.float64)
    c_horizon = float(profile.horizons["C"])
    values[:, 0] = np.where(horizon >= 0, 1.0 - np.minimum(horizon, c_horizon) / c_horizon, 0.0)
    values[:, 1] = in_set(cols.get("touchpoint", none), _PRIVATE)
    signal = (values[:, 2:].sum(axis=1) > 0) | (horizon >= 0)
    weights = np.array([policy.weights[f][0] for f in features])
    caps = np.array([policy.weights[f][1] for f in features])
    # in place: each fresh matrix of a million rows costs its page faults
    contributions = np.minimum(values, caps, out=values)
    contributions *= weights / caps
    score = contributions.sum(axis=1)

    # grades and reasons as small integer codes; strings only at the very end
    suggested = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)

    def rule(mask: npt.NDArray[np.bool_], grade: int | npt.NDArray[np.int64], why: str) -> None:
        free = mask & (suggested < 0)
        suggested[free] = grade[free] if isinstance(grade, np.ndarray) else grade
        reason[free] = _REASONS.index(why)

    g = _GRADES.index
    rule(status_is("delivered") | delivered, g("D"), "delivered")
    rule(status_is("ordered") | ordered, g("O"), "ordered")
    rule(status_is("order_cancelled") | cancelled, g("T"), "order_cancelled")
    rule(status_is("defeated"), g("F"), "defeated")
    rule(negotiated, g("H"), "price_negotiated")
    rule(status_is("test_driven") | drove, g("H"), "test_drive_done")
    rule(horizon >= 0, _horizon_codes(profile, horizon), "stated_horizon")
    th_h, th_a, th_b = policy.thresholds
    by_score = np.where(
        score >= th_h,
        g("H"),
        np.where(score >= th_a, g("A"), np.where(score >= th_b, g("B"), g("C"))),
    )
    rule(signal, by_score, "score")
    rule(np.ones(n, dtype=bool), g("N"), "no_signal")

    last_contact = cols.get("last_contact_at")
    last_touch = last_event.copy()
    if last_contact is not None:
        lc = last_contact.view(np.int64)
        last_touch = np.maximum(last_touch, np.where(np.isnat(last_contact), nat, lc))
    reference = np.where(last_touch == nat, created, np.maximum(last_touch, created))
    stale_us = policy.stale_after // timedelta(microseconds=1)
    stale = (suggested <= g("B")) & (as_of_us - reference > stale_us)
    suggested[stale] = g("C")
    reason[stale] += len(_REASONS)  # the "+stale" variant of the same reason
    idle_days = (as_of_us - reference) / _DAY

    grade_names = np.array(_GRADES, dtype=object)
    reason_names = np.array(_REASONS + tuple(r + "+stale" for r in _REASONS), dtype=object)
    suggested_s = grade_names[suggested]
    if "grade" in cols:
        entered = cols["grade"].astype(object)
        e_code, e_names = codes_of(entered)
        has_entered = e_code >= 0
        # an entered grade agrees when it is the suggested one (compared on codes)
        e_index = np.array(
            [_GRADES.index(x) if x in _GRADES else -2 for x in e_names.tolist()] + [-3]
        )
        agrees = has_entered & (e_index[e_code] == suggested)
        final = np.where(has_entered, entered, suggested_s).astype(object, copy=False)
    else:  # nothing entered: the grade is the suggestion
        entered, agrees, final = none, np.zeros(n, dtype=bool), suggested_s.copy()
    return Grading(
        lead_id=cols["lead_id"],
        entered=entered,
        suggested=suggested_s,
        grade=final,
        agrees=agrees,
        reason=reason_names[reason],
        score=score,
        idle_days=idle_days,
        contributions=contributions,
        features=features,
    )


def _horizon_codes(profile: GradeProfile, horizon: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The profile's grade (as an index into the grade letters) per stated horizon (-1: none).

    Every horizon beyond the profile's longest (C) has C's grade and every negative one
    none, so the rows are clipped to ``-1..C`` and read from a table of those few days.
    """
    top = int(min(horizon.max(initial=-1), profile.horizons["C"]))
    days = np.arange(-1, top + 1, dtype=np.int64)
    letters = profile.horizon_grades(days)
    table = np.array([-1 if x is None else _GRADES.index(x) for x in letters.tolist()])
    out: npt.NDArray[np.int64] = table[np.clip(horizon, -1, top) + 1].astype(np.int64)
    return out
