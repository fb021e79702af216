"""The arrays prepare leaves out or narrows (session 11) hold what the full ones held.

* ``e_tok`` is made from the keys when asked (``key_tok[e_key]``): equal to the
  tokens prepare lays out itself when tombstones need them, with scopes, staff,
  blocked values and key chains;
* ``e_rec`` and ``e_raw`` are 32-bit when the rows fit, the public row numbers 64-bit;
* ``e_key`` is 32-bit when the records and keys fit (session 14), and ``solve`` gives
  the same solution from 64-bit keys (as the graph's store holds them);
* without a time column ``ts`` is one NAT broadcast over the records (read-only);
* without a ``<column>_verified`` column there are no verification flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoops.identity import IdentityGraph, MergeRules, resolve
from autoops.identity._normalize import Status
from autoops.identity._prepare import NAT, prepare

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([None, "13912341111", "+86 139 1234 1111", "13800138000", "12345678"]),
        st.sampled_from([None, "o1", "o2", "null"]),
        st.sampled_from([None, "app1", "app2"]),
        st.sampled_from([None, "d1", "D1", "d2", "kiosk"]),
    ),
    min_size=1,
    max_size=30,
)


def _table(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    return {
        "record_id": list(range(len(rows))),
        "phone": [r[0] for r in rows],
        "wechat_openid": [r[1] for r in rows],
        "wechat_appid": [r[2] for r in rows],
        "device_id": [r[3] for r in rows],
    }


@settings(max_examples=60, deadline=None)
@given(rows_strategy, st.sampled_from([None, b"k1", (b"k1", b"k2")]))
def test_tokens_from_the_keys_equal_the_laid_out_tokens(
    rows: list[tuple[Any, ...]], secret: bytes | tuple[bytes, ...] | None
) -> None:
    table = _table(rows)
    rules = MergeRules.automotive_default()
    kwargs: dict[str, Any] = {"staff": {"phone": ["13912341111"]}, "secret": secret}
    lazy = prepare(table, rules, **kwargs)
    # a tombstone no token equals (tokens are odd): prepare lays the tokens out itself
    laid = prepare(table, rules, tombstones=np.array([2], dtype=np.uint64), **kwargs)
    assert lazy._e_tok is None and laid._e_tok is not None
    np.testing.assert_array_equal(lazy.e_tok, laid.e_tok)
    assert lazy.e_tok.dtype == np.uint64
    assert lazy.e_tok is lazy.e_tok  # made once
    np.testing.assert_array_equal(lazy.e_status, laid.e_status)


def test_narrow_rows_and_codes() -> None:
    res = resolve({"phone": ["13912341111", None, "13912341111", "400123"],
                   "device_id": ["d1", "d1", None, "null"]})  # fmt: skip
    prep = res._prep
    assert prep.e_rec.dtype == np.int32 and prep.e_raw.dtype == np.int32
    assert prep.e_rec.tolist() == [0, 2, 3, 0, 1, 3]
    rejected = res.rejected()
    assert rejected["row"].dtype == np.int64
    assert rejected["row"].tolist() == [3, 3]


@settings(max_examples=60, deadline=None)
@given(rows_strategy, st.booleans())
def test_narrow_keys_solve_as_wide_ones(rows: list[tuple[Any, ...]], tight: bool) -> None:
    """prepare's 32-bit keys give the solution 64-bit keys give, field by field."""
    import attrs

    from autoops.identity._solve import solve

    rules = MergeRules.automotive_default()
    if tight:  # limits broken: the constrained pass and split labels run on the keys too
        rules = rules.replace("phone", max_per_person=1).replace("device_id", max_per_person=1)
    prep = prepare(_table(rows), rules, staff={"phone": ["13912341111"]})
    assert prep.e_key is not None and prep.e_key.dtype == np.int32
    wide = attrs.evolve(prep, e_key=prep.e_key.astype(np.int64))
    narrow_sol, wide_sol = solve(prep, rules), solve(wide, rules)
    assert narrow_sol.e_key.dtype == np.int32
    for field in attrs.fields(type(narrow_sol)):
        np.testing.assert_array_equal(
            getattr(narrow_sol, field.name), getattr(wide_sol, field.name), err_msg=field.name
        )
    # the refused edges' limit types, read at any edges (session 14), against one array
    # as long as the edges written from them
    limit = np.full(len(narrow_sol.e_status), -1, dtype=np.int16)
    limit[narrow_sol.limit_edges] = narrow_sol.limit_of
    assert narrow_sol.limit_types(np.arange(len(limit))).dtype == np.int16
    refused = np.isin(narrow_sol.e_status, [Status.LIMIT, Status.SPLIT])
    assert ((limit >= 0) == refused).all()
    edges = np.arange(len(limit))[::-1]
    np.testing.assert_array_equal(narrow_sol.limit_types(edges), limit[edges])


def test_no_time_column_no_times_and_no_flags() -> None:
    table = {"phone": ["13912341111", "13912341111", None], "device_id": [None, "d1", "d1"]}
    res = resolve(table)
    prep = res._prep
    assert prep.ts.tolist() == [NAT] * 3
    assert not prep.ts.flags.writeable
    with pytest.raises(ValueError):
        prep.ts[0] = 0
    assert prep.e_verified is None
    assert res.people == 1
    assert len(res.explain_cluster(int(res.one_id[0]))) == 4
    graph = IdentityGraph()
    graph.add(table)
    graph.add({"phone": ["13912341111"], "record_id": [7]})
    assert graph.lookup("device_id", "d1") == graph.lookup("phone", "13912341111")


def test_verified_column_gives_flags() -> None:
    table = {"phone": ["13912341111", "13912341111"], "phone_verified": [True, False]}
    prep = prepare(table, MergeRules.automotive_default())
    assert prep.e_verified is not None
    assert prep.e_verified.tolist() == [True, False]
