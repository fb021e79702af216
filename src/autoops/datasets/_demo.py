"""Demo step: what the synthetic car maker looks like."""

from __future__ import annotations

import numpy as np

from autoops._demo import DemoContext
from autoops.models import TouchpointKind

__all__ = ["step"]


def step(ctx: DemoContext) -> None:
    """Print the dataset's size, its domains and its traps."""
    data = ctx.data
    ctx.section("Synthetic car maker")
    private = {k.value for k in TouchpointKind.private()}
    in_private = np.isin(data.events.touchpoint, list(private))
    ctx.table(
        ["table", "rows"],
        [[name, len(table)] for name, table in data.tables().items()],
    )
    ctx.line()
    ctx.line(
        f"{int(in_private.sum()):,} private-domain and {int((~in_private).sum()):,} public-domain events; "
        f"{int(data.people.member.sum()):,} members, {int(data.people.is_owner.sum()):,} owners."
    )
    traps = data.truth_traps
    ctx.line(
        f"Traps planted: {len(traps['tablet_device_ids'])} showroom tablets, "
        f"{len(traps['hotline_phones'])} dealer hotlines, {len(traps['resold_vins'])} resold cars, "
        f"{int(data.leads.true_fake.sum()):,} fake leads."
    )
