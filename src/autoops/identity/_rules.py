"""Identifier types and merge rules: typed, validated, serialisable values.

An :class:`IdType` says how one kind of identifier is read (column, normaliser,
scope column), how far it is trusted (kind, priority) and where it stops
(``max_per_person``, ``max_fanout``, blocked values). :class:`MergeRules` is a
tuple of them plus global switches; it round-trips through JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import attrs

from autoops.errors import ConfigError

__all__ = ["KINDS", "NORMALIZERS", "IdType", "MergeRules"]

Kind = Literal["person_unique", "person_multi", "account", "device", "asset"]
KINDS: tuple[str, ...] = ("person_unique", "person_multi", "account", "device", "asset")
#: kinds whose values stand for one person (they count towards fan-out)
PERSON_KINDS = frozenset({"person_unique", "person_multi", "account"})
NORMALIZERS: tuple[str, ...] = ("phone", "email", "id", "id_lower", "vin")

#: values that mean "nothing" in every identifier column (compared lower-cased)
DEFAULT_BLOCKED = (
    "0",
    "-",
    "--",
    "n/a",
    "na",
    "nan",
    "nil",
    "none",
    "null",
    "undefined",
    "unknown",
    "anonymous",
    "test",
    "guest",
    "default",
)
#: well-known placeholder and test mobiles (E.164)
BLOCKED_PHONES = (
    "+8613800138000",
    "+8613800000000",
    "+8613812345678",
    "+8613888888888",
    "+8613900000000",
    "+8613912345678",
    "+8618888888888",
)


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _types(values: Any) -> tuple[IdType, ...]:
    return tuple(values)


def _check_name(instance: Any, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise ConfigError(
            f"{attribute.name} must be a snake_case name, got {value!r}", key=attribute.name
        )


def _check_kind(instance: Any, attribute: Any, value: str) -> None:
    if value not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {value!r}", key="kind")


def _check_normalizer(instance: Any, attribute: Any, value: str) -> None:
    if value not in NORMALIZERS:
        msg = f"normalizer must be one of {', '.join(NORMALIZERS)}, got {value!r}"
        raise ConfigError(msg, key="normalizer")


def _check_limit(instance: Any, attribute: Any, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(
            f"{attribute.name} must be a positive integer or None", key=attribute.name
        )


def _check_window(instance: Any, attribute: Any, value: str | None) -> None:
    if value is not None:
        from autoops._time import parse_duration

        parse_duration(value, key=attribute.name)


def _check_patterns(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"bad regex {pattern!r}: {exc}", key="blocked_patterns") from exc


@attrs.frozen(slots=True)
class IdType:
    """One identifier type: how to read, normalise, scope, trust and limit it.

    Semantics: a value of this type links every record holding it, unless the
    value is blocked (``blocked`` exact values compared after normalisation,
    ``blocked_patterns`` regular expressions searched in the normalised value,
    plus the :data:`DEFAULT_BLOCKED` words), lacks its scope, or is quarantined
    as a hub: a value whose records carry more than ``max_fanout`` distinct
    values of some *other* person-key type (kinds ``person_unique``,
    ``person_multi``, ``account``) is a shared device or line, not a person.
    ``max_per_person`` caps how many distinct values of this type one cluster
    may hold; unions that would exceed it are refused (highest ``priority``
    first, then the earliest-seen value). ``asset`` types (a VIN) never merge
    people: they attach records that carry nothing else to the owner of the
    asset at the record's time.

    Args:
        name: the type name (snake_case); also the default input column.
        kind: ``person_unique``, ``person_multi``, ``account``, ``device`` or ``asset``.
        normalizer: ``phone`` (E.164 mobile or landline), ``email``, ``id``
            (trimmed, case kept), ``id_lower`` (trimmed, lower-cased) or ``vin``.
        column: the input column; defaults to *name*.
        scope: the input column holding the value's scope (openid → ``wechat_appid``);
            a value without its scope is rejected with reason ``scope``.
        default_scope: the scope assumed when the scope column is empty (a
            deployment with one WeCom corp), or ``None`` to reject such values.
        priority: higher links first in the constrained pass.
        max_per_person: most distinct values one cluster may hold, or ``None``.
        max_fanout: hub threshold (see above), or ``None`` for no quarantine.
        blocked: exact normalised values that never link.
        blocked_patterns: regular expressions; a matching value never links.
        needs_verification: links need a true ``<column>_verified`` input column.
        max_per_person_window: with a duration (``"30d"``), ``max_per_person``
            counts only values first seen within that long of each other: a
            person may change phones over the years but not hold four new ones
            in a month. ``None``: over all time.
        recycle_on_verified_conflict: a value is handed on, not shared (a
            recycled mobile number): when a record with a true
            ``<column>_verified`` flag holds the value together with another
            person's identifiers, the older link ends at that record's time and
            the value links the new holder from then on. The value's first and
            last sighting per holder is in :meth:`Resolution.links`.

    Raises:
        ConfigError: a field is out of range; the error names the key.

    Examples:
        >>> IdType("member_no", kind="account", max_per_person=1).column
        'member_no'
        >>> IdType("member_no", kind="people")
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: kind: kind must be one of ... got 'people' [config_error]
    """

    name: str = attrs.field(validator=_check_name)
    kind: str = attrs.field(validator=_check_kind)
    normalizer: str = attrs.field(default="id", validator=_check_normalizer)
    column: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))
    scope: str | None = None
    default_scope: str | None = None
    priority: int = 50
    max_per_person: int | None = attrs.field(default=None, validator=_check_limit)
    max_per_person_window: str | None = attrs.field(default=None, validator=_check_window)
    recycle_on_verified_conflict: bool = False
    max_fanout: int | None = attrs.field(default=None, validator=_check_limit)
    blocked: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    blocked_patterns: tuple[str, ...] = attrs.field(
        default=(), converter=_strs, validator=_check_patterns
    )
    needs_verification: bool = False

    @property
    def is_person_key(self) -> bool:
        """Whether values of this type stand for one person (they count in fan-out).

        Examples:
            >>> IdType("device_id", kind="device").is_person_key
            False
        """
        return self.kind in PERSON_KINDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it.

        Examples:
            >>> IdType("crm_id", kind="account").to_dict()["kind"]
            'account'
        """
        out = attrs.asdict(self)
        out["blocked"] = list(self.blocked)
        out["blocked_patterns"] = list(self.blocked_patterns)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IdType:
        """Build from :meth:`to_dict` output; unknown keys are a :class:`ConfigError`.

        Examples:
            >>> t = IdType("crm_id", kind="account", max_per_person=3)
            >>> IdType.from_dict(t.to_dict()) == t
            True
        """
        known = {f.name for f in attrs.fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise ConfigError(f"unknown IdType keys: {', '.join(extra)}", key=extra[0])
        return cls(**data)


def _builtin_types(protected: bool) -> tuple[IdType, ...]:
    def lim(value: int) -> int | None:
        return value if protected else None

    pats: tuple[str, ...] = ()
    if protected:
        # all one digit after the leading 1, the last nine the same, or a run of 8 in order
        pats = (r"^\+861(\d)\1{9}$", r"^\+861\d(\d)\1{8}$", r"12345678|87654321")
    return (
        IdType("phone", "person_multi", "phone", priority=90, max_per_person=lim(3),
               max_fanout=lim(5), blocked=BLOCKED_PHONES if protected else (),
               blocked_patterns=pats, recycle_on_verified_conflict=protected),
        IdType("wechat_unionid", "person_unique", "id", priority=100, max_per_person=lim(1),
               max_fanout=lim(3)),
        IdType("wechat_openid", "person_multi", "id", scope="wechat_appid", priority=95,
               max_per_person=lim(6), max_fanout=lim(3)),
        IdType("wecom_external_userid", "person_multi", "id", scope="wecom_corp_id",
               priority=85, max_per_person=lim(4), max_fanout=lim(3)),
        IdType("app_user_id", "account", "id", priority=80, max_per_person=lim(2),
               max_fanout=lim(5)),
        IdType("crm_id", "account", "id", priority=70, max_per_person=lim(5),
               max_fanout=lim(5)),
        IdType("email", "person_multi", "email", priority=60, max_per_person=lim(3),
               max_fanout=lim(5)),
        IdType("device_id", "device", "id_lower", priority=30, max_per_person=lim(6),
               max_fanout=lim(3),
               blocked_patterns=(r"^[0\-]+$",) if protected else ()),
        IdType("vin", "asset", "vin", priority=20),
    )  # fmt: skip


def _check_types(instance: Any, attribute: Any, value: tuple[IdType, ...]) -> None:
    names = [t.name for t in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate identifier types: {', '.join(dupes)}", key="types")
    cols = [t.column for t in value]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise ConfigError(f"two types read the same column: {', '.join(dupes)}", key="types")
    if not value:
        raise ConfigError("at least one identifier type is needed", key="types")


@attrs.frozen(slots=True)
class MergeRules:
    """The complete merge configuration: identifier types plus global switches.

    Args:
        types: the identifier types, in any order (``priority`` orders them).
        block_defaults: also block :data:`DEFAULT_BLOCKED` words in every column.
        consent_required: with a consent table, records whose phone has no
            consent row are not linked either (default: only an explicit
            ``identity_merge=False`` or a revocation stops links).

    Raises:
        ConfigError: duplicate type names or columns.

    Examples:
        >>> rules = MergeRules.automotive_default()
        >>> rules["phone"].max_per_person
        3
        >>> MergeRules.from_json(rules.to_json()) == rules
        True
    """

    types: tuple[IdType, ...] = attrs.field(converter=_types, validator=_check_types)
    block_defaults: bool = True
    consent_required: bool = False

    @classmethod
    def automotive_default(cls) -> MergeRules:
        """The documented default for car makers (see docs/identity/rules.md).

        Phone (E.164, up to 3 per person, hub above 5 co-occurring keys),
        WeChat unionid (1 per person), openid scoped by app id, WeCom
        external_userid scoped by corp id, app user id, dealer CRM id, e-mail,
        device id (hub above 3 people, the all-zero advertising id blocked) and
        VIN as an asset. Placeholder and test mobiles are blocked.

        Examples:
            >>> [t.name for t in MergeRules.automotive_default().types][:3]
            ['phone', 'wechat_unionid', 'wechat_openid']
        """
        return cls(_builtin_types(protected=True))

    @classmethod
    def unprotected(cls) -> MergeRules:
        """The built-in types with every protection off: plain connected components.

        No limits, no hub quarantine, no blocked values (malformed values and
        missing scopes are still rejected). Use it as a baseline, never in
        production: one showroom tablet fuses hundreds of people.

        Examples:
            >>> MergeRules.unprotected()["device_id"].max_fanout is None
            True
        """
        return cls(_builtin_types(protected=False), block_defaults=False)

    def __getitem__(self, name: str) -> IdType:
        for t in self.types:
            if t.name == name:
                return t
        raise ConfigError(f"no identifier type {name!r}", key=name)

    @property
    def names(self) -> tuple[str, ...]:
        """Type names in declaration order.

        Examples:
            >>> MergeRules.automotive_default().names[-1]
            'vin'
        """
        return tuple(t.name for t in self.types)

    def replace(self, name: str, **changes: Any) -> MergeRules:
        """A copy with one type's fields changed.

        Examples:
            >>> MergeRules.automotive_default().replace("phone", max_fanout=9)["phone"].max_fanout
            9
        """
        types = tuple(attrs.evolve(t, **changes) if t.name == name else t for t in self.types)
        self[name]
        return attrs.evolve(self, types=types)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict.

        Examples:
            >>> sorted(MergeRules.automotive_default().to_dict())
            ['block_defaults', 'consent_required', 'types']
        """
        return {
            "types": [t.to_dict() for t in self.types],
            "block_defaults": self.block_defaults,
            "consent_required": self.consent_required,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergeRules:
        """Build from :meth:`to_dict` output.

        Examples:
            >>> MergeRules.from_dict({"types": [{"name": "crm_id", "kind": "account"}]}).names
            ('crm_id',)
        """
        extra = sorted(set(data) - {"types", "block_defaults", "consent_required"})
        if extra:
            raise ConfigError(f"unknown MergeRules keys: {', '.join(extra)}", key=extra[0])
        if "types" not in data:
            raise ConfigError("MergeRules needs 'types'", key="types")
        return cls(
            tuple(IdType.from_dict(dict(t)) for t in data["types"]),
            block_defaults=bool(data.get("block_defaults", True)),
            consent_required=bool(data.get("consent_required", False)),
        )

    def to_json(self) -> str:
        """JSON text (sorted keys).

        Examples:
            >>> MergeRules.automotive_default().to_json().startswith('{"block_defaults"')
            True
        """
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MergeRules:
        """Parse :meth:`to_json` output.

        Raises:
            ConfigError: the text is not valid JSON or has unknown keys.

        Examples:
            >>> MergeRules.from_json('{"types": [{"name": "crm_id", "kind": "account"}]}').names
            ('crm_id',)
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc}", key="json") from exc
        return cls.from_dict(data)
