"""Independent brute-force references for autoops.leads (plain Python, no numpy tricks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def dedupe_reference(
    lead_ids: list[str], times_us: list[int], keys: list[Any], window_us: int
) -> tuple[list[str], list[str | None]]:
    """kept_id and previous_id by walking each key's leads in time order."""
    by_key: dict[Any, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        if k is not None:
            by_key[k].append(i)
    kept = list(lead_ids)
    previous: list[str | None] = [None] * len(lead_ids)
    for rows in by_key.values():
        rows.sort(key=lambda i: (times_us[i], i))
        anchor = None
        for i in rows:
            if anchor is None or times_us[i] >= times_us[anchor] + window_us:
                if anchor is not None:
                    previous[i] = lead_ids[anchor]
                anchor = i
            kept[i] = lead_ids[anchor]
    return kept, previous


def business_due_reference(
    start_min: int, duration_min: int, open_min: int, close_min: int, workday: Any
) -> int:
    """Walk minute by minute (local wall clock, minutes since the epoch) until the
    business minutes are spent; *workday(day_index)* says if a day is open."""
    t = start_min
    left = duration_min
    while True:
        day, tod = divmod(t, 1440)
        if workday(day) and open_min <= tod < close_min:
            left -= 1
            t += 1
            if left == 0:
                return t
        elif workday(day) and tod < open_min:
            t = day * 1440 + open_min  # before opening: wait for it
        else:
            t = (day + 1) * 1440  # closed for the rest of the day


def burst_reference(keys: list[Any], times: list[int], k: int, window: int) -> list[bool]:
    """A row is in a burst if some window [s, s + window] holding it has >= k rows of its key."""
    out = [False] * len(keys)
    for i, key in enumerate(keys):
        if key is None:
            continue
        same = sorted(times[j] for j in range(len(keys)) if keys[j] == key)
        for s in same:  # windows starting at a row of the key suffice
            if s <= times[i] <= s + window and sum(s <= t <= s + window for t in same) >= k:
                out[i] = True
                break
    return out


def quota_reference(weights: list[float], seats: int) -> list[int]:
    """Balinski-Young quota method, one seat at a time, exact fractions."""
    from fractions import Fraction

    total = sum(Fraction(w) for w in weights)
    share = [Fraction(w) / total for w in weights]
    count = [0] * len(weights)
    out = []
    for n in range(1, seats + 1):
        best, best_i = None, -1
        for i, s in enumerate(share):
            if count[i] < n * s:
                prio = s / (count[i] + 1)
                if best is None or prio > best:
                    best, best_i = prio, i
        count[best_i] += 1
        out.append(best_i)
    return out


def assign_reference(
    lead_area: list[Any],
    lead_day: list[int],
    lead_time: list[int],
    prefs: list[list[int]],
    capacity: list[int],
) -> list[int]:
    """Rounds: every pending lead proposes its next preference; per (dealer, day)
    the earliest proposals win while capacity lasts."""
    n = len(prefs)
    used: dict[tuple[int, int], int] = defaultdict(int)
    result = [-1] * n
    pending = [i for i in range(n) if prefs[i]]
    step = 0
    while pending:
        proposals = [
            (prefs[i][step], lead_day[i], lead_time[i], i) for i in pending if step < len(prefs[i])
        ]
        proposals.sort(key=lambda p: (p[0], p[1], p[2], p[3]))
        for dealer, day, _, i in proposals:
            if used[(dealer, day)] < capacity[dealer]:
                used[(dealer, day)] += 1
                result[i] = dealer
        step += 1
        pending = [i for i in pending if result[i] < 0 and step < len(prefs[i])]
    return result
