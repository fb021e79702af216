"""Signers against the providers' published vectors (PROTOCOLS.md), byte for byte."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.channels import (
    aliyun_percent_encode,
    aliyun_rpc_signature,
    tc3_authorization,
    tc3_signature,
)

TC3_PAYLOAD = (
    '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
TC3_HEADERS = "content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"


def test_tc3_intermediate_hashes() -> None:
    assert hashlib.sha256(TC3_PAYLOAD.encode()).hexdigest() == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            TC3_HEADERS,
            "content-type;host",
            hashlib.sha256(TC3_PAYLOAD.encode()).hexdigest(),
        ]
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )


def test_tc3_published_signature_and_utc_date() -> None:
    sig = tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        timestamp=1551113065,
        payload=TC3_PAYLOAD,
        canonical_headers=TC3_HEADERS,
        signed_headers="content-type;host",
    )
    assert sig == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    auth = tc3_authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=TC3_PAYLOAD,
    )
    assert auth == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


ALIYUN = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_published_signature() -> None:
    assert aliyun_rpc_signature("testSecret", ALIYUN) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # the Signature parameter itself is excluded; case of the secret matters
    assert aliyun_rpc_signature("testSecret", {**ALIYUN, "Signature": "x"}) == (
        "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    )
    assert aliyun_rpc_signature("testsecret", ALIYUN) != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_percent_encoding_round_trips_and_keeps_only_unreserved(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    encoded = aliyun_percent_encode(text)
    assert unquote(encoded) == text
    plain = encoded.replace("%", "")
    assert all((c.isalnum() and c.isascii()) or c in "-_.~" for c in plain)
    assert "+" not in encoded and "*" not in encoded
