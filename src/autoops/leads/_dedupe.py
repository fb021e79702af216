"""Lead de-duplication: one kept lead per person, scope and window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import parse_duration
from autoops.errors import ConfigError, InvalidInput
from autoops.leads._codes import codes_of, stable_order
from autoops.leads._input import read_leads
from autoops.leads._link import KEY_STATUS, phone_keys
from autoops.leads._result import ResultBase, group_first

__all__ = ["Deduplication", "dedupe_leads"]

_SCOPES = ("brand", "dealer", "series")
_KEYS = ("phone", "one_id")


@attrs.frozen(slots=True, repr=False)
class Deduplication(ResultBase):
    """Result of :func:`dedupe_leads`, aligned with the input leads.

    Attributes:
        lead_id: the input lead ids.
        kept_row: the row of the lead each one duplicates (its cycle's first
            lead), or its own row; ``kept_id`` gives the ids.
        is_duplicate: ``kept_id != lead_id``.
        cycle: 1-based cycle number within the person's key (and scope); 0 without a key.
        previous_row: for a kept lead that starts cycle 2+, the row of the kept
            lead of the previous cycle; else -1; ``previous_id`` gives the ids.
        cycle_size: leads in the cycle (on kept and duplicate rows alike).
        touchpoint_count: distinct touchpoints in the cycle.
        key_status_code: index into ``("ok", "missing", "invalid")``; ``key_status``
            gives the names.
        touchpoint: the input touchpoints (for :meth:`attachments`).

    The id and status columns are built on access from the row and code
    columns (one gather each).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import dedupe_leads
        >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
        >>> dedupe_leads({"lead_id": ["L1", "L2"], "created_at": [t, t],
        ...               "phone": ["13800138000", "13800138000"]})
        Deduplication(leads=2, kept=1, duplicates=1, new_cycles=0, without_key=0)
    """

    lead_id: npt.NDArray[Any]
    kept_row: npt.NDArray[np.int64]
    is_duplicate: npt.NDArray[np.bool_]
    cycle: npt.NDArray[np.int64]
    previous_row: npt.NDArray[np.int64]
    cycle_size: npt.NDArray[np.int64]
    touchpoint_count: npt.NDArray[np.int64]
    key_status_code: npt.NDArray[np.int8]
    touchpoint: npt.NDArray[Any]
    window: timedelta
    scope: str
    key: str
    _title = "leads (first rows)"

    @property
    def kept_id(self) -> npt.NDArray[Any]:
        """The lead each one duplicates (its cycle's first lead), or its own id.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from autoops.leads import dedupe_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = dedupe_leads({"lead_id": ["L1", "L2", "L3"], "created_at": [t, t, t],
            ...                   "phone": ["13800138000", "+8613800138000", "13900139000"]})
            >>> r.kept_id.tolist()
            ['L1', 'L1', 'L3']
        """
        out: npt.NDArray[Any] = self.lead_id[self.kept_row]
        return out

    @property
    def previous_id(self) -> npt.NDArray[Any]:
        """For a kept lead that starts cycle 2+, the previous cycle's kept lead; else ``None``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from autoops.leads import dedupe_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = dedupe_leads({"lead_id": ["L1", "L2"],
            ...                   "created_at": [t, t + timedelta(days=30)],
            ...                   "phone": ["13800138000", "13800138000"]}, window="30d")
            >>> r.previous_id.tolist()
            [None, 'L1']
        """
        ids = np.concatenate((self.lead_id.astype(object), np.array([None], dtype=object)))
        out: npt.NDArray[Any] = ids[self.previous_row]  # row -1 reads the trailing None
        return out

    @property
    def key_status(self) -> npt.NDArray[Any]:
        """``ok``, ``missing`` (no identifier) or ``invalid`` (a phone that does not parse).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import dedupe_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = dedupe_leads({"lead_id": ["L1", "L2", "L3"], "created_at": [t, t, t],
            ...                   "phone": ["13800138000", None, "12345"]})
            >>> r.key_status.tolist()
            ['ok', 'missing', 'invalid']
        """
        out: npt.NDArray[Any] = np.array(KEY_STATUS, dtype=object)[self.key_status_code]
        return out

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "lead_id": self.lead_id,
            "kept_id": self.kept_id,
            "is_duplicate": self.is_duplicate,
            "cycle": self.cycle,
            "previous_id": self.previous_id,
            "cycle_size": self.cycle_size,
            "touchpoint_count": self.touchpoint_count,
            "key_status": self.key_status,
        }

    def summary(self) -> dict[str, Any]:
        """Headline figures: leads, kept, duplicates, relinked cycles, leads without a key.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import dedupe_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = dedupe_leads({"lead_id": ["L1", "L2"], "created_at": [t, t],
            ...                   "phone": ["13800138000", "+86 138 0013 8000"]})
            >>> r.summary()["duplicates"]
            1
        """
        return {
            "leads": len(self.lead_id),
            "kept": int((~self.is_duplicate).sum()),
            "duplicates": int(self.is_duplicate.sum()),
            "new_cycles": int((self.previous_row >= 0).sum()),
            "without_key": int((self.key_status_code != 0).sum()),
        }

    def attachments(self) -> dict[str, npt.NDArray[Any]]:
        """The duplicates as extra touchpoints of their kept lead.

        Returns:
            Columns ``kept_id``, ``lead_id``, ``touchpoint`` for every duplicate row,
            sorted by ``kept_id`` then input order.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import dedupe_leads
            >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
            >>> r = dedupe_leads({"lead_id": ["L1", "L2"], "created_at": [t, t],
            ...                   "phone": ["13800138000", "008613800138000"],
            ...                   "touchpoint": ["douyin", "app"]})
            >>> r.attachments()["touchpoint"].tolist()
            ['app']
        """
        rows = np.flatnonzero(self.is_duplicate)
        order = rows[np.argsort(self.kept_id[rows].astype(str), kind="stable")]
        return {
            "kept_id": self.kept_id[order],
            "lead_id": self.lead_id[order],
            "touchpoint": self.touchpoint[order],
        }


def _check(window: Any, scope: str, key: str) -> timedelta:
    if scope not in _SCOPES:
        raise ConfigError(f"unknown scope {scope!r}; use one of {', '.join(_SCOPES)}", key="scope")
    if key not in _KEYS:
        raise ConfigError(f"unknown key {key!r}; use one of {', '.join(_KEYS)}", key="key")
    return parse_duration(window, key="window")


def _combine(codes: npt.NDArray[np.int64], extra: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Combine two non-negative code arrays into one code (rows with codes < 0 stay -1)."""
    width = int(extra.max()) + 2 if len(extra) else 1
    out = codes * width + (extra + 1)
    out[codes < 0] = -1
    return out


