"""The vectorised masking equals the one-value masking, on every kind of value."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops._masking import mask_value, mask_values

_PHONEISH = st.text(alphabet="0123456789+- ()\t86", min_size=0, max_size=24)
_EMAILISH = st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=6), st.text(max_size=8))
_IDS = st.text(alphabet="abcXYZ_-019.", max_size=30)
_ANY = st.one_of(
    _PHONEISH,
    _EMAILISH,
    _IDS,
    st.text(max_size=20),  # any unicode, NUL included
    st.none(),
    st.integers(),
    st.text(alphabet=" \t\x1c\x1f+86", max_size=6).map(lambda s: s + "13812345678"),
)


@settings(max_examples=400, deadline=None)
@given(values=st.lists(_ANY, max_size=40))
def test_mask_values_equals_mask_value(values: list[Any]) -> None:
    got = mask_values(np.array([*values, None], dtype=object)[:-1]).tolist()
    assert got == [mask_value(v) for v in values]


def test_mask_values_of_nothing() -> None:
    assert mask_values([]).tolist() == []
