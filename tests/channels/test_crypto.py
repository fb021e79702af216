"""WXBizMsgCrypt: the published samples, round trips and tampering."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.channels import CallbackCrypto, callback_signature
from autoops.errors import ConfigError, InvalidInput

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj9"
    "11L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06"
    "DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3I"
    "QH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27"
    "Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R0"
    "7+qN+E7Q=="
)


@pytest.fixture
def crypto() -> CallbackCrypto:
    return CallbackCrypto("QDG6eK", KEY, "wx5823bf96d3bd56c7")


def test_verify_url_sample(crypto: CallbackCrypto) -> None:
    got = crypto.verify_url(
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", ECHO
    )
    assert got == "1616140317555161061"


def test_decrypt_message_sample(crypto: CallbackCrypto) -> None:
    xml = crypto.decrypt(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", ENCRYPT
    )
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in xml
    assert "<Content><![CDATA[hello]]></Content>" in xml
    assert "<MsgId>4561255354251345929</MsgId>" in xml
    assert "<AgentID>218</AgentID>" in xml
    assert "\n" in xml and "\r" not in xml


def test_sample_needs_32_byte_padding() -> None:
    # A 16-byte PKCS#7 unpadder rejects the sample: its pad byte exceeds 16.
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(KEY + "=")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(ENCRYPT)) + dec.finalize()
    assert 1 <= plain[-1] <= 32
    assert plain[-1] > 16  # so a 16-byte unpadder would refuse it


def test_tampering_is_refused(crypto: CallbackCrypto) -> None:
    with pytest.raises(InvalidInput) as info:
        crypto.decrypt("0" * 40, "1409659813", "1372623149", ENCRYPT)
    assert info.value.code == "bad_signature"
    other = CallbackCrypto("QDG6eK", KEY, "wx-other-app")
    with pytest.raises(InvalidInput) as info:
        other.decrypt(
            "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", ENCRYPT
        )
    assert info.value.code == "bad_receive_id"
    with pytest.raises(ConfigError):
        CallbackCrypto("t", "short", "x")


@settings(max_examples=100, deadline=None)
@given(
    msg=st.text(max_size=300),
    ts=st.integers(0, 2**31).map(str),
    nonce=st.text(alphabet="0123456789abcdef", min_size=1, max_size=12),
)
def test_round_trip(msg: str, ts: str, nonce: str) -> None:
    try:
        msg.encode("utf-8")
    except UnicodeEncodeError:
        return
    c = CallbackCrypto("tok", KEY, "ww-corp")
    enc, sig = c.encrypt(msg, ts, nonce)
    assert sig == callback_signature("tok", ts, nonce, enc)
    assert c.decrypt(sig, ts, nonce, enc) == msg
    assert (
        c.decrypt(
            *_from_xml(c.reply_xml(msg, ts, nonce)),
        )
        == msg
    )


def _from_xml(xml: str) -> tuple[str, str, str, str]:
    import re

    enc = CallbackCrypto.extract_encrypt(xml)
    sig = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", xml).group(1)  # type: ignore[union-attr]
    ts = re.search(r"<TimeStamp>(.*?)</TimeStamp>", xml).group(1)  # type: ignore[union-attr]
    nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", xml).group(1)  # type: ignore[union-attr]
    return sig, ts, nonce, enc
