"""The context that ``autoops demo`` hands to each capability's demo step.

Each capability has a ``_demo.py`` with ``step(ctx: DemoContext) -> None``;
``autoops.cli`` runs them in order on one synthetic dataset. Steps print
through the context (so output stays short, aligned and masked) and leave
results for later steps in ``ctx.shared`` (``one_id`` aligned with
``ctx.data.events``; ``audience`` person ids for a campaign).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TextIO

import attrs

from autoops.datasets import SyntheticDataset

__all__ = ["DemoContext", "spinner"]

_FRAMES = "|/-\\"


@attrs.define
class DemoContext:
    """What a demo step gets: the dataset, a place for results, and printing helpers.

    Examples:
        >>> import io
        >>> from autoops.datasets import synthetic
        >>> out = io.StringIO()
        >>> ctx = DemoContext(data=synthetic(people=10, seed=1), out=out)
        >>> ctx.section("Example")
        >>> ctx.table(["step", "count"], [["lead", 10], ["visit", 4]])
        >>> print(out.getvalue().strip())
        == Example ==
        step   count
        -----  -----
        lead      10
        visit      4
    """

    data: SyntheticDataset
    out: TextIO = sys.stdout
    shared: dict[str, Any] = attrs.field(factory=dict)
    show_progress: bool = False

    def section(self, title: str) -> None:
        """Start a titled section of the report."""
        self.out.write(f"\n== {title} ==\n")

    def line(self, text: str = "") -> None:
        """Print one line of the report."""
        self.out.write(f"{text}\n")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Print an aligned plain-text table; numbers align right."""
        cells = [[_fmt(c) for c in row] for row in rows]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
        numeric = [
            all(_is_number(row[i]) for row in rows) if rows else False for i in range(len(headers))
        ]

        def render(values: Sequence[str]) -> str:
            parts = [
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(values, widths, numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        self.line(render(list(headers)))
        self.line(render(["-" * w for w in widths]))
        for row in cells:
            self.line(render(row))

    def progress(self, label: str) -> AbstractContextManager[None]:
        """Show a spinner on stderr while a long computation runs (when enabled)."""
        return spinner(label, enabled=self.show_progress)


@contextmanager
def spinner(label: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with elapsed seconds on stderr while the block runs.

    Examples:
        >>> with spinner("quiet work", enabled=False):
        ...     pass
    """
    if not enabled:
        yield
        return
    done = threading.Event()

    def spin() -> None:
        start = time.perf_counter()
        i = 0
        while not done.wait(0.2):
            elapsed = time.perf_counter() - start
            sys.stderr.write(f"\r{_FRAMES[i % 4]} {label} ({elapsed:.0f}s)")
            sys.stderr.flush()
            i += 1
        sys.stderr.write("\r" + " " * (len(label) + 12) + "\r")

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
