"""E-mail over SMTP (stdlib :mod:`smtplib`, STARTTLS by default).

The channel is pure up to the wire: :meth:`EmailChannel.build_requests`
builds one :class:`email.message.EmailMessage` per recipient (each person is
addressed alone), and :meth:`EmailChannel.deliver` sends a batch over one
SMTP connection, returning the server's answer per recipient: ``250`` is
accepted, ``5xx`` refused or invalid, ``4xx`` retryable. The async
dispatcher calls :meth:`EmailChannel.adeliver` instead: the same
conversation (EHLO, STARTTLS on the same connection, AUTH, MAIL/RCPT/DATA)
spoken by a small SMTP client over anyio byte streams — no worker thread, no
extra dependency, asyncio or trio.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, ClassVar

import attrs

from autoops._masking import mask_email
from autoops.channels._base import Call, Channel, Outcome, OutcomeKind
from autoops.channels._types import Message, Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = ["EmailChannel", "EmailContent"]

_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@attrs.frozen
class EmailContent:
    """Subject, plain text and optional HTML.

    Examples:
        >>> EmailContent("保养提醒", "您的爱车该保养了").subject
        '保养提醒'
    """

    subject: str
    text: str
    html: str | None = None


class EmailChannel(Channel):
    """Send e-mail through an SMTP server.

    Args:
        host: SMTP host.
        port: SMTP port (587 for STARTTLS, 465 with ``use_ssl``).
        sender: the From address.
        username: login name, if the server needs one.
        password: login password.
        starttls: upgrade with STARTTLS (refused if the server does not offer it).
        use_ssl: connect with implicit TLS instead.
        ssl_context: the TLS context (default: verifying).

    Examples:
        >>> ch = EmailChannel("127.0.0.1", 2525, sender="crm@example.com", starttls=False)
        >>> [c] = ch.build_requests(Message(to=["a@example.com"],
        ...     content=EmailContent("Hi", "Body")), token=None, now=1700000000, nonce="n")
        >>> c.transport, c.request[0]["To"]
        ('smtp', 'a@example.com')
    """

    name: ClassVar[str] = "email"
    content_type: ClassVar[type] = EmailContent

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        username: str | None = None,
        password: str | Secret | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not _ADDRESS.fullmatch(sender):
            raise ConfigError("not an e-mail address", key="sender")
        if starttls and use_ssl:
            raise ConfigError("choose STARTTLS or implicit TLS, not both", key="use_ssl")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = None if password is None else Secret(password)
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"EmailChannel(host={self.host!r}, port={self.port}, starttls={self.starttls})"

    def validate(self, message: Message) -> None:
        """Every recipient must look like an e-mail address; a subject is required.

        Examples:
            >>> EmailChannel("h", sender="a@b.cn").validate(
            ...     Message(to=["nobody"], content=EmailContent("s", "t")))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: to (row 0): n*** is not an e-mail address [invalid_input]
        """
        super().validate(message)
        for i, addr in enumerate(message.to):
            if not _ADDRESS.fullmatch(addr):
                raise InvalidInput(
                    f"{mask_email(addr)} is not an e-mail address", field="to", row=i
                )
        if not message.content.subject.strip():
            raise InvalidInput("subject is empty", field="subject")

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One SMTP call carrying one e-mail per recipient.

        Examples:
            >>> ch = EmailChannel("h", sender="a@b.cn")
            >>> [c] = ch.build_requests(Message(to=["x@y.cn", "z@y.cn"],
            ...     content=EmailContent("s", "t")), token=None, now=0, nonce="n")
            >>> len(c.request), c.recipients
            (2, (0, 1))
        """
        content: EmailContent = message.content
        mails = []
        for i, addr in enumerate(message.to):
            mail = EmailMessage()
            mail["From"] = self.sender
            mail["To"] = addr
            mail["Subject"] = content.subject
            mail["Date"] = formatdate(now, localtime=False)
            mail["Message-ID"] = make_msgid(idstring=f"{message.key()[:16]}.{i}")
            mail.set_content(content.text)
            if content.html:
                mail.add_alternative(content.html, subtype="html")
            mails.append(mail)
        return [Call(tuple(mails), tuple(range(len(message.to))), transport="smtp")]

    def _connect(self, timeout: float) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.use_ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=context
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=timeout)
        server.ehlo()
        if self.starttls:
            server.starttls(context=context)
            server.ehlo()
        if self.username is not None and self.password is not None:
            server.login(self.username, self.password.get())
        return server

    def deliver(self, call: Call, *, timeout: float) -> list[tuple[int, str]]:
        """Send the call's e-mails over one connection; ``(smtp code, text)`` each.

        Network failures raise :class:`OSError` (the dispatcher reports them
        as retryable); a failed login raises
        :class:`~autoops.errors.ChannelAuthError`.

        Examples:
            >>> EmailChannel.deliver.__name__
            'deliver'
        """
        from autoops.errors import ChannelAuthError

        answers: list[tuple[int, str]] = []
        try:
            server = self._connect(timeout)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelAuthError(
                "SMTP login refused", channel=self.name, provider_code=str(exc.smtp_code)
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ConfigError("the server does not offer STARTTLS", key="starttls") from exc
        try:
            for mail in call.request:
                try:
                    server.send_message(mail)
                    answers.append((250, "OK"))
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()))
                    answers.append((code, _text(text)))
                except smtplib.SMTPResponseException as exc:
                    answers.append((exc.smtp_code, _text(exc.smtp_error)))
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        return answers

    async def adeliver(self, call: Call, *, timeout: float) -> list[tuple[int, str]]:
        """:meth:`deliver` for the async dispatcher, over async streams (no thread).

        Same answers and errors as :meth:`deliver`: ``(smtp code, text)`` per
        e-mail; network failures and timeouts raise :class:`OSError`; a
        refused login raises :class:`~autoops.errors.ChannelAuthError`; a
        server without STARTTLS raises :class:`~autoops.errors.ConfigError`.

        Examples:
            >>> import anyio
            >>> ch = EmailChannel("127.0.0.1", 9, sender="crm@example.com", starttls=False)
            >>> async def main():
            ...     try:
            ...         await ch.adeliver(Call((), (), "smtp"), timeout=2)
            ...     except OSError:
            ...         return "unreachable"
            >>> anyio.run(main)
            'unreachable'
        """
        from autoops.channels._smtp import smtp_send

        return await smtp_send(
            host=self.host,
            port=self.port,
            sender=self.sender,
            mails=call.request,
            timeout=timeout,
            starttls=self.starttls,
            use_ssl=self.use_ssl,
            context=self.ssl_context or ssl.create_default_context(),
            username=self.username,
            password=None if self.password is None else self.password.get(),
            channel=self.name,
        )

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """SMTP codes → outcomes: 2xx accepted, 4xx retryable, 550/551/553 refused, 5xx invalid.

        Examples:
            >>> ch = EmailChannel("h", sender="a@b.cn")
            >>> [o.kind for o in ch.parse_response(Call((), (0, 1, 2), "smtp"),
            ...     [(250, "OK"), (450, "busy"), (550, "no such user")])]
            ['accepted', 'retryable', 'refused']
        """
        out = []
        for i, (code, text) in zip(call.recipients, response, strict=False):
            kind: OutcomeKind
            if 200 <= code < 300:
                kind = "accepted"
            elif 400 <= code < 500:
                kind = "retryable"
            elif code in (550, 551, 553):
                kind = "refused"
            else:
                kind = "invalid"
            out.append(
                Outcome(
                    i,
                    kind,
                    code=str(code),
                    message=None if kind == "accepted" else text,
                )
            )
        return out


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
