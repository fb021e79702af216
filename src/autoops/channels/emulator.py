"""A loopback emulator of WeCom, WeChat, Tencent Cloud SMS, Aliyun SMS and webhooks.

For tests, docs and benchmarks: a real HTTP/1.1 server on ``127.0.0.1``
(an :mod:`asyncio` server with keep-alive whose event loop runs in a daemon
thread, fast enough to serve the fan-out benchmark) that checks what real
providers check — access tokens (which expire, and which the legacy
``cgi-bin/token`` invalidates on every fetch), TC3 and Aliyun signatures,
Aliyun nonce reuse, webhook signatures — answers the way they answer, and
records what it received. Faults are injected on demand: errcodes such as
``-1`` and ``45009``, HTTP 5xx, per-recipient refusals, and a provider rate
limit.

Examples:
    >>> from autoops.channels import Dispatcher, Message
    >>> from autoops.channels.wecom import WeComChannel, AppText
    >>> with Emulator() as emu:
    ...     ch = WeComChannel(emu.corp_id, emu.corp_secret, agent_id=1, base_url=emu.url)
    ...     with Dispatcher(ch) as d:
    ...         report = d.send(Message(to=["zhangsan", "lisi"], content=AppText("hi")))
    ...     fetches = emu.token_fetches
    >>> report.summary()["accepted"], fetches
    (2, 1)
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from autoops.channels._signing import aliyun_rpc_signature, tc3_signature
from autoops.channels.webhook import WebhookVerifier

__all__ = ["Emulator"]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    411: "Length Required",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024


async def _serve_connection(
    emulator: Emulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """HTTP/1.1 with keep-alive on one connection; requests answered in order."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                await _reply(writer, 413, {}, b"header too large", close=True)
                return
            except asyncio.IncompleteReadError:
                return  # the client closed the connection between requests
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                await _reply(writer, 400, {}, b"bad request line", close=True)
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip()] = value.strip()
            lower = {k.lower(): v for k, v in headers.items()}
            if "chunked" in lower.get("transfer-encoding", "").lower():
                await _reply(writer, 501, {}, b"chunked bodies are not supported", close=True)
                return
            try:
                length = int(lower.get("content-length") or 0)
            except ValueError:
                await _reply(writer, 400, {}, b"bad Content-Length", close=True)
                return
            if length > _MAX_BODY:
                await _reply(writer, 413, {}, b"body too large", close=True)
                return
            body = await reader.readexactly(length) if length else b""
            close = lower.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            status, out_headers, payload = emulator.handle(method, target, headers, body)
            await _reply(writer, status, out_headers, payload, close=close)
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def _reply(
    writer: asyncio.StreamWriter,
    status: int,
    headers: Mapping[str, str],
    payload: bytes,
    *,
    close: bool,
) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    lines.append(f"Content-Length: {len(payload)}")
    lines.append("Connection: close" if close else "Connection: keep-alive")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
    await writer.drain()


