"""The contact policy every send passes before any request is built.

Rules, in order; the first that refuses names the skip ``reason``:

1. ``kill_switch`` — a global stop; refuses every message, any purpose.
2. ``transactional`` messages (orders, service, verification codes) pass.
3. ``no_consent`` — the person has no active grant for the message's purpose
   (marketing, analytics, ...) at the send time. Unknown people have none.
4. ``opted_out`` — the person unsubscribed from this channel (including an
   SMS unsubscribe reply such as "TD" or "退订", see :meth:`handle_sms_reply`).
5. ``quiet_hours`` — marketing inside the quiet window in the *recipient's*
   time zone (default 21:00–08:00, Asia/Shanghai when unknown).
6. ``frequency_cap`` — the person already received ``n`` messages on this
   channel within the trailing period. Sends in flight count; recipients that
   end up not accepted are released again.

People are looked up by ``Message.person_ids[i]`` when given, else by the
recipient address. State (added opt-outs, send history) lives in this object:
share one policy between the dispatchers of a process.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from autoops._tabular import columns
from autoops._time import DEFAULT_TZ, parse_duration, to_datetime
from autoops.channels._types import DeliveryResult, Message
from autoops.errors import ConfigError

__all__ = ["UNSUBSCRIBE_WORDS", "ContactPolicy"]

#: SMS replies that mean "unsubscribe" (case-insensitive, stripped).
UNSUBSCRIBE_WORDS = frozenset({"td", "t", "n", "退订", "退", "unsubscribe", "stop", "取消"})
_PURPOSES = ("marketing", "analytics", "identity_merge", "third_party_sharing")


class _Person:
    __slots__ = ("grants", "opt_outs", "tz")

    def __init__(self, tz: str) -> None:
        self.grants: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
        self.opt_outs: set[str] = set()
        self.tz = tz

    def allows(self, purpose: str, at: datetime) -> bool:
        return any(g <= at and (r is None or at < r) for g, r in self.grants.get(purpose, ()))


def _parse_clock(value: str | time, key: str) -> time:
    if isinstance(value, time):
        return value
    try:
        hh, mm = str(value).split(":")
        return time(int(hh), int(mm))
    except ValueError as exc:
        raise ConfigError(f"expected HH:MM, got {value!r}", key=key) from exc


class ContactPolicy:
    """Consent, opt-outs, quiet hours, frequency caps and a kill switch.

    Args:
        consents: :class:`autoops.models.Consent` records (keyed by their
            ``subject_id``) or a mapping from person key to ``Consent``.
        quiet_hours: ``(start, end)`` as ``"HH:MM"``; the window wraps past
            midnight when start > end. None disables quiet hours.
        frequency_caps: channel name → ``(n, period)``, e.g.
            ``{"sms": (2, "7d")}``; ``"*"`` applies to every channel.
        kill_switch: refuse everything.
        default_tz: time zone of people without one.

    Raises:
        ConfigError: a bad quiet-hours clock, cap count or period, naming the key.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from autoops.models import Consent
        >>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> p = ContactPolicy([Consent(subject_id="p1", grants=[
        ...     {"purpose": "marketing", "granted_at": t0}])], frequency_caps={"sms": (1, "7d")})
        >>> m = Message(to=["+8613812345678", "+8613912345678"], content={},
        ...             purpose="marketing", person_ids=["p1", "p2"])
        >>> noon = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
        >>> p.decide("sms", m, now=noon)
        [None, 'no_consent']
        >>> p.decide("sms", m, now=noon)  # the first send is still in flight: capped
        ['frequency_cap', 'no_consent']
    """

    def __init__(
        self,
        consents: Iterable[Any] | Mapping[str, Any] | None = None,
        *,
        quiet_hours: tuple[str | time, str | time] | None = ("21:00", "08:00"),
        frequency_caps: Mapping[str, tuple[int, str | timedelta]] | None = None,
        kill_switch: bool = False,
        default_tz: str = DEFAULT_TZ,
    ) -> None:
        self.default_tz = default_tz
        self._zones: dict[str, ZoneInfo] = {}
        self._zone(default_tz)
        self.kill_switch = kill_switch
        self.quiet_hours = (
            None
            if quiet_hours is None
            else (
                _parse_clock(quiet_hours[0], "quiet_hours"),
                _parse_clock(quiet_hours[1], "quiet_hours"),
            )
        )
        self.frequency_caps: dict[str, tuple[int, timedelta]] = {}
        for chan, spec in (frequency_caps or {}).items():
            try:
                n, period = spec
            except (TypeError, ValueError) as exc:
                raise ConfigError("expected (count, period)", key=f"frequency_caps.{chan}") from exc
            if int(n) < 1:
                raise ConfigError("count must be at least 1", key=f"frequency_caps.{chan}")
            self.frequency_caps[chan] = (
                int(n),
                parse_duration(period, key=f"frequency_caps.{chan}"),
            )
        self._people: dict[str, _Person] = {}
        self._history: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()
        items = consents.values() if isinstance(consents, Mapping) else (consents or ())
        keys = list(consents.keys()) if isinstance(consents, Mapping) else None
        for n_item, consent in enumerate(items):
            key = keys[n_item] if keys is not None else consent.subject_id
            person = _Person(getattr(consent, "tz", None) or default_tz)
            for g in consent.grants:
                purpose = getattr(g.purpose, "value", g.purpose)
                person.grants[str(purpose)].append((g.granted_at, g.revoked_at))
            person.opt_outs.update(consent.opt_outs)
            self._people[str(key)] = person

    def _zone(self, name: str) -> ZoneInfo:
        zone = self._zones.get(name)
        if zone is None:
            try:
                zone = self._zones[name] = ZoneInfo(name)
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"unknown time zone {name!r}", key="tz") from exc
        return zone

    @classmethod
    def from_columns(
        cls, table: Any, *, keys: Sequence[str] = ("true_person_id",), **options: Any
    ) -> ContactPolicy:
        """Build a policy from consent columns (``data.consent`` of the synthetic set).

        Expects boolean purpose columns (``marketing``, ``analytics``,
        ``identity_merge``, ``third_party_sharing``; missing ones count as
        not granted), ``granted_at`` and ``revoked_at`` (UTC), optional
        ``opt_out_<channel>`` booleans and ``tz``. Each row is indexed under
        every column in *keys* (e.g. both the person id and the phone).

        Examples:
            >>> import numpy as np
            >>> p = ContactPolicy.from_columns({
            ...     "person_id": np.array([7]), "marketing": np.array([True]),
            ...     "granted_at": np.array(["2026-01-01T00:00"], dtype="datetime64[us]"),
            ...     "opt_out_sms": np.array([True])}, keys=["person_id"])
            >>> p.knows("7")
            True
        """
        optional = [*_PURPOSES, "revoked_at", "tz"]
        probe = columns(table, list(keys), optional=optional, what="consent")
        cols = dict(probe)
        extra = columns(table, ["granted_at"], what="consent")
        cols.update(extra)
        try:
            names = list(table.keys()) if isinstance(table, Mapping) else None
        except AttributeError:  # pragma: no cover
            names = None
        if names is None:
            names = [n for n in dir(table) if n.startswith("opt_out_")]
        opt_cols = [n for n in names if n.startswith("opt_out_")]
        cols.update(columns(table, opt_cols, what="consent") if opt_cols else {})
        policy = cls(None, **options)
        n = len(cols["granted_at"])
        granted = [None if np.isnat(v) else to_datetime(v) for v in cols["granted_at"]]
        revoked_col = cols.get("revoked_at")
        revoked = (
            [None] * n
            if revoked_col is None
            else [None if np.isnat(v) else to_datetime(v) for v in revoked_col]
        )
        tz_col = cols.get("tz")
        for i in range(n):
            person = _Person(
                str(tz_col[i]) if tz_col is not None and tz_col[i] else policy.default_tz
            )
            g = granted[i]
            if g is not None:
                for purpose in _PURPOSES:
                    col = cols.get(purpose)
                    if col is not None and bool(col[i]):
                        person.grants[purpose].append((g, revoked[i]))
            for name in opt_cols:
                if bool(cols[name][i]):
                    person.opt_outs.add(name[len("opt_out_") :])
            for key in keys:
                value = cols[key][i]
                if value is not None:
                    policy._people[str(value)] = person
        return policy

    def knows(self, person: object) -> bool:
        """Whether the policy holds consent data for *person*.

        Examples:
            >>> ContactPolicy().knows("p1")
            False
        """
        return str(person) in self._people

    def opt_out(self, person: object, channel: str) -> None:
        """Record that *person* unsubscribed from *channel*.

        Examples:
            >>> from autoops.models import Consent
            >>> t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
            >>> p = ContactPolicy([Consent(subject_id="p1",
            ...     grants=[{"purpose": "marketing", "granted_at": t0}])])
            >>> p.opt_out("p1", "sms")
            >>> p.decide("sms", Message(to=["x"], content={}, purpose="marketing",
            ...     person_ids=["p1"]), now=datetime(2026, 1, 1, 4, tzinfo=timezone.utc))
            ['opted_out']
        """
        with self._lock:
            person_rec = self._people.get(str(person))
            if person_rec is None:
                person_rec = self._people[str(person)] = _Person(self.default_tz)
            person_rec.opt_outs.add(channel)

    def handle_sms_reply(self, person: object, text: str, *, channel: str = "sms") -> bool:
        """Record an opt-out when an SMS reply is an unsubscribe word.

        Returns:
            True when the reply unsubscribed the person.

        Examples:
            >>> p = ContactPolicy()
            >>> p.handle_sms_reply("+8613812345678", " TD "), p.handle_sms_reply("p2", "好的")
            (True, False)
        """
        if text.strip().lower() in UNSUBSCRIBE_WORDS:
            self.opt_out(person, channel)
            return True
        return False

    def _quiet(self, person: _Person | None, now: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        zone = self._zone(person.tz if person is not None else self.default_tz)
        local = now.astimezone(zone).time()
        start, end = self.quiet_hours
        if start <= end:
            return start <= local < end
        return local >= start or local < end

    def _cap(self, channel: str) -> tuple[int, timedelta] | None:
        return self.frequency_caps.get(channel) or self.frequency_caps.get("*")

    def decide(self, channel: str, message: Message, *, now: datetime) -> list[str | None]:
        """Reasons to skip each recipient (None = allowed); reserves cap slots.

        Args:
            channel: the channel's opt-out key (``sms``, ``wecom``, ``email``, ...).
            message: the message.
            now: the aware send time.

        Returns:
            A list aligned with ``message.to``.

        Examples:
            >>> ContactPolicy(kill_switch=True).decide("sms", Message(to=["x"], content={}),
            ...     now=datetime(2026, 1, 1, tzinfo=timezone.utc))
            ['kill_switch']
        """
        if now.tzinfo is None:
            raise ConfigError("the send time must be timezone-aware", key="now")
        n = len(message.to)
        if self.kill_switch:
            return ["kill_switch"] * n
        cap = self._cap(channel)
        out: list[str | None] = []
        with self._lock:
            for i in range(n):
                key = str(
                    message.person_ids[i] if message.person_ids is not None else message.to[i]
                )
                person = self._people.get(key)
                reason: str | None = None
                if message.purpose != "transactional":
                    if person is None or not person.allows(message.purpose, now):
                        reason = "no_consent"
                    elif channel in person.opt_outs:
                        reason = "opted_out"
                    elif message.purpose == "marketing" and self._quiet(person, now):
                        reason = "quiet_hours"
                if reason is None and cap is not None:
                    history = self._history[(key, channel)]
                    while history and history[0] <= now - cap[1]:
                        history.popleft()
                    if len(history) >= cap[0]:
                        reason = "frequency_cap"
                    else:
                        history.append(now)
                out.append(reason)
        return out

    def settle(
        self,
        channel: str,
        message: Message,
        results: Sequence[DeliveryResult],
        *,
        reserved_at: datetime,
    ) -> None:
        """Release the cap slots of recipients that were not accepted.

        Examples:
            >>> ContactPolicy().settle("sms", Message(to=["x"], content={}), [],
            ...     reserved_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        """
        if self._cap(channel) is None:
            return
        with self._lock:
            for r in results:
                if r.status == "failed":
                    ids = message.person_ids
                    key = str(ids[r.index] if ids is not None else message.to[r.index])
                    history = self._history.get((key, channel))
                    if history is not None and reserved_at in history:
                        history.remove(reserved_at)

    def __repr__(self) -> str:
        return (
            f"ContactPolicy(people={len(self._people)}, kill_switch={self.kill_switch}, "
            f"caps={sorted(self.frequency_caps)})"
        )


_ = timezone  # re-exported for doctests
