"""The identifiers a record may carry, validated and normalised."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import field_validator

from autoops.models._base import Record
from autoops.models._phone import normalize_phone

__all__ = ["Identifiers", "normalize_email", "normalize_vin"]

_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_vin(value: str) -> str:
    """Upper-case and check a VIN: 17 characters, letters I, O and Q excluded.

    Raises:
        ValueError: the VIN is malformed (the message does not echo it).

    Examples:
        >>> normalize_vin(" lsvaa4180e2123456 ")
        'LSVAA4180E2123456'
        >>> normalize_vin("LSVAA4180E212345O")
        Traceback (most recent call last):
        ...
        ValueError: a VIN has 17 characters from A-Z and 0-9 without I, O or Q
    """
    vin = value.strip().upper()
    if not _VIN.match(vin):
        raise ValueError("a VIN has 17 characters from A-Z and 0-9 without I, O or Q")
    return vin


def normalize_email(value: str) -> str:
    """Trim and lower-case an e-mail address and check its shape.

    Raises:
        ValueError: not of the shape ``local@domain.tld``.

    Examples:
        >>> normalize_email(" Zhang.Wei@Example.COM ")
        'zhang.wei@example.com'
    """
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError("an e-mail address looks like name@example.com")
    return email


class Identifiers(Record):
    """Identifiers one record carries; every field is optional.

    ``phone`` is normalised to E.164 (see :func:`autoops.models.normalize_phone`),
    ``email`` lower-cased, ``vin`` upper-cased and checked. WeChat ``openid``
    values are scoped by their app: pass ``wechat_appid`` beside them.
    Values are masked in ``repr`` and never echoed in errors.

    Examples:
        >>> ids = Identifiers(phone="+86 138-0013-8000", vin="lsvaa4180e2123456")
        >>> ids.phone
        '+8613800138000'
        >>> ids
        Identifiers(phone='+86138****8000', ..., vin='LS…56', email=None)
        >>> Identifiers(phone="1380013800")
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Identifiers
        phone
          Value error, invalid phone number: too few digits for a mobile number [type=value_error]
        ...
    """

    _masked: ClassVar[dict[str, str]] = {
        "phone": "phone",
        "email": "email",
        "wechat_unionid": "id",
        "wechat_openid": "id",
        "wecom_external_userid": "id",
        "app_user_id": "id",
        "crm_id": "id",
        "device_id": "id",
        "vin": "id",
    }

    phone: str | None = None
    wechat_unionid: str | None = None
    wechat_openid: str | None = None
    wechat_appid: str | None = None
    wecom_external_userid: str | None = None
    app_user_id: str | None = None
    crm_id: str | None = None
    device_id: str | None = None
    vin: str | None = None
    email: str | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        result = normalize_phone(value)
        if result.e164 is None:
            raise ValueError(f"invalid phone number: {result.reason}")
        return result.e164

    @field_validator("vin")
    @classmethod
    def _vin(cls, value: str | None) -> str | None:
        return None if value is None else normalize_vin(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalize_email(value)

    @field_validator(
        "wechat_unionid",
        "wechat_openid",
        "wechat_appid",
        "wecom_external_userid",
        "app_user_id",
        "crm_id",
        "device_id",
    )
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("an identifier may not be blank; use None for absent")
        return value

    def present(self) -> dict[str, str]:
        """The identifiers that are set, by name.

        Examples:
            >>> Identifiers(app_user_id="u1").present()
            {'app_user_id': 'u1'}
        """
        return {k: v for k, v in self.model_dump().items() if v is not None}
