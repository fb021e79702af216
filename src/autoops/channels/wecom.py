"""WeCom (企业微信): app messages to staff, customer messages, group robots.

Pure request builders and response parsers; a :class:`~autoops.channels.Dispatcher`
does the I/O.

* :class:`WeComChannel` with :class:`AppText` — ``message/send`` to staff
  user ids (``touser`` joined by ``|``, at most 1,000 per request; users in
  ``invaliduser`` are reported as refused).
* :class:`WeComChannel` with :class:`CustomerMessage` —
  ``externalcontact/add_msg_template``: ``single`` to external user ids or
  ``group`` to chat ids (sender required, ≤ 2,000 chats), optional tag
  filter, ≤ 9 attachments. "Accepted" means the task was created; staff
  still confirm it. Follow it up with :func:`groupmsg_task_request` and
  :func:`groupmsg_send_result_request`, remind the staff with
  :func:`groupmsg_remind_request` or stop it with :func:`groupmsg_cancel_request`,
  all through :meth:`Dispatcher.call`.
* :class:`WeComRobotChannel` with :class:`RobotText` — group robot webhooks
  (recipients are robot keys); no token.

Tokens come from ``gettoken`` and are cached per (corp id, secret).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs
import httpx

from autoops.channels._base import (
    Call,
    Channel,
    Outcome,
    json_body,
    wechat_outcomes,
)
from autoops.channels._types import Message, Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = [
    "AppText",
    "Attachment",
    "CustomerMessage",
    "RobotText",
    "WeComChannel",
    "WeComRobotChannel",
    "groupmsg_cancel_request",
    "groupmsg_remind_request",
    "groupmsg_send_result_request",
    "groupmsg_task_request",
]

WECOM_API = "https://qyapi.weixin.qq.com"
_ATTACHMENT_KINDS = ("image", "link", "miniprogram", "video", "file")


@attrs.frozen
class AppText:
    """A text (or markdown) app message to staff members.

    Examples:
        >>> AppText("周会 3 点开始").msgtype
        'text'
    """

    content: str
    msgtype: Literal["text", "markdown"] = "text"
    safe: bool = False


@attrs.frozen
class Attachment:
    """One attachment of a customer message: ``msgtype`` and its body.

    Examples:
        >>> Attachment("link", {"title": "新车上市", "url": "https://example.com"}).msgtype
        'link'
    """

    msgtype: str
    body: Mapping[str, Any]


@attrs.frozen
class CustomerMessage:
    """A customer-contact message (``add_msg_template``).

    Recipients (``Message.to``) are external user ids for ``single`` and
    chat ids for ``group``.

    Examples:
        >>> CustomerMessage(text="周末试驾", chat_type="group", sender="zhangsan").chat_type
        'group'
    """

    text: str | None = None
    attachments: Sequence[Attachment] = ()
    chat_type: Literal["single", "group"] = "single"
    sender: str | None = None
    tag_filter: Sequence[Sequence[str]] = ()
    allow_select: bool = False


@attrs.frozen
class RobotText:
    """A group-robot text or markdown message.

    Examples:
        >>> RobotText("部署完成").msgtype
        'text'
    """

    content: str
    msgtype: Literal["text", "markdown"] = "text"


class WeComChannel(Channel):
    """App messages and customer messages of one WeCom app.

    Args:
        corp_id: the corp id.
        secret: the app's secret (customer contact needs the contact secret).
        agent_id: the app's agent id (for app messages).
        base_url: API root; point it at the emulator in tests.

    Examples:
        >>> ch = WeComChannel("ww123", "s3cret", agent_id=1000002)
        >>> ch
        WeComChannel(corp_id='ww123', agent_id=1000002)
        >>> ch.token_key().startswith("wecom:ww123:")
        True
    """

    name: ClassVar[str] = "wecom"
    content_type: ClassVar[tuple[type, ...]] = (AppText, CustomerMessage)
    needs_token: ClassVar[bool] = True
    max_users: ClassVar[int] = 1000

    def __init__(
        self,
        corp_id: str,
        secret: str | Secret,
        *,
        agent_id: int | None = None,
        base_url: str = WECOM_API,
    ) -> None:
        if not corp_id:
            raise ConfigError("corp id is empty", key="corp_id")
        self.corp_id = corp_id
        self.secret = Secret(secret)
        self.agent_id = agent_id
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"WeComChannel(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    def token_key(self) -> str:
        """``wecom:<corp id>:<secret fingerprint>``.

        Examples:
            >>> WeComChannel("c", "s").token_key()
            'wecom:c:043a718774c572bd'
        """
        return f"wecom:{self.corp_id}:{self.secret.fingerprint}"

    def token_request(self, *, now: float) -> httpx.Request:
        """``GET /cgi-bin/gettoken?corpid=&corpsecret=``.

        Examples:
            >>> WeComChannel("c", "s").token_request(now=0).url.path
            '/cgi-bin/gettoken'
        """
        return httpx.Request(
            "GET",
            f"{self.base_url}/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret.get()},
        )

    def validate(self, message: Message) -> None:
        """Refuse bad customer messages before any request.

        Group messages need a sender; at most 9 attachments of known kinds;
        some text or an attachment; app messages need an agent id.

        Examples:
            >>> WeComChannel("c", "s").validate(Message(to=["chat1"],
            ...     content=CustomerMessage(text="hi", chat_type="group")))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: sender: group messages need a sender ...
        """
        super().validate(message)
        content = message.content
        if isinstance(content, AppText):
            if self.agent_id is None:
                raise InvalidInput("app messages need the channel's agent_id", field="agent_id")
            if not content.content:
                raise InvalidInput("message text is empty", field="content")
            return
        if content.chat_type not in ("single", "group"):
            raise InvalidInput("chat_type must be 'single' or 'group'", field="chat_type")
        if content.chat_type == "group" and not content.sender:
            raise InvalidInput(
                "group messages need a sender (the staff user id who sends them)", field="sender"
            )
        if content.chat_type == "group" and len(message.to) > 2000:
            raise InvalidInput(
                f"{len(message.to)} chats; at most 2000 per group message", field="to"
            )
        if len(content.attachments) > 9:
            raise InvalidInput(
                f"{len(content.attachments)} attachments; WeCom allows at most 9",
                field="attachments",
            )
        for i, att in enumerate(content.attachments):
            if att.msgtype not in _ATTACHMENT_KINDS:
                raise InvalidInput(
                    f"unknown attachment type {att.msgtype!r}; use one of "
                    f"{', '.join(_ATTACHMENT_KINDS)}",
                    field="attachments",
                    row=i,
                )
        if not content.text and not content.attachments:
            raise InvalidInput("a customer message needs text or an attachment", field="text")

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """App messages: one call per 1,000 users; customer messages: one call.

        Examples:
            >>> ch = WeComChannel("c", "s", agent_id=1)
            >>> m = Message(to=["u1", "u2"], content=AppText("hi"))
            >>> [c] = ch.build_requests(m, token="T", now=0, nonce="n")
            >>> c.request.url.params["access_token"], c.recipients
            ('T', (0, 1))
        """
        content = message.content
        params = {"access_token": token or ""}
        if isinstance(content, AppText):
            calls = []
            for start in range(0, len(message.to), self.max_users):
                idx = tuple(range(start, min(start + self.max_users, len(message.to))))
                body = {
                    "touser": "|".join(message.to[i] for i in idx),
                    "msgtype": content.msgtype,
                    "agentid": self.agent_id,
                    content.msgtype: {"content": content.content},
                    "safe": int(content.safe),
                }
                req = httpx.Request(
                    "POST", f"{self.base_url}/cgi-bin/message/send", params=params, json=body
                )
                calls.append(Call(req, idx))
            return calls
        body2: dict[str, Any] = {
            "chat_type": content.chat_type,
            "allow_select": content.allow_select,
        }
        if content.chat_type == "single":
            body2["external_userid"] = list(message.to)
        else:
            body2["chat_id_list"] = list(message.to)
        if content.sender:
            body2["sender"] = content.sender
        if content.tag_filter:
            body2["tag_filter"] = {
                "group_list": [{"tag_list": list(tags)} for tags in content.tag_filter]
            }
        if content.text:
            body2["text"] = {"content": content.text}
        if content.attachments:
            body2["attachments"] = [
                {"msgtype": a.msgtype, a.msgtype: dict(a.body)} for a in content.attachments
            ]
        req = httpx.Request(
            "POST",
            f"{self.base_url}/cgi-bin/externalcontact/add_msg_template",
            params=params,
            json=body2,
        )
        return [Call(req, tuple(range(len(message.to))))]

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """Per-recipient outcomes: ``invaliduser`` / ``fail_list`` are refused.

        Examples:
            >>> import httpx, json
            >>> ch = WeComChannel("c", "s", agent_id=1)
            >>> req = httpx.Request("POST", "http://x/cgi-bin/message/send",
            ...                     content=json.dumps({"touser": "u1|u2"}))
            >>> out = ch.parse_response(Call(req, (0, 1)),
            ...     httpx.Response(200, json={"errcode": 0, "invaliduser": "u2", "msgid": "m"}))
            >>> [o.kind for o in out]
            ['accepted', 'refused']
        """
        outcomes = wechat_outcomes(call.recipients, response)
        if not outcomes or outcomes[0].kind != "accepted":
            return outcomes
        body = json_body(response)
        sent = json_body_request(call.request)
        if "touser" in sent:
            names = str(sent["touser"]).split("|")
            bad = set(str(body.get("invaliduser") or "").split("|")) - {""}
        else:
            names = list(sent.get("external_userid") or sent.get("chat_id_list") or [])
            bad = {str(x) for x in body.get("fail_list") or []}
        out = []
        for o, who in zip(outcomes, names, strict=False):
            if who in bad:
                out.append(
                    attrs.evolve(
                        o,
                        kind="refused",
                        code="invalid_recipient",
                        message="recipient not reachable by this app",
                    )
                )
            else:
                out.append(o)
        return out


def json_body_request(request: httpx.Request) -> dict[str, Any]:
    """The JSON body of a built request (``{}`` if none)."""
    import json

    try:
        data = json.loads(request.content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def groupmsg_task_request(channel: WeComChannel, msgid: str, token: str) -> httpx.Request:
    """``externalcontact/get_groupmsg_task``: which staff have sent task *msgid*.

    Use with :meth:`Dispatcher.call` (``d.call(lambda t: groupmsg_task_request(ch, mid, t))``).

    Examples:
        >>> groupmsg_task_request(WeComChannel("c", "s"), "m1", "T").url.path
        '/cgi-bin/externalcontact/get_groupmsg_task'
    """
    return httpx.Request(
        "POST",
        f"{channel.base_url}/cgi-bin/externalcontact/get_groupmsg_task",
        params={"access_token": token},
        json={"msgid": msgid, "limit": 1000},
    )


def groupmsg_send_result_request(
    channel: WeComChannel, msgid: str, userid: str, token: str
) -> httpx.Request:
    """``externalcontact/get_groupmsg_send_result``: per-customer results of one sender.

    Examples:
        >>> groupmsg_send_result_request(WeComChannel("c", "s"), "m1", "zhangsan", "T").method
        'POST'
    """
    return httpx.Request(
        "POST",
        f"{channel.base_url}/cgi-bin/externalcontact/get_groupmsg_send_result",
        params={"access_token": token},
        json={"msgid": msgid, "userid": userid, "limit": 1000},
    )


def _msgid(msgid: str) -> str:
    if not isinstance(msgid, str) or not msgid.strip():
        raise InvalidInput("empty; pass the msgid add_msg_template returned", field="msgid")
    return msgid


def groupmsg_remind_request(channel: WeComChannel, msgid: str, token: str) -> httpx.Request:
    """``externalcontact/remind_groupmsg_send``: notify the staff again to confirm task *msgid*.

    WeCom allows at most three reminders per task within 24 hours; a fourth
    is refused (the emulator answers 45009, which :meth:`Dispatcher.call`
    raises as :class:`~autoops.errors.RateLimited`). Use with
    :meth:`Dispatcher.call` / :meth:`AsyncDispatcher.call`:
    ``d.call(lambda t: groupmsg_remind_request(ch, msgid, t))``.

    Raises:
        InvalidInput: an empty *msgid* (before any request).

    Examples:
        >>> r = groupmsg_remind_request(WeComChannel("c", "s"), "msgGCAAA", "T")
        >>> r.method, r.url.path, r.content
        ('POST', '/cgi-bin/externalcontact/remind_groupmsg_send', b'{"msgid":"msgGCAAA"}')
    """
    return httpx.Request(
        "POST",
        f"{channel.base_url}/cgi-bin/externalcontact/remind_groupmsg_send",
        params={"access_token": token},
        json={"msgid": _msgid(msgid)},
    )


def groupmsg_cancel_request(channel: WeComChannel, msgid: str, token: str) -> httpx.Request:
    """``externalcontact/cancel_groupmsg_send``: stop task *msgid* for staff who have not sent it.

    Messages already sent to customers are not recalled. Use with
    :meth:`Dispatcher.call` / :meth:`AsyncDispatcher.call`.

    Raises:
        InvalidInput: an empty *msgid* (before any request).

    Examples:
        >>> groupmsg_cancel_request(WeComChannel("c", "s"), "msgGCAAA", "T").url.path
        '/cgi-bin/externalcontact/cancel_groupmsg_send'
        >>> groupmsg_cancel_request(WeComChannel("c", "s"), " ", "T")
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: msgid: empty; pass the msgid add_msg_template returned [invalid_input]
    """
    return httpx.Request(
        "POST",
        f"{channel.base_url}/cgi-bin/externalcontact/cancel_groupmsg_send",
        params={"access_token": token},
        json={"msgid": _msgid(msgid)},
    )


class WeComRobotChannel(Channel):
    """Group-robot webhooks; each recipient is a robot key (or full webhook URL).

    Examples:
        >>> ch = WeComRobotChannel()
        >>> [c] = ch.build_requests(Message(to=["KEY1"], content=RobotText("hi")),
        ...                         token=None, now=0, nonce="n")
        >>> c.request.url.params["key"]
        'KEY1'
    """

    name: ClassVar[str] = "wecom_robot"
    content_type: ClassVar[type] = RobotText

    def __init__(self, *, base_url: str = WECOM_API) -> None:
        self.base_url = base_url.rstrip("/")

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One POST per robot.

        Examples:
            >>> len(WeComRobotChannel().build_requests(Message(to=["a", "b"],
            ...     content=RobotText("x")), token=None, now=0, nonce="n"))
            2
        """
        content: RobotText = message.content
        body = {"msgtype": content.msgtype, content.msgtype: {"content": content.content}}
        calls = []
        for i, key in enumerate(message.to):
            if key.startswith(("http://", "https://")):
                req = httpx.Request("POST", key, json=body)
            else:
                req = httpx.Request(
                    "POST", f"{self.base_url}/cgi-bin/webhook/send", params={"key": key}, json=body
                )
            calls.append(Call(req, (i,)))
        return calls

    def __repr__(self) -> str:
        return "WeComRobotChannel()"
