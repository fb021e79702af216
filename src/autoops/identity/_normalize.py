"""Vectorised string hashing and identifier normalisation.

Raw identifier columns are hashed once per record (FNV-1a over code points,
finished with splitmix64), factorised with ``np.unique`` on the 64-bit hashes,
and only the *distinct* raw values are normalised. Phone numbers go through
:func:`autoops.models.normalize_phones`; the other normalisers use
``numpy.strings`` ufuncs. User regular expressions run once per distinct value.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._factorize import factorize_objects, sorted_codes
from autoops.identity._rules import BLOCKED_PHONES, DEFAULT_BLOCKED, IdType
from autoops.models._phone import mobile_numbers

__all__ = [
    "REASONS",
    "Status",
    "canonical_mobiles",
    "combine",
    "fnv_strings",
    "hash_strings",
    "lower",
    "mix64",
    "normalize_forms",
    "normalize_values",
    "present",
    "search_many",
    "to_text",
]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
#: rows per block of the passes that work one character position at a time over a block:
#: the block's code points and running state stay in the CPU's L2 cache (at 500,000 rows
#: they did not, and the same hashes took a third longer at 8M records)
_CHUNK = 1 << 15


class Status:
    """Per (record, type) link status codes; ``REASONS[code]`` names them."""

    ABSENT = 0
    OK = 1
    INVALID = 2
    BLOCKED = 3
    STAFF = 4
    KIOSK = 5
    SCOPE = 6
    CONSENT = 7
    UNVERIFIED = 8
    FORGOTTEN = 9
    HUB = 10
    LIMIT = 11
    SPLIT = 12
    UNOWNED = 13
    RECYCLED = 14


REASONS: tuple[str, ...] = (
    "absent",
    "ok",
    "invalid",
    "blocked",
    "staff",
    "kiosk",
    "scope",
    "consent",
    "unverified",
    "forgotten",
    "hub",
    "limit",
    "split",
    "unowned",
    "recycled",
)


def present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which entries of an object array are not ``None``."""
    out: npt.NDArray[np.bool_] = np.not_equal(values, None)  # type: ignore[call-overload]
    return out


