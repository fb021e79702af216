"""resolve() gives the same answer whatever form the records come in (numpy, pandas, polars, arrow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from autoops.identity import resolve

STRING_COLUMNS = ("phone", "wechat_unionid", "wechat_openid", "wechat_appid", "device_id", "email")


def _records(n: int = 3000, seed: int = 3) -> dict[str, np.ndarray]:
    """Records with shared identifiers, missing values, "", non-ASCII, junk and a tablet hub."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, n // 6, n)
    phones = np.array([f"13{p:09d}" for p in person], dtype=object)
    plus = rng.random(n) < 0.3
    phones[plus] = np.array(["+86 " + p for p in phones[plus]], dtype=object)
    junk = np.array(["", "null", "13800138000", "400-810-5050", "电话", "  "], dtype=object)
    odd = rng.random(n) < 0.05
    phones[odd] = junk[rng.integers(0, len(junk), int(odd.sum()))]
    cols: dict[str, np.ndarray] = {
        "record_id": np.arange(n, dtype=np.int64) * 7,
        "phone": phones,
        "wechat_unionid": np.array([f"oU{p}é" for p in person], dtype=object),
        "wechat_openid": np.array([f"oX{p % 50}" for p in person], dtype=object),
        "wechat_appid": np.array(["wxA", "wxB", ""], dtype=object)[rng.integers(0, 3, n)],
        "device_id": np.array([f"dev-{p}" for p in person], dtype=object),
        "email": np.array([f"P{p}@Example.com" for p in person], dtype=object),
    }
    tablet = rng.random(n) < 0.03
    cols["device_id"][tablet] = "kiosk-1"
    for name in STRING_COLUMNS:
        cols[name] = np.where(rng.random(n) < 0.3, None, cols[name])
    return cols


def _chunks(values: list[Any]) -> pa.ChunkedArray:
    k = len(values) // 3
    return pa.chunked_array([values[:k], values[k : 2 * k], values[2 * k :]], type=pa.string())


FORMS: dict[str, Callable[[dict[str, np.ndarray]], Any]] = {
    "pandas object": lambda c: pd.DataFrame(c).astype({s: object for s in STRING_COLUMNS}),
    "pandas str (pyarrow)": lambda c: pd.DataFrame(c).astype({s: "str" for s in STRING_COLUMNS}),
    "pandas string[python]": lambda c: pd.DataFrame(c).astype(
        {s: "string[python]" for s in STRING_COLUMNS}
    ),
    "polars": lambda c: pl.DataFrame({k: v.tolist() for k, v in c.items()}),
    "pyarrow": lambda c: pa.table({k: v.tolist() for k, v in c.items()}),
    "pyarrow chunked": lambda c: pa.table(
        {k: _chunks(v.tolist()) if v.dtype == object else v for k, v in c.items()}
    ),
    "dict of pyarrow arrays": lambda c: {
        k: pa.array(v.tolist(), type=pa.large_string()) if v.dtype == object else v
        for k, v in c.items()
    },
}


def _answer(records: Any) -> dict[str, Any]:
    res = resolve(
        records,
        staff={"phone": ["+86 139 0000 0001"]},
        kiosks=pa.table({"device_id": ["kiosk-1", None]}),
    )
    return {
        "one_id": res.one_id.tolist(),
        "summary": res.summary(),
        "rejected": res.rejected().to_dicts(),
        "hubs": res.hubs().to_dicts(),
    }


@pytest.mark.parametrize("form", sorted(FORMS))
def test_resolve_is_the_same_for_every_input_form(form: str) -> None:
    cols = _records()
    expected = _answer(cols)
    assert expected["summary"]["refused"]  # the fixture exercises refusals ...
    assert 1 < expected["summary"]["people"] < len(cols["phone"]) // 2  # ... and merges
    assert _answer(FORMS[form](cols)) == expected


@pytest.mark.parametrize("form", ["pandas", "polars", "arrow", "text"])
def test_assume_tz_reads_naive_record_times_as_local_times(form: str) -> None:
    """Naive record times are refused, naming the option; with ``assume_tz`` they are
    local times of that zone: One IDs, cluster times and VIN spans equal those of the
    same times made aware, in ``resolve`` and in ``IdentityGraph.add``."""
    from autoops.errors import InvalidInput
    from autoops.identity import IdentityGraph

    tz = "Asia/Shanghai"
    local = pd.to_datetime(["2026-01-01 08:00", "2026-01-01 07:00", "2026-02-01 00:00",
                            "2026-03-05 12:30"])  # fmt: skip
    base = {"record_id": [1, 2, 3, 4], "phone": ["13912340001", None, "13912340002", None],
            "device_id": ["d1", "d1", None, "d2"],
            "vin": [None, "LSVAU2180N2183294", "LSVAU2180N2183294", None]}  # fmt: skip
    aware = pd.DataFrame(dict(base, ts=local.tz_localize(tz)))
    naive_frame = pd.DataFrame(dict(base, ts=local))
    naive: Any = {
        "pandas": naive_frame,
        "polars": pl.from_pandas(naive_frame),
        "arrow": pa.Table.from_pandas(naive_frame),
        "text": pd.DataFrame(dict(base, ts=local.strftime("%Y-%m-%d %H:%M"))),
    }[form]
    with pytest.raises(InvalidInput, match="assume_tz"):
        resolve(naive)
    want, got = resolve(aware), resolve(naive, assume_tz=tz)
    assert got.one_id.tolist() == want.one_id.tolist()
    assert got.clusters().to_dicts() == want.clusters().to_dicts()
    g_want, g_got = IdentityGraph(), IdentityGraph()
    g_want.add(aware)
    g_got.add(naive, assume_tz=tz)
    at = pd.Timestamp("2026-02-15", tz=tz).to_pydatetime()
    assert g_got.owner("LSVAU2180N2183294", at=at) == g_want.owner("LSVAU2180N2183294", at=at)
    assert [g_got.one_id_of(r) for r in base["record_id"]] == [
        g_want.one_id_of(r) for r in base["record_id"]
    ]
