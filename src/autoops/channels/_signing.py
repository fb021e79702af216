"""Request signers: Tencent Cloud TC3-HMAC-SHA256 and Aliyun RPC V1 (HMAC-SHA1).

Pure functions: the timestamp and nonce come in as arguments, so the
providers' published examples reproduce byte for byte. Users call these for
any Tencent Cloud or Aliyun API, not only SMS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote

from autoops.channels._types import Secret

__all__ = [
    "aliyun_percent_encode",
    "aliyun_rpc_signature",
    "tc3_authorization",
    "tc3_signature",
]


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tc3_signature(
    secret_key: str | Secret,
    *,
    service: str,
    timestamp: int,
    payload: bytes | str,
    canonical_headers: str,
    signed_headers: str,
    method: str = "POST",
    uri: str = "/",
    query: str = "",
) -> str:
    """Compute a Tencent Cloud API 3.0 ``TC3-HMAC-SHA256`` signature.

    Builds ``CanonicalRequest`` (method, URI, query, canonical headers, signed
    headers, hex SHA-256 of the payload), then ``StringToSign`` with the
    **UTC** date of *timestamp* (not Beijing's), derives
    ``kDate → kService → kSigning`` from ``"TC3" + secret_key`` and returns
    the hex HMAC-SHA256 of the string to sign.

    Args:
        secret_key: the SecretKey, as given (never lower-cased).
        service: the product, e.g. ``"sms"`` or ``"cvm"``.
        timestamp: Unix seconds, also sent as ``X-TC-Timestamp``.
        payload: the exact request body bytes.
        canonical_headers: ``"content-type:...\\nhost:...\\n"`` (lower-case names).
        signed_headers: ``"content-type;host"``.
        method: HTTP method.
        uri: canonical URI, ``"/"`` for API 3.0.
        query: canonical query string (empty for POST).

    Returns:
        The lowercase hex signature.

    Examples:
        >>> tc3_signature("Gu5t9xGARNpq86cd98joQYCN3*******", service="cvm",
        ...     timestamp=1551113065,
        ...     payload='{"Limit": 1, "Filters": [{"Values": ["\\\\u672a\\\\u547d\\\\u540d"], '
        ...             '"Name": "instance-name"}]}',
        ...     canonical_headers="content-type:application/json; charset=utf-8\\n"
        ...                       "host:cvm.tencentcloudapi.com\\n",
        ...     signed_headers="content-type;host")
        '2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c'
    """
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    canonical = "\n".join(
        [method, uri, query, canonical_headers, signed_headers, _sha256_hex(body)]
    )
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical.encode("utf-8"))]
    )
    key = secret_key.get() if isinstance(secret_key, Secret) else secret_key
    k_date = _hmac256(("TC3" + key).encode("utf-8"), date)
    k_service = _hmac256(k_date, service)
    k_signing = _hmac256(k_service, "tc3_request")
    return hmac.new(k_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc3_authorization(
    secret_id: str,
    secret_key: str | Secret,
    *,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes | str,
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """The ``Authorization`` header value for a TC3-signed JSON POST.

    Signs ``content-type`` and ``host`` (the usual choice) and formats
    ``TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
    SignedHeaders=content-type;host, Signature=<hex>``.

    Examples:
        >>> tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        ...     "Gu5t9xGARNpq86cd98joQYCN3*******", service="cvm",
        ...     host="cvm.tencentcloudapi.com", timestamp=1551113065,
        ...     payload='{"Limit": 1, "Filters": [{"Values": ["\\\\u672a\\\\u547d\\\\u540d"], '
        ...             '"Name": "instance-name"}]}')[-64:]
        '2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c'
    """
    signed = "content-type;host"
    canonical_headers = f"content-type:{content_type}\nhost:{host}\n"
    sig = tc3_signature(
        secret_key,
        service=service,
        timestamp=timestamp,
        payload=payload,
        canonical_headers=canonical_headers,
        signed_headers=signed,
    )
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={signed}, Signature={sig}"
    )


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's RPC signature wants it.

    Unreserved ``A-Za-z0-9-_.~`` stay; everything else is UTF-8
    percent-encoded, so a space is ``%20``, ``*`` is ``%2A`` and ``~`` stays.

    Examples:
        >>> aliyun_percent_encode("a b*c~/")
        'a%20b%2Ac~%2F'
    """
    return quote(value, safe="-_.~")


def aliyun_rpc_signature(
    access_key_secret: str | Secret,
    params: Mapping[str, str],
    *,
    method: str = "GET",
) -> str:
    """Aliyun RPC signature V1: base64 HMAC-SHA1 over the sorted, encoded query.

    Sorts every parameter except ``Signature`` by name, percent-encodes names
    and values (:func:`aliyun_percent_encode`), joins ``k=v`` with ``&``, and
    signs ``METHOD&%2F&<encoded query>`` with key ``secret + "&"``. Give each
    request a fresh ``SignatureNonce`` and a UTC ``Timestamp``.

    Args:
        access_key_secret: the AccessKeySecret, as given (case matters).
        params: all request parameters, including ``AccessKeyId``.
        method: ``GET`` or ``POST``.

    Returns:
        The base64 signature.

    Examples:
        >>> aliyun_rpc_signature("testSecret", {
        ...     "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML",
        ...     "OutId": "123", "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou",
        ...     "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        ...     "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        ...     "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
        ...     "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
        ...     "Version": "2017-05-25"})
        'zJDF+Lrzhj/ThnlvIToysFRq6t4='
    """
    pe = aliyun_percent_encode
    query = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method.upper()}&{pe('/')}&{pe(query)}"
    secret = access_key_secret.get() if isinstance(access_key_secret, Secret) else access_key_secret
    digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")
