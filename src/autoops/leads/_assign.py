"""Lead assignment to dealers: service areas, daily capacity and four strategies."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._masking import mask_id
from autoops._time import DEFAULT_TZ, US
from autoops.errors import ConfigError, InvalidInput
from autoops.leads._calendar import local_us
from autoops.leads._codes import codes_of, int_codes, sorted_codes, stable_order
from autoops.leads._input import read_leads, read_table, utc_scalar
from autoops.leads._link import phones as parse_phones
from autoops.leads._result import ResultBase, is_none, rank_in_group

__all__ = ["AssignPolicy", "Assignment", "assign_leads", "quota_sequence"]

STRATEGIES = ("nearest", "round_robin", "capacity", "performance")
_REASONS = (
    "<strategy>",
    "returning_owner",
    "preassigned",
    "next_choice",
    "capacity_exhausted",
    "no_dealer_in_area",
    "no_area",
)


def _choice(allowed: tuple[str, ...]) -> Any:
    def check(_inst: Any, attribute: Any, value: str) -> None:
        if value not in allowed:
            raise ConfigError(f"use one of {', '.join(allowed)}, not {value!r}", key=attribute.name)

    return check


@attrs.frozen(slots=True)
class AssignPolicy:
    """Rules of :func:`assign_leads`.

    Args:
        fallback: ``"province"`` lets dealers of the lead's province take it when
            no dealer serves its city; ``"none"`` reports such leads unassigned.
        capacity_day: ``"created"`` counts a dealer's daily capacity on the
            local calendar day the lead was created; ``"as_of"`` assigns the
            whole batch on the day of *as_of* (a backlog run).
        preassigned: ``"keep"`` honours a lead's ``dealer_id`` when that dealer
            serves the lead's area and has capacity; ``"ignore"`` re-assigns.
        unknown_dealer: ``"error"`` raises on a pre-assigned ``dealer_id`` that
            is not in *dealers*; ``"ignore"`` treats it as not pre-assigned.
        max_choices: how many dealers of the area a lead may try, in order of
            preference, before it is reported as ``capacity_exhausted``.
        tz: the zone of the calendar day.

    Raises:
        ConfigError: a bad value, naming the key.

    Examples:
        >>> from autoops.leads import AssignPolicy
        >>> AssignPolicy.from_json(AssignPolicy(fallback="none").to_json()).fallback
        'none'
    """

    fallback: str = attrs.field(default="province", validator=_choice(("province", "none")))
    capacity_day: str = attrs.field(default="created", validator=_choice(("created", "as_of")))
    preassigned: str = attrs.field(default="keep", validator=_choice(("keep", "ignore")))
    unknown_dealer: str = attrs.field(default="error", validator=_choice(("error", "ignore")))
    max_choices: int = 20
    tz: str = DEFAULT_TZ

    def __attrs_post_init__(self) -> None:
        if self.max_choices < 1:
            raise ConfigError("must be at least 1", key="max_choices")

    def to_json(self) -> str:
        """Serialise to JSON.

        Examples:
            >>> from autoops.leads import AssignPolicy
            >>> '"fallback": "province"' in AssignPolicy().to_json()
            True
        """
        return json.dumps(attrs.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AssignPolicy:
        """Read a policy written by :meth:`to_json`.

        Raises:
            ConfigError: an unknown key, naming it.

        Examples:
            >>> from autoops.leads import AssignPolicy
            >>> AssignPolicy.from_json('{"max_choices": 5}').max_choices
            5
        """
        data = json.loads(text)
        unknown = sorted(set(data) - {a.name for a in attrs.fields(cls)})
        if unknown:
            raise ConfigError("unknown key", key=unknown[0])
        return cls(**data)


@attrs.frozen(slots=True, repr=False)
class Assignment(ResultBase):
    """Result of :func:`assign_leads`, aligned with the input leads.

    Attributes:
        lead_id: the input lead ids.
        dealer_id: the dealer that takes the lead, ``None`` when none can.
        staff_id: the sales consultant (round-robin within the dealer), when
            a staff table was given.
        reason: ``preassigned``, ``returning_owner``, the strategy name (first
            choice), ``next_choice`` (a preferred dealer was full), or why it is
            unassigned: ``no_area``, ``no_dealer_in_area``, ``capacity_exhausted``.
        choice: 0-based position of the accepted dealer in the lead's
            preference list; -1 when unassigned.
        day: the capacity day (local calendar date).
        strategy: the strategy used.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import assign_leads
        >>> t = datetime(2026, 5, 1, 2, tzinfo=timezone.utc)
        >>> dealers = {"dealer_id": ["D1"], "city": ["Hangzhou"], "province": ["Zhejiang"],
        ...            "daily_capacity": [1]}
        >>> leads = {"lead_id": ["L1", "L2"], "created_at": [t, t], "city": ["Hangzhou"] * 2,
        ...          "province": ["Zhejiang"] * 2}
        >>> assign_leads(leads, dealers, strategy="round_robin", as_of=t)
        Assignment(leads=2, assigned=1, unassigned=1, capacity_exhausted=1)
    """

    lead_id: npt.NDArray[Any]
    dealer_id: npt.NDArray[Any]
    staff_id: npt.NDArray[Any]
    reason: npt.NDArray[Any]
    choice: npt.NDArray[np.int64]
    day: npt.NDArray[Any]
    strategy: str
    _title = "assignment (first rows)"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "lead_id": self.lead_id,
            "dealer_id": self.dealer_id,
            "staff_id": self.staff_id,
            "reason": self.reason,
            "choice": self.choice,
            "day": self.day.astype("datetime64[us]"),
        }

    def summary(self) -> dict[str, Any]:
        """Leads, assigned, unassigned, and unassigned counts by reason.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import assign_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = assign_leads({"lead_id": ["L1"], "created_at": [t], "city": ["X"],
            ...                   "province": ["Y"]},
            ...                  {"dealer_id": ["D1"], "city": ["Z"], "province": ["W"],
            ...                   "daily_capacity": [5]}, as_of=t)
            >>> r.summary()["no_dealer_in_area"]
            1
        """
        assigned = ~is_none(self.dealer_id)
        out: dict[str, Any] = {
            "leads": len(self.lead_id),
            "assigned": int(assigned.sum()),
            "unassigned": int((~assigned).sum()),
        }
        for reason in ("no_area", "no_dealer_in_area", "capacity_exhausted"):
            k = int((self.reason == reason).sum())
            if k:
                out[reason] = k
        return out

    def loads(self) -> dict[str, npt.NDArray[Any]]:
        """Leads taken per dealer and day: columns ``dealer_id``, ``day``, ``leads``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import assign_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = assign_leads({"lead_id": ["L1"], "created_at": [t], "city": ["X"],
            ...                   "province": ["Y"]},
            ...                  {"dealer_id": ["D1"], "city": ["X"], "province": ["Y"],
            ...                   "daily_capacity": [5]}, as_of=t)
            >>> r.loads()["leads"].tolist()
            [1]
        """
        assigned = np.flatnonzero(~is_none(self.dealer_id))
        codes, uniques = sorted_codes(self.dealer_id[assigned])
        days = self.day[assigned].astype(np.int64)
        pair = np.unique(np.stack([codes, days]), axis=1, return_counts=True)
        keys, counts = pair
        return {
            "dealer_id": uniques[keys[0]] if len(assigned) else np.array([], dtype=object),
            "day": keys[1].astype("datetime64[D]"),
            "leads": counts.astype(np.int64),
        }


def quota_sequence(
    area_of: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], lengths: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Weighted round-robin order per area by the Balinski-Young quota method.

    Entries (dealers) are grouped by ``area_of`` (sorted ascending) with
    positive ``weights``; area *a* needs ``lengths[a]`` seats. Seat *n* goes,
    among the area's entries whose count is below ``n * share`` (upper quota),
    to the one with the largest ``share / (count + 1)``; ties to the lower
    entry index. After every prefix of *n* seats each entry holds
    ``floor(n * share)`` or ``ceil(n * share)`` seats (within one of its share).
    Each area's sequence is built in verified blocks (see ``_quota_area``), not
    one seat at a time.

    Returns:
        ``(seats, offsets)``: the entry index of every seat, area after area
        (area *a*'s seats are ``seats[offsets[a]:offsets[a + 1]]``).

    Examples:
        >>> import numpy as np
        >>> from autoops.leads import quota_sequence
        >>> seats, offsets = quota_sequence(np.array([0, 0]), np.array([2.0, 1.0]), np.array([6]))
        >>> seats.tolist(), offsets.tolist()
        ([0, 0, 1, 0, 0, 1], [0, 6])
    """
    n_areas = len(lengths)
    e = len(area_of)
    per_area = np.bincount(area_of, minlength=n_areas) if e else np.zeros(n_areas, dtype=np.int64)
    lengths = np.where(per_area > 0, lengths, 0).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    seats = np.full(int(offsets[-1]), -1, dtype=np.int64)
    if e == 0 or offsets[-1] == 0:
        return seats, offsets
    first = np.concatenate(([0], np.cumsum(per_area))).astype(np.int64)
    for a in np.flatnonzero(lengths > 0).tolist():  # one pass per area, never per seat
        lo, hi = int(first[a]), int(first[a + 1])
        local = _quota_area(np.asarray(weights[lo:hi], dtype=np.float64), int(lengths[a]))
        seats[offsets[a] : offsets[a + 1]] = lo + local
    return seats, offsets


