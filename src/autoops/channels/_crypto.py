"""WeCom / WeChat callback encryption (the "WXBizMsgCrypt" scheme).

``AESKey = base64decode(EncodingAESKey + "=")`` (32 bytes), ``IV = AESKey[:16]``,
AES-256-CBC over ``random(16) ‖ uint32_be(len(msg)) ‖ msg ‖ receiveid`` padded
with PKCS#7 to a block of **32** bytes. ``msg_signature`` is the SHA-1 of the
sorted concatenation of token, timestamp, nonce and ciphertext. AES comes from
the ``cryptography`` package (the ``[crypto]`` extra), loaded on first use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from typing import Any

from autoops._optional import require
from autoops.channels._types import Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = ["CallbackCrypto", "callback_signature"]

_BLOCK = 32


def callback_signature(token: str | Secret, timestamp: str, nonce: str, encrypt: str) -> str:
    """``msg_signature``: SHA-1 hex of the sorted, concatenated four strings.

    Examples:
        >>> callback_signature("QDG6eK", "1409659589", "263014780",
        ...     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE"
        ...     "7OaBO+FZXvnaqQ==")
        '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3'
    """
    raw = token.get() if isinstance(token, Secret) else token
    joined = "".join(sorted([raw, str(timestamp), str(nonce), encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def _pad(data: bytes) -> bytes:
    n = _BLOCK - len(data) % _BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise InvalidInput("empty plaintext after decryption", field="encrypt")
    n = data[-1]
    if n < 1 or n > _BLOCK or data[-n:] != bytes([n]) * n:
        raise InvalidInput("bad PKCS#7 padding (block size 32)", field="encrypt")
    return data[:-n]


class CallbackCrypto:
    """Verify, decrypt and encrypt WeCom / WeChat callback messages.

    Args:
        token: the callback Token configured in the admin console.
        encoding_aes_key: the 43-character EncodingAESKey.
        receive_id: the corp id (WeCom) or app id (WeChat) that every
            decrypted message must end with.

    Raises:
        ConfigError: the key does not decode to 32 bytes.

    Examples:
        >>> c = CallbackCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ...                    "wx5823bf96d3bd56c7")
        >>> c.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589",
        ...     "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp"
        ...     "+4RPcs8TgAE7OaBO+FZXvnaqQ==")
        '1616140317555161061'
        >>> c
        CallbackCrypto(receive_id='wx…c7')
    """

    def __init__(
        self, token: str | Secret, encoding_aes_key: str | Secret, receive_id: str
    ) -> None:
        self._token = Secret(token)
        raw = Secret(encoding_aes_key).get()
        try:
            key = base64.b64decode(raw + "=", validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ConfigError(
                "EncodingAESKey must be 43 base64 characters (32 bytes)", key="encoding_aes_key"
            )
        self._key = key
        self.receive_id = receive_id

    def __repr__(self) -> str:
        from autoops._masking import mask_id

        return f"CallbackCrypto(receive_id={mask_id(self.receive_id)!r})"

    def _cipher(self) -> Any:
        ciphers = require("cryptography.hazmat.primitives.ciphers", "crypto")
        return ciphers.Cipher(ciphers.algorithms.AES(self._key), ciphers.modes.CBC(self._key[:16]))

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = callback_signature(self._token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, str(msg_signature).lower()):
            raise InvalidInput(
                "msg_signature does not match", field="msg_signature", code="bad_signature"
            )

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Check the signature, decrypt *encrypt* and check the receive id.

        Returns:
            The plaintext message (XML or JSON text).

        Raises:
            InvalidInput: bad signature (``code="bad_signature"``), bad base64,
                bad padding, bad length or a foreign receive id.

        Examples:
            >>> c = CallbackCrypto("t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp1")
            >>> enc, sig = c.encrypt("<xml/>", "1700000000", "n1", random=bytes(16))
            >>> c.decrypt(sig, "1700000000", "n1", enc)
            '<xml/>'
        """
        self._check(msg_signature, timestamp, nonce, encrypt)
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("ciphertext is not base64", field="encrypt") from exc
        if not data or len(data) % 16:
            raise InvalidInput("ciphertext length is not a multiple of 16", field="encrypt")
        dec = self._cipher().decryptor()
        plain = _unpad(dec.update(data) + dec.finalize())
        if len(plain) < 20:
            raise InvalidInput("plaintext too short", field="encrypt")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise InvalidInput("message length exceeds plaintext", field="encrypt")
        msg = plain[20 : 20 + length]
        receive_id = plain[20 + length :].decode("utf-8", "replace")
        if not hmac.compare_digest(receive_id, self.receive_id):
            raise InvalidInput(
                "receive id does not match this corp/app", field="receive_id", code="bad_receive_id"
            )
        return msg.decode("utf-8")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Answer the URL verification GET: decrypt ``echostr`` and return it.

        Examples:
            >>> c = CallbackCrypto("t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp1")
            >>> enc, sig = c.encrypt("12345", "1", "2", random=bytes(16))
            >>> c.verify_url(sig, "1", "2", enc)
            '12345'
        """
        return self.decrypt(msg_signature, timestamp, nonce, echostr)

    def encrypt(
        self, message: str, timestamp: str, nonce: str, *, random: bytes | None = None
    ) -> tuple[str, str]:
        """Encrypt a reply; returns ``(encrypt, msg_signature)``.

        *random* (16 bytes) defaults to :func:`os.urandom`; pass it only for
        reproducible tests.

        Examples:
            >>> c = CallbackCrypto("t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp1")
            >>> enc, sig = c.encrypt("hi", "1", "2", random=bytes(16))
            >>> len(sig)
            40
        """
        prefix = os.urandom(16) if random is None else random
        if len(prefix) != 16:
            raise InvalidInput("random prefix must be 16 bytes", field="random")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        enc = self._cipher().encryptor()
        data = enc.update(_pad(plain)) + enc.finalize()
        text = base64.b64encode(data).decode("ascii")
        return text, callback_signature(self._token, timestamp, nonce, text)

    def reply_xml(self, message: str, timestamp: str, nonce: str) -> str:
        """An encrypted passive-reply XML envelope for *message*.

        Examples:
            >>> c = CallbackCrypto("t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp1")
            >>> c.reply_xml("<xml/>", "1", "2").startswith("<xml><Encrypt><![CDATA[")
            True
        """
        enc, sig = self.encrypt(message, timestamp, nonce)
        return (
            f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    @staticmethod
    def extract_encrypt(xml_text: str) -> str:
        """The ``<Encrypt>`` field of an encrypted callback body.

        Examples:
            >>> CallbackCrypto.extract_encrypt("<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>")
            'abc'
        """
        m = re.search(r"<Encrypt>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</Encrypt>", xml_text, re.S)
        if m is None:
            raise InvalidInput("no <Encrypt> element in callback body", field="body")
        return m.group(1) if m.group(1) is not None else m.group(2)
