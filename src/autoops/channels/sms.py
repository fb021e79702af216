"""SMS through Tencent Cloud (TC3-signed SendSms) and Aliyun (RPC V1-signed SendSms).

Recipients are E.164 mobile numbers (``+8613812345678``); anything else is
refused before any request, naming the row, with the number masked.

* :class:`TencentSmsChannel` — API 3.0 ``SendSms`` (version 2021-01-11), at
  most 200 numbers per request (split automatically), per-number results
  from ``SendStatusSet``.
* :class:`AliyunSmsChannel` — ``SendSms`` (2017-05-25) with a fresh
  ``SignatureNonce`` per request; Aliyun answers per request, so every number
  of a request shares its outcome.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, ClassVar

import attrs
import httpx

from autoops._masking import mask_phone
from autoops.channels._base import Call, Channel, Outcome, OutcomeKind, json_body
from autoops.channels._signing import aliyun_rpc_signature, tc3_authorization
from autoops.channels._types import Message, Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = ["AliyunSmsChannel", "SmsContent", "TencentSmsChannel", "tencent_code_kind"]

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CN_MOBILE = re.compile(r"\+861[3-9][0-9]{9}")


def _params(value: Any) -> Any:
    return value if isinstance(value, dict) else tuple(value)


@attrs.frozen
class SmsContent:
    """A template SMS.

    Args:
        template_id: the approved template (Tencent TemplateId / Aliyun TemplateCode).
        params: template parameters, in order (Tencent) — or a mapping (Aliyun).
        session_context: echoed back by Tencent (< 512 bytes).
        extend_code: Tencent ExtendCode.
        sender_id: Tencent SenderId (international).

    Examples:
        >>> SmsContent("1234567", ["8888", "5"]).params
        ('8888', '5')
    """

    template_id: str
    params: Any = attrs.field(default=(), converter=_params)
    session_context: str | None = None
    extend_code: str | None = None
    sender_id: str | None = None


def _check_numbers(message: Message) -> None:
    for i, number in enumerate(message.to):
        if not _E164.fullmatch(number):
            raise InvalidInput(
                f"{mask_phone(number)} is not an E.164 number like +8613800000000; "
                "normalise it with autoops.models.normalize_phone",
                field="to",
                row=i,
            )
        if number.startswith("+86") and not _CN_MOBILE.fullmatch(number):
            raise InvalidInput(
                f"{mask_phone(number)} is not a mainland mobile number", field="to", row=i
            )


def tencent_code_kind(code: str) -> OutcomeKind:
    """Map a Tencent Cloud SMS code to an outcome kind.

    Examples:
        >>> [tencent_code_kind(c) for c in ("Ok", "RequestLimitExceeded",
        ...  "LimitExceeded.PhoneNumberDailyLimit", "InternalError.Timeout",
        ...  "AuthFailure.SignatureFailure", "InvalidParameterValue.IncorrectPhoneNumber")]
        ['accepted', 'rate_limited', 'refused', 'retryable', 'auth', 'invalid']
    """
    if code == "Ok":
        return "accepted"
    if code.startswith("RequestLimitExceeded"):
        return "rate_limited"
    if code.startswith("LimitExceeded.PhoneNumber") or code.startswith("FailedOperation.Phone"):
        return "refused"
    if code.startswith(("InternalError", "ResourceUnavailable")):
        return "retryable"
    if code.startswith(("AuthFailure", "UnauthorizedOperation")):
        return "auth"
    return "invalid"


class TencentSmsChannel(Channel):
    """Tencent Cloud SMS ``SendSms``, TC3-HMAC-SHA256 signed.

    Args:
        secret_id: the SecretId.
        secret_key: the SecretKey.
        sdk_app_id: the SmsSdkAppId.
        sign_name: the approved signature (签名).
        region: sent as ``X-TC-Region``.
        base_url: API root; point it at the emulator in tests.

    Examples:
        >>> ch = TencentSmsChannel("AKID1", "key", sdk_app_id="1400000000", sign_name="车企")
        >>> m = Message(to=[f"+86138{i:08d}" for i in range(450)], content=SmsContent("1"))
        >>> [len(c.recipients) for c in ch.build_requests(m, token=None, now=1700000000, nonce="n")]
        [200, 200, 50]
    """

    name: ClassVar[str] = "tencent_sms"
    opt_out_key: ClassVar[str | None] = "sms"
    content_type: ClassVar[type] = SmsContent
    batch: ClassVar[int] = 200

    def __init__(
        self,
        secret_id: str,
        secret_key: str | Secret,
        *,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        base_url: str = "https://sms.tencentcloudapi.com",
    ) -> None:
        if not secret_id:
            raise ConfigError("SecretId is empty", key="secret_id")
        self.secret_id = secret_id
        self.secret_key = Secret(secret_key)
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.region = region
        self.base_url = base_url.rstrip("/")
        self.host = httpx.URL(self.base_url).host

    def __repr__(self) -> str:
        return f"TencentSmsChannel(sdk_app_id={self.sdk_app_id!r}, region={self.region!r})"

    def validate(self, message: Message) -> None:
        """E.164 numbers, string params, a short session context.

        Examples:
            >>> TencentSmsChannel("a", "k", sdk_app_id="1", sign_name="s").validate(
            ...     Message(to=["13812345678"], content=SmsContent("1")))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: to (row 0): 138****5678 is not an E.164 number like ...
        """
        super().validate(message)
        _check_numbers(message)
        content: SmsContent = message.content
        if isinstance(content.params, dict):
            raise InvalidInput("Tencent templates take a list of parameters", field="params")
        if content.session_context and len(content.session_context.encode()) >= 512:
            raise InvalidInput("must be under 512 bytes", field="session_context")

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One signed POST per 200 numbers.

        Examples:
            >>> ch = TencentSmsChannel("AKID1", "key", sdk_app_id="1", sign_name="s")
            >>> [c] = ch.build_requests(Message(to=["+8613812345678"], content=SmsContent("1")),
            ...                         token=None, now=1700000000, nonce="n")
            >>> c.request.headers["X-TC-Action"], c.request.headers["Authorization"][:40]
            ('SendSms', 'TC3-HMAC-SHA256 Credential=AKID1/2023-11')
        """
        content: SmsContent = message.content
        ts = int(now)
        calls = []
        for start in range(0, len(message.to), self.batch):
            idx = tuple(range(start, min(start + self.batch, len(message.to))))
            body: dict[str, Any] = {
                "PhoneNumberSet": [message.to[i] for i in idx],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": content.template_id,
                "TemplateParamSet": list(content.params),
            }
            for key, value in (
                ("SessionContext", content.session_context),
                ("ExtendCode", content.extend_code),
                ("SenderId", content.sender_id),
            ):
                if value:
                    body[key] = value
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            ctype = "application/json; charset=utf-8"
            headers = {
                "Content-Type": ctype,
                "Host": self.host,
                "X-TC-Action": "SendSms",
                "X-TC-Timestamp": str(ts),
                "X-TC-Version": "2021-01-11",
                "X-TC-Region": self.region,
                "Authorization": tc3_authorization(
                    self.secret_id,
                    self.secret_key,
                    service="sms",
                    host=self.host,
                    timestamp=ts,
                    payload=payload,
                    content_type=ctype,
                ),
            }
            calls.append(
                Call(
                    httpx.Request("POST", self.base_url + "/", content=payload, headers=headers),
                    idx,
                )
            )
        return calls

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """Per-number outcomes from ``SendStatusSet``; a request error applies to all.

        Examples:
            >>> import httpx
            >>> ch = TencentSmsChannel("a", "k", sdk_app_id="1", sign_name="s")
            >>> r = httpx.Response(200, json={"Response": {"RequestId": "r1", "SendStatusSet": [
            ...     {"PhoneNumber": "+8613812345678", "Code": "Ok", "SerialNo": "s1"},
            ...     {"PhoneNumber": "+8613912345678", "Code": "LimitExceeded.PhoneNumberDailyLimit",
            ...      "Message": "daily limit"}]}})
            >>> [(o.kind, o.message_id) for o in ch.parse_response(Call(None, (0, 1)), r)]
            [('accepted', 's1'), ('refused', None)]
        """
        if response.status_code >= 500:
            return [
                Outcome(i, "retryable", code=f"http_{response.status_code}")
                for i in call.recipients
            ]
        data = json_body(response).get("Response", {})
        rid = data.get("RequestId")
        error = data.get("Error")
        if error:
            code = str(error.get("Code"))
            return [
                Outcome(
                    i,
                    tencent_code_kind(code),
                    code=code,
                    message=error.get("Message"),
                    request_id=rid,
                )
                for i in call.recipients
            ]
        items_all = data.get("SendStatusSet") or []
        if call.request is not None:
            sent = json.loads(call.request.content)["PhoneNumberSet"]
        else:
            sent = [str(item.get("PhoneNumber")) for item in items_all]
        by_number: dict[str, list[dict[str, Any]]] = {}
        for item in items_all:
            by_number.setdefault(str(item.get("PhoneNumber")), []).append(item)
        out = []
        for i, number in zip(call.recipients, sent, strict=False):
            items = by_number.get(number)
            if not items:
                continue
            item = items.pop(0)
            code = str(item.get("Code"))
            kind = tencent_code_kind(code)
            out.append(
                Outcome(
                    i,
                    kind,
                    code=code,
                    message=None if kind == "accepted" else item.get("Message"),
                    message_id=item.get("SerialNo") if kind == "accepted" else None,
                    request_id=rid,
                )
            )
        return out


