"""The arrays prepare narrows (session 11) hold what the full ones held.

* ``e_rec`` and ``e_raw`` are 32-bit when the rows fit, the public row numbers 64-bit.
"""

from __future__ import annotations

import numpy as np

from autoops.identity import resolve


def test_narrow_rows_and_codes() -> None:
    res = resolve({"phone": ["13912341111", None, "13912341111", "400123"],
                   "device_id": ["d1", "d1", None, "null"]})  # fmt: skip
    prep = res._prep
    assert prep.e_rec.dtype == np.int32 and prep.e_raw.dtype == np.int32
    assert prep.e_rec.tolist() == [0, 2, 3, 0, 1, 3]
    rejected = res.rejected()
    assert rejected["row"].dtype == np.int64
    assert rejected["row"].tolist() == [3, 3]
