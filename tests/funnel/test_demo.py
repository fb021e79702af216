"""The demo step prints the funnel, monthly actives and a retention table."""

from __future__ import annotations

import io

import numpy as np

from autoops._demo import DemoContext
from autoops.datasets import synthetic
from autoops.funnel._demo import step


def test_demo_step_prints_the_three_tables() -> None:
    out = io.StringIO()
    data = synthetic(people=1500, seed=2)
    ctx = DemoContext(data=data, out=out)
    ctx.shared["one_id"] = data.events.true_person_id.copy()
    step(ctx)
    text = out.getvalue()
    assert "留资 lead" in text and "交车 delivery" in text
    assert "monthly actives" in text and "Retention" in text
    assert "+86" not in text and "@" not in text  # nothing personal printed
    result = ctx.shared["funnel"]
    assert result.counts[0] > result.counts[-1] >= 0
    assert np.all(np.diff(result.counts) <= 0)