def _person_keys(
    cols: dict[str, npt.NDArray[Any]], key: str, one_id: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    n = len(cols["lead_id"])
    if key == "phone":
        if "phone" not in cols:
            raise InvalidInput(
                "dedupe by phone needs a phone column", field="phone", code="missing_column"
            )
        return phone_keys(cols["phone"])
    values = one_id if one_id is not None else cols.get("one_id")
    if values is None:
        raise InvalidInput(
            "key='one_id' needs a one_id column or the one_id= argument",
            field="one_id",
            code="missing_column",
        )
    values = np.asarray(values)
    if len(values) != n:
        raise InvalidInput(f"one_id has {len(values)} values for {n} leads", field="one_id")
    if values.dtype.kind in "iu":
        missing = values < 0
        codes = np.where(missing, -1, np.unique(values, return_inverse=True)[1]).astype(np.int64)
    else:
        codes, _ = codes_of(values)
        missing = codes < 0
    return codes, missing.astype(np.int8)  # KEY_STATUS: 0 ok, 1 missing


def _cycle_starts(
    groups: npt.NDArray[np.int64], nxt: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Greedy anchored cycles over rows sorted by (group, time).

    A cycle starts at a row and absorbs the rows before ``nxt`` of it (the first
    row of the group at start + window or later); the loop runs once per cycle
    *number* (a handful), each pass over all groups at once.
    """
    n = len(groups)
    first = group_first(groups)
    pos = np.arange(n, dtype=np.int64)
    starts_idx = np.flatnonzero(first)
    group_end = np.repeat(np.append(starts_idx[1:], n), np.diff(np.append(starts_idx, n)))
    is_start = np.zeros(n, dtype=bool)
    current = pos[first]
    while len(current):
        is_start[current] = True
        ends = group_end[current]
        current = nxt[current]
        current = current[current < ends]  # reaching the group's end means no more cycles
    return is_start


def dedupe_leads(
    leads: Any,
    *,
    window: str | timedelta = "30d",
    scope: str = "brand",
    key: str = "phone",
    one_id: Any = None,
) -> Deduplication:
    """Find duplicate leads of one person and keep the earliest of each cycle.

    Leads are grouped by the person key — the phone normalised to E.164
    (``138 0013 8000``, ``+8613800138000`` and ``008613800138000`` are one
    phone) or a ``one_id`` column from identity resolution — and, by *scope*,
    also by ``dealer_id`` (``"dealer"``) or ``series`` (``"series"``);
    ``"brand"`` dedupes across the whole brand. Within a group, leads are
    ordered by ``created_at`` (ties: input order). The first lead opens a
    cycle and is kept; every later lead created strictly less than *window*
    after the cycle's first lead is its duplicate (``kept_id`` = that first
    lead). A lead at or after ``first + window`` opens a new cycle, kept, and
    linked to the previous cycle's kept lead by ``previous_id``. The window is
    elapsed time, so time zones do not matter. A ``None`` dealer or series is
    a scope value of its own. Leads without a usable key (missing or invalid
    phone) are kept alone and reported in ``key_status``; nothing is dropped.
    The result is idempotent: de-duplicating the kept leads keeps them all.

    Args:
        leads: lead columns (``lead_id``, ``created_at``, ``phone``; ``dealer_id``
            or ``series`` for those scopes; ``touchpoint`` optional) or ``Lead`` models.
        window: the de-duplication window (``"30d"``).
        scope: ``"brand"``, ``"dealer"`` or ``"series"``.
        key: ``"phone"`` or ``"one_id"``.
        one_id: person ids aligned with *leads* when they are not a column
            (negative or ``None`` = unknown).

    Returns:
        A :class:`Deduplication` aligned with the input rows.

    Raises:
        ConfigError: unknown *scope* or *key*, or a non-positive *window*.
        InvalidInput: missing columns, duplicate or missing lead ids, naive times.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from autoops.leads import dedupe_leads
        >>> t = datetime(2026, 5, 1, tzinfo=timezone.utc)
        >>> leads = {"lead_id": ["L1", "L2", "L3", "L4"],
        ...          "created_at": [t, t + timedelta(days=3), t + timedelta(days=30), t],
        ...          "phone": ["138 0013 8000", "+8613800138000", "008613800138000", None]}
        >>> r = dedupe_leads(leads, window="30d")
        >>> r.kept_id.tolist(), r.previous_id.tolist(), r.key_status.tolist()
        (['L1', 'L1', 'L3', 'L4'], [None, None, 'L1', None], ['ok', 'ok', 'ok', 'missing'])
    """
    gap_td = _check(window, scope, key)
    need = ("created_at",)
    optional = ("phone", "one_id", "touchpoint", "dealer_id", "series")
    cols = read_leads(leads, need, optional=optional)
    n = len(cols["lead_id"])
    codes, status = _person_keys(cols, key, one_id)
    if scope != "brand":
        column = "dealer_id" if scope == "dealer" else "series"
        if column not in cols:
            raise InvalidInput(
                f"scope={scope!r} needs a {column} column", field=column, code="missing_column"
            )
        codes = _combine(codes, codes_of(cols[column])[0])
    times = cols["created_at"].view(np.int64)
    gap = gap_td // timedelta(microseconds=1)

    lead_id = cols["lead_id"]
    kept_row = np.arange(n, dtype=np.int64)
    previous_row = np.full(n, -1, dtype=np.int64)
    cycle = np.zeros(n, dtype=np.int64)
    cycle_size = np.ones(n, dtype=np.int64)
    touch = cols.get("touchpoint", np.full(n, None, dtype=object)).astype(object)
    touch_code = codes_of(touch)[0]
    touch_count = (touch_code >= 0).astype(np.int64)

    usable = codes >= 0
    keyed = None if usable.all() else np.flatnonzero(usable)  # None: every row (no copies)
    m = n if keyed is None else len(keyed)
    if m:
        # rows ranked by (time, input order) once; a composite (key, rank) is then unique,
        # so one plain argsort orders the rows, and "the first row of the group at
        # time + window or later" is one searchsorted of monotone queries
        t_keyed = times if keyed is None else times[keyed]
        t_order = stable_order(t_keyed)
        sorted_times = t_keyed[t_order]
        rank = np.empty(m, dtype=np.int64)
        rank[t_order] = np.arange(m, dtype=np.int64)
        target_rank = np.empty(m, dtype=np.int64)  # rows with time < time + window
        target_rank[t_order] = np.searchsorted(sorted_times, sorted_times + gap, side="left")
        width = m + 1
        k_codes = codes if keyed is None else codes[keyed]
        if int(k_codes.max()) >= (1 << 62) // width:  # sparse scope codes: make them dense
            k_codes = np.unique(k_codes, return_inverse=True)[1].reshape(-1).astype(np.int64)
        base = k_codes * width
        composite = base + rank
        local = np.argsort(composite)
        order = local if keyed is None else keyed[local]
        g = k_codes[local]
        keys_sorted = composite[local]
        nxt = np.searchsorted(keys_sorted, base[local] + target_rank[local], side="left")
        is_start = _cycle_starts(g, nxt)
        pos = np.arange(m)
        start_pos = np.maximum.accumulate(np.where(is_start, pos, 0))
        kept_row[order] = order[start_pos]
        first = group_first(g)
        cum = np.cumsum(is_start)
        group_base = np.maximum.accumulate(np.where(first, cum - 1, 0))
        cycle[order] = cum - group_base
        # previous cycle's kept lead, for starts that are not a group's first
        start_list = np.flatnonzero(is_start)
        later = start_list[~first[start_list]]
        prev_start = start_list[np.searchsorted(start_list, later) - 1]
        previous_row[order[later]] = order[prev_start]
        # cycle sizes and distinct touchpoints per cycle
        cycle_id = cum - 1
        sizes = np.bincount(cycle_id, minlength=int(cum[-1]))
        cycle_size[order] = sizes[cycle_id]
        # distinct touchpoints per cycle: the distinct (cycle, touchpoint) pairs, counted
        tcode = touch_code[order]
        ok = tcode >= 0
        n_cycles = int(cum[-1])
        width = int(tcode.max()) + 1 if ok.any() else 1
        pairs = cycle_id[ok] * width + tcode[ok]
        if n_cycles * width <= 8 * m:  # few touchpoints: a (cycle, touchpoint) bit table
            seen = np.zeros(n_cycles * width, dtype=bool)
            seen[pairs] = True
            distinct = np.bincount(np.flatnonzero(seen) // width, minlength=n_cycles)
        else:
            distinct = np.bincount(np.unique(pairs) // width, minlength=n_cycles)
        touch_count[order] = distinct[cycle_id]
    return Deduplication(
        lead_id=lead_id,
        kept_row=kept_row,
        is_duplicate=kept_row != np.arange(n),
        cycle=cycle,
        previous_row=previous_row,
        cycle_size=cycle_size,
        touchpoint_count=touch_count,
        key_status_code=status,
        touchpoint=touch,
        window=gap_td,
        scope=scope,
        key=key,
    )
