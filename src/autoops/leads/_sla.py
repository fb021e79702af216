"""Follow-up SLA: first contact on a business-hours calendar, post-test-drive callbacks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._time import US, parse_duration
from autoops.leads._calendar import BusinessCalendar
from autoops.leads._codes import sorted_codes
from autoops.leads._input import read_leads_indexed, read_table, utc_scalar
from autoops.leads._link import link_by_phone, person_codes
from autoops.leads._result import ResultBase, group_first

__all__ = ["DealerSla", "SlaReport", "sla_report"]

_MIN = 60_000_000


@attrs.frozen(slots=True, repr=False)
class DealerSla(ResultBase):
    """Per-dealer SLA figures (one row per dealer; ``None`` = leads without a dealer).

    Attributes:
        dealer_id: the dealer.
        leads: leads in the report.
        contacted: leads with a first contact.
        breaches: leads first contacted after their deadline, or not contacted
            while the deadline has passed at *as_of*.
        breach_rate: breaches / leads.
        pending: not contacted, deadline still ahead.
        p50_minutes, p90_minutes: first-contact time in business minutes, nearest
            rank (the value at rank ceil(q·k) of the k contacted leads); NaN when none.
        test_drives: leads with a test drive.
        callbacks_in_time: test drives called back within *callback_within*.
        callback_rate: callbacks_in_time / test_drives (NaN without test drives).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import sla_report
        >>> t = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)  # 10:00 Shanghai
        >>> r = sla_report({"lead_id": ["L1"], "created_at": [t], "dealer_id": ["D1"]},
        ...                {"lead_id": ["L1"], "ts": [t]}, as_of=t)
        >>> r.per_dealer().breaches.tolist()
        [0]
    """

    dealer_id: npt.NDArray[Any]
    leads: npt.NDArray[np.int64]
    contacted: npt.NDArray[np.int64]
    breaches: npt.NDArray[np.int64]
    breach_rate: npt.NDArray[np.float64]
    pending: npt.NDArray[np.int64]
    p50_minutes: npt.NDArray[np.float64]
    p90_minutes: npt.NDArray[np.float64]
    test_drives: npt.NDArray[np.int64]
    callbacks_in_time: npt.NDArray[np.int64]
    callback_rate: npt.NDArray[np.float64]
    _title = "SLA per dealer"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {a.name: getattr(self, a.name) for a in attrs.fields(type(self))}

    def summary(self) -> dict[str, Any]:
        """Dealers and the worst breach rate.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import sla_report
            >>> t = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
            >>> sla_report({"lead_id": ["L1"], "created_at": [t], "dealer_id": ["D1"]},
            ...            {"lead_id": [], "ts": []}, as_of=t).per_dealer().summary()["dealers"]
            1
        """
        worst = float(np.nanmax(self.breach_rate)) if len(self.breach_rate) else float("nan")
        return {"dealers": len(self.dealer_id), "worst_breach_rate": round(worst, 4)}


@attrs.frozen(slots=True, repr=False)
class SlaReport(ResultBase):
    """Result of :func:`sla_report`, aligned with the input leads.

    Attributes:
        lead_id, dealer_id: the input leads.
        due: first-contact deadline (UTC), on the business calendar.
        first_contact_at: the earliest contact at or after ``created_at`` (NaT: none).
        response_minutes: business minutes from capture to first contact (NaN: none).
        breached: contacted after ``due``, or uncontacted with ``due < as_of``.
        pending: uncontacted with ``due >= as_of``.
        test_drive_at: the lead's test drive (NaT: none).
        callback_at: first callback at or after the test drive (NaT: none).
        callback_in_time: callback within *callback_within* of the test drive
            (wall-clock time).
        unknown_contacts: contacts whose ``lead_id`` is not among the leads.
        early_contacts: contacts before their lead's ``created_at`` (ignored).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import sla_report
        >>> t = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
        >>> sla_report({"lead_id": ["L1"], "created_at": [t], "dealer_id": ["D1"]},
        ...            {"lead_id": ["L9"], "ts": [t]}, as_of=t).unknown_contacts
        1
    """

    lead_id: npt.NDArray[Any]
    dealer_id: npt.NDArray[Any]
    due: npt.NDArray[Any]
    first_contact_at: npt.NDArray[Any]
    response_minutes: npt.NDArray[np.float64]
    breached: npt.NDArray[np.bool_]
    pending: npt.NDArray[np.bool_]
    test_drive_at: npt.NDArray[Any]
    callback_at: npt.NDArray[Any]
    callback_in_time: npt.NDArray[np.bool_]
    unknown_contacts: int
    early_contacts: int
    first_contact_within: timedelta
    callback_within: timedelta
    _title = "SLA per lead (first rows)"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        names = (
            "lead_id",
            "dealer_id",
            "due",
            "first_contact_at",
            "response_minutes",
            "breached",
            "pending",
            "test_drive_at",
            "callback_at",
            "callback_in_time",
        )
        return {name: getattr(self, name) for name in names}

    def summary(self) -> dict[str, Any]:
        """Leads, breaches, breach rate, median response, callback rate.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import sla_report
            >>> t = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
            >>> sla_report({"lead_id": ["L1"], "created_at": [t], "dealer_id": ["D1"]},
            ...            {"lead_id": ["L1"], "ts": [t]}, as_of=t).summary()["breaches"]
            0
        """
        n = len(self.lead_id)
        drives = int((~np.isnat(self.test_drive_at)).sum())
        resp = self.response_minutes[~np.isnan(self.response_minutes)]
        return {
            "leads": n,
            "breaches": int(self.breached.sum()),
            "breach_rate": round(float(self.breached.mean()), 4) if n else float("nan"),
            "median_response_min": round(float(np.median(resp)), 1) if len(resp) else float("nan"),
            "test_drives": drives,
            "callback_rate": round(float(self.callback_in_time.sum() / drives), 4)
            if drives
            else float("nan"),
        }

    def per_dealer(self) -> DealerSla:
        """Aggregate per dealer (sorted by dealer id; leads without a dealer last).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from autoops.leads import sla_report
            >>> t = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
            >>> r = sla_report({"lead_id": ["L1", "L2"], "created_at": [t, t],
            ...                 "dealer_id": ["D1", "D2"]},
            ...                {"lead_id": ["L1"], "ts": [t]}, as_of=t)
            >>> r.per_dealer().contacted.tolist()
            [1, 0]
        """
        codes, uniques = sorted_codes(self.dealer_id)
        k = len(uniques)
        g = np.where(codes < 0, k, codes)
        size = k + 1
        leads = np.bincount(g, minlength=size)
        contacted_mask = ~np.isnan(self.response_minutes)
        contacted = np.bincount(g, weights=contacted_mask, minlength=size).astype(np.int64)
        breaches = np.bincount(g, weights=self.breached, minlength=size).astype(np.int64)
        pending = np.bincount(g, weights=self.pending, minlength=size).astype(np.int64)
        drives = np.bincount(g, weights=~np.isnat(self.test_drive_at), minlength=size).astype(
            np.int64
        )
        callbacks = np.bincount(g, weights=self.callback_in_time, minlength=size).astype(np.int64)
        p50, p90 = _nearest_ranks(g, self.response_minutes, contacted_mask, size, (0.5, 0.9))
        keep = leads > 0
        ids = np.concatenate((uniques.astype(object), np.array([None], dtype=object)))
        with np.errstate(invalid="ignore", divide="ignore"):
            breach_rate = breaches / leads
            callback_rate = np.where(drives > 0, callbacks / np.maximum(drives, 1), np.nan)
        return DealerSla(
            dealer_id=ids[keep],
            leads=leads[keep].astype(np.int64),
            contacted=contacted[keep],
            breaches=breaches[keep],
            breach_rate=breach_rate[keep],
            pending=pending[keep],
            p50_minutes=p50[keep],
            p90_minutes=p90[keep],
            test_drives=drives[keep],
            callbacks_in_time=callbacks[keep],
            callback_rate=callback_rate[keep],
        )


def _nearest_ranks(
    g: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    mask: npt.NDArray[np.bool_],
    size: int,
    qs: tuple[float, ...],
) -> list[npt.NDArray[np.float64]]:
    """Nearest-rank quantiles of *values* per group, for every q in *qs*, from one ordering.

    The selected rows are sorted by value once, then stably by group (a radix
    sort when the group codes fit in 16 bits), so all quantiles share one order.
    """
    outs = [np.full(size, np.nan) for _ in qs]
    rows = np.flatnonzero(mask)
    if not len(rows):
        return outs
    by_value = rows[np.argsort(values[rows])]  # ties: equal values, any order
    groups = g[by_value]
    if size <= 1 << 16:
        groups = groups.astype(np.uint16)
    order = by_value[np.argsort(groups, kind="stable")]
    gs = g[order]
    starts = np.flatnonzero(group_first(gs))
    counts = np.diff(np.append(starts, len(order)))
    for out, q in zip(outs, qs, strict=True):
        rank = np.ceil(q * counts).astype(np.int64) - 1
        out[gs[starts]] = values[order[starts + np.maximum(rank, 0)]]
    return outs


def _first_after(
    lead_idx: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], floor: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.int64]:
    """Earliest ts per lead among rows with ts >= floor[lead]; int64 min when none.

    One unbuffered ``np.minimum.at`` (a scatter-min on integer codes), no sort.
    """
    nat = np.iinfo(np.int64).min
    big = np.iinfo(np.int64).max
    out = np.full(n, big, dtype=np.int64)
    ok = (lead_idx >= 0) & (ts != nat)
    ok[ok] &= ts[ok] >= floor[lead_idx[ok]]
    np.minimum.at(out, lead_idx[ok], ts[ok])
    out[out == big] = nat
    return out


def sla_report(
    leads: Any,
    contacts: Any,
    *,
    first_contact_within: str | timedelta = "30min",
    business_hours: tuple[str, str] | BusinessCalendar = ("09:00", "18:00"),
    holidays: Iterable[date | str] = (),
    callback_within: str | timedelta = "30min",
    test_drives: Any = None,
    events: Any = None,
    as_of: Any = None,
) -> SlaReport:
    """Measure dealers' follow-up against a first-contact SLA and post-test-drive callbacks.

    **First contact.** A lead's deadline is *first_contact_within* of business
    time after ``created_at`` on the calendar (open ``business_hours`` every day
    in Asia/Shanghai by default, closed on *holidays*; pass a
    :class:`BusinessCalendar` for weekdays, make-up days or another zone): a
    lead at 17:55 with a 2-hour SLA and 09:00–18:00 hours is due 10:55 the next
    business day. The first contact is the earliest contact (any kind) at or
    after ``created_at``; its response time is measured in business minutes. A
    lead is *breached* when first contacted after the deadline, or never
    contacted while the deadline is before *as_of*; otherwise an uncontacted
    lead is *pending*. Contacts before capture are ignored and counted;
    contacts of unknown leads are counted, not raised.

    **Callbacks after a test drive.** The domain reports a 7–10× conversion
    lift from calling back within 30 minutes of a test drive. A lead's test
    drive comes from *test_drives* (``lead_id``, ``ts``) or, with *events*
    (``ts``, ``event``, ``phone``), from its first ``test_drive`` event linked
    to it: an event links to the latest lead of the same phone created at or
    before it. The callback is the first contact at or after the test drive
    (only rows with ``after_test_drive`` true when *contacts* has that column);
    it is in time when within *callback_within* of wall-clock time.

    Args:
        leads: ``lead_id``, ``created_at``, ``dealer_id`` (and ``phone`` with *events*).
        contacts: ``lead_id``, ``ts`` (optional ``after_test_drive``).
        first_contact_within: the SLA, business time (``"30min"``, ``"2h"``).
        business_hours: ``(open, close)`` local times, or a :class:`BusinessCalendar`.
        holidays: closed dates (with ``(open, close)`` hours).
        callback_within: the post-test-drive callback SLA, wall-clock.
        test_drives: optional table ``lead_id``, ``ts``.
        events: optional events table to find test drives by phone.
        as_of: the time of the report (aware); default the latest time in the input.

    Returns:
        An :class:`SlaReport`; :meth:`SlaReport.per_dealer` aggregates per dealer.

    Raises:
        ConfigError: bad durations or hours.
        InvalidInput: missing columns, naive times, duplicate lead ids.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.leads import sla_report
        >>> t = datetime(2026, 3, 2, 9, 55, tzinfo=timezone.utc)  # 17:55 Shanghai
        >>> late = datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)  # 11:00 next day
        >>> r = sla_report({"lead_id": ["L1"], "created_at": [t], "dealer_id": ["D1"]},
        ...                {"lead_id": ["L1"], "ts": [late]}, first_contact_within="2h")
        >>> str(r.due[0]), r.response_minutes.tolist(), r.breached.tolist()
        ('2026-03-03T02:55:00.000000', [125.0], [True])
    """
    within = parse_duration(first_contact_within, key="first_contact_within")
    cb_within = parse_duration(callback_within, key="callback_within")
    if isinstance(business_hours, BusinessCalendar):
        calendar = business_hours
        if holidays:
            calendar = attrs.evolve(calendar, holidays=calendar.holidays | frozenset(holidays))
    else:
        calendar = BusinessCalendar(
            open=business_hours[0], close=business_hours[1], holidays=holidays
        )
    ct = read_table(
        contacts, ("lead_id", "ts"), optional=("after_test_drive",), what="contacts", times=("ts",)
    )
    td = None
    if test_drives is not None:
        td = read_table(test_drives, ("lead_id", "ts"), what="test_drives", times=("ts",))
    # lead ids, contact lead ids (and test-drive lead ids) factorised together, once
    cols, found = read_leads_indexed(
        leads,
        ("created_at", "dealer_id"),
        optional=("phone",),
        probes=[ct["lead_id"]] + ([td["lead_id"]] if td is not None else []),
    )
    n = len(cols["lead_id"])
    created = cols["created_at"].view(np.int64)
    c_lead = found[0]
    c_ts = ct["ts"].astype(US).view(np.int64)
    unknown = int((c_lead < 0).sum())
    known = c_lead >= 0
    early = int((c_ts[known] < created[c_lead[known]]).sum())
    first = _first_after(c_lead, c_ts, created, n)
    nat = np.iinfo(np.int64).min
    has_first = first != nat

    due = calendar.add(cols["created_at"].astype(US), within)
    first_dt = first.view(US)
    response = calendar.elapsed(cols["created_at"].astype(US), first_dt).astype(np.float64) / _MIN
    response[~has_first] = np.nan
    if as_of is None:
        latest = [created.max()] if n else []
        if len(c_ts):
            latest.append(c_ts.max())
        as_of_us = int(max(latest)) if latest else 0
    else:
        as_of_us = int(utc_scalar(as_of, "as_of").astype(np.int64))
    due_us = due.astype(np.int64)
    breached = np.where(has_first, first > due_us, due_us < as_of_us)
    pending = ~has_first & ~breached

    drive = np.full(n, nat, dtype=np.int64)
    if td is not None:
        t_lead = found[1]
        drive = _first_after(t_lead, td["ts"].astype(US).astype(np.int64), np.full(n, nat + 1), n)
    elif events is not None and "phone" in cols:
        ev = read_table(events, ("ts", "event", "phone"), what="events", times=("ts",))
        is_td = ev["event"].astype(object) == "test_drive"
        lead_code, ev_code = person_codes(cols["phone"], ev["phone"][is_td])
        ev_ts = ev["ts"][is_td].astype(US).astype(np.int64)
        link = link_by_phone(lead_code, created, ev_code, ev_ts)
        drive = _first_after(link, ev_ts, created, n)
    has_drive = drive != nat
    cb_rows = c_lead.copy()
    if "after_test_drive" in ct:
        flag = ct["after_test_drive"]
        cb_rows[~np.asarray(flag == True)] = -1  # noqa: E712
    callback = _first_after(cb_rows, c_ts, np.where(has_drive, drive, np.iinfo(np.int64).max), n)
    has_cb = callback != nat
    in_time = has_cb & has_drive & (callback - drive <= cb_within // timedelta(microseconds=1))

    return SlaReport(
        lead_id=cols["lead_id"],
        dealer_id=cols["dealer_id"].astype(object),
        due=due,
        first_contact_at=first_dt.copy(),
        response_minutes=response,
        breached=breached,
        pending=pending,
        test_drive_at=drive.view(US).copy(),
        callback_at=callback.view(US).copy(),
        callback_in_time=in_time,
        unknown_contacts=unknown,
        early_contacts=early,
        first_contact_within=within,
        callback_within=cb_within,
    )
