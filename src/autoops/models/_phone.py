"""Phone number normalisation: every common Chinese shape to E.164.

The vectorised form works on a matrix of Unicode code points, so ten million
numbers normalise without a Python loop per number: full-width digits are
folded, separators dropped, the country code recognised, and the national
number classified by integer comparisons.

Recognised shapes (all give ``+8613812345678``): ``13812345678``,
``138 1234 5678``, ``138-1234-5678``, ``+86 138 1234 5678``,
``86-138-1234-5678``, ``8613812345678``, ``008613812345678``,
``(+86)13812345678``, full-width ``１３８１２３４５６７８``.

Kinds:

=========  =====================================================  =============
kind       shape                                                  valid
=========  =====================================================  =============
mobile     11 digits, ``1[3-9]…``, optional +86 / 86 / 0086       yes
landline   ``0`` + area code + subscriber (11-12 digits), or the  yes
           same after +86 without the ``0``
service    400 / 800 numbers (10 digits)                          yes
foreign    ``+`` or ``00`` with another country code              with [phone]
invalid    anything else; ``reason`` says why                     no
=========  =====================================================  =============

A valid service number is a company line, not a person: identity resolution
treats it as blocked.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._tabular import present

__all__ = ["PhoneBatch", "PhoneResult", "mobile_numbers", "normalize_phone", "normalize_phones"]

_WIDTH = 24
_SEPARATORS = np.array(
    [ord(c) for c in " -().\t\u3000\u00a0\uff08\uff09\uff0d\u2014\u2013/"], dtype=np.uint32
)
_PLUS = np.array([ord("+"), 0xFF0B], dtype=np.uint32)
_ZERO = ord("0")

# reasons, indexed by code
_REASONS = np.array(
    [
        None,
        "empty",
        "contains letters or symbols",
        "too long",
        "too few digits for a mobile number",
        "not a Chinese mobile prefix (must start 13-19)",
        "too many digits",
        "unrecognised number format",
        "non-Chinese number: install autoops[phone] to parse it",
        "not a valid number for its country",
    ],
    dtype=object,
)
_KINDS = np.array(["invalid", "mobile", "landline", "service", "foreign"], dtype=object)


@attrs.frozen(slots=True)
class PhoneResult:
    """The outcome of normalising one phone number.

    Attributes:
        e164: the number in E.164 (``+8613812345678``), or ``None`` when invalid.
        kind: ``mobile``, ``landline``, ``service``, ``foreign`` or ``invalid``.
        reason: why the number is invalid, else ``None``.

    Examples:
        >>> normalize_phone("+86 138 1234 5678")
        PhoneResult(e164='+86138****5678', kind='mobile', reason=None)
    """

    e164: str | None
    kind: str
    reason: str | None

    @property
    def valid(self) -> bool:
        """Whether the number parsed.

        Examples:
            >>> normalize_phone("13812345678").valid
            True
        """
        return self.e164 is not None

    def __repr__(self) -> str:
        from autoops._masking import mask_phone

        shown = mask_phone(self.e164) if self.e164 else None
        return f"PhoneResult(e164={shown!r}, kind={self.kind!r}, reason={self.reason!r})"


@attrs.frozen(slots=True)
class PhoneBatch:
    """Normalised phone numbers, aligned with the input array.

    Attributes:
        e164: object array of E.164 strings, ``None`` where invalid or missing.
        kind: object array of kinds (see the module table); ``None`` where missing.
        reason: object array of reasons, ``None`` where valid or missing.
        valid: bool array, ``e164 is not None``.
        missing: bool array, the input was ``None`` or empty.

    Examples:
        >>> normalize_phones(["13812345678", "bad", None])
        PhoneBatch(numbers=3, valid=1, missing=1)
    """

    e164: npt.NDArray[Any]
    kind: npt.NDArray[Any]
    reason: npt.NDArray[Any]
    valid: npt.NDArray[np.bool_]
    missing: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.e164)

    def __repr__(self) -> str:
        return (
            f"PhoneBatch(numbers={len(self)}, valid={int(self.valid.sum())}, "
            f"missing={int(self.missing.sum())})"
        )


def normalize_phone(value: str | None) -> PhoneResult:
    """Normalise one phone number to E.164; never raises.

    Args:
        value: a phone number in any common shape, or ``None``.

    Returns:
        A :class:`PhoneResult`; ``reason`` explains an invalid number.

    Examples:
        >>> normalize_phone("+86 138-0013-8000").e164
        '+8613800138000'
        >>> normalize_phone("１３８ ００１３ ８０００").e164
        '+8613800138000'
        >>> normalize_phone("010-6552 9988")
        PhoneResult(e164='+86106***9988', kind='landline', reason=None)
        >>> normalize_phone("1380013800").reason
        'too few digits for a mobile number'
    """
    batch = normalize_phones(np.array([value], dtype=object))
    kind = batch.kind[0]
    return PhoneResult(batch.e164[0], "invalid" if kind is None else kind, batch.reason[0])


def normalize_phones(values: Any) -> PhoneBatch:
    """Normalise an array of phone numbers to E.164, vectorised; never raises.

    ``None`` and empty strings are *missing* (not invalid). Every other value
    is either valid (``e164`` set) or invalid with a ``reason``.

    Args:
        values: a sequence or numpy array of strings (``None`` allowed).

    Returns:
        A :class:`PhoneBatch` aligned with *values*.

    Examples:
        >>> batch = normalize_phones(["008613800138000", "8613800138000", None, "400-810-5050"])
        >>> batch.e164.tolist()
        ['+8613800138000', '+8613800138000', None, '+864008105050']
        >>> batch.kind.tolist()
        ['mobile', 'mobile', None, 'service']
        >>> normalize_phones(["11111111111"]).reason.tolist()
        ['not a Chinese mobile prefix (must start 13-19)']
    """
    arr = np.asarray(values, dtype=object)
    n = len(arr)
    e164 = np.full(n, None, dtype=object)
    kind = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    missing = np.zeros(n, dtype=bool)
    step = 1_000_000
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        _normalize_chunk(arr[lo:hi], e164[lo:hi], kind[lo:hi], reason[lo:hi], missing[lo:hi])
    return PhoneBatch(e164, kind, reason, present(e164), missing)


def _normalize_chunk(
    arr: npt.NDArray[Any],
    e164_out: npt.NDArray[Any],
    kind_out: npt.NDArray[Any],
    reason_out: npt.NDArray[Any],
    missing_out: npt.NDArray[np.bool_],
) -> None:
    n = len(arr)
    given = present(arr)
    text = np.where(given, arr, "").astype(str)
    lengths = np.strings.str_len(text)
    missing = lengths == 0
    missing_out[:] = missing
    too_long = lengths > _WIDTH
    fixed = np.where(too_long, "", text).astype(f"<U{_WIDTH}")
    cps = fixed.view(np.uint32).reshape(n, _WIDTH)

    fullwidth = (cps >= 0xFF10) & (cps <= 0xFF19)
    cps = np.where(fullwidth, cps - 0xFF10 + _ZERO, cps)
    is_digit = (cps >= _ZERO) & (cps <= _ZERO + 9)
    is_plus = np.isin(cps, _PLUS)
    is_sep = np.isin(cps, _SEPARATORS) | (cps == 0)
    bad_char = ~(is_digit | is_plus | is_sep).all(axis=1)

    # a plus sign counts only before the first digit
    first_digit = np.where(is_digit.any(axis=1), is_digit.argmax(axis=1), _WIDTH)
    cols = np.arange(_WIDTH)
    has_plus = (is_plus & (cols[None, :] < first_digit[:, None])).any(axis=1)
    stray_plus = (is_plus & (cols[None, :] > first_digit[:, None])).any(axis=1)

    # compact the digits to the left: D[i, :L[i]] are row i's digits
    n_digits = is_digit.sum(axis=1)
    pos = np.cumsum(is_digit, axis=1, dtype=np.int8) - 1
    digits = np.full((n, _WIDTH), -1, dtype=np.int8)
    flat = np.arange(0, n * _WIDTH, _WIDTH, dtype=np.int64)[:, None] + pos
    digits.ravel()[flat[is_digit]] = (cps[is_digit] - _ZERO).astype(np.int8)

    def starts(prefix: str, offset: int | npt.NDArray[np.int64] = 0) -> npt.NDArray[np.bool_]:
        ok = np.ones(n, dtype=bool)
        for k, ch in enumerate(prefix):
            idx = np.minimum(offset + k, _WIDTH - 1)
            ok &= digits[np.arange(n), idx] == int(ch)
        return ok

    # country code: +86…, 0086…, or a bare 86 before an 11-digit mobile
    cc_0086 = ~has_plus & starts("0086")
    cc_plus86 = has_plus & starts("86")
    cc_bare86 = ~has_plus & ~cc_0086 & (n_digits == 13) & starts("861") & ~starts("8610")
    strip = np.select([cc_0086, cc_plus86 | cc_bare86], [4, 2], 0)
    with_cc = cc_0086 | cc_plus86 | cc_bare86
    foreign = ((has_plus & ~cc_plus86) | (~has_plus & starts("00") & ~cc_0086)) & (n_digits >= 7)

    national_len = n_digits - strip
    # a national number written with its trunk 0 after +86 ("+86 010 …"): drop the 0
    trunk0 = with_cc & starts("0", strip)
    strip = strip + trunk0
    national_len = national_len - trunk0
    first = digits[np.arange(n), np.minimum(strip, _WIDTH - 1)]
    second = digits[np.arange(n), np.minimum(strip + 1, _WIDTH - 1)]

    mobile = (national_len == 11) & (first == 1) & (second >= 3)
    service = (national_len == 10) & (starts("400", strip) | starts("800", strip)) & ~trunk0
    # after the trunk 0 an area code starts with 2-9, or is Beijing's 10 (the same rule
    # as after +86 below, so that a number and its E.164 form get the same kind)
    local_landline = (
        ~with_cc
        & (first == 0)
        & (
            ((second >= 2) & np.isin(national_len, (11, 12)))
            | (starts("010") & (national_len == 11))
        )
    )
    cc_landline = (
        with_cc
        & (
            ((first >= 2) & np.isin(national_len, (10, 11)))
            | (starts("10", strip) & (national_len == 10))
        )
        & ~service
    )
    landline = local_landline | cc_landline

    # build E.164 for the good rows: "+86" + national digits (without trunk 0)
    good = ~missing & ~too_long & ~bad_char & ~stray_plus & ~foreign & (mobile | service | landline)
    skip = strip + local_landline  # a local landline drops its trunk 0
    out = np.zeros((n, 3 + 12), dtype=np.uint32)
    out[:, 0], out[:, 1], out[:, 2] = ord("+"), ord("8"), ord("6")
    idx = np.arange(12)[None, :] + skip[:, None]
    take = np.take_along_axis(digits, np.minimum(idx, _WIDTH - 1), axis=1)
    keep_len = n_digits - skip
    valid_pos = (np.arange(12)[None, :] < keep_len[:, None]) & (take >= 0)
    out[:, 3:] = np.where(valid_pos, take.astype(np.uint32) + _ZERO, 0)
    strings = out.view(f"<U{3 + 12}").reshape(n)

    kind_code = np.select([mobile, landline, service], [1, 2, 3], 0)
    kind_code = np.where(good, kind_code, 0)
    reason_code = np.select(
        [
            missing,
            too_long,
            bad_char | stray_plus,
            foreign,
            (national_len == 11) & (first == 1),
            (first == 1) & (national_len < 11),
            national_len > 12,
        ],
        [0, 3, 2, 8, 5, 4, 6],
        7,
    )
    reason_code = np.where(good, 0, reason_code)

    e164_out[good] = strings[good].astype(object)
    kind_out[~missing] = _KINDS[kind_code[~missing]]
    reason_out[:] = _REASONS[reason_code]
    if foreign.any():
        _parse_foreign(
            text, foreign & ~missing & ~too_long & ~bad_char, e164_out, kind_out, reason_out
        )


def _parse_foreign(
    text: npt.NDArray[Any],
    rows: npt.NDArray[np.bool_],
    e164_out: npt.NDArray[Any],
    kind_out: npt.NDArray[Any],
    reason_out: npt.NDArray[Any],
) -> None:
    """Parse non-Chinese numbers with ``phonenumbers`` when the extra is present."""
    try:
        import phonenumbers
    except ImportError:
        return
    for i in np.flatnonzero(rows):
        raw = str(text[i]).strip()
        if raw.startswith("00"):
            raw = "+" + raw[2:]
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            reason_out[i] = _REASONS[9]
            continue
        if phonenumbers.is_valid_number(parsed):
            e164_out[i] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            kind_out[i] = "foreign"
            reason_out[i] = None
        else:
            reason_out[i] = _REASONS[9]


def mobile_numbers(text: npt.NDArray[np.str_]) -> npt.NDArray[np.int64]:
    """The mobile number of each raw phone as an integer, 0 where it is not a plain mobile.

    A plain mobile is, once spaces, dashes and brackets are removed, 11 ASCII
    digits starting with 13-19, optionally after ``+86``, ``0086`` or ``86``.
    Read from the code points of the fixed-width array, one position at a time.
    The fast path of :func:`normalize_phones` for identity and leads (tested
    equal to it): a spelling longer than its 24-character limit is not read.

    Examples:
        >>> mobile_numbers(np.array(["+86 138-0013-8000", "0086 13800138000", "1380013800"])).tolist()
        [13800138000, 13800138000, 0]
    """
    m = len(text)
    out = np.zeros(m, dtype=np.int64)
    width = text.dtype.itemsize // 4
    if m == 0 or width < 11:
        return out
    if width > _WIDTH:  # too long for normalize_phones; the rest read at the width they need
        length = np.strings.str_len(text)
        fits = np.flatnonzero(length <= _WIDTH)
        narrow = text[fits].astype(f"<U{int(length[fits].max(initial=1))}")
        out[fits] = mobile_numbers(narrow)
        return out
    length = np.strings.str_len(text)
    clean = np.ones(m, dtype=bool)
    plus_first = np.zeros(m, dtype=bool)  # a "+" before the first digit (then "+86")
    n_digits = np.zeros(m, dtype=np.int64)
    n_plus = np.zeros(m, dtype=np.int64)
    total = np.zeros(m, dtype=np.int64)  # all the digits as one integer
    # one column (character position) at a time, over all rows
    for c in text.view(np.uint32).reshape(m, width).T.copy():
        digit = (c >= ord("0")) & (c <= ord("9"))
        plus = c == ord("+")
        sep = (c == ord(" ")) | (c == ord("-")) | (c == ord("(")) | (c == ord(")"))
        clean &= digit | plus | sep | (length <= 0)
        plus_first |= plus & (n_digits == 0)
        n_plus += plus
        n_digits += digit
        np.copyto(total, total * 10 + (c.astype(np.int64) - ord("0")), where=digit)
        length -= 1
    # the last 11 digits are the number, those before them the prefix (longer rows are
    # rejected by their digit count, so an overflow of total never matters)
    number, prefix = total % 10**11, total // 10**11
    prefixed = ((n_digits == 13) | (n_digits == 15) & (n_plus == 0)) & (prefix == 86)
    ok = clean & (number >= 13_000_000_000) & (number < 20_000_000_000)
    ok &= ((n_plus == 0) & (n_digits == 11)) | (
        prefixed & ((n_plus == 0) | (n_plus == 1) & plus_first)
    )
    out[ok] = number[ok]
    return out
