"""Without the fork start method (Windows), the multi-process suites skip with a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

NO_FORK = """
import multiprocessing, sys
multiprocessing.get_all_start_methods = lambda: ["spawn"]  # what Windows offers
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_worker_suites_skip_cleanly_without_fork() -> None:
    files = [str(HERE / "test_concurrency.py"), str(HERE / "test_crash.py")]
    done = subprocess.run(
        [sys.executable, "-c", NO_FORK, "-q", "-rs", "-p", "no:xdist", "-p", "no:randomly", *files],
        capture_output=True,
        text=True,
        cwd=HERE.parent.parent,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "needs the 'fork' start method" in out, out
    assert " passed" not in out and "error" not in out.lower(), out
    assert "skipped" in out, out
