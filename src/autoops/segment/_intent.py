"""Lead intent concentration scores (线索浓度) with capped, weighted action counts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._tabular import Tabular
from autoops.errors import ConfigError
from autoops.segment._common import (
    SummaryTable,
    as_of_us,
    display_id,
    duration_us,
    person_codes,
    read_columns,
    ts_us,
)
from autoops.segment._scan import window_groups

__all__ = ["IntentScores", "IntentWeights", "intent_scores"]

_NAT = np.iinfo(np.int64).min


def _float_map(value: Mapping[str, float]) -> dict[str, float]:
    return {str(k): float(v) for k, v in dict(value).items()}


@attrs.frozen(slots=True)
class IntentWeights:
    """The versioned weights and caps of the lead intent score.

    Each action ``a`` has a weight ``w_a > 0`` and a cap ``cap_a > 0``; its
    count contributes ``w_a * min(count_a, cap_a) / cap_a``. The default
    (``IntentWeights.default()``) is the domain example: click 40 (cap 5),
    favourite 30 (cap 1), test_drive 30 (cap 1), so five clicks and a
    favourite score ``100 * (40 + 30) / 100 = 70``.

    Attributes:
        weights: action name → weight (positive, finite).
        caps: action name → cap (positive, finite); the same keys as *weights*.
        version: a label stored with the results, e.g. ``"2026-03"``.

    Raises:
        ConfigError: keys differ, or a weight or cap is not positive; names the key.

    Examples:
        >>> w = IntentWeights.default()
        >>> w.weights["click"], w.caps["click"]
        (40.0, 5.0)
        >>> IntentWeights.from_json(w.to_json()) == w
        True
        >>> IntentWeights({"click": 1}, {"clik": 5})
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: caps: caps and weights must name the same actions; only in
        weights: ['click'], only in caps: ['clik'] [config_error]
    """

    weights: Mapping[str, float] = attrs.field(converter=_float_map)
    caps: Mapping[str, float] = attrs.field(converter=_float_map)
    version: str = "default-1"

    def __attrs_post_init__(self) -> None:
        if not self.weights:
            raise ConfigError("needs at least one action", key="weights")
        only_w = sorted(set(self.weights) - set(self.caps))
        only_c = sorted(set(self.caps) - set(self.weights))
        if only_w or only_c:
            msg = (
                "caps and weights must name the same actions; "
                f"only in weights: {only_w}, only in caps: {only_c}"
            )
            raise ConfigError(msg, key="caps")
        for key, table in (("weights", self.weights), ("caps", self.caps)):
            for action, v in table.items():
                if not np.isfinite(v) or v <= 0:
                    raise ConfigError(
                        f"{action} must be positive and finite, got {v!r}", key=f"{key}.{action}"
                    )

    @classmethod
    def default(cls) -> IntentWeights:
        """The domain example: click 40 (cap 5), favourite 30 (cap 1), test_drive 30 (cap 1).

        Examples:
            >>> sorted(IntentWeights.default().weights)
            ['click', 'favourite', 'test_drive']
        """
        return cls(
            weights={"click": 40, "favourite": 30, "test_drive": 30},
            caps={"click": 5, "favourite": 1, "test_drive": 1},
            version="default-1",
        )

    @property
    def actions(self) -> tuple[str, ...]:
        """The action names, in the order the score sums them.

        Examples:
            >>> IntentWeights.default().actions
            ('click', 'favourite', 'test_drive')
        """
        return tuple(self.weights)

    def to_json(self) -> str:
        """Serialise to a JSON string (keys sorted) for storage beside results.

        Examples:
            >>> IntentWeights({"click": 1}, {"click": 2}, version="v9").to_json()
            '{"caps": {"click": 2.0}, "version": "v9", "weights": {"click": 1.0}}'
        """
        return json.dumps(
            {"weights": dict(self.weights), "caps": dict(self.caps), "version": self.version},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> IntentWeights:
        """Rebuild from :meth:`to_json` output; errors name the missing key.

        Examples:
            >>> IntentWeights.from_json('{"weights": {"click": 1}}')
            Traceback (most recent call last):
            ...
            autoops.errors.ConfigError: caps: missing; available keys: weights [config_error]
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"malformed JSON: {exc.msg} at position {exc.pos}", key="json"
            ) from exc
        if not isinstance(raw, dict):
            raise ConfigError("expected a JSON object", key="json")
        for key in ("weights", "caps"):
            if key not in raw:
                raise ConfigError(f"missing; available keys: {', '.join(sorted(raw))}", key=key)
            if not isinstance(raw[key], dict):
                raise ConfigError("expected an object of action → number", key=key)
        unknown = sorted(set(raw) - {"weights", "caps", "version"})
        if unknown:
            raise ConfigError(
                f"unknown keys {unknown}; expected weights, caps, version", key="json"
            )
        return cls(raw["weights"], raw["caps"], version=str(raw.get("version", "default-1")))


