"""Linking contacts and events to leads (by lead id, or by phone and time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from autoops._tabular import arrow_dictionary
from autoops.leads._codes import codes_of, index_of, int_codes
from autoops.models import normalize_phones
from autoops.models._phone import mobile_numbers

__all__ = ["KEY_STATUS", "index_of", "link_by_phone", "person_codes", "phone_keys", "phones"]


class _Phones:
    """Normalised phones aligned with the input (like ``PhoneBatch``).

    Holds the parse of the distinct raw values (``batch``) and each row's
    index into it (``inverse``); the per-row columns are built on access.
    """

    __slots__ = ("batch", "inverse")

    def __init__(self, batch: Any, inverse: npt.NDArray[np.intp]) -> None:
        self.batch = batch
        self.inverse = inverse

    @property
    def e164(self) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = self.batch.e164[self.inverse]
        return out

    @property
    def kind(self) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = self.batch.kind[self.inverse]
        return out

    @property
    def reason(self) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = self.batch.reason[self.inverse]
        return out

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = self.batch.valid[self.inverse]
        return out

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = self.batch.missing[self.inverse]
        return out


def _distinct(values: npt.NDArray[Any]) -> tuple[Any, npt.NDArray[np.int64]]:
    """Parse each distinct raw value once; rows map to it by a hash-based code (-1: None)."""
    codes, uniq = codes_of(values)
    # the trailing slot parses as missing and takes code -1 (None)
    raw = np.concatenate((uniq, np.array([None], dtype=object)))
    return normalize_phones(raw), np.where(codes < 0, len(uniq), codes)


def phones(values: npt.NDArray[Any]) -> _Phones:
    """``normalize_phones`` over the distinct raw values only, mapped back to the rows.

    Raw phone columns repeat heavily (one person, many events), so this parses
    each distinct spelling once.
    """
    batch, inverse = _distinct(values)
    return _Phones(batch, inverse)


#: key status per raw value, as codes into ``KEY_STATUS``
KEY_STATUS = ("ok", "missing", "invalid")


def _spellings(parts: Sequence[npt.NDArray[Any]]) -> tuple[npt.NDArray[np.signedinteger[Any]], Any]:
    """Codes of the raw phones of *parts*, concatenated (-1: ``None``), and the distinct spellings.

    With pyarrow installed, columns of ``str`` (and ``None``) are copied into
    one Arrow string column and dictionary-encoded by Arrow
    (:func:`autoops._tabular.arrow_dictionary`): hashing contiguous bytes is faster
    than ``pandas.factorize`` on Python strings, and no object array is
    concatenated; the distinct spellings are then an Arrow array. Other
    columns (numbers, NaN, bytes, strings Arrow cannot encode) are factorised
    by :func:`codes_of` and the spellings are an object array.
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is an optional extra
        pa = None
    if pa is not None:
        try:
            text = [pa.array(p, type=pa.large_string()) for p in parts]
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
            pass
        else:
            return arrow_dictionary(pa.chunked_array(text, type=pa.large_string()))
    # one concatenation, no intermediate copies: each copy of an object array touches every
    # string's reference count
    return codes_of(np.concatenate(parts) if len(parts) > 1 else parts[0])


