"""Draw the car-sales funnel chart and a retention heatmap as PNG files.

Run ``python examples/funnel_charts.py [output-directory]`` (needs the
``[plot]`` extra). It builds the synthetic car maker, computes the automotive
funnel 留资 → 交车 and monthly retention of first leads returning to the
private domain, and writes ``funnel.png`` and ``retention.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from autoops.datasets import synthetic
from autoops.funnel import PRIVATE_TOUCHPOINTS, Funnel, retention


def main(out_dir: str = ".") -> list[Path]:
    """Write the two charts into *out_dir* and return their paths."""
    from matplotlib.figure import Figure

    data = synthetic(people=20_000, seed=0)
    events = data.events
    real = ~events.true_fake
    cols = {
        "unit": events.true_person_id[real],
        "event": events.event[real],
        "ts": events.ts[real],
        "order_id": events.order_id[real],
        "touchpoint": events.touchpoint[real],
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    result = Funnel.automotive().compute(cols, unit="unit")
    fig = Figure(figsize=(7, 4.5))
    result.plot(ax=fig.add_subplot())
    fig.tight_layout()
    funnel_png = out / "funnel.png"
    fig.savefig(funnel_png, dpi=120)

    private = np.isin(cols["touchpoint"], list(PRIVATE_TOUCHPOINTS))
    kind = np.where(cols["event"] == "lead", "lead", np.where(private, "private", "other"))
    table = retention(
        dict(cols, kind=kind.astype(object)),
        unit="unit",
        event="kind",
        cohort="lead",
        returning="private",
        period="month",
        periods=8,
        as_of=data.as_of,
    )
    fig = Figure(figsize=(9, 5))
    table.plot(ax=fig.add_subplot())
    fig.tight_layout()
    retention_png = out / "retention.png"
    fig.savefig(retention_png, dpi=120)
    print(result)
    print(table)
    return [funnel_png, retention_png]


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else "."):
        print("wrote", path)