def mix64(x: npt.NDArray[np.uint64], *, copy: bool = True) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: a bijection on uint64 that spreads every input bit
    (in place when *copy* is false and *x* is a uint64 array)."""
    x = x.astype(np.uint64, copy=copy)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def combine(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64] | int) -> npt.NDArray[np.uint64]:
    """Order-sensitive combination of two hash arrays (or an array and a salt)."""
    rot = np.asarray(b, dtype=np.uint64)
    rot = (rot << np.uint64(17)) | (rot >> np.uint64(47))
    return mix64(a ^ rot ^ np.uint64(0x9E3779B97F4A7C15))


def _fnv(text: npt.NDArray[np.str_], salt: int) -> npt.NDArray[np.uint64]:
    """FNV-1a over the code points of a fixed-width unicode array, finished by splitmix64."""
    n = len(text)
    h = np.full(n, _FNV_OFFSET ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    width = text.dtype.itemsize // 4
    length = np.strings.str_len(text)
    if width and n:
        # only each string's own code points: the hash must not depend on the array's width
        cps = np.ascontiguousarray(text.view(np.uint32).reshape(n, width).T)
        shortest = int(length.min())
        for j in range(width):
            if j < shortest:  # every string has this character: in place, no mask
                h ^= cps[j]
                h *= _FNV_PRIME
            else:
                h = np.where(length > j, (h ^ cps[j].astype(np.uint64)) * _FNV_PRIME, h)
    h ^= length.astype(np.uint64) << np.uint64(40)
    h = mix64(h)
    h[h == 0] = np.uint64(1)
    return h


def fnv_strings(text: npt.NDArray[np.str_]) -> npt.NDArray[np.uint64]:
    """:func:`hash_strings` of a unicode array without factorising it first (same values)."""
    out = np.empty(len(text), dtype=np.uint64)
    for lo in range(0, len(text), _CHUNK):
        out[lo : lo + _CHUNK] = _fnv(text[lo : lo + _CHUNK], 0)
    return out


def hash_strings(values: npt.NDArray[Any], salt: int = 0) -> npt.NDArray[np.uint64]:
    """64-bit hash of each string in an object array; ``None`` hashes to 0.

    Non-string values are hashed through ``str()``. No non-missing value hashes
    to 0. Collisions between distinct strings have probability about
    ``m**2 / 2**65`` for *m* distinct values. The values are factorised first
    (:func:`~autoops.identity._factorize.factorize_objects`), so the string
    hash runs once per *distinct* value.
    """
    n = len(values)
    out = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return out
    codes, uniq = factorize_objects(np.asarray(values, dtype=object))
    if len(uniq) == 0:
        return out
    hu = np.empty(len(uniq), dtype=np.uint64)
    for lo in range(0, len(uniq), _CHUNK):
        hu[lo : lo + _CHUNK] = _fnv(to_text(uniq[lo : lo + _CHUNK]), salt)
    has = codes >= 0
    out[has] = hu[codes[has]]
    return out


def search_many(pattern: re.Pattern[str], text: npt.NDArray[np.str_]) -> npt.NDArray[np.bool_]:
    """``pattern.search(value)`` for every value, in one regex scan of the joined values.

    The values are joined with newlines and scanned once with ``re.MULTILINE``
    (so ``^`` and ``$`` anchor at each value's ends); each match is assigned to
    the value it starts in. Values holding a newline, and values covered by a
    match that spans several values, are checked one by one (rare).
    """
    m = len(text)
    hit = np.zeros(m, dtype=bool)
    if m == 0:
        return hit
    items = text.tolist()
    lengths = np.strings.str_len(text).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    recheck = np.flatnonzero(np.strings.find(text, "\n") >= 0).tolist()
    joined = "\n".join(items)
    for match in pattern.finditer(joined):
        a = int(np.searchsorted(starts, match.start(), side="right")) - 1
        b = int(np.searchsorted(starts, max(match.end() - 1, match.start()), side="right")) - 1
        if a == b and match.end() <= starts[a] + lengths[a]:
            hit[a] = True
        else:
            recheck.extend(range(a, b + 1))
    plain = re.compile(pattern.pattern, pattern.flags & ~re.MULTILINE)
    for i in set(recheck):
        hit[i] = plain.search(items[i]) is not None
    return hit


def _digits_after(text: npt.NDArray[np.str_], prefix: str, count: int) -> npt.NDArray[np.uint32]:
    """Code points of the *count* characters after *prefix* (rows of the right shape only)."""
    width = text.dtype.itemsize // 4
    if width < len(prefix) + count:
        return np.zeros((len(text), count), dtype=np.uint32)
    cps = text.view(np.uint32).reshape(len(text), width)
    return cps[:, len(prefix) : len(prefix) + count]


def _same_run(text: npt.NDArray[np.str_], start: int) -> npt.NDArray[np.bool_]:
    """``^\\+861`` + 10 digits where the digits from *start* on are all equal."""
    good = (np.strings.str_len(text) == 14) & np.strings.startswith(text, "+861")
    d = _digits_after(text, "+861", 10)
    if d.shape[1] < 10:
        return np.zeros(len(text), dtype=bool)
    run = d[:, start:]
    same: npt.NDArray[np.bool_] = good & (run == run[:, :1]).all(axis=1)
    same &= (d >= ord("0")).all(axis=1) & (d <= ord("9")).all(axis=1)
    return same


#: the built-in phone patterns, as numpy expressions (same results as ``re.search``)
_VECTOR_PATTERNS: dict[str, Any] = {
    r"^\+861(\d)\1{9}$": lambda t: _same_run(t, 0),
    r"^\+861\d(\d)\1{8}$": lambda t: _same_run(t, 1),
    r"12345678|87654321": lambda t: (
        (np.strings.find(t, "12345678") >= 0) | (np.strings.find(t, "87654321") >= 0)
    ),
    r"^[0\-]+$": lambda t: (np.strings.str_len(t) > 0) & (np.strings.strip(t, "0-") == ""),
}


#: code points one of which a value must start with to match the pattern as its numpy
#: expression above reads it (NUL: numpy's text ignores trailing NULs, so a value of a
#: NUL and zeros strips to an "empty" one)
_FIRST_CHARS: dict[str, npt.NDArray[np.uint32]] = {
    r"^[0\-]+$": np.array([0, ord("-"), ord("0")], dtype=np.uint32),
}


#: the same patterns on the 11-digit number of a plain mobile (form ``"+86"`` + digits,
#: so a match never involves the prefix; the first digit is always 1)
_MOBILE_PATTERNS: dict[str, Any] = {
    r"^\+861(\d)\1{9}$": lambda n: n % 10**10 % 1_111_111_111 == 0,
    r"^\+861\d(\d)\1{8}$": lambda n: n % 10**9 % 111_111_111 == 0,
    r"12345678|87654321": lambda n: np.logical_or.reduce(
        [np.isin(n // 10**shift % 10**8, [12345678, 87654321]) for shift in range(4)]
    ),
    r"^[0\-]+$": lambda n: np.zeros(len(n), dtype=bool),
}

#: read the plain mobile forms as numbers in blocking (False: as text, for tests)
INTEGER_MOBILES = True


def _mobile_numbers_of(values: npt.NDArray[np.str_]) -> npt.NDArray[np.int64]:
    """The numbers of the values shaped like a plain mobile form (``"+86"`` and 11 digits)."""
    shaped = [v for v in values.tolist() if len(v) == 14 and v[:3] == "+86" and v[3:].isdigit()]
    return np.array([int(v[3:]) for v in shaped if v[3:].isascii()], dtype=np.int64)


_STRIP = " \t\r\n\u3000\u00a0"
_STRIP_CPS = np.array([ord(c) for c in _STRIP], dtype=np.uint32)


def to_text(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """``values.astype(str)`` in blocks of rows: each block's Python strings are read
    twice (length, then characters) while they are still in the CPU cache.

    Examples:
        >>> to_text(np.array(["ab", 7], dtype=object)).tolist()
        ['ab', '7']
    """
    step = 1 << 14
    if values.dtype.kind == "U":
        return values
    if len(values) <= step:
        return values.astype(str)
    return np.concatenate(
        [values[lo : lo + step].astype(str) for lo in range(0, len(values), step)]
    )


def lower(text: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """``np.strings.lower``, on the code points when the text is ASCII (``A-Z`` only change).

    Examples:
        >>> lower(np.array(["Dev-AB", "x"])).tolist(), lower(np.array(["ÄB"])).tolist()
        (['dev-ab', 'x'], ['äb'])
    """
    width = text.dtype.itemsize // 4
    if width == 0 or len(text) == 0:
        return text
    cps = text.view(np.uint32).reshape(len(text), width)
    if int(cps.max()) >= 128:
        return np.strings.lower(text)
    # in blocks of rows whose temporaries stay in the CPU cache (and are recycled, not
    # mapped afresh); an array without any capital letter is returned as it is
    out: npt.NDArray[np.uint32] | None = None
    for lo in range(0, len(text), _CHUNK):
        block = cps[lo : lo + _CHUNK]
        upper = block >= np.uint32(ord("A"))
        upper &= block <= np.uint32(ord("Z"))
        if out is None:
            if not upper.any():
                continue
            out = cps.copy()
        np.add(block, np.uint32(32), out=out[lo : lo + _CHUNK], where=upper)
    if out is None:
        return text
    lowered: npt.NDArray[np.str_] = out.view(text.dtype).reshape(len(text))
    return lowered


def _as_text(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """``np.strings.strip(to_text(values), _STRIP)``; the text itself (same width) when
    no value begins or ends with one of those characters: no copy to make."""
    text = to_text(values)
    m, width = len(text), text.dtype.itemsize // 4
    if m and width:
        cps = text.view(np.uint32).reshape(m, width)
        last = np.maximum(np.strings.str_len(text), 1)
        last -= 1
        ends = np.concatenate([cps[:, 0], cps[np.arange(m), last]])
        if not np.isin(ends, _STRIP_CPS).any():
            return text
    return np.strings.strip(text, _STRIP)


def canonical_mobiles(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Raw phones with spaces, dashes and brackets removed and a ``+86``/``0086``/``86``
    prefix dropped, *when* what is left is 11 ASCII digits starting with 13-19 (a
    mobile); other values are returned unchanged. ``normalize_phones`` reads both alike (tested).
    """
    out = np.array(values, dtype=object, copy=True)
    rows = np.flatnonzero(present(out))
    number = mobile_numbers(out[rows].astype(str))
    ok = number > 0
    out[rows[ok]] = number[ok].astype(str).astype(object)
    return out


def _e164_mobiles(
    number: npt.NDArray[np.int64], out: npt.NDArray[np.str_] | None = None
) -> npt.NDArray[np.str_]:
    """``"+86"`` and the 11 digits of each mobile number, as a fixed-width array (written
    into *out*, a unicode array at least 14 wide and as long, when given)."""
    m = len(number)
    if out is None:
        out = np.empty(m, dtype="<U14")
    # in blocks whose work arrays stay in the CPU cache; in each, one character position at
    # a time (contiguous rows), the last digit first: a division by 10 per digit instead of
    # one by each power of ten
    for lo in range(0, m, _CHUNK):
        rest = np.asarray(number[lo : lo + _CHUNK], dtype=np.int64)
        cps = np.empty((14, len(rest)), dtype=np.uint32)
        cps[0], cps[1], cps[2] = ord("+"), ord("8"), ord("6")
        for j in range(13, 2, -1):
            quotient = rest // 10
            cps[j] = rest - quotient * 10
            rest = quotient
        cps[3:] += np.uint32(ord("0"))
        out[lo : lo + _CHUNK] = np.ascontiguousarray(cps.T).view("<U14").reshape(-1)
    return out


def _phones(
    uniques: npt.NDArray[Any],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.str_],
    npt.NDArray[np.int8],
    npt.NDArray[Any],
    npt.NDArray[np.int64],
]:
    """Distinct raw phones → (code per value, normalised forms, their status, their detail,
    the numbers of the first forms: the plain mobiles).

    Plain mobiles ("+86 138…", "138-…", "0086138…") are read as integers and
    collapse to one form per number, ``+86`` and the digits (what
    ``normalize_phones`` gives them, tested); the other values go through
    :func:`autoops.models.normalize_phones`, one form each.
    """
    from autoops.models import normalize_phones

    m = len(uniques)
    # a None reads "None": not a mobile, so normalize_phones reports it as missing. In
    # blocks: mobile_numbers reads one character position at a time over its rows, and a
    # block's running state stays in the CPU cache (a row's number depends on its row only)
    raw_text = to_text(uniques)
    number = np.empty(m, dtype=np.int64)
    for lo in range(0, m, _CHUNK * 2):
        number[lo : lo + _CHUNK * 2] = mobile_numbers(raw_text[lo : lo + _CHUNK * 2])
    mobile = number > 0
    codes = np.empty(m, dtype=np.int64)
    codes[mobile], distinct = sorted_codes(number[mobile])
    rest = np.flatnonzero(~mobile)
    codes[rest] = len(distinct) + np.arange(len(rest))
    batch = normalize_phones(uniques[rest].astype(object))
    status = np.full(len(distinct) + len(rest), Status.OK, dtype=np.int8)
    detail = np.full(len(status), None, dtype=object)
    r_status, r_detail = status[len(distinct) :], detail[len(distinct) :]
    r_status[batch.missing] = Status.ABSENT
    bad = ~batch.valid & ~batch.missing
    r_status[bad] = Status.INVALID
    r_detail[bad] = batch.reason[bad]
    service = np.equal(batch.kind, "service")
    r_status[service] = Status.BLOCKED
    r_detail[service] = "400/800 service number"
    r_text = np.where(r_status == Status.OK, batch.e164, "").astype(str)
    # the forms laid out in one array (np.concatenate's width), the mobiles' written in place
    width = max(14, r_text.dtype.itemsize // 4)
    text = np.empty(len(distinct) + len(r_text), dtype=f"<U{width}")
    _e164_mobiles(distinct, out=text[: len(distinct)])
    text[len(distinct) :] = r_text
    return codes, text, status, detail, distinct


def normalize_values(
    idtype: IdType, uniques: npt.NDArray[Any], *, block_defaults: bool
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int8], npt.NDArray[Any]]:
    """Normalise distinct raw values of one type.

    Returns:
        ``(normalised, status, detail)``: the normalised strings as a
        fixed-width unicode array (meaningful where the status is OK), a
        :class:`Status` code per value (ABSENT, OK, INVALID or BLOCKED) and a
        short reason for the non-OK ones.

    Examples:
        >>> from autoops.identity import MergeRules
        >>> text, status, _ = normalize_values(MergeRules.automotive_default()["phone"],
        ...     np.array(["138 0013 8001", "+8613800138001", "x"], dtype=object),
        ...     block_defaults=True)
        >>> text[:2].tolist(), status.tolist()
        (['+8613800138001', '+8613800138001'], [1, 1, 2])
    """
    codes, text, status, detail = normalize_forms(idtype, uniques, block_defaults=block_defaults)
    if codes is not None:
        return text[codes], status[codes], detail[codes]
    return text, status, detail