_ALIYUN_KINDS: dict[str, OutcomeKind] = {
    "OK": "accepted",
    "Throttling.User": "rate_limited",
    "Throttling": "rate_limited",
    "isv.BUSINESS_LIMIT_CONTROL": "refused",
    "isv.DAY_LIMIT_CONTROL": "refused",
    "isv.BLACK_KEY_CONTROL_LIMIT": "refused",
    "InvalidAccessKeyId.NotFound": "auth",
    "SignatureDoesNotMatch": "auth",
    "InternalError": "retryable",
    "ServiceUnavailable": "retryable",
    "isp.SYSTEM_ERROR": "retryable",
    "isp.RAM_PERMISSION_DENY": "auth",
}


class AliyunSmsChannel(Channel):
    """Aliyun ``SendSms`` (RPC, HMAC-SHA1), up to 1,000 numbers per request.

    Args:
        access_key_id: the AccessKeyId.
        access_key_secret: the AccessKeySecret.
        sign_name: the approved signature.
        region: ``RegionId``.
        base_url: API root.

    Examples:
        >>> ch = AliyunSmsChannel("testId", "testSecret", sign_name="阿里云短信测试专用")
        >>> m = Message(to=["+8615300000001"], content=SmsContent("SMS_1", {"code": "1234"}))
        >>> [c] = ch.build_requests(m, token=None, now=1499827339, nonce="n1")
        >>> c.request.url.params["PhoneNumbers"], c.request.url.params["Timestamp"]
        ('15300000001', '2017-07-12T02:42:19Z')
    """

    name: ClassVar[str] = "aliyun_sms"
    opt_out_key: ClassVar[str | None] = "sms"
    content_type: ClassVar[type] = SmsContent
    batch: ClassVar[int] = 1000

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str | Secret,
        *,
        sign_name: str,
        region: str = "cn-hangzhou",
        base_url: str = "https://dysmsapi.aliyuncs.com",
    ) -> None:
        if not access_key_id:
            raise ConfigError("AccessKeyId is empty", key="access_key_id")
        self.access_key_id = access_key_id
        self.access_key_secret = Secret(access_key_secret)
        self.sign_name = sign_name
        self.region = region
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"AliyunSmsChannel(region={self.region!r})"

    def validate(self, message: Message) -> None:
        """E.164 numbers; parameters as a mapping.

        Examples:
            >>> AliyunSmsChannel("i", "s", sign_name="x").validate(
            ...     Message(to=["+8613812345678"], content=SmsContent("T", ["a"])))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: params: Aliyun templates take a mapping of named ...
        """
        super().validate(message)
        _check_numbers(message)
        if not isinstance(message.content.params, dict):
            raise InvalidInput(
                "Aliyun templates take a mapping of named parameters", field="params"
            )

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """Signed GETs of at most 1,000 numbers, each with its own nonce.

        Examples:
            >>> ch = AliyunSmsChannel("i", "s", sign_name="x")
            >>> m = Message(to=["+8613812345678"], content=SmsContent("T", {}))
            >>> [call] = ch.build_requests(m, token=None, now=0, nonce="n")
            >>> "Signature" in call.request.url.params
            True
        """
        content: SmsContent = message.content
        stamp = datetime.fromtimestamp(int(now), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        calls = []
        for n, start in enumerate(range(0, len(message.to), self.batch)):
            idx = tuple(range(start, min(start + self.batch, len(message.to))))
            numbers = [message.to[i] for i in idx]
            params = {
                "AccessKeyId": self.access_key_id,
                "Action": "SendSms",
                "Format": "JSON",
                "OutId": message.key()[:32],
                "PhoneNumbers": ",".join(_aliyun_number(x) for x in numbers),
                "RegionId": self.region,
                "SignName": self.sign_name,
                "SignatureMethod": "HMAC-SHA1",
                "SignatureNonce": f"{nonce}-{n}",
                "SignatureVersion": "1.0",
                "TemplateCode": content.template_id,
                "TemplateParam": json.dumps(
                    content.params, ensure_ascii=False, separators=(",", ":")
                ),
                "Timestamp": stamp,
                "Version": "2017-05-25",
            }
            params["Signature"] = aliyun_rpc_signature(self.access_key_secret, params)
            calls.append(Call(httpx.Request("GET", self.base_url + "/", params=params), idx))
        return calls

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """One outcome for every number of the request, from ``Code``.

        Examples:
            >>> import httpx
            >>> ch = AliyunSmsChannel("i", "s", sign_name="x")
            >>> r = httpx.Response(200, json={"Code": "OK", "BizId": "b1", "RequestId": "r"})
            >>> [o.message_id for o in ch.parse_response(Call(None, (0, 1)), r)]
            ['b1', 'b1']
        """
        if response.status_code >= 500:
            return [
                Outcome(i, "retryable", code=f"http_{response.status_code}")
                for i in call.recipients
            ]
        body = json_body(response)
        code = str(body.get("Code", f"http_{response.status_code}"))
        kind = _ALIYUN_KINDS.get(code, "invalid")
        return [
            Outcome(
                i,
                kind,
                code=code,
                message=None if kind == "accepted" else body.get("Message"),
                message_id=body.get("BizId") if kind == "accepted" else None,
                request_id=body.get("RequestId"),
            )
            for i in call.recipients
        ]


def _aliyun_number(e164: str) -> str:
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")
