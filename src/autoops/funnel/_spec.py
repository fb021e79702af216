"""The funnel specification: steps, predicates, windows, exclusions, holds.

A :class:`Funnel` is a frozen pydantic model, validated on construction (every
error is a :class:`~autoops.errors.ConfigError` naming the key) and stored as
JSON with :meth:`Funnel.to_json` / :meth:`Funnel.from_json`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from typing_extensions import Self

from autoops._time import parse_duration
from autoops.errors import ConfigError

if TYPE_CHECKING:
    from autoops.funnel._result import FunnelResult

__all__ = ["Condition", "Exclusion", "Funnel", "Step"]

Op = Literal["==", "!=", "in", "not_in", ">", ">=", "<", "<=", "is_null", "not_null"]
Scalar = str | int | float | bool | None


def _config_error(exc: ValidationError, prefix: str = "") -> ConfigError:
    first = exc.errors()[0]
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, ConfigError):
        return inner
    key = ".".join(str(p) for p in first["loc"]) or prefix
    if prefix and key != prefix:
        key = f"{prefix}.{key}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(message, key=key)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc) from None


class Condition(_Spec):
    """A predicate over one event column: ``column op value``.

    ``None`` (a missing value) never satisfies a comparison; use ``is_null`` /
    ``not_null`` to test for it. ``in`` / ``not_in`` take a list.

    Examples:
        >>> Condition(column="touchpoint", op="in", value=["app", "wecom"]).op
        'in'
        >>> Condition(column="amount", op="in", value=5)
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: value: 'in' and 'not_in' need a list [config_error]
    """

    column: str = Field(min_length=1)
    op: Op = "=="
    value: Scalar | list[Scalar] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ConfigError("'in' and 'not_in' need a list", key="value")
        return self


class Step(_Spec):
    """One funnel step: an event name (or names) and optional property conditions.

    A row matches the step when its event is one of *event* (any event when
    *event* is ``None``) and every condition in *where* holds.

    Examples:
        >>> Step(event="lead").label
        'lead'
        >>> Step(event=["small_order", "big_order"], name="order").label
        'order'
        >>> Step(where=[Condition(column="touchpoint", op="==", value="app")]).label
        'touchpoint==app'
    """

    event: str | list[str] | None = None
    where: list[Condition] = Field(default_factory=list)
    name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.event is None and not self.where:
            raise ConfigError("a step needs an event name or a condition", key="event")
        if isinstance(self.event, list) and not self.event:
            raise ConfigError("event list is empty", key="event")
        return self

    @property
    def events(self) -> tuple[str, ...]:
        """The event names this step accepts (empty: any event).

        Examples:
            >>> Step(event="visit").events
            ('visit',)
        """
        if self.event is None:
            return ()
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)

    @property
    def label(self) -> str:
        """A display label: *name*, else the event names, else the conditions.

        Examples:
            >>> Step(event=["a", "b"]).label
            'a|b'
        """
        if self.name:
            return self.name
        if self.events:
            return "|".join(self.events)
        return " & ".join(f"{c.column}{c.op}{c.value}" for c in self.where)


class Exclusion(_Spec):
    """Rows that break a chain when they fall strictly between two chain steps.

    The exclusion guards the gaps from step *after* to step *before*
    (1-based, ``after < before``; by default every gap of the funnel). A row
    matching the exclusion strictly between the chain's rows of a guarded gap
    breaks that chain, whatever else it matches; the chain's own rows never
    count as exclusions.

    Examples:
        >>> Exclusion(step=Step(event="refund"), after=3).after
        3
        >>> Exclusion(step=Step(event="refund"), after=2, before=2)
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: before: must be greater than 'after' [config_error]
    """

    step: Step
    after: int = Field(default=1, ge=1)
    before: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.before is not None and self.before <= self.after:
            raise ConfigError("must be greater than 'after'", key="before")
        return self


_STEP_ATTR = re.compile(r"^step:(\d+)$")


def _step_of(value: Any) -> Any:
    if isinstance(value, str):
        return Step(event=value)
    return value


class Funnel(_Spec):
    """A funnel definition (ordered, strict, unordered or open), stored as JSON.

    Semantics (``docs/funnel/semantics.md``, normative): per unit, rows are
    ordered by (ts, seq). A chain is rows r1..rk where rj matches step j, the
    row order strictly increases, r1.ts lies in ``entry_range`` [d0, d1) (only
    step 1 is limited by the range), rk.ts − r1.ts ≤ *window* (inclusive),
    optional per-step gaps rj.ts − r(j−1).ts lie in [min_gaps, step_windows],
    no guarding exclusion row sits strictly between consecutive chain rows,
    ``order="strict"`` requires consecutive rows (``strict_repeats="tolerate"``
    lets rows matching step j−1 sit in between), and each ``hold`` field is
    equal on every step that declares it (null never matches). The depth of a
    unit is the longest chain (``entry="best"``) or the longest chain from the
    unit's first step-1 row in range (``entry="first"``).

    Attributes:
        steps: the steps, as :class:`Step` or plain event names.
        window: the conversion window, measured from step 1 (``"30d"``).
        order: ``"ordered"``, ``"strict"``, ``"unordered"`` or ``"open"``.
        entry: ``"best"`` or ``"first"``.
        entry_range: ``(d0, d1)`` aware datetimes limiting step 1 only.
        step_windows: per gap j → j+1, the largest allowed gap (or ``None``).
        min_gaps: per gap j → j+1, the smallest allowed gap (or ``None``).
        exclusions: :class:`Exclusion` rows that break chains.
        hold: fields held equal, either a list (every step declares them)
            or a mapping field → 1-based step numbers; the declaring steps of
            a field must be consecutive.
        strict_repeats: ``"break"`` or ``"tolerate"`` (strict order only).
        breakdown: an event column to break results down by.
        attribution: which chain row gives the breakdown value:
            ``"first_touch"``, ``"last_touch"`` or ``"step:N"``.

    Raises:
        ConfigError: naming the key at fault.

    Examples:
        >>> f = Funnel(steps=["lead", "visit", "test_drive"], window="14d")
        >>> [s.label for s in f.steps], f.window_us // 86_400_000_000
        (['lead', 'visit', 'test_drive'], 14)
        >>> Funnel.from_json(f.to_json()) == f
        True
        >>> Funnel(steps=["lead", "visit"], window="0d")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: window: must be a positive duration, got '0d' [config_error]
    """

    steps: list[Step] = Field(min_length=1)
    window: str = "30d"
    order: Literal["ordered", "strict", "unordered", "open"] = "ordered"
    entry: Literal["best", "first"] = "best"
    entry_range: tuple[datetime, datetime] | None = None
    step_windows: list[str | None] | None = None
    min_gaps: list[str | None] | None = None
    exclusions: list[Exclusion] = Field(default_factory=list)
    hold: list[str] | dict[str, list[int]] | None = None
    strict_repeats: Literal["break", "tolerate"] = "break"
    breakdown: str | None = None
    attribution: str = "first_touch"

    def __init__(self, /, **data: Any) -> None:
        if "steps" in data and isinstance(data["steps"], list | tuple):
            data["steps"] = [_step_of(s) for s in data["steps"]]
        if data.get("exclusions") is None:
            data.pop("exclusions", None)
        for key in ("window",):
            if isinstance(data.get(key), timedelta):
                data[key] = _fmt_td(data[key])
        super().__init__(**data)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            parse_duration(value, key="window")
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("entry_range")
    @classmethod
    def _range(cls, value: tuple[datetime, datetime] | None) -> tuple[datetime, datetime] | None:
        if value is None:
            return None
        for end in value:
            if end.tzinfo is None or end.tzinfo.utcoffset(end) is None:
                raise ValueError("naive datetime; make it timezone-aware")
        if value[0] >= value[1]:
            raise ValueError("d0 must be before d1")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        k = len(self.steps)
        if k + len(self.exclusions) > 63:
            raise ConfigError("at most 63 steps and exclusions together", key="steps")
        for key in ("step_windows", "min_gaps"):
            gaps = getattr(self, key)
            if gaps is None:
                continue
            if len(gaps) != k - 1:
                raise ConfigError(f"needs {k - 1} entries (one per gap), got {len(gaps)}", key=key)
            for i, gap in enumerate(gaps):
                if gap is not None:
                    parse_duration(gap, key=f"{key}.{i}")
        for i, exc in enumerate(self.exclusions):
            before = exc.before if exc.before is not None else k
            if exc.after >= k or before > k:
                msg = f"guards steps {exc.after}..{before} but the funnel has {k} steps"
                raise ConfigError(msg, key=f"exclusions.{i}")
        for field, idx in self.hold_steps.items():
            if any(i < 1 or i > k for i in idx):
                raise ConfigError(f"step numbers must lie in 1..{k}", key=f"hold.{field}")
            if idx != list(range(idx[0], idx[0] + len(idx))):
                raise ConfigError(
                    "the steps declaring a hold must be consecutive", key=f"hold.{field}"
                )
        match = _STEP_ATTR.match(self.attribution)
        if self.attribution not in ("first_touch", "last_touch") and (
            match is None or not 1 <= int(match.group(1)) <= k
        ):
            msg = f"use 'first_touch', 'last_touch' or 'step:N' with N in 1..{k}"
            raise ConfigError(msg, key="attribution")
        if self.order in ("unordered", "open"):
            for key in ("exclusions", "hold", "step_windows", "min_gaps"):
                if getattr(self, key):
                    msg = f"not supported with order={self.order!r} (refused, not ignored)"
                    raise ConfigError(msg, key=key)
        if self.order != "strict" and self.strict_repeats != "break":
            raise ConfigError("only applies to order='strict'", key="strict_repeats")
        return self

    # ----------------------------------------------------------------- derived
    @property
    def window_us(self) -> int:
        """The window in microseconds.

        Examples:
            >>> Funnel(steps=["a"], window="2h").window_us
            7200000000
        """
        return _us(parse_duration(self.window, key="window"))

    def gap_bounds_us(self) -> list[tuple[int | None, int | None]]:
        """Per gap j → j+1: (min gap, max gap) in microseconds, ``None`` when unbounded.

        Examples:
            >>> Funnel(steps=["a", "b"], step_windows=["1d"]).gap_bounds_us()
            [(None, 86400000000)]
        """
        k = len(self.steps)
        lows = self.min_gaps or [None] * (k - 1)
        highs = self.step_windows or [None] * (k - 1)
        return [
            (
                None if lo is None else _us(parse_duration(lo, key="min_gaps")),
                None if hi is None else _us(parse_duration(hi, key="step_windows")),
            )
            for lo, hi in zip(lows, highs, strict=True)
        ]

    @property
    def hold_steps(self) -> dict[str, list[int]]:
        """Each held field and the 1-based steps that declare it.

        Examples:
            >>> Funnel(steps=["a", "b", "c"], hold={"order_id": [2, 3]}).hold_steps
            {'order_id': [2, 3]}
        """
        if self.hold is None:
            return {}
        if isinstance(self.hold, list):
            return {field: list(range(1, len(self.steps) + 1)) for field in self.hold}
        return {field: sorted(set(idx)) for field, idx in self.hold.items() if idx}

    @property
    def attribution_step(self) -> int:
        """The 0-based chain position giving the breakdown value (-1: last row).

        Examples:
            >>> Funnel(steps=["a", "b"], attribution="step:2").attribution_step
            1
        """
        if self.attribution == "first_touch":
            return 0
        if self.attribution == "last_touch":
            return -1
        match = _STEP_ATTR.match(self.attribution)
        assert match is not None
        return int(match.group(1)) - 1

    # ---------------------------------------------------------------- presets
    @classmethod
    def automotive(cls, *, window: str = "30d", **options: Any) -> Funnel:
        """The canonical car-sales funnel 留资 → 到店 → 试驾 → 小定 → 大定 → 交车.

        小定 (small order), 大定 (big order) and 交车 (delivery) are held on
        ``order_id`` (one purchase), and a ``refund`` of the small order
        between 小定 and 交车 breaks the chain.

        Examples:
            >>> f = Funnel.automotive()
            >>> [s.label for s in f.steps]
            ['lead', 'visit', 'test_drive', 'small_order', 'big_order', 'delivery']
            >>> f.hold_steps, f.exclusions[0].after
            ({'order_id': [4, 5, 6]}, 4)
        """
        data: dict[str, Any] = {
            "steps": ["lead", "visit", "test_drive", "small_order", "big_order", "delivery"],
            "window": window,
            "hold": {"order_id": [4, 5, 6]},
            "exclusions": [Exclusion(step=Step(event="refund"), after=4)],
        }
        data.update(options)
        return cls(**data)

    # -------------------------------------------------------------------- json
    def to_json(self) -> str:
        """The definition as JSON (aware datetimes keep their offset).

        Examples:
            >>> Funnel(steps=["a", "b"]).to_json()[:30]
            '{"steps":[{"event":"a","where"'
        """
        return self.model_dump_json(exclude_defaults=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Funnel:
        """Read a definition written by :meth:`to_json`.

        Raises:
            ConfigError: the JSON is malformed or a key is invalid.

        Examples:
            >>> Funnel.from_json('{"steps": ["lead", "visit"], "window": "7d"}').window
            '7d'
        """
        import json

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"not valid JSON: {exc}", key="funnel") from None
        if not isinstance(data, dict):
            raise ConfigError("expected a JSON object", key="funnel")
        return cls(**data)

    # ------------------------------------------------------------------- usage
    def compute(
        self,
        events: Any,
        *,
        unit: Any = "one_id",
        event: str = "event",
        ts: str = "ts",
        seq: str | None = None,
        as_of: Any = None,
        assume_tz: str | None = None,
    ) -> FunnelResult:
        """Run the funnel over *events*; see :func:`autoops.funnel.compute`.

        Examples:
            >>> import numpy as np
            >>> ev = {"one_id": [1, 1, 2], "event": ["lead", "visit", "lead"],
            ...       "ts": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "datetime64[us]")}
            >>> Funnel(steps=["lead", "visit"]).compute(ev).counts.tolist()
            [2, 1]
        """
        from autoops.funnel._compute import compute

        return compute(
            self, events, unit=unit, event=event, ts=ts, seq=seq, as_of=as_of, assume_tz=assume_tz
        )


def _us(td: timedelta) -> int:
    return int(td // timedelta(microseconds=1))


def _fmt_td(td: timedelta) -> str:
    micros = _us(td)
    if micros % 1_000_000 == 0:
        return f"{micros // 1_000_000}s"
    return f"{micros / 1000}ms"