def _arrow_mobiles(spellings: Any) -> npt.NDArray[np.int64]:
    """:func:`~autoops.models._phone.mobile_numbers` of the Arrow spellings made of
    ASCII digits only, after at most one leading ``+`` (0 for every other spelling).

    Such a spelling is read by Arrow's integer parser; the rule is the one of
    ``mobile_numbers`` for it (11 digits without ``+``; 13 digits ``86…``; 15
    digits ``0086…`` without ``+``; the number 13-19…), tested equal.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    plus = pc.starts_with(spellings, "+")
    body = pc.if_else(plus, pc.utf8_slice_codeunits(spellings, 1), spellings)
    n_digits = pc.utf8_length(body)
    digits = pc.and_(
        pc.and_(pc.string_is_ascii(body), pc.utf8_is_digit(body)), pc.less_equal(n_digits, 18)
    )
    digits = pc.fill_null(digits, False)
    value = pc.cast(pc.if_else(digits, body, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    nd = pc.fill_null(n_digits, 0).to_numpy(zero_copy_only=False)
    with_plus = pc.fill_null(plus, False).to_numpy(zero_copy_only=False)
    number, prefix = value % 10**11, value // 10**11
    ok = digits.to_numpy(zero_copy_only=False) & (number >= 13_000_000_000)
    ok &= number < 20_000_000_000
    ok &= ((nd == 11) & ~with_plus) | ((nd == 13) | (nd == 15) & ~with_plus) & (prefix == 86)
    out: npt.NDArray[np.int64] = np.where(ok, number, 0)
    return out


def _read(uniq: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """The number (``+86`` numbers as ``_CC86`` + national; 0: none) and key status of
    each distinct spelling (an object array)."""
    k = len(uniq)
    number = np.zeros(k, dtype=np.int64)
    status = np.full(k, 1, dtype=np.int8)
    if not k:
        return number, status
    mobile = mobile_numbers(uniq.astype(str))
    plain = mobile > 0
    number[plain] = _CC86 + mobile[plain]
    status[plain] = 0
    rest = np.flatnonzero(~plain)
    if len(rest):
        batch = normalize_phones(uniq[rest])
        ok = rest[batch.valid]
        try:  # at most 15 digits: one int64 per number
            number[ok] = batch.e164[batch.valid].astype(np.int64)
        except (ValueError, OverflowError):  # pragma: no cover - E.164 is "+" and digits
            number[ok] = codes_of(batch.e164[batch.valid])[0] + 1
        status[rest] = np.where(batch.valid, 0, np.where(batch.missing, 1, 2))
    return number, status


def _keys(
    parts: Sequence[npt.NDArray[Any]],
) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Per row of *parts*, concatenated, its spelling's code (-1: ``None``); per spelling
    code its dense person code (-1: none) and key status code (the last slot: ``None``).

    Each distinct raw spelling is read once and coded once. Plain mobiles
    (``138 0013 8000``, ``+8613800138000``, ``008613800138000``) are read as
    integers, by Arrow's integer parser when they are digits only (see
    :func:`_arrow_mobiles`), else by
    :func:`autoops.models._phone.mobile_numbers` (tested equal to
    ``normalize_phones``); every other spelling goes through
    :func:`autoops.models.normalize_phones`. No E.164 string is built: a number
    is one ``int64`` (``+8613800138000`` → ``8613800138000``).
    """
    codes, uniq = _spellings(parts)
    k = len(uniq)
    number = np.zeros(k + 1, dtype=np.int64)  # the last slot answers code -1 (None)
    status = np.full(k + 1, 1, dtype=np.int8)
    if isinstance(uniq, np.ndarray):
        number[:k], status[:k] = _read(uniq)
    elif k:
        mobile = _arrow_mobiles(uniq)
        read = mobile > 0
        number[:k][read] = _CC86 + mobile[read]
        status[:k][read] = 0
        rest = np.flatnonzero(~read)
        if len(rest):
            others = uniq.take(rest).to_numpy(zero_copy_only=False)
            number[rest], status[rest] = _read(others)
    dense = np.full(k + 1, -1, dtype=np.int64)
    has = np.flatnonzero(number)
    dense[has] = int_codes(number[has])
    return codes, dense, status


#: ``+86`` and 11 digits as one integer: 86 * 10**11 + the national number
_CC86 = 86 * 10**11


def phone_keys(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Integer person code per phone (-1: missing or invalid) and the key status code
    (index into :data:`KEY_STATUS`)."""
    codes, dense, status = _keys([np.asarray(values, dtype=object)])
    return dense[codes], status[codes]


def person_codes(
    lead_phone: npt.NDArray[Any], event_phone: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Shared integer codes of normalised phones (-1 when missing or invalid)."""
    raw, dense, _ = _keys(
        [np.asarray(lead_phone, dtype=object), np.asarray(event_phone, dtype=object)]
    )
    codes = dense[raw]  # the key status is not needed here
    return codes[: len(lead_phone)], codes[len(lead_phone) :]


def link_by_phone(
    lead_code: npt.NDArray[np.int64],
    lead_created: npt.NDArray[np.int64],
    event_code: npt.NDArray[np.int64],
    event_ts: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For each event, the latest lead of the same person created at or before it (-1 if none)."""
    n = len(lead_code)
    m = len(event_code)
    # merge leads (flag 0) before events (flag 1) at equal (code, time)
    code = np.concatenate((lead_code, event_code))
    ts = np.concatenate((lead_created, event_ts))
    flag = np.concatenate((np.zeros(n, dtype=np.int8), np.ones(m, dtype=np.int8)))
    idx = np.concatenate((np.arange(n), np.arange(m)))
    order = np.lexsort((idx, flag, ts, code))
    o_code, o_flag, o_idx = code[order], flag[order], idx[order]
    # last lead position seen so far, reset at code boundaries
    pos = np.arange(n + m)
    is_lead = (o_flag == 0) & (o_code >= 0)
    last_lead = np.maximum.accumulate(np.where(is_lead, pos, -1))
    code_start = np.ones(n + m, dtype=bool)
    code_start[1:] = o_code[1:] != o_code[:-1]
    start_pos = np.maximum.accumulate(np.where(code_start, pos, 0))
    valid = (last_lead >= start_pos) & (o_code >= 0)
    out = np.full(m, -1, dtype=np.int64)
    ev = o_flag == 1
    linked = np.where(valid[ev], o_idx[np.maximum(last_lead[ev], 0)], -1)
    out[o_idx[ev]] = linked
    return out