class _Limit:
    """A provider's limit: a token bucket that refuses (without debt) when empty."""

    def __init__(self, rate: float, burst: float) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = self.burst
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def take(self, now: float) -> bool:
        with self._lock:
            elapsed = 0.0 if self._stamp is None else max(now - self._stamp, 0.0)
            self._stamp = now if self._stamp is None else max(now, self._stamp)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _json(status: int, body: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return status, {"Content-Type": "application/json"}, data


class Emulator:
    """The emulator; use as a context manager or call :meth:`start` / :meth:`stop`.

    Args:
        token_ttl: seconds a fetched access token lives.
        rate_limit: requests per second the message APIs accept before
            answering 45009 / ``RequestLimitExceeded`` (None: no limit).
        rate_burst: how many requests above the sustained rate it tolerates
            at once (a token bucket of this size; default 1, i.e. strict).
        record: keep every received message (turn off for benchmarks).

    Attributes:
        corp_id, corp_secret: the WeCom credentials it accepts.
        app_id, app_secret: the WeChat credentials it accepts.
        secret_id, secret_key: the Tencent Cloud key it verifies with.
        access_key_id, access_key_secret: the Aliyun key.
        webhook_secret: the secret its ``/hook/<name>`` receiver verifies.
        tasks: customer group-message tasks by msgid (``cancelled``,
            ``reminders``): ``remind_groupmsg_send`` allows three reminders
            per task in 24 h (then 45009); both remind and cancel answer
            40058 for an unknown or cancelled task (codes chosen by the
            emulator; WeCom does not document them).

    Examples:
        >>> emu = Emulator().start()
        >>> emu.url.startswith("http://127.0.0.1:")
        True
        >>> emu.stop()
    """

    corp_id = "wwemu0001"
    corp_secret = "emu-corp-secret"
    app_id = "wxemu0001"
    app_secret = "emu-app-secret"
    secret_id = "AKIDemu0001"
    secret_key = "emu-tencent-key"
    access_key_id = "LTAIemu0001"
    access_key_secret = "emu-aliyun-secret"
    webhook_secret = "emu-webhook-secret"

    def __init__(
        self,
        *,
        token_ttl: float = 7200.0,
        rate_limit: float | None = None,
        rate_burst: float = 1.0,
        record: bool = True,
    ) -> None:
        self.token_ttl = token_ttl
        self.record = record
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._faults: dict[str, deque[tuple[int, Any]]] = {}
        self._limiter = None if rate_limit is None else _Limit(rate_limit, rate_burst)
        self.refuse: set[str] = set()
        self.no_quota: set[str] = set()
        self.received: list[tuple[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.token_fetches = 0
        self._nonces: set[str] = set()
        self.tasks: dict[str, dict[str, Any]] = {}
        self._verifier = WebhookVerifier(self.webhook_secret)
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` once started.

        Examples:
            >>> with Emulator() as emu:
            ...     emu.url.count(":")
            2
        """
        if self._port is None:
            raise RuntimeError("the emulator is not running; call start()")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Emulator:
        """Listen on a free loopback port; the event loop runs in a daemon thread.

        Examples:
            >>> Emulator().start().stop()
        """
        if self._port is not None:
            raise RuntimeError("the emulator is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            transport_sock = writer.get_extra_info("socket")
            if transport_sock is not None:
                transport_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._writers.add(writer)
            try:
                await _serve_connection(self, reader, writer)
            finally:
                self._writers.discard(writer)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                server = loop.run_until_complete(
                    asyncio.start_server(connection, sock=sock, backlog=1024, limit=_MAX_HEAD)
                )
            except BaseException as exc:  # pragma: no cover - bind/listen failures
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for writer in list(self._writers):
                    writer.close()
                loop.run_until_complete(server.wait_closed())
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="autoops-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:  # pragma: no cover
            raise failure[0]
        self._port = sock.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the listening socket.

        Examples:
            >>> Emulator().start().stop()
        """
        loop, thread = self._loop, self._thread
        self._port = None
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- controls -------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        *,
        errcode: int | None = None,
        http: int | None = None,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next *times* calls whose path contains *path* with a fault.

        Examples:
            >>> emu = Emulator(); emu.fail_next("message/send", errcode=-1, times=2)
        """
        with self._lock:
            queue = self._faults.setdefault(path, deque())
            for _ in range(times):
                queue.append((http or 200, errcode if http is None else retry_after))

    def expire_tokens(self) -> None:
        """Invalidate every token handed out (as if they had expired).

        Examples:
            >>> Emulator().expire_tokens()
        """
        with self._lock:
            self._tokens.clear()

    def _fault(self, path: str) -> tuple[int, Any] | None:
        with self._lock:
            for key, queue in self._faults.items():
                if key in path and queue:
                    return queue.popleft()
        return None

    def _issue(self, realm: str, *, replace: bool) -> dict[str, Any]:
        with self._lock:
            self.token_fetches += 1
            current = self._tokens.get(realm)
            if current is not None and not replace and current[1] > time.time() + 300:
                token = current[0]
            else:
                token = f"{realm}-{uuid.uuid4().hex}"
                self._tokens[realm] = (token, time.time() + self.token_ttl)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": token,
            "expires_in": int(self.token_ttl),
        }

    def _token_ok(self, realm: str, token: str | None) -> int:
        with self._lock:
            current = self._tokens.get(realm)
        if token is None or current is None or current[0] != token:
            return 40014
        if current[1] <= time.time():
            return 42001
        return 0

    def _limited(self) -> bool:
        if self._limiter is None:
            return False
        return not self._limiter.take(time.monotonic())

    def _note(self, what: str, payload: Any) -> None:
        with self._lock:
            self.counts[what] += 1
            if self.record:
                self.received.append((what, payload))

    # -- dispatch -------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: ``(status, headers, body)``; pure apart from state.

        Examples:
            >>> Emulator().handle("GET", "/nowhere", {}, b"")[0]
            404
        """
        parts = urlsplit(target)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        lower = {k.lower(): v for k, v in headers.items()}
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.corp_id or query.get("corpsecret") != self.corp_secret:
                return _json(200, {"errcode": 40001, "errmsg": "invalid credential"})
            return _json(200, self._issue("wecom", replace=True))
        if path == "/cgi-bin/stable_token":
            data = json.loads(body or b"{}")
            if data.get("appid") != self.app_id or data.get("secret") != self.app_secret:
                return _json(200, {"errcode": 40013, "errmsg": "invalid appid"})
            return _json(200, self._issue("wechat", replace=bool(data.get("force_refresh"))))
        if path == "/cgi-bin/token":
            if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                return _json(200, {"errcode": 40013, "errmsg": "invalid appid"})
            return _json(200, self._issue("wechat", replace=True))
        if path.startswith("/hook/"):
            return self._hook(path, lower, body)
        if path == "/" and "x-tc-action" in lower:
            return self._tencent(lower, body)
        if path == "/" and query.get("Action") == "SendSms":
            return self._aliyun(query)
        if path.startswith("/cgi-bin/"):
            return self._wechat(path, query, body)
        return _json(404, {"errcode": 404, "errmsg": "not found"})

    def _wechat(
        self, path: str, query: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path == "/cgi-bin/webhook/send":
            if not query.get("key"):
                return _json(200, {"errcode": 93000, "errmsg": "invalid webhook key"})
            self._note("robot", json.loads(body or b"{}"))
            return _json(200, {"errcode": 0, "errmsg": "ok"})
        realm = (
            "wechat"
            if path.startswith("/cgi-bin/message/template")
            or path.startswith("/cgi-bin/message/subscribe")
            else "wecom"
        )
        code = self._token_ok(realm, query.get("access_token"))
        if code:
            return _json(200, {"errcode": code, "errmsg": "invalid access_token"})
        fault = self._fault(path)
        if fault is not None:
            status, value = fault
            if status != 200:
                headers = {"Retry-After": str(value)} if value is not None else {}
                return status, headers, b"upstream error"
            return _json(200, {"errcode": value, "errmsg": "injected fault"})
        if self._limited():
            return _json(200, {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
        data = json.loads(body or b"{}")
        msgid = uuid.uuid4().hex[:16]
        if path == "/cgi-bin/message/send":
            self._note("wecom_app", data)
            users = str(data.get("touser", "")).split("|")
            bad = [u for u in users if u in self.refuse]
            return _json(
                200, {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(bad), "msgid": msgid}
            )
        if path == "/cgi-bin/externalcontact/add_msg_template":
            if data.get("chat_type") == "group" and not data.get("sender"):
                return _json(200, {"errcode": 41048, "errmsg": "sender required"})
            if len(data.get("attachments") or []) > 9:
                return _json(200, {"errcode": 41063, "errmsg": "too many attachments"})
            self._note("wecom_customer", data)
            with self._lock:
                self.tasks[msgid] = {"cancelled": False, "reminders": []}
            targets = data.get("external_userid") or data.get("chat_id_list") or []
            return _json(
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "msgid": msgid,
                    "fail_list": [t for t in targets if t in self.refuse],
                },
            )
        if path == "/cgi-bin/externalcontact/get_groupmsg_task":
            return _json(
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "task_list": [
                        {"userid": "emu-staff", "status": 2, "send_time": int(time.time())}
                    ],
                },
            )
        if path in (
            "/cgi-bin/externalcontact/remind_groupmsg_send",
            "/cgi-bin/externalcontact/cancel_groupmsg_send",
        ):
            return self._task_action(path.rsplit("/", 1)[1], data)
        if path == "/cgi-bin/externalcontact/get_groupmsg_send_result":
            return _json(
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "send_list": [
                        {"external_userid": "wmemu", "userid": data.get("userid"), "status": 1}
                    ],
                },
            )
        if path == "/cgi-bin/message/template/send":
            if len(str(data.get("client_msg_id", ""))) > 32:
                return _json(200, {"errcode": 47003, "errmsg": "argument invalid"})
            self._note("template", data)
            if data.get("touser") in self.refuse:
                return _json(200, {"errcode": 43004, "errmsg": "require subscribe"})
            return _json(200, {"errcode": 0, "errmsg": "ok", "msgid": int(msgid[:8], 16)})
        if path == "/cgi-bin/message/subscribe/send":
            self._note("subscribe", data)
            if data.get("touser") in self.no_quota:
                return _json(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            return _json(200, {"errcode": 0, "errmsg": "ok", "msgid": int(msgid[:8], 16)})
        return _json(404, {"errcode": 404, "errmsg": "not found"})

    def _task_action(
        self, action: str, data: Mapping[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        """Remind (≤ 3 per task in 24 h) or cancel a customer group-message task."""
        now = time.time()
        with self._lock:
            task = self.tasks.get(str(data.get("msgid", "")))
            if task is None:
                return _json(200, {"errcode": 40058, "errmsg": "invalid msgid"})
            if task["cancelled"]:
                return _json(200, {"errcode": 40058, "errmsg": "task already cancelled"})
            if action == "cancel_groupmsg_send":
                task["cancelled"] = True
            else:
                recent = [t for t in task["reminders"] if t > now - 86_400]
                if len(recent) >= 3:
                    return _json(
                        200, {"errcode": 45009, "errmsg": "at most 3 reminders per task per day"}
                    )
                task["reminders"] = [*recent, now]
        self._note(action, dict(data))
        return _json(200, {"errcode": 0, "errmsg": "ok"})

    def _tencent(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        rid = uuid.uuid4().hex

        def error(code: str, message: str) -> tuple[int, dict[str, str], bytes]:
            return _json(
                200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}}
            )

        auth = headers.get("authorization", "")
        try:
            ts = int(headers.get("x-tc-timestamp", ""))
            cred = auth.split("Credential=")[1].split(",")[0]
            secret_id, _date, service, _ = cred.split("/")
            signed = auth.split("SignedHeaders=")[1].split(",")[0].strip()
            signature = auth.split("Signature=")[1].strip()
        except (IndexError, ValueError):
            return error("AuthFailure.InvalidAuthorization", "malformed Authorization")
        if secret_id != self.secret_id:
            return error("AuthFailure.SecretIdNotFound", "unknown SecretId")
        if abs(time.time() - ts) > 300:
            return error("AuthFailure.SignatureExpire", "signature expired")
        canonical = "".join(
            f"{name}:{headers.get(name, '').strip()}\n" for name in signed.split(";")
        )
        expected = tc3_signature(
            self.secret_key,
            service=service,
            timestamp=ts,
            payload=body,
            canonical_headers=canonical,
            signed_headers=signed,
        )
        if not hmac.compare_digest(expected, signature):
            return error("AuthFailure.SignatureFailure", "signature mismatch")
        fault = self._fault("tencent")
        if fault is not None:
            status, value = fault
            if status != 200:
                return status, {}, b"upstream error"
            return error(str(value), "injected fault")
        if self._limited():
            return error("RequestLimitExceeded", "request limit exceeded")
        data = json.loads(body)
        self._note("tencent_sms", data)
        statuses = []
        for number in data.get("PhoneNumberSet", []):
            if number in self.refuse:
                statuses.append(
                    {
                        "PhoneNumber": number,
                        "Code": "LimitExceeded.PhoneNumberDailyLimit",
                        "Message": "daily limit",
                        "SerialNo": "",
                    }
                )
            else:
                statuses.append(
                    {
                        "PhoneNumber": number,
                        "Code": "Ok",
                        "Message": "send success",
                        "SerialNo": uuid.uuid4().hex[:20],
                        "Fee": 1,
                    }
                )
        return _json(200, {"Response": {"SendStatusSet": statuses, "RequestId": rid}})

    def _aliyun(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        rid = uuid.uuid4().hex
        if query.get("AccessKeyId") != self.access_key_id:
            return _json(404, {"Code": "InvalidAccessKeyId.NotFound", "RequestId": rid})
        expected = aliyun_rpc_signature(self.access_key_secret, query)
        if not hmac.compare_digest(expected, query.get("Signature", "")):
            return _json(400, {"Code": "SignatureDoesNotMatch", "RequestId": rid})
        nonce = query.get("SignatureNonce", "")
        with self._lock:
            if nonce in self._nonces:
                return _json(400, {"Code": "SignatureNonceUsed", "RequestId": rid})
            self._nonces.add(nonce)
        fault = self._fault("aliyun")
        if fault is not None:
            status, value = fault
            if status != 200:
                return status, {}, b"upstream error"
            return _json(200, {"Code": str(value), "Message": "injected", "RequestId": rid})
        if self._limited():
            return _json(200, {"Code": "Throttling.User", "Message": "throttled", "RequestId": rid})
        numbers = query.get("PhoneNumbers", "").split(",")
        self._note("aliyun_sms", query)
        if any(n in self.refuse for n in numbers):
            return _json(
                200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "limit", "RequestId": rid}
            )
        return _json(
            200, {"Code": "OK", "Message": "OK", "BizId": uuid.uuid4().hex[:16], "RequestId": rid}
        )

    def _hook(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        fault = self._fault(path)
        if fault is not None:
            return fault[0] if fault[0] != 200 else 500, {}, b"injected"
        try:
            payload = self._verifier.verify(body, headers, now=time.time())
        except ValueError as exc:
            return 401, {}, str(exc).encode()
        if self._limited():
            return 429, {"Retry-After": "0.05"}, b"slow down"
        self._note("webhook", payload)
        return 200, {"X-Request-Id": uuid.uuid4().hex[:12]}, b"ok"

    def __repr__(self) -> str:
        state = "running" if self._port is not None else "stopped"
        return f"Emulator({state}, received={sum(self.counts.values())})"
