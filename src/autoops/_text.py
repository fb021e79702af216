"""Vectorised text helpers that numpy 2.0–2.2 lack (``np.strings.slice`` came in 2.3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["slice_chars"]


def slice_chars(values: npt.NDArray[Any], start: int, stop: int) -> npt.NDArray[np.str_]:
    """Characters ``start:stop`` of every string of a ``<U`` array, by code points.

    Shorter strings give shorter (possibly empty) results, as ``str`` slicing does.

    Examples:
        >>> slice_chars(np.array(["+8613812345678", "ab"]), 3, 14).tolist()
        ['13812345678', '']
        >>> slice_chars(np.array([], dtype="<U5"), 0, 2).tolist()
        []
    """
    width = max(stop, 1)
    text = np.asarray(values).astype(f"<U{width}")
    points = text.view(np.uint32).reshape(len(text), width)[:, start:stop]
    out: npt.NDArray[np.str_] = (
        np.ascontiguousarray(points).view(f"<U{max(stop - start, 1)}").ravel()
    )
    return out
