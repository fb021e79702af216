"""RFM: recency, frequency and monetary scores and named segments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular
from autoops.errors import ConfigError, InvalidInput
from autoops.segment._common import (
    SummaryTable,
    as_of_us,
    count_table,
    display_id,
    person_codes,
    read_columns,
    ts_us,
)
from autoops.segment._scan import time_rows

__all__ = ["RFM", "RFM_SEGMENTS", "RFMThresholds", "ntile", "rfm"]

_DAY_US = 86_400_000_000

#: The segment table: (name, recency levels, frequency-monetary levels, meaning).
#: Levels are scores rescaled to 1..5; see :func:`rfm`.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...], str], ...] = (
    ("champions", (5,), (4, 5), "recent, frequent, high after-sales and mall spend"),
    ("loyal", (3, 4), (4, 5), "spend often; keep them close with owner benefits"),
    ("potential_loyalist", (4, 5), (2, 3), "recent, moderate spend; invite to the community"),
    ("new", (5,), (1,), "first recent transaction; onboard them"),
    ("promising", (4,), (1,), "recent but little spend yet"),
    ("need_attention", (3,), (3,), "middling on both; a timely service reminder"),
    ("about_to_sleep", (3,), (1, 2), "fading and low spend; reactivate soon"),
    ("at_risk", (1, 2), (3, 4), "used to spend, not seen lately; win back"),
    ("cannot_lose", (1, 2), (5,), "top spenders gone quiet; personal outreach"),
    ("hibernating", (1, 2), (1, 2), "long gone and low spend"),
)
NO_TRANSACTIONS = "no_transactions"
SEGMENT_NAMES: tuple[str, ...] = (*(row[0] for row in RFM_SEGMENTS), NO_TRANSACTIONS)

_LOOKUP = np.full((6, 6), -1, dtype=np.int64)
for _i, (_name, _rs, _fms, _text) in enumerate(RFM_SEGMENTS):
    for _r in _rs:
        for _fm in _fms:
            _LOOKUP[_r, _fm] = _i


@attrs.frozen(slots=True)
class RFMThresholds:
    """Fixed cut points for RFM scores instead of quantiles.

    Each tuple holds ``bins - 1`` strictly increasing cut points. Recency is in
    days since the last transaction: a person scores ``bins`` when at most the
    first cut point, one less for each cut point exceeded (``days > cut``).
    Frequency and monetary score ``1 + number of cut points <= value``.

    Attributes:
        recency_days: cut points in days (ascending).
        frequency: cut points on the transaction count (ascending).
        monetary: cut points on the amount spent (ascending).

    Raises:
        ConfigError: lengths differ, a tuple is not strictly increasing, or fewer
            than one cut point is given; names the key.

    Examples:
        >>> t = RFMThresholds(recency_days=(30, 90, 180, 365), frequency=(2, 3, 5, 10),
        ...                   monetary=(500, 2000, 5000, 20000))
        >>> t.bins
        5
    """

    recency_days: tuple[float, ...] = attrs.field(converter=tuple)
    frequency: tuple[float, ...] = attrs.field(converter=tuple)
    monetary: tuple[float, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        for key in ("recency_days", "frequency", "monetary"):
            cuts = getattr(self, key)
            if len(cuts) < 1:
                raise ConfigError("needs at least one cut point", key=key)
            arr = np.asarray(cuts, dtype=np.float64)
            if not np.isfinite(arr).all() or (np.diff(arr) <= 0).any():
                raise ConfigError(
                    f"cut points must be finite and strictly increasing: {cuts}", key=key
                )
        if not len(self.recency_days) == len(self.frequency) == len(self.monetary):
            raise ConfigError(
                "recency_days, frequency and monetary need equally many cut points", key="bins"
            )

    @property
    def bins(self) -> int:
        """The number of score levels (cut points + 1).

        Examples:
            >>> RFMThresholds((30,), (2,), (100,)).bins
            2
        """
        return len(self.recency_days) + 1


def ntile(n: int, bins: int) -> npt.NDArray[np.int64]:
    """Bucket numbers 1..bins for ``n`` ordered rows, as SQL ``ntile(bins)`` assigns them.

    Buckets differ in size by at most one and the larger buckets come first.
    With fewer rows than buckets, row ``i`` gets bucket ``i + 1``.

    Examples:
        >>> ntile(7, 3).tolist()
        [1, 1, 1, 2, 2, 3, 3]
        >>> ntile(2, 5).tolist()
        [1, 2]
    """
    i = np.arange(n, dtype=np.int64)
    q, r = divmod(n, bins)
    big = r * (q + 1)
    rest = r + (i - big) // max(q, 1)
    return np.where(i < big, i // (q + 1), rest) + 1


def ntile_ranks(values: npt.NDArray[Any], bins: int) -> npt.NDArray[np.int64]:
    """The :func:`ntile` bucket of each value when rows are ordered by (value, position).

    No sort: the bucket edges are ranks ``b * q + min(b, r)``; the value at each
    edge comes from ``np.partition`` (linear time) and, among equal values, the
    position from the rows holding that value. A row's bucket is then one plus
    the number of edges at or before it, compared as (value, position) pairs.
    """
    n = len(values)
    out = np.ones(n, dtype=np.int64)
    if n == 0:
        return out
    q, r = divmod(n, bins)
    starts = sorted({b * q + min(b, r) for b in range(1, bins)} - {n})
    if not starts:
        return out
    kth = np.partition(values, starts)
    position = np.arange(n, dtype=np.int64)
    for start in starts:
        edge = kth[start]
        below = int(np.count_nonzero(values < edge))
        # the (start - below)-th row holding the edge value sits exactly at rank start
        at = int(np.flatnonzero(values == edge)[start - below])
        out += values > edge
        out += (values == edge) & (position >= at)
    return out


@attrs.frozen(slots=True, repr=False)
class RFM(Tabular):
    """Per-person RFM figures, scores and segments (rows sorted by person id).

    Attributes:
        person: distinct person ids, sorted.
        last_ts: the last transaction at or before ``as_of`` (UTC; NaT if none).
        recency_days: days from the last transaction to ``as_of`` (NaN if none).
        frequency: transactions at or before ``as_of``.
        monetary: their amount, summed exactly in hundredths (fen).
        r, f, m: scores 1..bins (0 for people without transactions).
        segment: the segment name (see ``RFM_SEGMENTS``), ``"no_transactions"``
            for people without transactions.
        bins: number of score levels.
        as_of: the instant described (UTC).

    Examples:
        >>> res = rfm([1, 2], ["2026-01-30T00:00:00+08:00", "2025-06-01T00:00:00+08:00"],
        ...           [900.0, 100.0], as_of="2026-02-01T00:00:00+08:00", bins=2)
        >>> res
        RFM(people=2, with_transactions=2, bins=2)
        >>> res.to_dicts()[0]["segment"], res.recency_days.tolist()
        ('potential_loyalist', [2.0, 245.0])
    """

    person: npt.NDArray[Any]
    last_ts: npt.NDArray[np.datetime64]
    recency_days: npt.NDArray[np.float64]
    frequency: npt.NDArray[np.int64]
    monetary: npt.NDArray[np.float64]
    r: npt.NDArray[np.int64]
    f: npt.NDArray[np.int64]
    m: npt.NDArray[np.int64]
    segment: npt.NDArray[Any]
    bins: int
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "person": self.person,
            "last_ts": self.last_ts,
            "recency_days": self.recency_days,
            "frequency": self.frequency,
            "monetary": self.monetary,
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": self.segment,
        }

    def summary(self) -> SummaryTable:
        """People per segment, in the order of the segment table.

        Examples:
            >>> res = rfm([1, 2], ["2026-01-01T00:00:00+08:00"] * 2, [10.0, 20.0],
            ...           as_of="2026-02-01T00:00:00+08:00", bins=2)
            >>> res.summary().rows()[0]
            ('champions', 1, 0.5)
        """
        return count_table("RFM segments", "segment", SEGMENT_NAMES, self.segment)

    def __repr__(self) -> str:
        active = int((self.frequency > 0).sum())
        return short_repr("RFM", people=len(self.person), with_transactions=active, bins=self.bins)

    def _repr_html_(self) -> str:
        rows = [
            [display_id(p), int(f), float(mo), int(r), int(fs), int(ms), s]
            for p, f, mo, r, fs, ms, s in zip(
                self.person[:10].tolist(),
                self.frequency[:10],
                self.monetary[:10],
                self.r[:10],
                self.f[:10],
                self.m[:10],
                self.segment[:10].tolist(),
                strict=True,
            )
        ]
        head = ["person", "frequency", "monetary", "R", "F", "M", "segment"]
        return self.summary()._repr_html_() + html_table(repr(self), head, rows)


def rfm(
    person: Any,
    ts: Any,
    amount: Any,
    *,
    as_of: Any,
    bins: int = 5,
    method: str | RFMThresholds = "quantile",
    people: Any = None,
    data: Any = None,
) -> RFM:
    """Recency, frequency and monetary scores and a named segment per person.

    Each row is one transaction (for a car maker: an after-sales bill, a mall
    purchase, a paid accessory; not the car itself). Rows after *as_of* are
    ignored. Per person: ``frequency`` counts rows at or before *as_of*,
    ``monetary`` sums their amounts exactly in hundredths (each amount rounded
    half-to-even to 0.01), ``last_ts`` is the latest such row and
    ``recency_days = (as_of - last_ts) / 1 day``.

    Scores (``method="quantile"``): people with at least one transaction are
    ordered by the figure (``last_ts`` for R, so later is better; ``frequency``
    for F; ``monetary`` for M), ties broken by person id ascending, and split
    into *bins* buckets exactly as SQL ``ntile(bins)`` does (sizes differ by at
    most one, larger buckets first; see :func:`ntile`). So equal figures may get
    neighbouring scores, deterministically. With an :class:`RFMThresholds`
    *method*, scores come from fixed cut points instead and ties always share
    a score.

    Segments: each score is rescaled linearly to a level 1..5 as
    ``1 + round_half_up(4 * (score - 1) / (bins - 1))`` (the identity for
    ``bins=5``); R level and the FM level
    ``ceil((F level + M level) / 2)`` pick a name from ``RFM_SEGMENTS``
    (champions, loyal, potential_loyalist, new, promising, need_attention,
    about_to_sleep, at_risk, cannot_lose, hibernating). People without
    transactions at or before *as_of* (only future rows, or listed in
    *people*) are reported with scores 0 and segment ``"no_transactions"``;
    none is dropped. Windows are exact durations, so the time zone plays no
    part.

    Args:
        person: person id per row (ints or strings), or a column name of *data*.
        ts: transaction instants (aware datetimes or UTC ``datetime64``), or a name.
        amount: amounts in yuan, or a name. NaN is an error.
        as_of: the instant described; aware datetime, ISO string with offset or
            UTC ``datetime64``.
        bins: number of score levels for ``method="quantile"`` (2..10).
        method: ``"quantile"`` or an :class:`RFMThresholds`.
        people: optional ids of everyone to report, with or without rows.
        data: a table (mapping, pandas, polars, pyarrow, autoops table) to read
            named columns from.

    Returns:
        An :class:`RFM` result, one row per person sorted by id.

    Raises:
        InvalidInput: NaN amount, missing timestamp or person (naming the row),
            unknown column names (listing the available ones).
        ConfigError: bad *bins* or *method*.

    Examples:
        >>> res = rfm(["a", "a", "b", "c"],
        ...           ["2026-01-05T10:00:00+08:00", "2026-01-20T10:00:00+08:00",
        ...            "2025-06-01T10:00:00+08:00", "2026-03-01T10:00:00+08:00"],
        ...           [300.0, 200.0, 1800.0, 50.0],
        ...           as_of="2026-02-01T00:00:00+08:00", bins=2)
        >>> res.frequency.tolist(), res.r.tolist(), res.segment.tolist()
        ([2, 1, 0], [2, 1, 0], ['potential_loyalist', 'at_risk', 'no_transactions'])
    """
    if isinstance(method, str):
        if method != "quantile":
            raise ConfigError(
                f"method must be 'quantile' or an RFMThresholds, got {method!r}", key="method"
            )
        if not isinstance(bins, int | np.integer) or isinstance(bins, bool) or not 2 <= bins <= 10:
            raise ConfigError(f"bins must be an integer from 2 to 10, got {bins!r}", key="bins")
        nbins = int(bins)
    elif isinstance(method, RFMThresholds):
        nbins = method.bins
    else:
        raise ConfigError(
            f"method must be 'quantile' or an RFMThresholds, got {method!r}", key="method"
        )
    cols = read_columns(data, "transactions", person=person, ts=ts, amount=amount)
    person_arr, ts_arr, amount_arr = cols["person"], cols["ts"], cols["amount"]
    assert person_arr is not None and ts_arr is not None and amount_arr is not None
    cutoff = as_of_us(as_of)
    times = ts_us(ts_arr, field="ts")
    try:
        money = np.asarray(amount_arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("amounts must be numbers", field="amount", code="bad_amount") from exc
    bad = np.flatnonzero(~np.isfinite(money))
    if bad.size:
        msg = "amount is NaN or infinite; filter to transactions (spend events) first"
        raise InvalidInput(msg, field="amount", row=int(bad[0]), code="nan_amount")
    universe = (
        None
        if people is None
        else np.asarray(read_columns(None, "people", people=people)["people"])
    )
    ids, codes_of = person_codes(person_arr, universe, fields=("person", "people"))
    n = len(ids)
    keep = time_rows(times, cutoff)
    codes_k = codes_of(keep)
    freq = np.bincount(codes_k, minlength=n).astype(np.int64)
    kept_money = money if keep is None else money[keep]
    cents = np.bincount(codes_k, weights=np.rint(kept_money * 100.0), minlength=n)
    monetary = cents / 100.0
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes_k, times if keep is None else times[keep])
    has = freq > 0
    r = np.zeros(n, dtype=np.int64)
    f = np.zeros(n, dtype=np.int64)
    m = np.zeros(n, dtype=np.int64)
    idx = np.flatnonzero(has)
    if isinstance(method, RFMThresholds):
        age = cutoff - last[idx]
        rcuts = np.array([round(d * _DAY_US) for d in method.recency_days], dtype=np.int64)
        r[idx] = nbins - np.searchsorted(rcuts, age, side="left")
        f[idx] = 1 + np.searchsorted(
            np.asarray(method.frequency, dtype=np.float64), freq[idx], side="right"
        )
        m[idx] = 1 + np.searchsorted(
            np.asarray(method.monetary, dtype=np.float64), cents[idx] / 100.0, side="right"
        )
    else:
        for target, figure in ((r, last[idx]), (f, freq[idx]), (m, cents[idx])):
            # idx ascends, so ties broken by position are ties broken by person id
            target[idx] = ntile_ranks(figure, nbins)
    segment_code = np.full(n, len(RFM_SEGMENTS), dtype=np.int64)
    r5 = _level(r[idx], nbins)
    fm5 = (_level(f[idx], nbins) + _level(m[idx], nbins) + 1) // 2
    segment_code[idx] = _LOOKUP[r5, fm5]
    segment = np.array(SEGMENT_NAMES, dtype=object)[segment_code]
    last_ts = last.view("datetime64[us]").copy()
    recency = np.full(n, np.nan)
    recency[idx] = (cutoff - last[idx]) / _DAY_US
    return RFM(
        person=ids,
        last_ts=last_ts,
        recency_days=recency,
        frequency=freq,
        monetary=monetary,
        r=r,
        f=f,
        m=m,
        segment=segment,
        bins=nbins,
        as_of=np.datetime64(cutoff, "us"),
    )


def _level(score: npt.NDArray[np.int64], bins: int) -> npt.NDArray[np.int64]:
    return 1 + ((score - 1) * 8 + (bins - 1)) // (2 * (bins - 1))


def segment_names() -> Sequence[str]:
    """Every segment name :func:`rfm` can return, in table order."""
    return SEGMENT_NAMES