def _period(weights: npt.NDArray[np.float64]) -> int:
    """Σ of the weights scaled to integers (the likely period of the sequence); 0 if none small."""
    for scale in (1, 2, 4, 5, 10, 20, 100):
        scaled = weights * scale
        rounded = np.round(scaled)
        if float(np.abs(scaled - rounded).max(initial=0.0)) <= 1e-9:
            return int(rounded.sum())
    return 0


def _quota_area(w: npt.NDArray[np.float64], length: int) -> npt.NDArray[np.int64]:
    """The quota-method seats of one area, checked block by block.

    A block of seats is *proposed* — the previous period again when the
    weights are small rationals (the sequence then repeats with period
    Σ integer weights), else the D'Hondt order ``(count + 1) / weight`` — and
    *verified* exactly: the counts before every seat of the block form a
    (block × entries) matrix, each row applies the quota rule (eligible when
    ``count < n · share``, highest ``share / (count + 1)``, ties to the lower
    entry), and the block is accepted up to the first seat where the rule
    disagrees; that seat takes the rule's choice. The result is the rule's
    sequence whatever the proposal; a good proposal only makes blocks long.
    """
    k = len(w)
    out = np.empty(length, dtype=np.int64)
    share = w / w.sum()
    count = np.zeros(k, dtype=np.int64)
    period = _period(w)
    done = 0
    block = 64
    cols = np.arange(k)
    while done < length:
        b = max(1, min(block, length - done, max(1, 2_000_000 // k)))
        if period and done >= period:
            src = done - period + np.arange(b)
            proposal = out[np.where(src < done, src, done - period + (src - done) % period)]
        else:
            proposal = _dhondt(w, count, b)
        onehot = proposal[:, None] == cols[None, :]
        before = count[None, :] + np.cumsum(onehot, axis=0) - onehot
        n = done + 1 + np.arange(b)
        eligible = before < n[:, None] * share[None, :] - 1e-9
        prio = np.where(eligible, share[None, :] / (before + 1), -1.0)
        best = prio.max(axis=1)
        rule = np.argmax(prio >= best[:, None] - 1e-15, axis=1)
        wrong = np.flatnonzero(rule != proposal)
        f = int(wrong[0]) if len(wrong) else b
        take = f + 1 if f < b else b  # the rule's choice at the first disagreement is right
        chosen = np.concatenate((proposal[:f], rule[f:take]))
        out[done : done + take] = chosen
        count += np.bincount(chosen, minlength=k)
        done += take
        block = min(block * 2, 1 << 16) if f == b else max(16, 2 * f)
    return out


def _dhondt(
    w: npt.NDArray[np.float64], count: npt.NDArray[np.int64], b: int
) -> npt.NDArray[np.int64]:
    """The next *b* seats in D'Hondt order from *count* (ties to the lower entry)."""
    k = len(w)
    # every entry's candidates with (count + 1) / w <= t_max: at least b of them in all
    t_max = (b + count.sum() + k) / w.sum()
    hi = np.floor(t_max * w).astype(np.int64) + 1
    cnt = np.maximum(hi - count, 0)
    ent = np.repeat(np.arange(k), cnt)
    start = np.repeat(np.cumsum(cnt) - cnt, cnt)
    before = count[ent] + np.arange(len(ent)) - start
    order = np.lexsort((ent, (before + 1) / w[ent]))[:b]
    proposal: npt.NDArray[np.int64] = ent[order]
    return proposal


def _dealers(dealers: Any) -> dict[str, npt.NDArray[Any]]:
    cols = read_table(
        dealers,
        ("dealer_id", "city", "province", "daily_capacity"),
        optional=("weight", "performance", "lat", "lon", "service_cities", "service_provinces"),
        what="dealers",
    )
    n = len(cols["dealer_id"])
    if n == 0:
        raise InvalidInput("no dealers to assign to", field="dealers", code="no_dealers")
    ids = cols["dealer_id"].astype(str)
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(dup):
        raise InvalidInput("duplicate dealer_id", field="dealer_id", row=int(order[dup[0] + 1]))
    cap = np.asarray(cols["daily_capacity"])
    if cap.dtype.kind not in "iu" or (cap < 0).any():
        bad = (
            int(np.flatnonzero(np.asarray(cap, dtype=float) < 0)[0])
            if cap.dtype.kind in "iuf"
            else 0
        )
        raise InvalidInput(
            "daily_capacity must be a non-negative integer", field="daily_capacity", row=bad
        )
    cols["daily_capacity"] = cap.astype(np.int64)
    for name, default in (("weight", 1.0), ("performance", 0.5)):
        values = cols.get(name)
        arr = (
            np.full(n, default)
            if values is None
            else np.array([default if v is None or v != v else float(v) for v in values.tolist()])
        )
        cols[name] = arr
    if (cols["weight"] <= 0).any():
        raise InvalidInput(
            "weight must be > 0", field="weight", row=int(np.flatnonzero(cols["weight"] <= 0)[0])
        )
    return cols


def _areas(
    lead_city: npt.NDArray[Any],
    lead_prov: npt.NDArray[Any],
    d: dict[str, npt.NDArray[Any]],
    fallback: str,
) -> tuple[npt.NDArray[np.int64], list[list[int]]]:
    """Area code per lead and, per area, the dealers that serve it."""
    serves_city: dict[str, list[int]] = defaultdict(list)
    serves_prov: dict[str, list[int]] = defaultdict(list)
    in_prov: dict[str, list[int]] = defaultdict(list)
    for i, (city, prov) in enumerate(zip(d["city"].tolist(), d["province"].tolist(), strict=True)):
        serves_city[str(city)].append(i)
        in_prov[str(prov)].append(i)
    for i, extra in enumerate(d.get("service_cities", np.full(len(d["city"]), None)).tolist()):
        for city in extra or ():
            serves_city[str(city)].append(i)
    for i, extra in enumerate(d.get("service_provinces", np.full(len(d["city"]), None)).tolist()):
        for prov in extra or ():
            serves_prov[str(prov)].append(i)
    # (city, province) pairs as integer codes; only the distinct pairs are looked at as text
    c_code, c_names = codes_of(lead_city)
    p_code, p_names = codes_of(lead_prov)
    pair = (c_code + 1) * (len(p_names) + 1) + (p_code + 1)
    inverse = int_codes(pair)  # hash-based: no sort of the million pair codes
    pairs = np.empty(int(inverse.max()) + 1 if len(inverse) else 0, dtype=np.int64)
    pairs[inverse] = pair
    c_text = np.concatenate((np.array(["\x00"], dtype=object), c_names.astype(str).astype(object)))
    p_text = np.concatenate((np.array(["\x00"], dtype=object), p_names.astype(str).astype(object)))
    lists: list[list[int]] = []
    pair_city = c_text[pairs // (len(p_names) + 1)].tolist()
    pair_prov = p_text[pairs % (len(p_names) + 1)].tolist()
    for city, prov in zip(pair_city, pair_prov, strict=True):
        found = sorted(set(serves_city.get(city, [])) | set(serves_prov.get(prov, [])))
        if not found and fallback == "province":
            found = sorted(in_prov.get(prov, []))
        lists.append(found)
    return inverse.reshape(-1).astype(np.int64), lists


def _haversine(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def assign_leads(
    leads: Any,
    dealers: Any,
    *,
    strategy: str = "nearest",
    as_of: Any,
    seed: int = 0,
    policy: AssignPolicy | None = None,
    owners: Any = None,
    staff: Any = None,
) -> Assignment:
    """Hand each lead to a dealer that serves its area and has capacity left that day.

    **Service area.** A dealer serves its own ``city``, any ``service_cities``
    and any ``service_provinces``; a lead whose city no dealer serves falls back
    to the dealers located in its province (``policy.fallback``). A lead never
    goes outside its area; a lead no dealer serves is reported
    (``no_dealer_in_area``; ``no_area`` without city and province), not forced.

    **Preference list.** Each lead tries dealers in order until one has
    capacity: its pre-assigned ``dealer_id`` (if it serves the area), then the
    dealer a returning owner already uses (*owners*), then the strategy's pick,
    then the rest of the area in the strategy's order, at most
    ``policy.max_choices`` dealers:

    * ``nearest``: by great-circle distance from the lead's ``lat``/``lon``
      columns or, without them, from the centre of the dealers in the lead's city
      (its province when the city has none);
    * ``round_robin``: weighted round-robin over the area's dealers by
      ``weight`` in ``created_at`` order (the quota method: after every prefix
      each dealer's count is within one lead of its weight share, as long as no
      dealer of the area is full);
    * ``performance``: the same with weight × ``performance`` (0.5 when missing);
    * ``capacity``: least-loaded first, by the share of daily capacity used.

    **Capacity.** ``daily_capacity`` leads per dealer per local calendar day of
    ``created_at`` (or of *as_of*, ``policy.capacity_day="as_of"``) is never
    exceeded. Leads claim capacity in rounds (first choices, then second …);
    within a round earlier leads (``created_at``, then input order) win.
    Ties among equal dealers are broken by a permutation drawn from *seed*, so
    the result is deterministic for the same input and seed. With *staff*
    (``staff_id``, ``dealer_id``), consultants get a dealer's leads in turn.

    Args:
        leads: lead columns ``lead_id``, ``created_at``, ``city``, ``province``
            (optional ``dealer_id``, ``phone``, ``lat``, ``lon``) or ``Lead`` models.
        dealers: dealer columns ``dealer_id``, ``city``, ``province``,
            ``daily_capacity`` (optional ``weight``, ``performance``, ``lat``,
            ``lon``, ``service_cities``, ``service_provinces``).
        strategy: ``"nearest"``, ``"round_robin"``, ``"capacity"`` or ``"performance"``.
        as_of: the time of the run (aware); leads created later are refused.
        seed: tie-breaking seed.
        policy: an :class:`AssignPolicy`.
        owners: returning owners' dealers: a mapping phone → ``dealer_id`` or a
            table with ``phone`` and ``dealer_id`` columns.
        staff: a table with ``staff_id`` and ``dealer_id``.

    Returns:
        An :class:`Assignment` aligned with the input leads.

    Raises:
        ConfigError: unknown strategy or bad policy.
        InvalidInput: no dealers, duplicate or unknown dealer ids, negative
            capacity, leads created after *as_of*, naive times.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import assign_leads
        >>> t = datetime(2026, 5, 1, 2, tzinfo=timezone.utc)
        >>> dealers = {"dealer_id": ["D1", "D2"], "city": ["Hangzhou", "Ningbo"],
        ...            "province": ["Zhejiang"] * 2, "daily_capacity": [2, 2],
        ...            "weight": [1.0, 1.0]}
        >>> leads = {"lead_id": ["L1", "L2", "L3", "L4"], "created_at": [t] * 4,
        ...          "city": ["Hangzhou", "Hangzhou", "Hangzhou", "Wenzhou"],
        ...          "province": ["Zhejiang"] * 4}
        >>> r = assign_leads(leads, dealers, strategy="round_robin", as_of=t)
        >>> r.dealer_id.tolist()
        ['D1', 'D1', None, 'D2']
        >>> r.reason.tolist()  # D1 is full: L4 (Wenzhou, no dealer) falls back to the province
        ['round_robin', 'round_robin', 'capacity_exhausted', 'next_choice']
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}", key="strategy"
        )
    policy = policy or AssignPolicy()
    as_of_ts = utc_scalar(as_of, "as_of")
    d = _dealers(dealers)
    cols = read_leads(
        leads, ("created_at", "city", "province"), optional=("dealer_id", "phone", "lat", "lon")
    )
    n = len(cols["lead_id"])
    created = cols["created_at"]
    late = np.flatnonzero(created > as_of_ts)
    if len(late):
        raise InvalidInput(
            "created after as_of", field="created_at", row=int(late[0]), code="after_as_of"
        )
    n_dealers = len(d["dealer_id"])
    rng = np.random.default_rng(seed)
    tie = np.empty(n_dealers, dtype=np.int64)
    tie[rng.permutation(n_dealers)] = np.arange(n_dealers)
    dealer_ids = d["dealer_id"].astype(object)
    id_index = {str(v): i for i, v in enumerate(dealer_ids.tolist())}

    # days
    stamp = np.full(n, as_of_ts, dtype=US) if policy.capacity_day == "as_of" else created
    local_day = local_us(stamp.astype(US), policy.tz) // 86_400_000_000  # floor: local date
    day0 = int(local_day.min()) if n else 0
    day = local_day - day0
    n_days = int(day.max()) + 1 if n else 1

    # areas and each area's ordered dealer list
    area, lists = _areas(cols["city"], cols["province"], d, policy.fallback)
    no_area = is_none(cols["city"]) & is_none(cols["province"])
    orders = _area_orders(strategy, lists, d, tie, cols, area)
    area_ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    area_ptr[1:] = np.cumsum([min(len(o), policy.max_choices) for o in orders])
    area_flat = np.array([x for o in orders for x in o[: policy.max_choices]], dtype=np.int64)

    # first choice per lead: pre-assigned, returning owner, strategy pick
    first = np.full(n, -1, dtype=np.int64)
    # reasons as small integer codes into _REASONS (the strategy is code 0); text at the end
    reason_first = np.zeros(n, dtype=np.int8)
    created_us = created.astype(np.int64)
    # each lead's rank by (created_at, input order): one sort, reused by every ordering below
    lead_rank = np.empty(n, dtype=np.int64)
    lead_rank[stable_order(created_us)] = np.arange(n, dtype=np.int64)
    pick = _strategy_pick(strategy, lists, d, tie, area, day, lead_rank, n)
    first[:] = pick
    member = _membership(lists, n_dealers)
    owner_dealer = _owner_dealers(owners, cols, id_index, n)
    ok_owner = (owner_dealer >= 0) & member_check(member, area, owner_dealer)
    first[ok_owner] = owner_dealer[ok_owner]
    reason_first[ok_owner] = _REASONS.index("returning_owner")
    if policy.preassigned == "keep" and "dealer_id" in cols:
        pre = _preassigned(cols["dealer_id"], id_index, policy.unknown_dealer)
        ok_pre = (pre >= 0) & member_check(member, area, pre)
        first[ok_pre] = pre[ok_pre]
        reason_first[ok_pre] = _REASONS.index("preassigned")

    # propose-and-cap rounds
    cap = d["daily_capacity"]
    used = np.zeros(n_dealers * n_days, dtype=np.int64)
    result = np.full(n, -1, dtype=np.int64)
    choice = np.full(n, -1, dtype=np.int64)
    lengths = area_ptr[area + 1] - area_ptr[area]
    has_first = first >= 0
    pending = np.flatnonzero(~no_area & ((lengths > 0) | has_first))
    # every pending lead is in round rnd: round 0 proposes its first choice (if any), and a
    # lead with a first choice tries area list entry rnd - 1 in round rnd, one without entry rnd
    for rnd in range(policy.max_choices + 1):
        if not len(pending):
            break
        uses_first = has_first[pending]
        k = rnd - uses_first
        alive = (k < lengths[pending]) | (uses_first & (rnd == 0))
        pending = pending[alive]
        if not len(pending):
            break
        k = k[alive]
        ptr = np.minimum(area_ptr[area[pending]] + k, len(area_flat) - 1)
        proposal = area_flat[ptr] if rnd else np.where(k < 0, first[pending], area_flat[ptr])
        slot = proposal * n_days + day[pending]
        # one argsort of a unique (slot, time rank) key instead of a 3-key lexsort
        order = np.argsort(slot * max(n, 1) + lead_rank[pending])
        s_sorted = slot[order]
        rank = rank_in_group(s_sorted)
        accept_sorted = used[s_sorted] + rank < cap[proposal[order]]
        accepted = pending[order[accept_sorted]]
        result[accepted] = proposal[order[accept_sorted]]
        choice[accepted] = rnd
        np.add.at(used, s_sorted[accept_sorted], 1)
        pending = pending[result[pending] < 0]

    got = result >= 0
    dealer_out = np.concatenate((dealer_ids, np.array([None], dtype=object)))[result]
    r = _REASONS.index
    reason_code = np.full(n, r("capacity_exhausted"), dtype=np.int8)
    reason_code[got & (choice == 0)] = reason_first[got & (choice == 0)]
    reason_code[got & (choice == 0) & ~has_first] = 0
    reason_code[got & (choice > 0)] = r("next_choice")
    reason_code[~got & (lengths == 0) & ~has_first] = r("no_dealer_in_area")
    reason_code[no_area] = r("no_area")
    reason = np.array((strategy, *_REASONS[1:]), dtype=object)[reason_code]
    staff_out = _staff(staff, result, created_us, dealer_ids, n)
    return Assignment(
        lead_id=cols["lead_id"],
        dealer_id=dealer_out,
        staff_id=staff_out,
        reason=reason,
        choice=choice,
        day=(local_day).astype("datetime64[D]"),
        strategy=strategy,
    )


def _membership(lists: list[list[int]], n_dealers: int) -> set[tuple[int, int]]:
    return {(a, dl) for a, members in enumerate(lists) for dl in members}


def member_check(
    member: set[tuple[int, int]], area: npt.NDArray[np.int64], dealer: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether each (area, dealer) pair is a service-area membership (-1 dealers: False)."""
    out = np.zeros(len(area), dtype=bool)
    rows = np.flatnonzero(dealer >= 0)
    if len(rows):
        pairs = np.unique(np.stack([area[rows], dealer[rows]]), axis=1, return_inverse=True)
        keys, inverse = pairs
        ok = np.array([(int(a), int(b)) in member for a, b in zip(keys[0], keys[1], strict=True)])
        out[rows] = ok[inverse.reshape(-1)]
    return out


def _preassigned(
    values: npt.NDArray[Any], id_index: dict[str, int], unknown: str
) -> npt.NDArray[np.int64]:
    codes, uniques = codes_of(values)
    table = np.array([id_index.get(str(u), -1) for u in uniques.tolist()] + [-1], dtype=np.int64)
    out = table[codes]  # code -1 picks the trailing -1
    bad = np.flatnonzero((codes >= 0) & (out < 0))
    if len(bad) and unknown == "error":
        shown = mask_id(values[bad[0]])
        raise InvalidInput(
            f"unknown dealer id {shown}", field="dealer_id", row=int(bad[0]), code="unknown_dealer"
        )
    return out


def _owner_dealers(
    owners: Any, cols: dict[str, npt.NDArray[Any]], id_index: dict[str, int], n: int
) -> npt.NDArray[np.int64]:
    out = np.full(n, -1, dtype=np.int64)
    if owners is None or "phone" not in cols:
        return out
    if isinstance(owners, dict) and not all(
        isinstance(v, list | np.ndarray | tuple) for v in owners.values()
    ):
        phones = np.array(list(owners), dtype=object)
        dealers = np.array(list(owners.values()), dtype=object)
    else:
        table = read_table(owners, ("phone", "dealer_id"), what="owners")
        phones, dealers = table["phone"].astype(object), table["dealer_id"].astype(object)
    unknown = [i for i, v in enumerate(dealers.tolist()) if str(v) not in id_index]
    if unknown:
        raise InvalidInput(
            f"unknown dealer id {mask_id(dealers[unknown[0]])}",
            field="owners.dealer_id",
            row=unknown[0],
            code="unknown_dealer",
        )
    owner_e164 = parse_phones(phones).e164
    lookup = {
        e: id_index[str(dl)]
        for e, dl in zip(owner_e164.tolist(), dealers.tolist(), strict=True)
        if e
    }
    lead_e164 = parse_phones(cols["phone"].astype(object)).e164
    codes, uniques = codes_of(lead_e164)
    table_arr = np.array([lookup.get(u, -1) for u in uniques.tolist()] + [-1], dtype=np.int64)
    out_codes: npt.NDArray[np.int64] = table_arr[codes]
    return out_codes


def _area_orders(
    strategy: str,
    lists: list[list[int]],
    d: dict[str, npt.NDArray[Any]],
    tie: npt.NDArray[np.int64],
    cols: dict[str, npt.NDArray[Any]],
    area: npt.NDArray[np.int64],
) -> list[list[int]]:
    """Each area's dealers in the strategy's order of preference (after the first pick)."""
    out: list[list[int]] = []
    lat = d.get("lat")
    lon = d.get("lon")
    for members in lists:
        m = np.array(members, dtype=np.int64)
        if not len(m):
            out.append([])
            continue
        if strategy == "nearest" and lat is not None and lon is not None:
            la = np.array([float(x) if x is not None else np.nan for x in lat[m].tolist()])
            lo = np.array([float(x) if x is not None else np.nan for x in lon[m].tolist()])
            centre = (np.nanmean(la), np.nanmean(lo)) if np.isfinite(la).any() else (0.0, 0.0)
            dist = np.nan_to_num(_haversine(centre[0], centre[1], la, lo), nan=np.inf)
            key: Any = (tie[m], dist)
        elif strategy == "capacity":
            key = (tie[m], -d["daily_capacity"][m])
        elif strategy == "performance":
            key = (tie[m], -(d["weight"][m] * d["performance"][m]))
        else:
            key = (tie[m], -d["weight"][m])
        out.append(m[np.lexsort(key)].tolist())
    return out


def _strategy_pick(
    strategy: str,
    lists: list[list[int]],
    d: dict[str, npt.NDArray[Any]],
    tie: npt.NDArray[np.int64],
    area: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    lead_rank: npt.NDArray[np.int64],
    n: int,
) -> npt.NDArray[np.int64]:
    """The strategy's first choice per lead (-1: use the area order).

    *lead_rank* is each lead's rank by (``created_at``, input order).
    """
    pick = np.full(n, -1, dtype=np.int64)
    if strategy == "nearest" or n == 0:
        return pick
    if strategy in ("round_robin", "performance"):
        order = np.argsort(area * n + lead_rank)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = rank_in_group(area[order])
        lengths = np.bincount(area, minlength=len(lists))
        area_of = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
        members = np.array(
            [dl for x in lists for dl in sorted(x, key=lambda v: tie[v])], dtype=np.int64
        )
        weights = d["weight"][members] if len(members) else np.zeros(0)
        if strategy == "performance" and len(members):
            weights = weights * np.maximum(d["performance"][members], 1e-6)
        lengths = np.where([len(x) > 0 for x in lists], lengths, 0)
        flat, offsets = quota_sequence(area_of, weights, lengths)
        has = lengths[area] > 0
        pick[has] = members[flat[offsets[area[has]] + rank[has]]]
        return pick
    # capacity: least-loaded slots per (area, day); leads sorted by (area, day, rank) once
    n_days = int(day.max()) + 1
    by_area = np.argsort((area * n_days + day) * n + lead_rank)
    bounds = np.searchsorted(area[by_area], np.arange(len(lists) + 1))
    for a, area_members in enumerate(lists):
        if not area_members or bounds[a] == bounds[a + 1]:
            continue
        order = by_area[bounds[a] : bounds[a + 1]]
        m = np.array(area_members, dtype=np.int64)
        caps = d["daily_capacity"][m]
        slot_dealer = np.repeat(m, caps)
        slot_j = (
            np.concatenate([np.arange(c) for c in caps]) if caps.sum() else np.zeros(0, np.int64)
        )
        slot_frac = slot_j / np.repeat(np.maximum(caps, 1), caps)
        slot_order = np.lexsort((tie[slot_dealer], slot_frac))
        seq = slot_dealer[slot_order]
        rank = rank_in_group(day[order])
        ok = rank < len(seq)
        pick[order[ok]] = seq[rank[ok]]
    return pick


def _staff(
    staff: Any,
    result: npt.NDArray[np.int64],
    created_us: npt.NDArray[np.int64],
    dealer_ids: npt.NDArray[Any],
    n: int,
) -> npt.NDArray[Any]:
    out = np.full(n, None, dtype=object)
    if staff is None:
        return out
    table = read_table(staff, ("staff_id", "dealer_id"), what="staff")
    id_index = {str(v): i for i, v in enumerate(dealer_ids.tolist())}
    s_dealer = np.array(
        [id_index.get(str(v), -1) for v in table["dealer_id"].tolist()], dtype=np.int64
    )
    order = np.lexsort((table["staff_id"].astype(str), s_dealer))
    s_dealer, s_ids = s_dealer[order], table["staff_id"][order]
    starts = np.searchsorted(s_dealer, result)
    counts = np.searchsorted(s_dealer, result, side="right") - starts
    rows = np.flatnonzero((result >= 0) & (counts > 0))
    sorted_rows = rows[np.lexsort((rows, created_us[rows], result[rows]))]
    rank = rank_in_group(result[sorted_rows])
    out[sorted_rows] = s_ids[starts[sorted_rows] + rank % counts[sorted_rows]]
    return out