def normalize_forms(
    idtype: IdType, uniques: npt.NDArray[Any], *, block_defaults: bool
) -> tuple[
    npt.NDArray[np.int64] | None, npt.NDArray[np.str_], npt.NDArray[np.int8], npt.NDArray[Any]
]:
    """:func:`normalize_values` before it is spread back over the raw values.

    Returns ``(codes, forms, status, detail)``: where several raw values share
    one normalised form (phones), ``codes`` gives each raw value's form and
    the other three arrays are per form; else ``codes`` is None and they are
    per raw value. Token hashing then runs once per form.
    """
    m = len(uniques)
    status = np.full(m, Status.OK, dtype=np.int8)
    detail = np.full(m, None, dtype=object)
    if m == 0:
        return None, np.zeros(0, dtype=str), status, detail
    codes = None
    numbers = np.zeros(0, dtype=np.int64)  # forms 0..len-1 are "+86" and these 11 digits
    if idtype.normalizer == "phone":
        # distinct forms: many raw shapes of one mobile share one, so the rest runs once per number
        codes, text, status, detail, numbers = _phones(uniques)
        m = len(text)
    else:
        text = _as_text(uniques)
        if idtype.normalizer in ("id_lower", "email"):
            text = lower(text)
        if idtype.normalizer == "vin":
            text = np.strings.upper(np.strings.replace(np.strings.replace(text, " ", ""), "-", ""))
        empty = np.strings.str_len(text) == 0
        status[empty] = Status.ABSENT
        bad = np.zeros(m, dtype=bool)
        if idtype.normalizer == "email":
            at = np.strings.find(text, "@")
            domain_dot = np.strings.rfind(text, ".")
            bad = (
                (np.strings.count(text, "@") != 1)
                | (at < 1)
                | (domain_dot < at + 2)
                | (domain_dot >= np.strings.str_len(text) - 1)
                | (np.strings.find(text, " ") >= 0)
            ) & ~empty
            detail[bad] = "not an e-mail address"
        elif idtype.normalizer == "vin":
            forbidden = (
                (np.strings.find(text, "I") >= 0)
                | (np.strings.find(text, "O") >= 0)
                | (np.strings.find(text, "Q") >= 0)
            )
            bad = (
                (np.strings.str_len(text) != 17) | ~np.strings.isalnum(text) | forbidden
            ) & ~empty
            detail[bad] = "not a 17-character VIN"
        status[bad] = Status.INVALID
    ok = status == Status.OK
    blocked = np.zeros(m, dtype=bool)
    if block_defaults:
        short = np.flatnonzero(np.strings.str_len(text) <= max(map(len, DEFAULT_BLOCKED)))
        lowered = lower(text[short])
        blocked[short] = np.isin(lowered, np.array(DEFAULT_BLOCKED))
    exact = tuple(idtype.blocked)
    if block_defaults and idtype.normalizer == "phone":
        exact = exact + BLOCKED_PHONES
    # the plain mobiles are read as numbers, the other forms as text (same results, tested)
    n_mob = len(numbers) if INTEGER_MOBILES else 0
    if exact:
        values = np.array(sorted(set(exact)))
        blocked[n_mob:] |= np.isin(text[n_mob:], values)
        if n_mob:
            blocked[:n_mob] |= np.isin(numbers, _mobile_numbers_of(values))
    if idtype.blocked_patterns:
        cand = np.flatnonzero(ok & ~blocked)
        fast = [p for p in idtype.blocked_patterns if p in _VECTOR_PATTERNS]
        rest = [p for p in idtype.blocked_patterns if p not in _VECTOR_PATTERNS]
        if rest or not all(p in _MOBILE_PATTERNS for p in fast):
            n_mob = 0
        split = int(np.searchsorted(cand, n_mob))  # cand is sorted: mobiles first
        rows = cand[split:]
        copied: list[npt.NDArray[np.str_]] = []  # the text of the rows, copied once if needed
        hit = np.zeros(len(cand), dtype=bool)
        width = text.dtype.itemsize // 4
        for p in fast:
            if p in _FIRST_CHARS and width:
                # only the values whose first character can start a match (no copy of all)
                first = text.view(np.uint32).reshape(m, width)[rows, 0]
                maybe = np.flatnonzero(np.isin(first, _FIRST_CHARS[p]))
                if len(maybe):
                    hit[split + maybe] |= _VECTOR_PATTERNS[p](text[rows[maybe]])
            else:
                if not copied:
                    copied.append(text[rows])
                hit[split:] |= _VECTOR_PATTERNS[p](copied[0])
            if split:
                hit[:split] |= _MOBILE_PATTERNS[p](numbers[cand[:split]])
        if rest:
            sub_text = copied[0] if copied else text[rows]
            pattern = re.compile("|".join(f"(?:{p})" for p in rest), re.MULTILINE)
            hit |= search_many(pattern, sub_text)
        blocked[cand[hit]] = True
    blocked &= ok
    status[blocked] = Status.BLOCKED
    detail[blocked] = "blocked value"
    return codes, text, status, detail
