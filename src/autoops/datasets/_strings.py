"""Vectorised string building for the generator (no Python loop per value).

Strings are built as matrices of Unicode code points and viewed as fixed-width
numpy strings, then turned into ``object`` arrays once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["format_digits", "id_strings", "pick"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)
_FULLWIDTH_ZERO = 0xFF10


def _as_object(codes: npt.NDArray[np.uint32]) -> npt.NDArray[Any]:
    n, width = codes.shape
    out: npt.NDArray[Any] = np.ascontiguousarray(codes).view(f"<U{width}").reshape(n).astype(object)
    return out


def id_strings(
    prefix: str,
    values: npt.NDArray[np.int64],
    *,
    width: int,
    base: int = 10,
    suffix: str = "",
) -> npt.NDArray[Any]:
    """``prefix`` + *values* zero-padded to *width* digits (base 10 or 16) + ``suffix``.

    Examples:
        >>> id_strings("L", np.array([7, 42]), width=4).tolist()
        ['L0007', 'L0042']
        >>> id_strings("dev-", np.array([255]), width=4, base=16).tolist()
        ['dev-00ff']
        >>> id_strings("user", np.array([3]), width=3, suffix="@example.com").tolist()
        ['user003@example.com']
    """
    n = len(values)
    codes = np.zeros((n, len(prefix) + width + len(suffix)), dtype=np.uint32)
    codes[:, : len(prefix)] = np.frombuffer(prefix.encode("utf-32-le"), dtype=np.uint32)
    if suffix:
        codes[:, len(prefix) + width :] = np.frombuffer(suffix.encode("utf-32-le"), dtype=np.uint32)
    rest = values.astype(np.uint64).copy()
    for k in range(width - 1, -1, -1):
        codes[:, len(prefix) + k] = _HEX[(rest % base).astype(np.int64)]
        rest //= np.uint64(base)
    return _as_object(codes)


def format_digits(digits: npt.NDArray[np.int8], template: str) -> npt.NDArray[Any]:
    """Fill the ``d`` (ASCII digit) or ``D`` (full-width digit) slots of *template*.

    *digits* is an ``(n, k)`` matrix of digit values; the template has exactly
    *k* slots.

    Examples:
        >>> format_digits(np.array([[1, 3, 8, 1, 2, 3, 4, 5, 6, 7, 8]], dtype=np.int8),
        ...               "+86 ddd-dddd-dddd").tolist()
        ['+86 138-1234-5678']
    """
    n = len(digits)
    tmpl = np.frombuffer(template.encode("utf-32-le"), dtype=np.uint32)
    codes = np.broadcast_to(tmpl, (n, len(tmpl))).copy()
    slots = [i for i, ch in enumerate(template) if ch in "dD"]
    for j, i in enumerate(slots):
        base = _FULLWIDTH_ZERO if template[i] == "D" else ord("0")
        codes[:, i] = base + digits[:, j].astype(np.uint32)
    return _as_object(codes)


def pick(
    rng: np.random.Generator, choices: list[str], n: int, p: Sequence[float] | None = None
) -> npt.NDArray[Any]:
    """*n* draws from *choices* as an ``object`` array of shared strings.

    Examples:
        >>> pick(np.random.default_rng(0), ["a"], 2).tolist()
        ['a', 'a']
    """
    vocab = np.array(choices, dtype=object)
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return vocab[rng.choice(len(vocab), size=n, p=weights)]
