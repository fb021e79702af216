"""Demo step: send the segment-targeted campaign through outbox channels."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from autoops._demo import DemoContext
from autoops._masking import mask_phone
from autoops.channels import ContactPolicy, Dispatcher, Message, OutboxChannel

__all__ = ["step"]


def step(ctx: DemoContext) -> None:
    """Send the campaign (SMS and WeCom halves) and print per-channel reports."""
    data = ctx.data
    ctx.section("Channels: campaign through the outbox (dry run)")
    people = data.people
    audience = ctx.shared.get("audience")
    if audience is None:
        member = np.flatnonzero(people.member)
        audience = people.person_id[member[:2000]]
    audience = np.asarray(audience, dtype=np.int64)
    if len(audience) == 0:
        ctx.line("No one is in the campaign audience: nothing to send.")
        return
    phone = people.true_phone[audience]
    policy = ContactPolicy.from_columns(
        data.consent, keys=["true_person_id"], frequency_caps={"*": (1, "1d")}
    )
    # 10:00 in Shanghai on the day after the data ends (as_of is UTC midnight-ish).
    send_at = float(
        (data.as_of - np.datetime64("1970-01-01T00:00:00", "us")) / np.timedelta64(1, "s")
    )
    send_at += 18 * 3600
    outbox = Path(tempfile.mkdtemp(prefix="autoops-outbox-"))
    halves = {"sms": audience % 2 == 0, "wecom": audience % 2 == 1}
    rows = []
    with ctx.progress("sending"):
        for name, pick in halves.items():
            if not pick.any():
                continue
            channel = OutboxChannel(outbox / f"{name}.jsonl", channel=name)
            with Dispatcher(channel, policy=policy, clock=lambda: send_at) as d:
                message = Message(
                    to=[str(p) for p in phone[pick]],
                    person_ids=[str(p) for p in audience[pick]],
                    content={"template": "spring_service_campaign"},
                    purpose="marketing",
                    idempotency_key=f"spring-campaign-{name}",
                )
                report = d.send(message)
                again = d.send(message)
            s = report.summary()
            reasons = ", ".join(
                f"{k.removeprefix('skipped_')} {v}"
                for k, v in s.items()
                if k.startswith("skipped_")
            )
            rows.append(
                [
                    name,
                    len(message.to),
                    s["accepted"],
                    s["skipped"],
                    reasons or "-",
                    s["failed"],
                    "yes" if again.replayed else "no",
                ]
            )
    ctx.table(
        ["channel", "recipients", "sent", "skipped", "skip reasons", "failed", "repeat replayed"],
        rows,
    )
    sent = sorted(outbox.glob("*.jsonl"))
    first = sent[0].read_text(encoding="utf-8").splitlines()[:1] if sent else []
    sample = [mask_phone(str(p)) for p in phone[:3]]
    ctx.line(f"Outbox: {outbox} (masked); first recipients {', '.join(sample)}.")
    if first:
        ctx.line(f"First line: {first[0][:110]}…")
