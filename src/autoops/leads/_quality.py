"""Lead quality: flags and a score for invalid, fake and suspicious leads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._text import slice_chars
from autoops._time import parse_duration
from autoops.errors import ConfigError
from autoops.leads._codes import codes_of
from autoops.leads._input import read_leads
from autoops.leads._link import phones as parse_phones
from autoops.leads._result import ResultBase, is_none

__all__ = ["FLAGS", "LeadQuality", "QualityPolicy", "lead_quality"]

#: flag name → (bit, description); a lead's ``flags`` is the OR of its bits.
FLAGS: Mapping[str, tuple[int, str]] = {
    "missing_phone": (1 << 0, "no phone number"),
    "invalid_phone": (1 << 1, "the phone does not parse"),
    "not_mobile": (1 << 2, "a landline, service (400/800) or foreign number"),
    "virtual_operator": (1 << 3, "virtual-operator range (170/171/162/165/167)"),
    "test_number": (1 << 4, "a known test number or a repeated/sequential pattern"),
    "blocked": (1 << 5, "a blocked phone, device, ip or name"),
    "test_name": (1 << 6, "a placeholder name such as 测试 or test"),
    "device_burst": (1 << 7, "many leads from one device in a short time"),
    "ip_burst": (1 << 8, "many leads from one IP address in a short time"),
    "many_names": (1 << 9, "the same phone under many different names"),
}
_DEFAULT_PENALTY = {
    "missing_phone": 100,
    "invalid_phone": 100,
    "not_mobile": 60,
    "virtual_operator": 30,
    "test_number": 100,
    "blocked": 100,
    "test_name": 50,
    "device_burst": 40,
    "ip_burst": 30,
    "many_names": 50,
}
_TEST_NUMBERS = (
    "+8613800138000",
    "+8613900139000",
    "+8613800000000",
    "+8613888888888",
    "+8613900000000",
    "+8618888888888",
    "+8613000000000",
    "+8613012345678",
    "+8613512345678",
)
_TEST_NAMES = ("测试", "测试一下", "test", "ceshi", "无", "aaa", "xxx", "asd", "123")
_VIRTUAL = ("170", "171", "162", "165", "167")


def _phones(values: Iterable[str]) -> tuple[str, ...]:
    out = []
    for v in values:
        e164 = parse_phones(np.array([v], dtype=object)).e164[0]
        if e164 is None:
            raise ConfigError("cannot parse a listed phone number (masked)", key="phones")
        out.append(str(e164))
    return tuple(sorted(set(out)))


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values}))


def _penalties(value: Mapping[str, int]) -> dict[str, int]:
    merged = dict(_DEFAULT_PENALTY)
    for name, pts in dict(value).items():
        if name not in FLAGS:
            raise ConfigError(f"unknown flag {name!r}; known: {', '.join(FLAGS)}", key="penalties")
        if not isinstance(pts, int) or not 0 <= pts <= 100:
            raise ConfigError(f"{name}: penalty must be an integer 0..100", key="penalties")
        merged[name] = pts
    return merged


def _burst_window(value: str | timedelta) -> timedelta:
    return parse_duration(value, key="burst_window")


def _positive(_inst: Any, attribute: Any, value: int) -> None:
    if value < 2:
        raise ConfigError("must be at least 2", key=attribute.name)


@attrs.frozen(slots=True)
class QualityPolicy:
    """The rules of :func:`lead_quality`; every list and threshold is configurable.

    Args:
        test_numbers: known test numbers (any format; stored as E.164).
        flag_patterns: also flag mobiles whose last eight digits are one repeated
            digit or ``12345678``/``87654321``.
        virtual_prefixes: mobile prefixes of virtual operators (虚拟运营商).
        test_names: placeholder names (case-insensitive, surrounding spaces ignored).
        blocked_phones, blocked_devices, blocked_ips, blocked_names: block lists.
        device_burst, ip_burst: a burst is at least this many leads from one
            device / IP within *burst_window*; every lead in it is flagged.
        burst_window: the burst window (inclusive), e.g. ``"1h"``.
        exempt_devices: devices never flagged for bursts (showroom tablets).
        max_names: a phone seen under at least this many distinct names is flagged.
        penalties: points off 100 per flag (defaults: 100 for invalid, missing,
            test or blocked; 60 not mobile; 50 test name and many names; 40
            device burst; 30 IP burst and virtual operator).
        min_score: leads scoring below it are ``suspect``.

    Raises:
        ConfigError: a bad value, naming the key.

    Examples:
        >>> from autoops.leads import QualityPolicy
        >>> p = QualityPolicy(device_burst=3, exempt_devices=["kiosk-1"])
        >>> QualityPolicy.from_json(p.to_json()) == p
        True
    """

    test_numbers: tuple[str, ...] = attrs.field(default=_TEST_NUMBERS, converter=_phones)
    flag_patterns: bool = True
    virtual_prefixes: tuple[str, ...] = attrs.field(default=_VIRTUAL, converter=_strings)
    test_names: tuple[str, ...] = attrs.field(default=_TEST_NAMES, converter=_strings)
    blocked_phones: tuple[str, ...] = attrs.field(default=(), converter=_phones)
    blocked_devices: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    blocked_ips: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    blocked_names: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    device_burst: int = attrs.field(default=5, validator=_positive)
    ip_burst: int = attrs.field(default=10, validator=_positive)
    burst_window: timedelta = attrs.field(default=timedelta(hours=1), converter=_burst_window)
    exempt_devices: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    max_names: int = attrs.field(default=3, validator=_positive)
    penalties: dict[str, int] = attrs.field(factory=dict, converter=_penalties)
    min_score: int = 60

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_score <= 100:
            raise ConfigError("must be 0..100", key="min_score")
        for prefix in self.virtual_prefixes:
            if not prefix.isdigit():
                raise ConfigError(f"{prefix!r} is not a digit prefix", key="virtual_prefixes")

    def to_json(self) -> str:
        """Serialise to JSON (phones as E.164); round-trips through :meth:`from_json`.

        Examples:
            >>> from autoops.leads import QualityPolicy
            >>> '"device_burst": 5' in QualityPolicy().to_json()
            True
        """
        data = attrs.asdict(self)
        data["burst_window"] = f"{int(self.burst_window.total_seconds())}s"
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> QualityPolicy:
        """Read a policy written by :meth:`to_json`.

        Raises:
            ConfigError: an unknown key, naming it.

        Examples:
            >>> from autoops.leads import QualityPolicy
            >>> QualityPolicy.from_json('{"max_names": 4}').max_names
            4
        """
        data = json.loads(text)
        known = {a.name for a in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("unknown key", key=unknown[0])
        return cls(**data)


@attrs.frozen(slots=True, repr=False)
class LeadQuality(ResultBase):
    """Result of :func:`lead_quality`, aligned with the input leads.

    Attributes:
        lead_id: the input lead ids.
        flags: bit mask of :data:`FLAGS`.
        reasons: the flag names joined by ``","`` (``""`` for a clean lead).
        score: 100 minus the penalties of the flags, floored at 0.
        suspect: ``score < policy.min_score``; suspect leads are reported, never dropped.

    Examples:
        >>> from autoops.leads import lead_quality
        >>> lead_quality({"lead_id": ["a"], "phone": ["13800138000"]}).reasons.tolist()
        ['test_number']
    """

    lead_id: npt.NDArray[Any]
    flags: npt.NDArray[np.int64]
    reasons: npt.NDArray[Any]
    score: npt.NDArray[np.int64]
    suspect: npt.NDArray[np.bool_]
    _title = "lead quality (first rows)"

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "lead_id": self.lead_id,
            "flags": self.flags,
            "reasons": self.reasons,
            "score": self.score,
            "suspect": self.suspect,
        }

    def has(self, flag: str) -> npt.NDArray[np.bool_]:
        """Boolean array: which leads carry *flag*.

        Raises:
            ConfigError: an unknown flag name.

        Examples:
            >>> from autoops.leads import lead_quality
            >>> lead_quality({"lead_id": ["a", "b"], "phone": ["17055501234", None]}).has(
            ...     "virtual_operator").tolist()
            [True, False]
        """
        if flag not in FLAGS:
            raise ConfigError(f"unknown flag {flag!r}", key="flag")
        hit: npt.NDArray[np.bool_] = (self.flags & FLAGS[flag][0]) != 0
        return hit

    def counts(self) -> dict[str, int]:
        """Leads per flag (a lead may count under several).

        Examples:
            >>> from autoops.leads import lead_quality
            >>> lead_quality({"lead_id": ["a"], "phone": [None]}).counts()["missing_phone"]
            1
        """
        return {name: int(self.has(name).sum()) for name in FLAGS}

    def summary(self) -> dict[str, Any]:
        """Headline figures: leads, suspect, clean and the top flags.

        Examples:
            >>> from autoops.leads import lead_quality
            >>> lead_quality({"lead_id": ["a"], "phone": ["13955501234"]}).summary()["clean"]
            1
        """
        counts = {k: v for k, v in self.counts().items() if v}
        return {
            "leads": len(self.lead_id),
            "suspect": int(self.suspect.sum()),
            "clean": int((self.flags == 0).sum()),
            **counts,
        }


def _burst(
    keys: npt.NDArray[Any], times: npt.NDArray[np.int64], k: int, window_us: int
) -> npt.NDArray[np.bool_]:
    """Rows that lie in some window of ``window_us`` holding >= k rows of the same key."""
    n = len(keys)
    out = np.zeros(n, dtype=bool)
    codes, _ = codes_of(keys)
    rows = np.flatnonzero(codes >= 0)
    if len(rows) < k:
        return out
    order = rows[np.lexsort((times[rows], codes[rows]))]
    g, t = codes[order], times[order]
    m = len(order)
    # window starting at sorted row j covers rows j .. j+k-1 when they share the key and span <= w
    j = np.arange(m - k + 1)
    dense = np.zeros(m, dtype=np.int64)
    dense[j] = (g[j] == g[j + k - 1]) & (t[j + k - 1] - t[j] <= window_us)
    cs = np.concatenate(([0], np.cumsum(dense)))
    i = np.arange(m)
    lo = np.maximum(i - k + 1, 0)
    covered = cs[i + 1] - cs[lo] > 0
    out[order] = covered
    return out


def _lower(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    present = ~is_none(values)
    text = np.where(present, values, "").astype(str)
    return np.strings.lower(np.strings.strip(text))


def lead_quality(leads: Any, *, policy: QualityPolicy | None = None) -> LeadQuality:
    """Flag invalid, fake and suspicious leads and give each a quality score.

    Flags (see :data:`FLAGS`): a missing or unparseable phone; a number that is
    not a mobile (landline, 400/800 service number, foreign); a virtual-operator
    range (170/171/162/165/167 by default); a known test number (13800138000 …)
    or, with ``flag_patterns``, a mobile whose last eight digits repeat one digit
    or run 12345678/87654321; a blocked phone, device, IP or name; a placeholder
    name (测试, test); a burst — at least ``device_burst`` leads from one device
    (or ``ip_burst`` from one IP) within ``burst_window`` (inclusive; every lead
    of the burst is flagged; ``exempt_devices`` skip the device check); and one
    phone under ``max_names`` or more distinct names (all its leads). The score
    is 100 minus the penalties of the lead's flags, floored at 0; ``suspect``
    leads score below ``min_score``. Nothing is dropped: every lead is reported.

    Args:
        leads: lead columns (``lead_id``; ``phone``, ``name``, ``device_id``,
            ``ip``, ``created_at`` when present) or ``Lead`` models. Burst checks
            need ``created_at``.
        policy: the rules; :class:`QualityPolicy` defaults.

    Returns:
        A :class:`LeadQuality` aligned with the input rows.

    Raises:
        InvalidInput: missing ``lead_id``, duplicate ids, naive times.

    Examples:
        >>> from autoops.leads import lead_quality
        >>> q = lead_quality({"lead_id": ["a", "b", "c"],
        ...                   "phone": ["138 0013 8000", "17055501234", "13955501234"]})
        >>> q.reasons.tolist(), q.score.tolist(), q.suspect.tolist()
        (['test_number', 'virtual_operator', ''], [0, 70, 100], [True, False, False])
    """
    policy = policy or QualityPolicy()
    cols = read_leads(leads, (), optional=("phone", "name", "device_id", "ip", "created_at"))
    n = len(cols["lead_id"])
    flags = np.zeros(n, dtype=np.int64)

    def mark(name: str, where: npt.NDArray[np.bool_]) -> None:
        flags[where] |= FLAGS[name][0]

    none = np.full(n, None, dtype=object)
    phone = cols.get("phone", none).astype(object)
    batch = parse_phones(phone)
    e164 = batch.e164
    mark("missing_phone", batch.missing)
    mark("invalid_phone", ~batch.valid & ~batch.missing)
    mark("not_mobile", batch.valid & (batch.kind != "mobile"))
    mobile = batch.valid & (batch.kind == "mobile")
    text = np.where(mobile, e164, "+86000000000000").astype("<U14")
    national = slice_chars(text, 3, 14)
    if policy.virtual_prefixes:
        virtual = np.zeros(n, dtype=bool)
        for prefix in policy.virtual_prefixes:
            virtual |= np.strings.startswith(national, prefix)
        mark("virtual_operator", mobile & virtual)
    test = np.isin(text, np.array(policy.test_numbers, dtype="<U14")) & mobile
    if policy.flag_patterns:
        tail = slice_chars(national, 3, 11)
        same = np.ones(n, dtype=bool)
        for d in range(1, 8):
            same &= slice_chars(tail, d, d + 1) == slice_chars(tail, 0, 1)
        test |= mobile & (same | np.isin(tail, ["12345678", "87654321"]))
    mark("test_number", test)

    names = cols.get("name", none).astype(object)
    lowered = _lower(names)
    mark("test_name", ~is_none(names) & np.isin(lowered, [v.lower() for v in policy.test_names]))
    devices = cols.get("device_id", none).astype(object)
    ips = cols.get("ip", none).astype(object)
    blocked = np.isin(np.where(batch.valid, e164, "").astype(str), policy.blocked_phones)
    if policy.blocked_devices:
        blocked |= np.isin(devices.astype(str), policy.blocked_devices) & ~is_none(devices)
    if policy.blocked_ips:
        blocked |= np.isin(ips.astype(str), policy.blocked_ips) & ~is_none(ips)
    if policy.blocked_names:
        blocked |= np.isin(lowered, [v.lower() for v in policy.blocked_names]) & ~is_none(names)
    mark("blocked", blocked)

    if "created_at" in cols:
        times = cols["created_at"].astype(np.int64)
        window = policy.burst_window // timedelta(microseconds=1)
        dev = devices.copy()
        if policy.exempt_devices:
            dev[np.isin(dev.astype(str), policy.exempt_devices)] = None
        mark("device_burst", _burst(dev, times, policy.device_burst, window))
        mark("ip_burst", _burst(ips, times, policy.ip_burst, window))

    # one phone under many distinct names
    valid_e164 = e164.copy()
    valid_e164[~batch.valid] = None
    pcode, _ = codes_of(valid_e164)
    name_obj = lowered.astype(object)
    name_obj[lowered == ""] = None
    ncode, _ = codes_of(name_obj)
    both = (pcode >= 0) & (ncode >= 0)
    if both.any():
        pair = np.unique(pcode[both] * (int(ncode.max()) + 1) + ncode[both])
        distinct = np.bincount(pair // (int(ncode.max()) + 1), minlength=int(pcode.max()) + 1)
        many = np.zeros(n, dtype=bool)
        many[pcode >= 0] = distinct[pcode[pcode >= 0]] >= policy.max_names
        mark("many_names", many)

    penalty = np.zeros(n, dtype=np.int64)
    reasons = np.full(n, "", dtype=object)
    for name, (bit, _) in FLAGS.items():
        hit = (flags & bit) != 0
        penalty += np.where(hit, policy.penalties[name], 0)
        if hit.any():
            reasons[hit] = np.where(reasons[hit] == "", name, reasons[hit] + "," + name)
    score = np.maximum(100 - penalty, 0)
    return LeadQuality(
        lead_id=cols["lead_id"],
        flags=flags,
        reasons=reasons,
        score=score,
        suspect=score < policy.min_score,
    )
