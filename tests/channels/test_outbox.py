"""Dry-run channels and the registry with an installed plugin package."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from autoops.channels import (
    ConsoleChannel,
    ContactPolicy,
    Dispatcher,
    Message,
    OutboxChannel,
    available_channels,
    create_channel,
)
from autoops.errors import ConfigError


def test_outbox_writes_masked_jsonl_and_respects_policy(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    policy = ContactPolicy(quiet_hours=None)
    policy.opt_out("+8613900000000", "sms")
    with Dispatcher(OutboxChannel(path, channel="sms"), policy=policy) as d:
        rep = d.send(
            Message(
                to=["+8613800000000", "+8613900000000"],
                content={"text": "hi"},
                purpose="transactional",
            )
        )
    assert rep.ok  # opt-outs do not block transactional messages
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["to"] for x in lines] == ["+86138****0000", "+86139****0000"]
    assert "13800000000" not in path.read_text()


def test_console_unmasked_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    with Dispatcher(ConsoleChannel(mask=False)) as d:
        d.send(Message(to=["a@b.cn"], content={"x": 1}))
    assert '"to": "a@b.cn"' in capsys.readouterr().out


def test_plugin_package_is_discovered_and_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    pkg = site / "autoops_pigeon"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        textwrap.dedent("""
        from autoops.channels import Call, Channel, Outcome

        class PigeonChannel(Channel):
            name = "pigeon"

            def __init__(self, loft="roof"):
                self.loft = loft
                self.flown = []

            def build_requests(self, message, *, token, now, nonce):
                return [Call(list(message.to), tuple(range(len(message.to))), "local")]

            def deliver(self, call, *, timeout):
                self.flown.extend(call.request)
                return call.request

            async def adeliver(self, call, *, timeout):
                return self.deliver(call, timeout=timeout)

            def parse_response(self, call, response):
                return [Outcome(i, "accepted", message_id=f"bird-{i}") for i in call.recipients]
    """)
    )
    dist = site / "autoops_pigeon-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: autoops-pigeon\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[autoops.channels]\npigeon = autoops_pigeon:PigeonChannel\n"
    )
    monkeypatch.syspath_prepend(str(site))
    assert "pigeon" in available_channels()
    ch = create_channel("pigeon", loft="garage")
    with Dispatcher(ch) as d:
        rep = d.send(Message(to=["alice", "bob"], content="coo"))
    assert rep.ok and [r.provider_message_id for r in rep] == ["bird-0", "bird-1"]
    assert ch.flown == ["alice", "bob"] and ch.loft == "garage"
    monkeypatch.delitem(sys.modules, "autoops_pigeon", raising=False)


def test_unknown_channel_lists_available() -> None:
    with pytest.raises(ConfigError, match=r"available: .*tencent_sms"):
        create_channel("carrier-owl")
