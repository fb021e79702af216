"""The column tables of the synthetic dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops._masking import mask_value
from autoops._optional import require
from autoops._tabular import Tabular

if TYPE_CHECKING:
    from autoops.models import Consent, Dealer, Lead, TouchpointEvent

__all__ = [
    "ConsentTable",
    "ContactTable",
    "DealerTable",
    "EventTable",
    "KioskTable",
    "LeadTable",
    "PeopleTable",
    "StaffTable",
    "VinOwnerTable",
]

Array = npt.NDArray[Any]
_PERSONAL = frozenset(
    {
        "phone",
        "email",
        "wechat_unionid",
        "wechat_openid",
        "wecom_external_userid",
        "app_user_id",
        "crm_id",
        "device_id",
        "vin",
        "name",
        "true_phone",
        "ip",
        "wecom_userid",
        "hotline",
    }
)


class _Table(Tabular):
    """Shared behaviour of dataset tables: writers, masked repr, notebook view."""

    __slots__ = ()

    def _columns(self) -> dict[str, Array]:
        return attrs.asdict(self, recurse=False)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        cols = self._columns()
        return short_repr(type(self).__name__, rows=len(self), columns=len(cols))

    def _repr_html_(self) -> str:
        cols = self._columns()
        names = list(cols)
        head = min(len(self), 10)
        rows = [
            [mask_value(cols[c][i]) if c in _PERSONAL else cols[c][i] for c in names]
            for i in range(head)
        ]
        return html_table(f"{type(self).__name__}: {len(self)} rows", names, rows)

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as UTF-8 CSV with a header; timestamps in ISO 8601 UTC.

        Examples:
            >>> import tempfile, pathlib
            >>> from autoops.datasets import synthetic
            >>> d = pathlib.Path(tempfile.mkdtemp())
            >>> synthetic(people=5, seed=1).dealers.to_csv(d / "dealers.csv").name
            'dealers.csv'
        """
        path = Path(path)
        cols = self._columns()
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(list(cols))
            writer.writerows(zip(*(_text(v) for v in cols.values()), strict=True))
        return path

    def to_jsonl(self, path: str | Path) -> Path:
        """Write one JSON object per line; timestamps in ISO 8601 UTC, NaN as null.

        Examples:
            >>> import tempfile, pathlib, json
            >>> from autoops.datasets import synthetic
            >>> p = synthetic(people=5, seed=1).dealers.to_jsonl(pathlib.Path(tempfile.mkdtemp()) / "d.jsonl")
            >>> sorted(json.loads(p.read_text().splitlines()[0]))[:2]
            ['city', 'daily_capacity']
        """
        path = Path(path)
        cols = self._columns()
        with path.open("w", encoding="utf-8") as fh:
            for row in zip(*(_json_values(v) for v in cols.values()), strict=True):
                fh.write(json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False))
                fh.write("\n")
        return path

    def to_parquet(self, path: str | Path) -> Path:
        """Write Parquet (needs the ``[arrow]`` extra).

        Examples:
            >>> import tempfile, pathlib
            >>> from autoops.datasets import synthetic
            >>> d = pathlib.Path(tempfile.mkdtemp())
            >>> synthetic(people=5, seed=1).people.to_parquet(d / "people.parquet").suffix
            '.parquet'
        """
        pq = require("pyarrow.parquet", "arrow")
        path = Path(path)
        pq.write_table(self.to_arrow(), path)
        return path


def _text(values: Array) -> list[Any]:
    if values.dtype.kind == "M":
        return ["" if np.isnat(v) else f"{np.datetime_as_string(v, unit='s')}Z" for v in values]
    return ["" if v is None else v for v in values.tolist()]


def _json_values(values: Array) -> list[Any]:
    if values.dtype.kind == "M":
        return [None if np.isnat(v) else f"{np.datetime_as_string(v, unit='s')}Z" for v in values]
    if values.dtype.kind == "f":
        return [None if np.isnan(v) else v for v in values.tolist()]
    out: list[Any] = values.tolist()
    return out


@attrs.frozen(slots=True, repr=False)
class PeopleTable(_Table):
    """Ground truth: one row per true person, with attributes.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).people
        >>> len(table) == len(table.person_id)
        True
    """

    person_id: Array
    city: Array
    province: Array
    age: Array
    gender: Array
    orientation: Array
    is_owner: Array
    member: Array
    joined_at: Array
    tags: Array
    true_phone: Array
    series_interest: Array


