"""The ``autoops`` command line: ``autoops demo`` and ``autoops --help``.

Examples:
    >>> main(["--version"])
    autoops 0.1.0.dev0
    0
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from autoops import __version__

__all__ = ["STEPS", "main"]

STEPS: tuple[str, ...] = (
    "autoops.datasets._demo",
    # capability steps: identity, funnel, segment, leads, loyalty, channels
    "autoops.identity._demo",
    "autoops.funnel._demo",
    "autoops.segment._demo",
    "autoops.leads._demo",
    "autoops.loyalty._demo",
    "autoops.channels._demo",
)
"""Demo steps in order: modules with ``step(ctx: DemoContext) -> None``."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples:
        >>> main(["demo", "--people", "300", "--quiet"])
        0
    """
    parser = argparse.ArgumentParser(
        prog="autoops",
        description="Automotive user operations: One ID, funnels, segments, leads, loyalty, channels.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="generate a synthetic car maker and run every capability on it"
    )
    demo.add_argument(
        "--people", type=int, default=20_000, help="people to generate (default 20000)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="print nothing (for tests)")
    args = parser.parse_args(argv)
    if args.version:
        print(f"autoops {__version__}")
        return 0
    if args.command == "demo":
        return _demo(args.people, args.seed, quiet=args.quiet)
    parser.print_help()
    return 0


def _demo(people: int, seed: int, *, quiet: bool) -> int:
    import io

    from autoops._demo import DemoContext, spinner
    from autoops.datasets import synthetic

    out = io.StringIO() if quiet else sys.stdout
    started = time.perf_counter()
    out.write(
        f"autoops {__version__} demo: a synthetic car maker with {people:,} people (seed {seed})\n"
    )
    show = not quiet and sys.stderr.isatty()
    with spinner("generating the synthetic car maker", enabled=show):
        data = synthetic(people=people, seed=seed)
    ctx = DemoContext(data=data, out=out, show_progress=show)
    for name in STEPS:
        module = importlib.import_module(name)
        module.step(ctx)
    out.write(f"\nDone in {time.perf_counter() - started:.1f} s.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
