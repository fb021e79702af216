"""The :func:`resolve` entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoops.identity._prepare import prepare
from autoops.identity._resolution import Resolution
from autoops.identity._rules import MergeRules
from autoops.identity._solve import solve

__all__ = ["resolve"]


def resolve(
    records: Any,
    rules: MergeRules | None = None,
    *,
    staff: Any = None,
    kiosks: Any = None,
    consent: Any = None,
    columns: Mapping[str, str] | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    secret: bytes | tuple[bytes, ...] | None = None,
    assume_tz: str | None = None,
) -> Resolution:
    """Merge records into people: one ``one_id`` per record, with the evidence.

    Semantics: every present identifier is normalised (phones to E.164, e-mail
    lower-cased, VINs upper-cased …) and scoped (openid by ``wechat_appid``,
    WeCom external_userid by ``wecom_corp_id``); records sharing a usable value
    of a person or device type join one cluster (connected components). A
    value is *not* usable when it is malformed, blocked (placeholder, test,
    400/800 numbers, ``null``, …), registered as staff or kiosk, missing its
    scope, lacks ``identity_merge`` consent, or is a hub (its records carry
    more than ``max_fanout`` distinct values of another person type). Clusters
    that would exceed ``max_per_person`` are rebuilt by a union-find in
    priority order that refuses the offending links. Asset values (VIN) never
    merge two people: a record holding only a VIN joins whoever owned the car
    at its time. Every refusal is listed in :meth:`Resolution.rejected`.
    The result depends only on the content, never on the row order.

    Args:
        records: a mapping of columns, or a pandas/polars/pyarrow/autoops table.
            Columns named after identifier types (``phone``, ``wechat_unionid``,
            ``wechat_openid`` + ``wechat_appid``, ``wecom_external_userid`` +
            ``wecom_corp_id``, ``app_user_id``, ``crm_id``, ``email``,
            ``device_id``, ``vin``) are recognised; ``record_id``/``event_id``
            and ``ts`` are used when present.
        rules: the merge rules; :meth:`MergeRules.automotive_default` if ``None``.
        staff: registry table(s) of staff identifiers (e.g. ``phone``); those
            values never link (reason ``staff``).
        kiosks: registry table(s) of showroom devices (``device_id``); reason ``kiosk``.
        consent: a table with ``phone``, ``identity_merge`` and optional
            ``revoked_at``; records whose phone has ``identity_merge`` false or
            revoked link nothing (reason ``consent``).
        columns: map other input column names to type names, ``{"mobile": "phone"}``.
        id_column: the record id column (default: ``record_id``, ``event_id`` …, or row numbers).
        time_column: the time column (default ``ts``), used for ages and VIN spans.
        secret: with a secret, identifier tokens are HMAC-SHA256 keyed hashes.
        assume_tz: the zone of naive times in the time column (e.g.
            ``"Asia/Shanghai"`` for local times exported without an offset); by
            default naive times are refused. numpy ``datetime64`` values are UTC.

    Returns:
        A :class:`Resolution`.

    Raises:
        InvalidInput: duplicate record ids (the rows are named), or no identifier column.
        ConfigError: a ``columns`` entry names an unknown type.

    Examples:
        >>> res = resolve({
        ...     "phone": ["+86 138-0013-8001", "008613800138001", None, None],
        ...     "device_id": [None, "d1", "d1", "d2"],
        ... })
        >>> res.one_id[0] == res.one_id[1] == res.one_id[2], res.people
        (np.True_, 2)
    """
    rules = MergeRules.automotive_default() if rules is None else rules
    prep = prepare(
        records,
        rules,
        columns_map=columns,
        id_column=id_column,
        time_column=time_column,
        staff=staff,
        kiosks=kiosks,
        consent=consent,
        secret=secret,
        assume_tz=assume_tz,
    )
    sol = solve(prep, rules)
    return Resolution(prep.record_id, sol.one_id, rules, prep, sol)
