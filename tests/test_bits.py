"""autoops._bits: counts of set flags before positions equal a brute-force count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops import _bits
from autoops._bits import count_before


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 700), piece=st.sampled_from([1, 3, 64, 1 << 16]))
def test_count_before_equals_a_running_count(data: st.DataObject, n: int, piece: int) -> None:
    """Positions in any order, read in pieces of any size."""
    flags = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    at = np.array(data.draw(st.lists(st.integers(0, n), max_size=50)), dtype=np.int64)
    want = [int(np.count_nonzero(flags[:p])) for p in at]
    default, _bits.PIECE = _bits.PIECE, piece
    try:
        assert count_before(flags, at).tolist() == want
    finally:
        _bits.PIECE = default
