"""The growable token table of the identity graph."""

from __future__ import annotations

import numpy as np

from autoops.identity._token_table import TokenTable


def test_token_table_grows_and_keeps_ids() -> None:
    t = TokenTable()
    first = t.add(np.arange(1, 1001, dtype=np.uint64))
    second = t.add(np.arange(500, 3001, dtype=np.uint64))
    assert sorted(first.tolist()) == list(range(1000))
    assert second[:501].tolist() == first[499:].tolist()  # known tokens keep their ids
    assert sorted(second[501:].tolist()) == list(range(1000, 3000))  # new ones get the next
    assert len(t) == 3000
    assert t.get(np.array([3000, 4000], dtype=np.uint64)).tolist() == [second[-1], -1]
