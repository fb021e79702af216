"""Run a call under a given AUTOOPS_THREADS, for tests that compare thread counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

R = TypeVar("R")


def with_threads(n: int, fn: Callable[[], R]) -> R:
    """``fn()`` with ``AUTOOPS_THREADS=n``, the variable restored afterwards."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("AUTOOPS_THREADS", str(n))
        return fn()
