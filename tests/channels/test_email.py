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
from autoops.errors import ChannelAuthError, ConfigError, InvalidInput

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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"crm",
        b"s3cret-pass",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)
    client_ctx.check_hostname = False
    return server_ctx, client_ctx


@pytest.fixture
def smtp(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> Iterator[tuple[Any, _Handler, ssl.SSLContext]]:
    from aiosmtpd.controller import Controller

    server_ctx, client_ctx = tls
    handler = _Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticate,
    )
    controller.start()
    try:
        yield controller, handler, client_ctx
    finally:
        controller.stop()


@pytest.fixture
def no_threads(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The async dispatcher must not hand SMTP to a worker thread."""
    import anyio.to_thread

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the async SMTP path used a worker thread")

    if driver.kind == "async":
        monkeypatch.setattr(anyio.to_thread, "run_sync", refuse)


def test_send_over_starttls(
    driver: Driver, smtp: tuple[Any, _Handler, ssl.SSLContext], no_threads: None
) -> None:
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


def test_plain_server_refuses_without_starttls(
    driver: Driver, smtp: tuple[Any, _Handler, ssl.SSLContext], no_threads: None
) -> None:
    controller, handler, _ctx = smtp
    ch = EmailChannel("127.0.0.1", controller.port, sender="crm@brand.example", starttls=False)
    d = driver.make(ch)
    rep = driver.send(d, Message(to=["a@example.com"], content=EmailContent("s", "t")))
    driver.close(d)
    assert rep[0].status == "failed"  # the server requires STARTTLS first
    assert rep[0].provider_code == "530" and rep[0].error_kind == "invalid"
    assert handler.messages == []


def test_login_after_starttls(
    driver: Driver, smtp: tuple[Any, _Handler, ssl.SSLContext], no_threads: None
) -> None:
    controller, handler, ctx = smtp
    good = EmailChannel(
        "127.0.0.1",
        controller.port,
        sender="crm@brand.example",
        username="crm",
        password="s3cret-pass",
        ssl_context=ctx,
    )
    d = driver.make(good)
    rep = driver.send(d, Message(to=["a@example.com"], content=EmailContent("s", "t")))
    driver.close(d)
    assert rep.ok and len(handler.messages) == 1
    bad = EmailChannel(
        "127.0.0.1",
        controller.port,
        sender="crm@brand.example",
        username="crm",
        password="wrong-pass",
        ssl_context=ctx,
    )
    d = driver.make(bad)
    with pytest.raises(ChannelAuthError) as info:
        driver.send(d, Message(to=["b@example.com"], content=EmailContent("s", "t")))
    driver.close(d)
    assert info.value.provider_code == "535"
    assert "wrong-pass" not in str(info.value) and "wrong-pass" not in repr(bad)
    assert len(handler.messages) == 1


def test_body_round_trips_byte_for_byte(
    driver: Driver, smtp: tuple[Any, _Handler, ssl.SSLContext], no_threads: None
) -> None:
    """Dot-stuffing, CRLF and UTF-8: the server gets exactly the text that was sent."""
    import email
    from email import policy

    controller, handler, ctx = smtp
    text = "第一行\n.以点开头的一行\n..两个点\n.\n最后一行 ✓\n"
    ch = EmailChannel("127.0.0.1", controller.port, sender="crm@brand.example", ssl_context=ctx)
    d = driver.make(ch)
    rep = driver.send(
        d, Message(to=["a@example.com", "b@example.com"], content=EmailContent("主题 ✓", text))
    )
    driver.close(d)
    assert rep.ok
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["a@example.com", "b@example.com"]
    for envelope in handler.messages:
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert parsed["Subject"] == "主题 ✓"
        assert parsed.get_content().replace("\r\n", "\n") == text  # CRLF on the wire
        assert envelope.mail_from == "crm@brand.example"


def test_implicit_tls(
    driver: Driver, tls: tuple[ssl.SSLContext, ssl.SSLContext], no_threads: None
) -> None:
    from aiosmtpd.controller import Controller

    server_ctx, client_ctx = tls
    handler = _Handler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=_free_port(), ssl_context=server_ctx
    )
    controller.start()
    try:
        ch = EmailChannel(
            "127.0.0.1",
            controller.port,
            sender="crm@brand.example",
            starttls=False,
            use_ssl=True,
            ssl_context=client_ctx,
        )
        d = driver.make(ch)
        rep = driver.send(d, Message(to=["a@example.com"], content=EmailContent("s", "t")))
        driver.close(d)
    finally:
        controller.stop()
    assert rep.ok and [m.rcpt_tos for m in handler.messages] == [["a@example.com"]]


def test_starttls_not_offered_is_a_config_error(driver: Driver, no_threads: None) -> None:
    from aiosmtpd.controller import Controller

    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        ch = EmailChannel("127.0.0.1", controller.port, sender="crm@brand.example")
        d = driver.make(ch)
        with pytest.raises(ConfigError) as info:
            driver.send(d, Message(to=["a@example.com"], content=EmailContent("s", "t")))
        driver.close(d)
    finally:
        controller.stop()
    assert info.value.key == "starttls" and handler.messages == []


def test_unreachable_server_is_retryable(driver: Driver, no_threads: None) -> None:
    ch = EmailChannel("127.0.0.1", _free_port(), sender="crm@brand.example", starttls=False)
    d = driver.make(ch)
    rep = driver.send(d, Message(to=["a@example.com"], content=EmailContent("s", "t")))
    driver.close(d)
    assert rep[0].status == "failed" and rep[0].retryable and rep[0].attempts == 3


def test_bad_addresses_refused_before_connecting() -> None:
    ch = EmailChannel("127.0.0.1", 1, sender="crm@brand.example")
    with pytest.raises(InvalidInput) as info:
        ch.validate(Message(to=["ok@example.com", "zhang.wei"], content=EmailContent("s", "t")))
    assert info.value.row == 1 and "zhang.wei" not in str(info.value)
