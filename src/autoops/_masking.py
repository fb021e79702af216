"""Masking of personal data for reprs, logs and error messages.

Every repr, log line and error text in autoops passes identifiers through these
functions. They keep just enough to recognise a value when you already know it
(the first three and last four digits of a mobile, the first letter and the
domain of an e-mail) and never enough to recover it.
"""

from __future__ import annotations

__all__ = ["mask_email", "mask_id", "mask_phone", "mask_value"]


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
