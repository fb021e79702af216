"""WeChat official-account template messages and mini-program subscribe messages.

* :class:`OfficialAccountChannel` + :class:`TemplateContent` —
  ``message/template/send``, one request per openid. Each value line is
  refused locally above 20 characters (the platform cuts it silently since
  2023); ``client_msg_id`` (derived from the idempotency key and the openid
  when not given) lets the platform drop duplicates; ``miniprogram`` wins
  over ``url``.
* :class:`MiniProgramChannel` + :class:`SubscribeContent` —
  ``message/subscribe/send``. Field values are checked against the type in
  their key (``thing1`` ≤ 20 characters, ``number2`` ≤ 32 digits,
  ``phrase3`` ≤ 5 CJK characters, ...). errcode 43101 is reported as "no
  subscription quota" (refused, never retried).

Tokens come from ``stable_token`` (``force_refresh`` false), which does not
invalidate the tokens other processes hold; ``legacy_token=True`` uses
``cgi-bin/token`` instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import attrs
import httpx

from autoops.channels._base import Call, Channel, Outcome, wechat_outcomes
from autoops.channels._types import Message, Secret
from autoops.errors import ConfigError, InvalidInput

__all__ = [
    "SUBSCRIBE_FIELD_RULES",
    "MiniProgramChannel",
    "OfficialAccountChannel",
    "SubscribeContent",
    "TemplateContent",
    "check_subscribe_value",
]

WECHAT_API = "https://api.weixin.qq.com"
_CJK = r"\u3400-\u9fff\uf900-\ufaff"


@attrs.frozen
class TemplateContent:
    """An official-account template message.

    Args:
        template_id: the template.
        data: field name → value (plain strings).
        url: page opened on tap.
        miniprogram: ``{"appid": ..., "pagepath": ...}``; wins over *url*.
        client_msg_id: the platform's dedup id; derived when None.

    Examples:
        >>> TemplateContent("T1", {"thing1": "保养提醒"}).template_id
        'T1'
    """

    template_id: str
    data: Mapping[str, str]
    url: str | None = None
    miniprogram: Mapping[str, str] | None = None
    client_msg_id: str | None = None


@attrs.frozen
class SubscribeContent:
    """A mini-program subscribe message.

    Examples:
        >>> SubscribeContent("T2", {"thing1": "试驾预约成功"}, page="pages/index").state
        'formal'
    """

    template_id: str
    data: Mapping[str, str]
    page: str | None = None
    state: Literal["developer", "trial", "formal"] = "formal"
    lang: str = "zh_CN"


def _template_fields(templates: Mapping[str, Any] | None, template_id: str) -> set[str] | None:
    if templates is None:
        return None
    fields = templates.get(template_id)
    if fields is None:
        raise InvalidInput(f"unknown template {template_id!r}", field="template_id")
    return set(fields)


def _check_fields(data: Mapping[str, str], allowed: set[str] | None) -> None:
    if allowed is None:
        return
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(
            f"unknown template field(s) {unknown}; the template has {sorted(allowed)}",
            field="data",
        )
    missing = sorted(allowed - set(data))
    if missing:
        raise InvalidInput(f"missing template field(s) {missing}", field="data")


class _WeChatApp(Channel):
    needs_token: ClassVar[bool] = True

    def __init__(
        self,
        app_id: str,
        secret: str | Secret,
        *,
        templates: Mapping[str, Any] | None = None,
        base_url: str = WECHAT_API,
        legacy_token: bool = False,
    ) -> None:
        if not app_id:
            raise ConfigError("app id is empty", key="app_id")
        self.app_id = app_id
        self.secret = Secret(secret)
        self.templates = None if templates is None else dict(templates)
        self.base_url = base_url.rstrip("/")
        self.legacy_token = legacy_token

    def token_key(self) -> str:
        """``wechat:<app id>:<secret fingerprint>``: one cache entry per app and secret.

        Examples:
            >>> OfficialAccountChannel("wx1", "s").token_key()[:10]
            'wechat:wx1'
        """
        return f"wechat:{self.app_id}:{self.secret.fingerprint}"

    def token_request(self, *, now: float) -> httpx.Request:
        """``POST cgi-bin/stable_token`` (or the legacy ``GET cgi-bin/token``).

        Examples:
            >>> MiniProgramChannel("wxmp", "s").token_request(now=0).url.path
            '/cgi-bin/stable_token'
            >>> OfficialAccountChannel("wx1", "s", legacy_token=True).token_request(now=0).method
            'GET'
        """
        if self.legacy_token:
            return httpx.Request(
                "GET",
                f"{self.base_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.secret.get(),
                },
            )
        return httpx.Request(
            "POST",
            f"{self.base_url}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.secret.get(),
                "force_refresh": False,
            },
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.app_id!r})"

    def _post(self, path: str, body: dict[str, Any], token: str | None) -> httpx.Request:
        return httpx.Request(
            "POST", f"{self.base_url}{path}", params={"access_token": token or ""}, json=body
        )


class OfficialAccountChannel(_WeChatApp):
    """Template messages of one official account.

    Args:
        app_id: the account's app id.
        secret: its app secret.
        templates: optional ``{template_id: [field names]}`` to refuse unknown
            or missing fields locally.
        base_url: API root.
        legacy_token: fetch tokens from ``cgi-bin/token`` (invalidates others').

    Examples:
        >>> ch = OfficialAccountChannel("wx1", "s", templates={"T1": ["thing1"]})
        >>> ch.validate(Message(to=["o1"], content=TemplateContent("T1", {"thing2": "x"})))
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: data: unknown template field(s) ['thing2']; ...
    """

    name: ClassVar[str] = "official_account"
    content_type: ClassVar[type] = TemplateContent

    def validate(self, message: Message) -> None:
        """Refuse unknown fields and value lines over 20 characters.

        Examples:
            >>> OfficialAccountChannel("wx1", "s").validate(Message(to=["o1"],
            ...     content=TemplateContent("T", {"thing1": "一" * 21})))
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: data.thing1: line 1 has 21 characters; ...
        """
        super().validate(message)
        content: TemplateContent = message.content
        _check_fields(content.data, _template_fields(self.templates, content.template_id))
        for key, value in content.data.items():
            for n, line in enumerate(str(value).split("\n"), start=1):
                if len(line) > 20:
                    raise InvalidInput(
                        f"line {n} has {len(line)} characters; the platform cuts lines at 20",
                        field=f"data.{key}",
                    )

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One ``template/send`` per openid, with a stable ``client_msg_id``.

        Examples:
            >>> ch = OfficialAccountChannel("wx1", "s")
            >>> m = Message(to=["o1"], content=TemplateContent("T", {"k": "v"}, url="https://a"),
            ...             idempotency_key="k1")
            >>> [c] = ch.build_requests(m, token="T", now=0, nonce="n")
            >>> import json; json.loads(c.request.content)["client_msg_id"]
            '9d31ea1e5fed504a2d87f023761df78d'
        """
        content: TemplateContent = message.content
        key = message.key()
        calls = []
        for i, openid in enumerate(message.to):
            body: dict[str, Any] = {
                "touser": openid,
                "template_id": content.template_id,
                "data": {k: {"value": str(v)} for k, v in content.data.items()},
                "client_msg_id": content.client_msg_id
                or hashlib.sha256(f"{key}|{openid}".encode()).hexdigest()[:32],
            }
            if content.miniprogram:
                body["miniprogram"] = dict(content.miniprogram)
            elif content.url:
                body["url"] = content.url
            calls.append(Call(self._post("/cgi-bin/message/template/send", body, token), (i,)))
        return calls

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """errcode → outcome; ``msgid`` is the provider message id.

        Examples:
            >>> import httpx
            >>> OfficialAccountChannel("wx1", "s").parse_response(Call(None, (0,)),
            ...     httpx.Response(200, json={"errcode": 43004}))[0].kind
            'refused'
        """
        return wechat_outcomes(call.recipients, response)


#: Subscribe-message field rules: key prefix → (pattern, explanation).
SUBSCRIBE_FIELD_RULES: dict[str, tuple[str, str]] = {
    "thing": (r"(?s).{1,20}", "at most 20 characters"),
    "number": (r"[0-9.]{1,32}", "at most 32 digits"),
    "letter": (r"[A-Za-z]{1,32}", "at most 32 letters"),
    "symbol": (r"[^\w\s]{1,5}", "at most 5 symbols"),
    "character_string": (r"[0-9A-Za-z_\-.@#]{1,32}", "at most 32 letters, digits or symbols"),
    "amount": (r"[¥$€£]?[0-9]{1,10}(\.[0-9]{1,2})?元?", "a currency symbol and at most 10 digits"),
    "phone_number": (r"[0-9+\- ()]{1,17}", "at most 17 digits or symbols"),
    "car_number": (
        rf"[{_CJK}A-Za-z0-9][A-Za-z0-9]{{0,6}}[{_CJK}A-Za-z0-9]?",
        "at most 8 characters",
    ),
    "name": (rf"([{_CJK}]{{1,10}}|[A-Za-z ]{{1,20}})", "at most 10 CJK or 20 letters"),
    "phrase": (rf"[{_CJK}]{{1,5}}", "at most 5 CJK characters"),
    "time": (r"[0-9: 年月日/\-~:.APMapm]{1,40}", "a formatted time; ranges joined with ~"),
    "date": (r"[0-9: 年月日/\-~:.]{1,40}", "a formatted date; ranges joined with ~"),
}


def check_subscribe_value(key: str, value: str) -> str | None:
    """Why a subscribe-message value breaks its field type's rule, or None.

    The type is the key without its trailing number (``thing3`` → ``thing``).

    Examples:
        >>> check_subscribe_value("thing1", "试驾预约成功")
        >>> check_subscribe_value("phrase2", "已经完成支付")
        'phrase2 must be at most 5 CJK characters'
        >>> check_subscribe_value("car_number3", "粤B12345")
        >>> check_subscribe_value("colour1", "x")
        "unknown field type 'colour' in key 'colour1'"
    """
    kind = re.sub(r"\d+$", "", key)
    rule = SUBSCRIBE_FIELD_RULES.get(kind)
    if rule is None:
        return f"unknown field type {kind!r} in key {key!r}"
    if re.fullmatch(rule[0], str(value)) is None:
        return f"{key} must be {rule[1]}"
    return None


class MiniProgramChannel(_WeChatApp):
    """Subscribe messages of one mini program.

    Examples:
        >>> ch = MiniProgramChannel("wxmp", "s")
        >>> ch.validate(Message(to=["o1"], content=SubscribeContent("T", {"thing1": "一" * 21})))
        Traceback (most recent call last):
        ...
        autoops.errors.InvalidInput: data.thing1: thing1 must be at most 20 characters ...
    """

    name: ClassVar[str] = "mini_program"
    content_type: ClassVar[type] = SubscribeContent

    def validate(self, message: Message) -> None:
        """Check template fields and every value against its type's limits.

        Examples:
            >>> MiniProgramChannel("wxmp", "s").validate(Message(to=["o1"],
            ...     content=SubscribeContent("T", {"number1": "12"})))
        """
        super().validate(message)
        content: SubscribeContent = message.content
        _check_fields(content.data, _template_fields(self.templates, content.template_id))
        if content.state not in ("developer", "trial", "formal"):
            raise InvalidInput("state must be developer, trial or formal", field="state")
        for key, value in content.data.items():
            problem = check_subscribe_value(key, value)
            if problem is not None:
                raise InvalidInput(problem, field=f"data.{key}")

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        """One ``subscribe/send`` per openid.

        Examples:
            >>> ch = MiniProgramChannel("wxmp", "s")
            >>> m = Message(to=["o1"], content=SubscribeContent("T", {"thing1": "hi"}))
            >>> ch.build_requests(m, token="T", now=0, nonce="n")[0].request.url.path
            '/cgi-bin/message/subscribe/send'
        """
        content: SubscribeContent = message.content
        calls = []
        for i, openid in enumerate(message.to):
            body: dict[str, Any] = {
                "touser": openid,
                "template_id": content.template_id,
                "data": {k: {"value": str(v)} for k, v in content.data.items()},
                "miniprogram_state": content.state,
                "lang": content.lang,
            }
            if content.page:
                body["page"] = content.page
            calls.append(Call(self._post("/cgi-bin/message/subscribe/send", body, token), (i,)))
        return calls

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        """errcode → outcome; 43101 is "no subscription quota", refused.

        Examples:
            >>> import httpx
            >>> [o] = MiniProgramChannel("wxmp", "s").parse_response(Call(None, (0,)),
            ...     httpx.Response(200, json={"errcode": 43101, "errmsg": "user refuse"}))
            >>> o.kind, o.message
            ('refused', 'no subscription quota (user refused or quota used up)')
        """
        return wechat_outcomes(call.recipients, response)
