"""An async SMTP client for :meth:`EmailChannel.adeliver`: no threads, no new dependency.

It speaks just what sending needs (RFC 5321 with the ESMTP extensions
STARTTLS, AUTH PLAIN/LOGIN, 8BITMIME and SMTPUTF8) over anyio byte streams,
so it runs on asyncio and trio alike: greeting, ``EHLO``, ``STARTTLS`` (the
same connection upgraded in place) and ``EHLO`` again, ``AUTH``, then per
e-mail ``MAIL FROM`` / ``RCPT TO`` / ``DATA`` with dot-stuffing, ``RSET``
after a refusal, and ``QUIT``. Every read and write is bounded by the
timeout; a timeout or a dropped connection raises :class:`OSError` (which the
dispatcher reports as retryable), exactly like the :mod:`smtplib` path.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSStream

from autoops.errors import ChannelAuthError, ConfigError

__all__ = ["smtp_send"]

_MAX_LINE = 8192
_DOT = re.compile(rb"^\.", re.MULTILINE)


class _Session:
    def __init__(self, stream: ByteStream, timeout: float) -> None:
        self.stream = stream
        self.reader = BufferedByteReceiveStream(stream)
        self.timeout = timeout
        self.extensions: dict[str, str] = {}

    async def reply(self) -> tuple[int, str]:
        """One (possibly multi-line) reply: ``(code, text)``."""
        lines: list[str] = []
        while True:
            with anyio.fail_after(self.timeout):
                raw = await self.reader.receive_until(b"\r\n", _MAX_LINE)
            line = raw.decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit():
                raise ConnectionError(f"malformed SMTP reply {line[:40]!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    async def command(self, text: str) -> tuple[int, str]:
        with anyio.fail_after(self.timeout):
            await self.stream.send(text.encode("utf-8") + b"\r\n")
        return await self.reply()

    async def ehlo(self, name: str) -> None:
        code, text = await self.command(f"EHLO {name}")
        if code != 250:
            code, text = await self.command(f"HELO {name}")
            if code != 250:
                raise ConnectionError(f"the server refused EHLO and HELO ({code})")
            self.extensions = {}
            return
        self.extensions = {}
        for line in text.split("\n")[1:]:
            keyword, _, params = line.strip().partition(" ")
            self.extensions[keyword.lower()] = params

    async def starttls(self, host: str, context: ssl.SSLContext) -> None:
        code, text = await self.command("STARTTLS")
        if code != 220:
            raise ConnectionError(f"STARTTLS refused ({code} {text})")
        with anyio.fail_after(self.timeout):
            self.stream = await TLSStream.wrap(
                self.stream, hostname=host, ssl_context=context, standard_compatible=False
            )
        self.reader = BufferedByteReceiveStream(self.stream)

    async def login(self, user: str, password: str, channel: str) -> None:
        methods = self.extensions.get("auth", "").upper().split()
        if "PLAIN" in methods or not methods:
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
            code, text = await self.command(f"AUTH PLAIN {token}")
        elif "LOGIN" in methods:
            code, text = await self.command("AUTH LOGIN")
            if code == 334:
                code, text = await self.command(base64.b64encode(user.encode()).decode("ascii"))
            if code == 334:
                code, text = await self.command(base64.b64encode(password.encode()).decode("ascii"))
        else:
            raise ConfigError(
                f"the server offers no supported AUTH method ({' '.join(methods)})",
                key="username",
            )
        if code != 235:
            raise ChannelAuthError(
                "SMTP login refused",
                channel=channel,
                provider_code=str(code),
                provider_message=text[:200],
            )

    async def send_mail(self, sender: str, mail: EmailMessage) -> tuple[int, str]:
        recipients = mail.get_all("To", []) + mail.get_all("Cc", []) + mail.get_all("Bcc", [])
        international = any(not str(a).isascii() for a in [sender, *recipients])
        if international and "smtputf8" not in self.extensions:
            return 553, "the server does not accept non-ASCII addresses (no SMTPUTF8)"
        if mail["Bcc"] is not None:
            mail = copy.deepcopy(mail)
            del mail["Bcc"]
        data = mail.as_bytes(policy=SMTPUTF8 if international else SMTP)
        options = []
        if international:
            options.append("SMTPUTF8")
        if "8bitmime" in self.extensions and not data.isascii():
            options.append("BODY=8BITMIME")
        suffix = (" " + " ".join(options)) if options else ""
        code, text = await self.command(f"MAIL FROM:<{sender}>{suffix}")
        if code != 250:
            await self.command("RSET")
            return code, text
        for rcpt in recipients:
            code, text = await self.command(f"RCPT TO:<{rcpt}>")
            if code not in (250, 251):
                await self.command("RSET")
                return code, text
        code, text = await self.command("DATA")
        if code != 354:
            await self.command("RSET")
            return code, text
        body = _DOT.sub(b"..", data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        with anyio.fail_after(self.timeout):
            await self.stream.send(body + b".\r\n")
        return await self.reply()


async def smtp_send(
    *,
    host: str,
    port: int,
    sender: str,
    mails: Sequence[EmailMessage],
    timeout: float,
    starttls: bool,
    use_ssl: bool,
    context: ssl.SSLContext,
    username: str | None,
    password: str | None,
    channel: str = "email",
) -> list[tuple[int, str]]:
    """Send *mails* over one connection; ``(smtp code, text)`` per e-mail.

    Raises:
        OSError: connection failures and timeouts (``TimeoutError``).
        ChannelAuthError: the server refused the login.
        ConfigError: STARTTLS asked for but not offered; no usable AUTH method.
    """
    answers: list[tuple[int, str]] = []
    try:
        with anyio.fail_after(timeout):
            stream: Any = (
                await anyio.connect_tcp(
                    host,
                    port,
                    ssl_context=context,
                    tls_hostname=host,
                    tls_standard_compatible=False,
                )
                if use_ssl
                else await anyio.connect_tcp(host, port)
            )
    except ssl.SSLError as exc:
        raise ConnectionError(f"TLS handshake failed: {exc}") from exc
    session = _Session(stream, timeout)
    try:
        code, text = await session.reply()
        if code != 220:
            raise ConnectionError(f"SMTP greeting was {code} {text}")
        local = stream.extra(SocketAttribute.local_address, None)
        name = f"[{local[0]}]" if isinstance(local, tuple) else "localhost"
        await session.ehlo(name)
        if starttls:
            if "starttls" not in session.extensions:
                raise ConfigError("the server does not offer STARTTLS", key="starttls")
            try:
                await session.starttls(host, context)
            except ssl.SSLError as exc:
                raise ConnectionError(f"TLS handshake failed: {exc}") from exc
            await session.ehlo(name)
        if username is not None and password is not None:
            await session.login(username, password, channel)
        for mail in mails:
            answers.append(await session.send_mail(sender, mail))
        with contextlib.suppress(OSError, anyio.EndOfStream, anyio.BrokenResourceError):
            await session.command("QUIT")
    except (
        anyio.EndOfStream,
        anyio.BrokenResourceError,
        anyio.IncompleteRead,
        anyio.DelimiterNotFound,
    ) as exc:
        raise ConnectionError(f"the SMTP server closed the connection ({exc!r})") from exc
    finally:
        with anyio.move_on_after(timeout):
            await session.stream.aclose()
    return answers