@attrs.frozen(slots=True, repr=False)
class EventTable(_Table):
    """Touchpoint events; also the record table for identity resolution.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).events
        >>> len(table) == len(table.event)
        True
    """

    event_id: Array
    ts: Array
    touchpoint: Array
    event: Array
    dealer_id: Array
    order_id: Array
    amount: Array
    category: Array
    phone: Array
    email: Array
    wechat_unionid: Array
    wechat_openid: Array
    wechat_appid: Array
    wecom_external_userid: Array
    wecom_corp_id: Array
    app_user_id: Array
    crm_id: Array
    device_id: Array
    vin: Array
    true_person_id: Array
    true_fake: Array

    def to_records(self, limit: int | None = None) -> list[TouchpointEvent]:
        """The first *limit* rows (all by default) as validated ``TouchpointEvent`` models.

        Malformed identifiers (the dataset's deliberate typos and fakes) are
        left out of a record's ``identifiers`` rather than failing the row.

        Examples:
            >>> from autoops.datasets import synthetic
            >>> e = synthetic(people=20, seed=1).events.to_records(limit=1)[0]
            >>> e.occurred_at.tzinfo is not None
            True
        """
        from autoops._time import to_datetime
        from autoops.models import Identifiers, TouchpointEvent

        stop = len(self) if limit is None else min(limit, len(self))
        id_names = [f.name for f in attrs.fields(EventTable) if f.name in Identifiers.model_fields]
        out = []
        for i in range(stop):
            ids = {name: getattr(self, name)[i] for name in id_names}
            amount = float(self.amount[i])
            out.append(
                TouchpointEvent(
                    event_id=str(self.event_id[i]),
                    occurred_at=to_datetime(self.ts[i]),
                    touchpoint=self.touchpoint[i],
                    event=self.event[i],
                    identifiers=_lenient_identifiers(ids),
                    dealer_id=self.dealer_id[i],
                    order_id=self.order_id[i],
                    amount=None if np.isnan(amount) else amount,
                    properties={} if self.category[i] is None else {"category": self.category[i]},
                )
            )
        return out


