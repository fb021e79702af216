"""Dry-run channels: print to a stream or append JSON lines to an outbox file.

Both accept any content and accept every recipient, so a campaign runs
through the dispatcher (policy, idempotency, rate limit) without reaching
anyone. Recipients are masked in what they write unless ``mask=False``.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import IO, Any, ClassVar

import attrs

from autoops._masking import mask_value
from autoops.channels._base import Call, Channel, Outcome
from autoops.channels._types import Message

__all__ = ["ConsoleChannel", "OutboxChannel"]


def _content_json(content: Any) -> Any:
    if attrs.has(type(content)):
        return {"type": type(content).__name__, **attrs.asdict(content)}
    if hasattr(content, "model_dump"):
        return content.model_dump(mode="json")
    return content


class _DryRun(Channel):
    opt_out_key: ClassVar[str | None] = None

    def __init__(self, *, channel: str | None = None, mask: bool = True) -> None:
        if channel is not None:
            self.name = channel  # type: ignore[misc]
        self.mask = mask
        self._lock = threading.Lock()

    def build_requests(
        self, message: Message, *, token: str | None, now: float, nonce: str
    ) -> list[Call]:
        lines = []
        for to in message.to:
            record = {
                "channel": self.name,
                "key": message.key(),
                "to": mask_value(to) if self.mask else to,
                "purpose": message.purpose,
                "content": _content_json(message.content),
                "ts": now,
            }
            lines.append(json.dumps(record, ensure_ascii=False, default=str, sort_keys=True))
        return [Call(tuple(lines), tuple(range(len(message.to))), transport="local")]

    def _write(self, lines: tuple[str, ...]) -> None:
        raise NotImplementedError

    def deliver(self, call: Call, *, timeout: float) -> list[bool]:
        with self._lock:
            self._write(call.request)
        return [True] * len(call.recipients)

    async def adeliver(self, call: Call, *, timeout: float) -> list[bool]:
        return self.deliver(call, timeout=timeout)

    def parse_response(self, call: Call, response: Any) -> list[Outcome]:
        return [Outcome(i, "accepted", message_id=f"dry-{i}") for i in call.recipients]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channel={self.name!r})"


class ConsoleChannel(_DryRun):
    """Print each message as one JSON line (masked) to *stream*.

    Examples:
        >>> import io
        >>> from autoops.channels import Dispatcher, Message
        >>> buf = io.StringIO()
        >>> with Dispatcher(ConsoleChannel(stream=buf)) as d:
        ...     d.send(Message(to=["+8613812345678"], content={"text": "hi"})).ok
        True
        >>> '"to": "+86138****5678"' in buf.getvalue()
        True
    """

    name: ClassVar[str] = "console"

    def __init__(
        self, *, stream: IO[str] | None = None, channel: str | None = None, mask: bool = True
    ) -> None:
        super().__init__(channel=channel, mask=mask)
        self.stream = stream

    def _write(self, lines: tuple[str, ...]) -> None:
        out = self.stream if self.stream is not None else sys.stdout
        for line in lines:
            out.write(line + "\n")


class OutboxChannel(_DryRun):
    """Append each message as one JSON line to *path* (an outbox for review).

    Args:
        path: the JSONL file (created, appended to).
        channel: the name to act as (e.g. ``"sms"``), so policy opt-outs and
            reports use it.
        mask: mask recipients in the file (default True).

    Examples:
        >>> import json, tempfile, os
        >>> from autoops.channels import Dispatcher, Message
        >>> path = os.path.join(tempfile.mkdtemp(), "outbox.jsonl")
        >>> with Dispatcher(OutboxChannel(path, channel="sms")) as d:
        ...     d.send(Message(to=["+8613812345678"], content={"text": "hi"}))
        SendReport(channel='sms', recipients=1, accepted=1, failed=0, skipped=0)
        >>> json.loads(open(path).readline())["to"]
        '+86138****5678'
    """

    name: ClassVar[str] = "outbox"

    def __init__(self, path: str | Path, *, channel: str | None = None, mask: bool = True) -> None:
        super().__init__(channel=channel, mask=mask)
        self.path = Path(path)

    def _write(self, lines: tuple[str, ...]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
