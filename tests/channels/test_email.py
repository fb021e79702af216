"""E-mail against a real SMTP server on loopback (aiosmtpd), with STARTTLS."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoops.channels import Message
from autoops.channels.email import EmailChannel, EmailContent
from autoops.errors import InvalidInput

from .conftest import Driver


def _self_signed(tmp: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(  # noqa: N802
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        options: Any,
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        if address.startswith("busy@"):
            return "450 mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Any, _Handler, ssl.SSLContext]]:
    from aiosmtpd.controller import Controller

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)
    client_ctx.check_hostname = False
    handler = _Handler()
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    controller.start()
    try:
        yield controller, handler, client_ctx
    finally:
        controller.stop()


def test_send_over_starttls(driver: Driver, smtp: tuple[Any, _Handler, ssl.SSLContext]) -> None:
    controller, handler, ctx = smtp
    ch = EmailChannel("127.0.0.1", controller.port, sender="crm@brand.example", ssl_context=ctx)
    d = driver.make(ch)
    rep = driver.send(
        d,
        Message(
            to=["a@example.com", "nobody@example.com", "busy@example.com"],
            content=EmailContent("保养提醒", "您好", html="<p>您好</p>"),
        ),
    )
    assert [r.status for r in rep] == ["accepted", "failed", "failed"]
    assert rep[1].error_kind == "refused" and rep[1].provider_code == "550"
    assert rep[2].error_kind == "retryable" and rep[2].attempts == 3
    assert [m.rcpt_tos for m in handler.messages] == [["a@example.com"]]
    assert b"Subject:" in handler.messages[0].original_content
    driver.close(d)


def test_plain_server_refuses_without_starttls(smtp: tuple[Any, _Handler, ssl.SSLContext]) -> None:
    controller, handler, _ctx = smtp
    ch = EmailChannel("127.0.0.1", controller.port, sender="crm@brand.example", starttls=False)
    from autoops.channels import Dispatcher

    with Dispatcher(ch) as d:
        rep = d.send(Message(to=["a@example.com"], content=EmailContent("s", "t")))
    assert rep[0].status == "failed"  # the server requires STARTTLS first
    assert handler.messages == []


def test_bad_addresses_refused_before_connecting() -> None:
    ch = EmailChannel("127.0.0.1", 1, sender="crm@brand.example")
    with pytest.raises(InvalidInput) as info:
        ch.validate(Message(to=["ok@example.com", "zhang.wei"], content=EmailContent("s", "t")))
    assert info.value.row == 1 and "zhang.wei" not in str(info.value)
