"""Masking of personal data for reprs, logs and error messages.

Every repr, log line and error text in autoops passes identifiers through these
functions. They keep just enough to recognise a value when you already know it
(the first three and last four digits of a mobile, the first letter and the
domain of an e-mail) and never enough to recover it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["mask_email", "mask_id", "mask_phone", "mask_value", "mask_values"]


def mask_phone(value: str | None) -> str:
    """Mask a phone number: ``+8613812345678`` → ``+86138****5678``.

    Keeps a leading ``+86``, the first three and the last four digits of the
    national number; every other digit becomes ``*``. Short or odd values are
    masked all but their last two characters.

    Examples:
        >>> mask_phone("13812345678")
        '138****5678'
        >>> mask_phone("+8613812345678")
        '+86138****5678'
        >>> mask_phone("12345")
        '***45'
        >>> mask_phone("+86 138-1234-5678")
        '+86 138-****-5678'
        >>> mask_phone(None)
        '<none>'
    """
    if value is None:
        return "<none>"
    text = str(value)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if text.lstrip().startswith("+86"):
        digits = digits[2:]
    if len(digits) < 10:
        return "*" * max(len(text) - 2, 2) + text[-2:] if len(text) > 2 else "**"
    hidden = set(digits[3:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_email(value: str | None) -> str:
    """Mask an e-mail address: ``zhang.wei@example.com`` → ``z***@example.com``.

    Examples:
        >>> mask_email("zhang.wei@example.com")
        'z***@example.com'
        >>> mask_email("not-an-email")
        'n***'
    """
    if value is None:
        return "<none>"
    local, sep, domain = str(value).partition("@")
    return f"{local[:1]}***{sep}{domain}"


def mask_id(value: object) -> str:
    """Shorten an identifier (openid, unionid, VIN, device id) for display.

    Keeps the first two and last two characters of values longer than six; a
    short value becomes ``***``.

    Examples:
        >>> mask_id("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        'oU…6o'
        >>> mask_id("abc")
        '***'
    """
    if value is None:
        return "<none>"
    text = str(value)
    if len(text) <= 6:
        return "***"
    return f"{text[:2]}…{text[-2:]}"


def mask_value(value: object) -> str:
    """Mask any identifier, choosing by its shape (phone, e-mail or other id).

    Examples:
        >>> mask_value("+86 138 1234 5678")
        '+86 138 **** 5678'
        >>> mask_value("a@b.cn")
        'a***@b.cn'
        >>> mask_value(None)
        '<none>'
    """
    if value is None:
        return "<none>"
    text = str(value)
    if "@" in text:
        return mask_email(text)
    if sum(ch.isdigit() for ch in text) >= 7 and not any(ch.isalpha() for ch in text):
        return mask_phone(text)
    return mask_id(text)


_SPACE = np.array([9, 10, 11, 12, 13, 28, 29, 30, 31, 32], dtype=np.uint32)
"""The ASCII code points ``str.lstrip()`` strips (``str.isspace``)."""


def mask_values(values: Any) -> npt.NDArray[np.object_]:
    """``[mask_value(v) for v in values]`` as an object array, ASCII strings masked
    together with numpy (a million in a fraction of a second), other values one by one.

    Examples:
        >>> mask_values(["+86 138 1234 5678", "a@b.cn", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", None]).tolist()
        ['+86 138 **** 5678', 'a***@b.cn', 'oU…6o', '<none>']
    """
    vals = np.asarray(values, dtype=object).reshape(-1)
    n = len(vals)
    out = np.empty(n, dtype=object)
    items = vals.tolist()
    try:  # (every value a string: their lengths in one C loop)
        length = np.fromiter(map(len, items), np.int64, n)
        strings = all(map(str.__instancecheck__, items))
    except TypeError:
        strings = False
    if not strings:
        length = np.fromiter((len(v) if type(v) is str else -1 for v in items), np.int64, n)
    text = vals.astype(str)
    fast = np.zeros(n, dtype=bool)
    if n and text.itemsize:
        cp = text.view(np.uint32).reshape(n, -1)
        # ASCII strings (no NUL: numpy's padding would hide a trailing one)
        fast = (length > 0) & (cp < 128).all(axis=1) & (np.strings.str_len(text) == length)
    for i in np.flatnonzero(~fast).tolist():
        out[i] = mask_value(items[i])
    rows = np.flatnonzero(fast)
    if len(rows):
        _mask_ascii(cp[rows], length[rows], out, rows)
    return out


def _as_text(cp: npt.NDArray[np.uint32]) -> npt.NDArray[Any]:
    """Rows of code points (NUL-padded) as Python strings."""
    return np.ascontiguousarray(cp).view(f"<U{cp.shape[1]}").reshape(-1).astype(object)


def _mask_ascii(
    cp: npt.NDArray[np.uint32],
    length: npt.NDArray[np.int64],
    out: npt.NDArray[np.object_],
    rows: npt.NDArray[np.intp],
) -> None:
    """``out[rows] =`` :func:`mask_value` of ASCII strings given as code points (one row
    each, NUL-padded) and their lengths (at least one): each kind on its own rows."""
    if cp.shape[1] < 2:  # (ids read their first two code points)
        cp = np.pad(cp, ((0, 0), (0, 2 - cp.shape[1])))
    w = cp.shape[1]
    digit = (cp >= 48) & (cp <= 57)
    lower = cp | 32
    is_at = cp == 64
    email = is_at.any(axis=1)
    phone = ~email & (digit.sum(axis=1) >= 7) & ~((lower >= 97) & (lower <= 122)).any(axis=1)
    star = np.uint32(42)
    # other ids: "***" up to six characters, else the first two, "…", the last two
    at = np.flatnonzero(~email & ~phone)
    if len(at):
        c, n = cp[at], length[at]
        ends = np.stack([c[:, 0], c[:, 1], np.full(len(at), 0x2026, dtype=np.uint32),
                         c[np.arange(len(at)), np.maximum(n - 2, 0)],
                         c[np.arange(len(at)), n - 1]], axis=1)  # fmt: skip
        ends[n <= 6] = [star, star, star, 0, 0]
        out[rows[at]] = _as_text(ends)
    # e-mail: the local part's first letter (if any), "***@", the domain
    at = np.flatnonzero(email)
    if len(at):
        c, n = cp[at], length[at][:, None]
        j = np.arange(w + 4)[None, :]
        p = np.argmax(is_at[at], axis=1)[:, None]
        pre = np.minimum(p, 1)
        src = np.clip(p + 1 + (j - pre - 4), 0, w - 1)
        mail = np.where(j < pre, c[:, :1], star)
        mail = np.where(j == pre + 3, np.uint32(64), mail)
        mail = np.where(j > pre + 3, np.take_along_axis(c, src, axis=1), mail)
        mail[j - pre - 4 >= n - p - 1] = 0
        out[rows[at]] = _as_text(mail)
    # phones: after a leading "+86" (whitespace before it aside), the digits but the first
    # three and the last four hidden; fewer than ten digits: all but the last two hidden
    at = np.flatnonzero(phone)
    if len(at):
        c = np.pad(cp[at], ((0, 0), (0, 4)))  # room for "**" before two characters
        n, d = length[at][:, None], np.pad(digit[at], ((0, 0), (0, 4)))
        j = np.arange(w + 4)[None, :]
        last = n - 1

        def char(pos: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
            return np.take_along_axis(c, np.clip(pos, 0, last), axis=1)

        lead = np.argmin(np.isin(c, _SPACE), axis=1)[:, None]  # the first non-space
        plus86 = (char(lead) == 43) & (char(lead + 1) == 56) & (char(lead + 2) == 54)
        plus86 &= lead + 2 <= last
        skip = 2 * plus86.astype(np.int64)  # "+86": its two digits are not counted
        rank = np.cumsum(d, axis=1) - skip
        kept = d.sum(axis=1)[:, None] - skip
        tel = np.where(d & (rank >= 4) & (rank <= kept - 4), star, c)
        stars = np.maximum(n - 2, 2)
        short = np.where(j < stars, star, char(last - 1 + (j - stars)))
        short[j >= stars + 2] = 0
        short[(n <= 2)[:, 0]] = np.where(j[0] < 2, star, np.uint32(0))
        out[rows[at]] = np.where((kept >= 10)[:, 0], _as_text(tel), _as_text(short))