@attrs.frozen(slots=True, repr=False)
class IntentScores(Tabular):
    """Per-person intent scores (0–100) with the capped counts behind them.

    Attributes:
        person: distinct person ids, sorted.
        score: the intent score in [0, 100].
        counts: action → per-person count (decayed when a half-life is set),
            before capping.
        last_seen: the latest counted action (UTC; NaT if none).
        config: the :class:`IntentWeights` used.
        half_life: the decay half-life, or ``None``.
        window: the look-back window, or ``None`` for all history.
        as_of: the instant scored (UTC).

    Examples:
        >>> res = intent_scores([1, 1], ["click", "test_drive"], ["2026-01-30T00:00:00+08:00"] * 2,
        ...                     as_of="2026-02-01T00:00:00+08:00")
        >>> res
        IntentScores(people=1, mean=38.0, version=default-1)
        >>> res.counts["click"].tolist()
        [1.0]
    """

    person: npt.NDArray[Any]
    score: npt.NDArray[np.float64]
    counts: Mapping[str, npt.NDArray[np.float64]]
    last_seen: npt.NDArray[np.datetime64]
    config: IntentWeights
    half_life: timedelta | None
    window: timedelta | None
    as_of: np.datetime64

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        out: dict[str, npt.NDArray[Any]] = {"person": self.person, "score": self.score}
        for action, arr in self.counts.items():
            out[f"count_{action}"] = arr
        out["last_seen"] = self.last_seen
        return out

    def summary(self) -> SummaryTable:
        """People per score decile band (0–10, 10–20, …, 90–100; 100 in the top band).

        Examples:
            >>> res = intent_scores([1, 1, 2], ["click", "favourite", "click"],
            ...                     ["2026-01-30T00:00:00+08:00"] * 3,
            ...                     as_of="2026-02-01T00:00:00+08:00")
            >>> res.summary().rows()[:2]
            [('0-10', 1, 0.5), ('10-20', 0, 0.0)]
        """
        band = np.minimum((self.score // 10).astype(np.int64), 9)
        counts = np.bincount(band, minlength=10).astype(np.int64)
        total = counts.sum()
        labels = np.array([f"{10 * i}-{10 * i + 10}" for i in range(10)], dtype=object)
        share = counts / total if total else np.full(10, np.nan)
        return SummaryTable(
            "Intent score distribution", {"score": labels, "people": counts, "share": share}
        )

    def __repr__(self) -> str:
        mean = float(self.score.mean()) if len(self.score) else float("nan")
        return short_repr(
            "IntentScores",
            people=len(self.person),
            mean=round(mean, 2),
            version=self.config.version,
        )

    def _repr_html_(self) -> str:
        actions = list(self.counts)
        rows = [
            [
                display_id(p),
                round(float(self.score[i]), 2),
                *[float(self.counts[a][i]) for a in actions],
            ]
            for i, p in enumerate(self.person[:10].tolist())
        ]
        return self.summary()._repr_html_() + html_table(
            repr(self), ["person", "score", *actions], rows
        )


def intent_scores(
    person: Any,
    action: Any,
    ts: Any,
    *,
    as_of: Any,
    weights: IntentWeights | Mapping[str, float] | None = None,
    caps: Mapping[str, float] | None = None,
    half_life: str | timedelta | None = None,
    window: str | timedelta | None = None,
    people: Any = None,
    data: Any = None,
) -> IntentScores:
    """The lead intent concentration score per person (see SEMANTICS.md).

    ``score(u) = 100 * Σ_a w_a * min(count_a(u), cap_a) / cap_a / Σ_a w_a``
    summed over the configured actions in order. ``count_a(u)`` counts the
    person's rows with action ``a`` and ``ts <= as_of`` (later rows are
    ignored), and, with *window*, ``ts >= as_of - window``. With *half_life*
    each row counts ``0.5 ** ((as_of - ts) / half_life)`` instead of 1, so a
    row at ``as_of`` counts fully and one a half-life earlier counts one half.
    Actions not in the configuration are ignored. The score lies in [0, 100],
    never decreases when a count grows, and stays flat beyond a cap.

    With the defaults (click 40 cap 5, favourite 30 cap 1, test_drive 30
    cap 1): five clicks and a favourite give ``100 * (40*5/5 + 30*1/1 + 0) /
    100 = 70``; two clicks alone give ``100 * (40*2/5) / 100 = 16``.

    Args:
        person: person id per row, or a column name of *data*.
        action: action (event name) per row, or a name.
        ts: instants (aware datetimes or UTC ``datetime64``), or a name.
        as_of: the instant scored.
        weights: an :class:`IntentWeights`, or action → weight with *caps*;
            ``None`` for the default.
        caps: action → cap when *weights* is a mapping.
        half_life: optional decay half-life (``"14d"``).
        window: optional look-back window (``"90d"``); edges included.
        people: optional ids of everyone to report (score 0 without rows).
        data: a table to read named columns from.

    Returns:
        An :class:`IntentScores` result, one row per person sorted by id.

    Raises:
        InvalidInput: a missing timestamp or person (naming the row) or column.
        ConfigError: bad weights, caps, half-life or window.

    Examples:
        >>> res = intent_scores(["u1"] * 6 + ["u2", "u2"],
        ...                     ["click"] * 5 + ["favourite", "click", "click"],
        ...                     ["2026-01-20T10:00:00+08:00"] * 8,
        ...                     as_of="2026-02-01T00:00:00+08:00")
        >>> res.score.tolist()
        [70.0, 16.0]
    """
    if isinstance(weights, IntentWeights):
        if caps is not None:
            raise ConfigError("give caps inside the IntentWeights, not separately", key="caps")
        config = weights
    elif weights is None:
        config = IntentWeights.default() if caps is None else _missing_weights()
    else:
        if caps is None:
            raise ConfigError("caps are required with a weights mapping", key="caps")
        config = IntentWeights(weights, caps, version="custom")
    half_us = None if half_life is None else duration_us(half_life, key="half_life")
    window_us = None if window is None else duration_us(window, key="window")
    cols = read_columns(data, "events", text=("action",), person=person, action=action, ts=ts)
    person_arr, action_arr, ts_arr = cols["person"], cols["action"], cols["ts"]
    assert person_arr is not None and action_arr is not None and ts_arr is not None
    cutoff = as_of_us(as_of)
    times = ts_us(ts_arr, field="ts", allow_nat=True)  # window_groups checks
    universe = None if people is None else read_columns(None, "people", people=people)["people"]
    ids, codes_of = person_codes(person_arr, universe, fields=("person", "people"))
    n = len(ids)
    k = len(config.actions)
    # time first (one streaming pass); the text column is then encoded once, on the
    # rows left, and every action is matched on its few distinct values
    lo = None if window_us is None else cutoff - window_us
    chosen, (which,) = window_groups(
        times,
        cutoff,
        lo,
        [(action_arr, [(name,) for name in config.actions])],
        field="ts",
        select=_any_action,
    )
    person_k = codes_of(chosen)
    key = person_k * k + which
    table: npt.NDArray[np.float64]
    if half_us is None:
        table = np.bincount(key, minlength=n * k).astype(np.float64)
    else:
        decay = np.exp2(-(cutoff - times[chosen]) / half_us)
        table = np.bincount(key, weights=decay, minlength=n * k).astype(np.float64, copy=False)
    table = table.reshape(n, k)
    last = np.full(n, _NAT, dtype=np.int64)
    np.maximum.at(last, person_k, times[chosen])
    total = np.zeros(n, dtype=np.float64)
    counts: dict[str, npt.NDArray[np.float64]] = {}
    for j, name in enumerate(config.actions):
        count = np.ascontiguousarray(table[:, j])
        w, cap = config.weights[name], config.caps[name]
        total += w * np.minimum(count, cap) / cap
        counts[name] = count
    score = 100.0 * total / sum(config.weights.values())
    return IntentScores(
        person=ids,
        score=score,
        counts=counts,
        last_seen=last.view("datetime64[us]").copy(),
        config=config,
        half_life=None if half_us is None else timedelta(microseconds=half_us),
        window=None if window_us is None else timedelta(microseconds=window_us),
        as_of=np.datetime64(cutoff, "us"),
    )


def _any_action(groups: list[npt.NDArray[np.integer[Any]]]) -> npt.NDArray[np.bool_]:
    return groups[0] >= 0


def _missing_weights() -> IntentWeights:
    raise ConfigError("caps given without weights", key="weights")
