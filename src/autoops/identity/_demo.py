"""Demo step: resolve the synthetic dataset into people and show the evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoops.identity._resolve import resolve
from autoops.identity._rules import MergeRules

if TYPE_CHECKING:
    from autoops._demo import DemoContext

__all__ = ["step"]


def step(ctx: DemoContext) -> None:
    """Resolve ``ctx.data.events``; store ``ctx.shared["one_id"]`` for later steps."""
    data = ctx.data
    ev = data.events
    corp = next((c for c in ev.wecom_corp_id.tolist() if c is not None), None)
    rules = MergeRules.automotive_default().replace("wecom_external_userid", default_scope=corp)
    staff = [data.staff, {"phone": list(data.dealers.hotline)}]
    with ctx.progress("resolving identities"):
        res = resolve(ev, rules, staff=staff, kiosks=data.kiosks)
        naive = resolve(ev, MergeRules.unprotected())
    ctx.shared["one_id"] = res.one_id.astype(np.int64)
    ctx.shared["identity"] = res
    ctx.section("One ID: records → people")
    q = res.evaluate(ev.true_person_id)
    qn = naive.evaluate(ev.true_person_id)
    ctx.table(
        ["rules", "records", "One IDs", "precision", "recall", "F1", "mixed clusters"],
        [
            [
                "automotive_default",
                len(ev),
                res.people,
                q.precision,
                q.recall,
                q.f1,
                q.mixed_clusters,
            ],
            [
                "no protections",
                len(ev),
                naive.people,
                qn.precision,
                qn.recall,
                qn.f1,
                qn.mixed_clusters,
            ],
        ],
    )
    ctx.line(f"people whose identifiers connect them: {q.connectable}, split: {q.split}")
    ctx.section("Quarantined hubs (shared devices and lines)")
    hubs = res.hubs()
    ctx.table(
        ["type", "value", "fan-out", "records"],
        [[h["type"], h["value"], h["fanout"], h["records"]] for h in hubs.to_dicts()[:6]],
    )
    ctx.section("Refused links by reason")
    refused: dict[str, int] = res.summary()["refused"]
    rows: list[list[object]] = [[k, v] for k, v in sorted(refused.items(), key=lambda kv: -kv[1])]
    ctx.table(["reason", "links"], rows)
