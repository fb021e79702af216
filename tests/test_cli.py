"""The command line, run as a user would: a subprocess."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoops", *args], capture_output=True, text=True, timeout=600
    )


def test_demo_runs_and_reports() -> None:
    result = run("demo", "--people", "3000", "--seed", "2")
    assert result.returncode == 0, result.stderr
    assert "Synthetic car maker" in result.stdout
    assert "Done in" in result.stdout


def test_demo_output_masks_phone_numbers() -> None:
    from autoops.datasets import synthetic

    result = run("demo", "--people", "3000", "--seed", "2")
    phones = synthetic(people=3000, seed=2).people.true_phone
    leaked = [p for p in phones if p[3:] in result.stdout]
    assert not leaked


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout
