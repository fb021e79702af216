"""The lead intent concentration matrix (线索浓度矩阵): intent band × recency band."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular
from autoops.errors import ConfigError, InvalidInput
from autoops.segment._common import SummaryTable, as_of_us, duration_us, read_columns, ts_us
from autoops.segment._intent import IntentScores

__all__ = ["DEFAULT_STRATEGIES", "IntentMatrix", "intent_matrix"]

DEFAULT_INTENT_BANDS: dict[str, float] = {"high": 60.0, "medium": 30.0, "low": 0.0}
DEFAULT_RECENCY_BANDS: dict[str, str | None] = {
    "hot": "7d",
    "warm": "30d",
    "cold": "90d",
    "lapsed": None,
}

#: Suggested nurturing strategy per ``"intent/recency"`` cell of the default bands.
DEFAULT_STRATEGIES: dict[str, str] = {
    "high/hot": "dealer callback within 24h",
    "high/warm": "consultant follow-up with a test-drive invitation",
    "high/cold": "reactivation offer from the dealer",
    "high/lapsed": "defeat review and win-back campaign",
    "medium/hot": "test-drive invitation and model content",
    "medium/warm": "nurture with model and price content",
    "medium/cold": "periodic newsletter",
    "medium/lapsed": "low-cost reactivation message",
    "low/hot": "welcome journey and community invitation",
    "low/warm": "brand and lifestyle content",
    "low/cold": "broadcast pool only",
    "low/lapsed": "suppress; do not contact",
}
UNASSIGNED = "unassigned"


@attrs.frozen(slots=True, repr=False)
class IntentMatrix(Tabular):
    """People per (intent band × recency band) cell, with a strategy per cell.

    Attributes:
        person: person ids (the rows of the input scores).
        score: the intent score per person.
        intent_band: the intent band name per person.
        recency_band: the recency band name per person.
        intent_labels: intent band names, highest first (matrix rows).
        recency_labels: recency band names, most recent first (matrix columns).
        counts: people per cell, shape ``(len(intent_labels), len(recency_labels))``.
        strategies: ``"intent/recency"`` → suggested nurturing strategy.
        as_of: the instant described (UTC).

    Examples:
        >>> import numpy as np
        >>> seen = np.array(["2026-01-30", "NaT"], dtype="datetime64[us]")
        >>> m = intent_matrix(np.array([75.0, 5.0]), seen, as_of=np.datetime64("2026-02-01", "us"))
        >>> m
        IntentMatrix(people=2, cells=3x4, top_cell=1)
        >>> m.counts.tolist()
        [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    """

    person: npt.NDArray[Any]
    score: npt.NDArray[np.float64]
    intent_band: npt.NDArray[Any]
    recency_band: npt.NDArray[Any]
    intent_labels: tuple[str, ...]
    recency_labels: tuple[str, ...]
    counts: npt.NDArray[np.int64]
    strategies: Mapping[str, str]
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        strategy = self._strategy_column()
        return {
            "person": self.person,
            "score": self.score,
            "intent_band": self.intent_band,
            "recency_band": self.recency_band,
            "strategy": strategy,
        }

    def _strategy_column(self) -> npt.NDArray[Any]:
        out = np.empty(len(self.person), dtype=object)
        for i in self.intent_labels:
            for r in self.recency_labels:
                out[(self.intent_band == i) & (self.recency_band == r)] = self.strategy(i, r)
        return out

    def strategy(self, intent: str, recency: str) -> str:
        """The suggested strategy label of one cell (``"unassigned"`` if none).

        Examples:
            >>> import numpy as np
            >>> seen = np.array(["2026-01-30"], dtype="datetime64[us]")
            >>> m = intent_matrix(np.array([75.0]), seen, person=np.array([1]),
            ...                   as_of=np.datetime64("2026-02-01", "us"))
            >>> m.strategy("high", "hot")
            'dealer callback within 24h'
        """
        self._check(intent, recency)
        return self.strategies.get(f"{intent}/{recency}", UNASSIGNED)

    def people(self, intent: str, recency: str) -> npt.NDArray[Any]:
        """The person ids in one cell, in input order.

        Raises:
            InvalidInput: an unknown band name; lists the available ones.

        Examples:
            >>> import numpy as np
            >>> m = intent_matrix(np.array([75.0, 10.0]),
            ...                   np.array(["2026-01-30", "NaT"], dtype="datetime64[us]"),
            ...                   person=np.array([1, 2]), as_of=np.datetime64("2026-02-01", "us"))
            >>> m.people("high", "hot").tolist(), m.people("low", "lapsed").tolist()
            ([1], [2])
        """
        self._check(intent, recency)
        selected: npt.NDArray[Any] = self.person[
            (self.intent_band == intent) & (self.recency_band == recency)
        ]
        return selected

    def _check(self, intent: str, recency: str) -> None:
        if intent not in self.intent_labels:
            raise InvalidInput(
                f"unknown intent band {intent!r}; available: {list(self.intent_labels)}",
                field="intent",
            )
        if recency not in self.recency_labels:
            msg = f"unknown recency band {recency!r}; available: {list(self.recency_labels)}"
            raise InvalidInput(msg, field="recency")

    def table(self) -> SummaryTable:
        """The matrix itself: one row per intent band, one column per recency band.

        Examples:
            >>> import numpy as np
            >>> seen = np.array(["2026-01-30"], dtype="datetime64[us]")
            >>> m = intent_matrix(np.array([75.0]), seen, person=np.array([1]),
            ...                   as_of=np.datetime64("2026-02-01", "us"))
            >>> m.table().rows()[0]
            ('high', 1, 0, 0, 0)
        """
        data: dict[str, npt.NDArray[Any]] = {"intent": np.array(self.intent_labels, dtype=object)}
        for j, name in enumerate(self.recency_labels):
            data[name] = self.counts[:, j].copy()
        return SummaryTable("Intent matrix (people)", data)

    def summary(self) -> SummaryTable:
        """One row per cell: intent band, recency band, people, strategy.

        Examples:
            >>> import numpy as np
            >>> seen = np.array(["2026-01-30"], dtype="datetime64[us]")
            >>> m = intent_matrix(np.array([75.0]), seen, person=np.array([1]),
            ...                   as_of=np.datetime64("2026-02-01", "us"))
            >>> m.summary().rows()[0]
            ('high', 'hot', 1, 'dealer callback within 24h')
        """
        intents, recencies, people, strategies = [], [], [], []
        for i, a in enumerate(self.intent_labels):
            for j, b in enumerate(self.recency_labels):
                intents.append(a)
                recencies.append(b)
                people.append(int(self.counts[i, j]))
                strategies.append(self.strategy(a, b))
        return SummaryTable(
            "Intent matrix cells",
            {
                "intent": np.array(intents, dtype=object),
                "recency": np.array(recencies, dtype=object),
                "people": np.array(people, dtype=np.int64),
                "strategy": np.array(strategies, dtype=object),
            },
        )

    def __repr__(self) -> str:
        return short_repr(
            "IntentMatrix",
            people=len(self.person),
            cells=f"{len(self.intent_labels)}x{len(self.recency_labels)}",
            top_cell=int(self.counts[0, 0]) if self.counts.size else 0,
        )

    def _repr_html_(self) -> str:
        table = self.table()
        return html_table(repr(self), list(table.data), table.rows(), limit=20)


def _intent_bands(value: Mapping[str, float] | None) -> list[tuple[str, float]]:
    bands = dict(DEFAULT_INTENT_BANDS if value is None else value)
    if not bands:
        raise ConfigError("needs at least one band", key="intent_bands")
    out = []
    for name, low in bands.items():
        try:
            lo = float(low)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{name}: lower bound must be a number, got {low!r}", key="intent_bands"
            ) from exc
        if not np.isfinite(lo):
            raise ConfigError(f"{name}: lower bound must be finite", key="intent_bands")
        out.append((str(name), lo))
    out.sort(key=lambda item: -item[1])
    if len({lo for _, lo in out}) != len(out):
        raise ConfigError(f"two bands share a lower bound: {bands}", key="intent_bands")
    if out[-1][1] > 0:
        raise ConfigError(
            "the lowest band must start at 0 or below so every score has a band", key="intent_bands"
        )
    return out


def _recency_bands(
    value: Mapping[str, str | timedelta | None] | None,
) -> list[tuple[str, int | None]]:
    bands = dict(DEFAULT_RECENCY_BANDS if value is None else value)
    items = list(bands.items())
    if not items or items[-1][1] is not None:
        msg = (
            "list bands from most recent to oldest and end with a catch-all band whose age is None"
        )
        raise ConfigError(msg, key="recency_bands")
    out: list[tuple[str, int | None]] = []
    previous = -1
    for name, age in items[:-1]:
        if age is None:
            raise ConfigError(
                f"{name}: only the last band may be the catch-all (None)", key="recency_bands"
            )
        us = duration_us(age, key=f"recency_bands.{name}")
        if us <= previous:
            raise ConfigError(
                f"{name}: maximum ages must increase from band to band", key="recency_bands"
            )
        previous = us
        out.append((str(name), us))
    out.append((str(items[-1][0]), None))
    return out


def intent_matrix(
    scores: IntentScores | Any,
    last_seen: Any = None,
    *,
    as_of: Any,
    person: Any = None,
    intent_bands: Mapping[str, float] | None = None,
    recency_bands: Mapping[str, str | timedelta | None] | None = None,
    strategies: Mapping[str, str] | None = None,
) -> IntentMatrix:
    """Cross intent bands with recency bands and suggest a strategy per cell.

    Intent band: the band with the largest lower bound ``<= score`` (defaults:
    high ≥ 60, medium ≥ 30, low ≥ 0; a score exactly on a bound belongs to
    the higher band). Recency band: with ``age = as_of - last_seen``, the first
    band (in the order given) whose maximum age is ``>= age`` (defaults: hot
    ≤ 7d, warm ≤ 30d, cold ≤ 90d); people never seen (NaT) or older than every
    bound fall in the last, catch-all band (default ``lapsed``). Cell
    strategies come from *strategies* keyed ``"intent/recency"`` (default
    ``DEFAULT_STRATEGIES``); cells without one are ``"unassigned"``.

    Args:
        scores: an :class:`IntentScores` (person, score and last_seen taken from
            it) or an array of scores in [0, 100].
        last_seen: per-person last activity (aware datetimes or UTC
            ``datetime64``; NaT allowed); overrides the one in *scores*.
        as_of: the instant described.
        person: person ids when *scores* is an array (default 0..n-1).
        intent_bands: band name → lower bound.
        recency_bands: band name → maximum age (``"7d"``), ending with a
            catch-all band whose value is ``None``; most recent first.
        strategies: ``"intent/recency"`` → strategy label.

    Returns:
        An :class:`IntentMatrix`.

    Raises:
        InvalidInput: NaN or out-of-range scores, ``last_seen`` after *as_of*
            (naming the row), or mismatched lengths.
        ConfigError: bad bands or a strategy for an unknown cell.

    Examples:
        >>> import numpy as np
        >>> seen = np.array(["2026-01-30", "2025-12-01", "2026-01-31"], dtype="datetime64[us]")
        >>> m = intent_matrix(np.array([70.0, 70.0, 16.0]), seen,
        ...                   person=np.array([1, 2, 3]), as_of=np.datetime64("2026-02-01", "us"))
        >>> m.intent_band.tolist(), m.recency_band.tolist()
        (['high', 'high', 'low'], ['hot', 'cold', 'hot'])
    """
    ids: Any
    if isinstance(scores, IntentScores):
        ids = scores.person
        values = scores.score
        seen_raw: Any = scores.last_seen if last_seen is None else last_seen
    else:
        values = np.asarray(read_columns(None, "scores", scores=scores)["scores"], dtype=np.float64)
        ids = (
            np.arange(len(values))
            if person is None
            else read_columns(None, "person", person=person)["person"]
        )
        seen_raw = last_seen
    if seen_raw is None:
        raise InvalidInput("last_seen is required with an array of scores", field="last_seen")
    seen_arr = read_columns(None, "last_seen", last_seen=seen_raw)["last_seen"]
    assert ids is not None and seen_arr is not None
    if not len(ids) == len(values) == len(seen_arr):
        detail = f"person={len(ids)}, scores={len(values)}, last_seen={len(seen_arr)}"
        raise InvalidInput(f"lengths differ: {detail}", code="ragged")
    bad = np.flatnonzero(~((values >= 0) & (values <= 100)))
    if bad.size:
        raise InvalidInput("score must be a number in [0, 100]", field="scores", row=int(bad[0]))
    cutoff = as_of_us(as_of)
    seen = ts_us(seen_arr, field="last_seen", allow_nat=True)
    nat = seen == np.iinfo(np.int64).min
    future = np.flatnonzero(~nat & (seen > cutoff))
    if future.size:
        raise InvalidInput("last_seen is after as_of", field="last_seen", row=int(future[0]))
    ibands = _intent_bands(intent_bands)
    rbands = _recency_bands(recency_bands)
    ilabels = tuple(name for name, _ in ibands)
    rlabels = tuple(name for name, _ in rbands)
    table = dict(DEFAULT_STRATEGIES if strategies is None else strategies)
    if strategies is not None:
        valid = {f"{a}/{b}" for a in ilabels for b in rlabels}
        unknown = sorted(set(table) - valid)
        if unknown:
            raise ConfigError(
                f"unknown cells {unknown}; available: {sorted(valid)}", key="strategies"
            )
    lows = np.array([lo for _, lo in ibands], dtype=np.float64)
    # bands sorted by descending lower bound: the first whose bound <= score
    icode = np.searchsorted(-lows, -values, side="left")
    age = cutoff - seen
    rcode = np.full(len(values), len(rbands) - 1, dtype=np.int64)
    for j in range(len(rbands) - 2, -1, -1):
        limit = rbands[j][1]
        assert limit is not None
        rcode[~nat & (age <= limit)] = j
    counts = np.bincount(icode * len(rbands) + rcode, minlength=len(ibands) * len(rbands))
    return IntentMatrix(
        person=np.asarray(ids),
        score=values,
        intent_band=np.array(ilabels, dtype=object)[icode],
        recency_band=np.array(rlabels, dtype=object)[rcode],
        intent_labels=ilabels,
        recency_labels=rlabels,
        counts=counts.reshape(len(ibands), len(rbands)).astype(np.int64),
        strategies=table,
        as_of=np.datetime64(cutoff, "us"),
    )
