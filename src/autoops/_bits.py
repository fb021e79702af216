"""Counting set flags before positions, through a bitmap of 64-bit words.

numpy's cumulative sum is a scalar loop (about 2 ns an element) and, when it
casts, holds the GIL; a binary search per position costs a cache miss a step.
Packing the flags into words (``np.packbits``), counting each word's bits
(``np.bitwise_count``) and summing those counts gives the number of flags
before every word; a position adds its own word's bits below it. That is one
pass over n/8 bytes and a few passes over the positions asked about. The
funnel's dynamic programme finds each row's last predecessor this way, and
``factorize_u64`` numbers its hash table's slots.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["count_before"]

_BELOW = np.array([(1 << i) - 1 for i in range(64)], dtype=np.uint64)
"""``_BELOW[i]``: bits 0..i-1 set."""


def count_before(
    flags: npt.NDArray[np.bool_], at: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.int64]:
    """For each position p in *at* (``0 <= p < len(flags)``): how many of ``flags[:p]`` are set.

    >>> flags = np.zeros(200, dtype=bool)
    >>> flags[[3, 64, 130]] = True
    >>> count_before(flags, np.array([0, 3, 4, 64, 65, 199])).tolist()
    [0, 0, 1, 1, 2, 3]
    """
    tail = -len(flags) % 64
    if tail:
        flags = np.concatenate([flags, np.zeros(tail, dtype=bool)])
    words = np.packbits(flags, bitorder="little").view("<u8")
    before = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.bitwise_count(words).astype(np.int64), out=before[1:])  # (no cast: GIL)
    word = at >> 6
    bits = _BELOW[at & 63]
    bits &= words[word]
    count: npt.NDArray[np.int64] = before[word]
    count += np.bitwise_count(bits)
    return count