def _lenient_identifiers(values: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from autoops.models import Identifiers

    present = {k: v for k, v in values.items() if v is not None}
    try:
        return Identifiers(**present)
    except ValidationError as exc:
        bad = {str(err["loc"][0]) for err in exc.errors(include_input=False)}
        return Identifiers(**{k: v for k, v in present.items() if k not in bad})


@attrs.frozen(slots=True, repr=False)
class LeadTable(_Table):
    """Captured leads (留资), messy as they arrive.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).leads
        >>> len(table) == len(table.lead_id)
        True
    """

    lead_id: Array
    created_at: Array
    touchpoint: Array
    phone: Array
    name: Array
    dealer_id: Array
    series: Array
    city: Array
    province: Array
    grade: Array
    status: Array
    stated_horizon_days: Array
    device_id: Array
    ip: Array
    last_contact_at: Array
    true_person_id: Array
    true_fake: Array

    def to_records(self, limit: int | None = None) -> list[Lead]:
        """The first *limit* rows as ``Lead`` models (invalid phones left out).

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=50, seed=1).leads.to_records(limit=1)[0].lead_id
            'L00000000'
        """
        from autoops._time import to_datetime
        from autoops.models import Lead

        stop = len(self) if limit is None else min(limit, len(self))
        out = []
        for i in range(stop):
            horizon = int(self.stated_horizon_days[i])
            out.append(
                Lead(
                    lead_id=self.lead_id[i],
                    created_at=to_datetime(self.created_at[i]),
                    touchpoint=self.touchpoint[i],
                    identifiers=_lenient_identifiers(
                        {"phone": self.phone[i], "device_id": self.device_id[i]}
                    ),
                    name=self.name[i],
                    dealer_id=self.dealer_id[i],
                    series=self.series[i],
                    city=self.city[i],
                    province=self.province[i],
                    grade=self.grade[i],
                    status=self.status[i],
                    stated_horizon_days=None if horizon < 0 else horizon,
                )
            )
        return out


@attrs.frozen(slots=True, repr=False)
class ContactTable(_Table):
    """Follow-up contacts of leads by dealer staff.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).contacts
        >>> len(table) == len(table.kind)
        True
    """

    lead_id: Array
    ts: Array
    kind: Array
    staff_id: Array
    after_test_drive: Array


@attrs.frozen(slots=True, repr=False)
class DealerTable(_Table):
    """Dealers (经销商) with their areas, capacities and hotlines.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).dealers
        >>> len(table) == len(table.dealer_id)
        True
    """

    dealer_id: Array
    name: Array
    city: Array
    province: Array
    daily_capacity: Array
    weight: Array
    performance: Array
    lat: Array
    lon: Array
    hotline: Array

    def to_records(self, limit: int | None = None) -> list[Dealer]:
        """The first *limit* rows (all by default) as ``Dealer`` models; each serves its city.

        Examples:
            >>> from autoops.datasets import synthetic
            >>> synthetic(people=50, seed=1).dealers.to_records(limit=1)[0].dealer_id
            'D0000'
        """
        from autoops.models import Dealer

        stop = len(self) if limit is None else min(limit, len(self))
        return [
            Dealer(
                dealer_id=self.dealer_id[i],
                name=self.name[i],
                city=self.city[i],
                province=self.province[i],
                daily_capacity=int(self.daily_capacity[i]),
                weight=float(self.weight[i]),
                performance=float(self.performance[i]),
                lat=float(self.lat[i]),
                lon=float(self.lon[i]),
            )
            for i in range(stop)
        ]


@attrs.frozen(slots=True, repr=False)
class StaffTable(_Table):
    """Sales consultants: the staff registry for identity resolution.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).staff
        >>> len(table) == len(table.staff_id)
        True
    """

    staff_id: Array
    dealer_id: Array
    phone: Array
    wecom_userid: Array


@attrs.frozen(slots=True, repr=False)
class KioskTable(_Table):
    """Showroom tablets and kiosks (one device id, many customers).

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).kiosks
        >>> len(table) == len(table.device_id)
        True
    """

    device_id: Array
    dealer_id: Array


@attrs.frozen(slots=True, repr=False)
class ConsentTable(_Table):
    """Consent per person who gave any, keyed by phone.

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).consent
        >>> len(table) == len(table.marketing)
        True
    """

    true_person_id: Array
    phone: Array
    marketing: Array
    analytics: Array
    identity_merge: Array
    third_party_sharing: Array
    granted_at: Array
    revoked_at: Array
    opt_out_sms: Array
    opt_out_wecom: Array
    opt_out_email: Array
    tz: Array

    def to_records(self, limit: int | None = None) -> list[Consent]:
        """The first *limit* rows as ``Consent`` models keyed by the E.164 phone.

        Every granted purpose becomes a grant from ``granted_at`` (to ``revoked_at``
        when the person withdrew); opt-out flags become channel opt-outs.

        Examples:
            >>> from autoops.datasets import synthetic
            >>> consent = synthetic(people=50, seed=1).consent.to_records(limit=1)[0]
            >>> consent.subject_id.startswith("+86"), consent.tz
            (True, 'Asia/Shanghai')
        """
        from autoops._time import to_datetime
        from autoops.models import Consent, ConsentGrant, Purpose

        stop = len(self) if limit is None else min(limit, len(self))
        flags = {purpose: getattr(self, purpose.value) for purpose in Purpose}
        channels = {
            "sms": self.opt_out_sms,
            "wecom": self.opt_out_wecom,
            "email": self.opt_out_email,
        }
        out = []
        for i in range(stop):
            granted = to_datetime(self.granted_at[i])
            revoked = None if np.isnat(self.revoked_at[i]) else to_datetime(self.revoked_at[i])
            grants = [
                ConsentGrant(purpose=purpose, granted_at=granted, revoked_at=revoked)
                for purpose, column in flags.items()
                if column[i]
            ]
            opt_outs = frozenset(name for name, column in channels.items() if column[i])
            out.append(
                Consent(subject_id=self.phone[i], grants=grants, opt_outs=opt_outs, tz=self.tz[i])
            )
        return out


@attrs.frozen(slots=True, repr=False)
class VinOwnerTable(_Table):
    """Ground truth: who owned which VIN when (resales included).

    Examples:
        >>> from autoops.datasets import synthetic
        >>> table = synthetic(people=50, seed=1).vin_owners
        >>> len(table) == len(table.vin)
        True
    """

    vin: Array
    true_person_id: Array
    valid_from: Array
    valid_to: Array
