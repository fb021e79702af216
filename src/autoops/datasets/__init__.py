"""A realistic, deterministic synthetic car-maker dataset with ground truth.

``synthetic(people=…, seed=…)`` builds people, touchpoint events across the
public and private domain (with messy identifiers and the traps a real merger
faces), leads, follow-up contacts, dealers, staff, kiosks, consent and VIN
ownership. Ground truth sits in ``true_*`` columns that no algorithm needs.
The schema and the rates are documented in ``docs/datasets.md``.

Examples:
    >>> from autoops.datasets import synthetic
    >>> data = synthetic(people=200, seed=7)
    >>> len(data.people), len(data.events) > 1000, data.dealers.dealer_id[0]
    (200, True, 'D0000')
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import numpy.typing as npt

from autoops._display import html_table, short_repr
from autoops.datasets._events import make_events
from autoops.datasets._leads import make_consent, make_leads
from autoops.datasets._people import CITIES, DAY_US, e164, make_dealers, make_population
from autoops.datasets._tables import (
    ConsentTable,
    ContactTable,
    DealerTable,
    EventTable,
    KioskTable,
    LeadTable,
    PeopleTable,
    StaffTable,
    VinOwnerTable,
)
from autoops.errors import ConfigError

__all__ = [
    "ConsentTable",
    "ContactTable",
    "DealerTable",
    "EventTable",
    "KioskTable",
    "LeadTable",
    "PeopleTable",
    "StaffTable",
    "SyntheticDataset",
    "VinOwnerTable",
    "synthetic",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@attrs.frozen(slots=True)
class SyntheticDataset:
    """The tables of one synthetic car maker (see ``docs/datasets.md``).

    Attributes:
        people: ground truth, one row per person.
        events: touchpoint events; the record table for identity resolution.
        leads: captured leads (留资).
        contacts: follow-up contacts of leads by dealer staff.
        dealers, staff, kiosks: dealers, their consultants and showroom tablets.
        consent: consent records of members.
        vin_owners: ground truth of who owned which VIN when.
        as_of: the end of the generated period (``datetime64[us]``, UTC).
        truth_traps: the raw trap values (tablets, hotlines, test numbers, ...),
            for tests and demos only.

    Examples:
        >>> data = synthetic(people=50, seed=1)
        >>> data.as_of
        np.datetime64('2025-12-31T16:00:00.000000')
        >>> sorted(data.truth_traps)[:2]
        ['consultant_phones', 'fake_device_ids']
    """

    people: PeopleTable
    events: EventTable
    leads: LeadTable
    contacts: ContactTable
    dealers: DealerTable
    staff: StaffTable
    kiosks: KioskTable
    consent: ConsentTable
    vin_owners: VinOwnerTable
    as_of: np.datetime64
    truth_traps: dict[str, list[str]]

    def tables(self) -> dict[str, Any]:
        """Every table by name.

        Examples:
            >>> sorted(synthetic(people=5, seed=1).tables())[:3]
            ['consent', 'contacts', 'dealers']
        """
        return {
            f.name: getattr(self, f.name)
            for f in attrs.fields(SyntheticDataset)
            if f.name not in ("as_of", "truth_traps")
        }

    def __repr__(self) -> str:
        return short_repr("SyntheticDataset", **{k: len(v) for k, v in self.tables().items()})

    def _repr_html_(self) -> str:
        return html_table(
            "Synthetic dataset", ["table", "rows"], [[k, len(v)] for k, v in self.tables().items()]
        )


def synthetic(
    people: int = 10_000,
    seed: int = 0,
    *,
    start: datetime | None = None,
    months: int = 12,
    events_per_month: float = 1.0,
    tablet_share: float = 0.02,
    hotline_share: float = 0.01,
) -> SyntheticDataset:
    """Generate a deterministic synthetic car-maker dataset.

    The same arguments always give identical tables. Rates follow the
    industry figures in the docs: about 45% of people shop for a car in the
    period (leave a lead); 40% of leads visit, 65% of visitors test-drive, 35%
    of test drivers place a small order, 15% of small orders are refunded, 80%
    of the rest become big orders and 95% of those are delivered. 70% of
    people are private-domain members. Traps: *tablet_share* of people
    register on a showroom tablet shared by about 200 people, *hotline_share*
    have a dealer hotline typed as their phone, 0.5% a consultant's phone,
    0.3% a test number; 3% of cars are resold; one lead in about 20 is fake.

    Args:
        people: how many true people.
        seed: the random seed.
        start: the first instant (default 2025-01-01 00:00 Asia/Shanghai).
        months: the length of the period.
        events_per_month: mean private-domain interactions per member and month.
        tablet_share: share of people who register on a showroom tablet.
        hotline_share: share of people with a dealer hotline as their phone.

    Returns:
        A :class:`SyntheticDataset`.

    Raises:
        ConfigError: a parameter is out of range.

    Examples:
        >>> a = synthetic(people=100, seed=3)
        >>> b = synthetic(people=100, seed=3)
        >>> bool((a.events.ts == b.events.ts).all())
        True
        >>> synthetic(people=0)
        Traceback (most recent call last):
        ...
        autoops.errors.ConfigError: people: must be at least 1, got 0 [config_error]
    """
    if people < 1:
        raise ConfigError(f"must be at least 1, got {people}", key="people")
    if months < 1:
        raise ConfigError(f"must be at least 1, got {months}", key="months")
    for key, share in (("tablet_share", tablet_share), ("hotline_share", hotline_share)):
        if not 0 <= share <= 0.5:
            raise ConfigError(f"must lie in [0, 0.5], got {share}", key=key)
    if events_per_month <= 0:
        raise ConfigError(f"must be positive, got {events_per_month}", key="events_per_month")
    start = start or datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    if start.tzinfo is None:
        raise ConfigError("must be timezone-aware", key="start")
    start_us = int((start - _EPOCH).total_seconds() * 1_000_000)
    end_us = start_us + round(months * 30.4375) * DAY_US
    rng = np.random.default_rng(seed)

    dealers = make_dealers(rng, people, tablet_share)
    pop = make_population(rng, people, start_us, end_us, dealers)
    events, funnel, traps, spans = make_events(
        rng, pop, dealers, start_us, end_us, events_per_month, tablet_share, hotline_share
    )
    leads, contacts = make_leads(rng, pop, dealers, funnel, events, end_us)
    consent = make_consent(rng, pop, end_us)
    owners = np.zeros(people, dtype=bool)
    owners[spans["person"][spans["to"] < 0]] = True
    traps["resold_vins"] = spans["vin"][spans["to"] >= 0].tolist()

    city_names = np.array([c[0] for c in CITIES], dtype=object)
    provinces = np.array([c[1] for c in CITIES], dtype=object)
    nat = np.iinfo(np.int64).min
    return SyntheticDataset(
        people=PeopleTable(
            person_id=np.arange(people, dtype=np.int64),
            city=city_names[pop.city_idx],
            province=provinces[pop.city_idx],
            age=pop.age,
            gender=pop.gender,
            orientation=np.where(pop.rational, "rational", "emotional").astype(object),
            is_owner=owners,
            member=pop.member,
            joined_at=np.where(pop.member, pop.joined_us, nat).view("datetime64[us]"),
            tags=pop.tags,
            true_phone=e164(pop.phone),
            series_interest=pop.series,
        ),
        events=EventTable(event_id=np.arange(len(events["ts"]), dtype=np.int64), **events),
        leads=LeadTable(**leads),
        contacts=ContactTable(**contacts),
        dealers=DealerTable(
            dealer_id=dealers.ids,
            name=np.array(
                [f"{city_names[c]} {i:04d} 4S" for i, c in enumerate(dealers.city_idx)],
                dtype=object,
            ),
            city=city_names[dealers.city_idx],
            province=provinces[dealers.city_idx],
            daily_capacity=dealers.capacity,
            weight=dealers.weight,
            performance=dealers.performance,
            lat=dealers.lat,
            lon=dealers.lon,
            hotline=dealers.hotline_raw,
        ),
        staff=StaffTable(
            staff_id=dealers.staff_ids,
            dealer_id=dealers.ids[dealers.staff_dealer],
            phone=e164(dealers.staff_phone),
            wecom_userid=dealers.staff_wecom,
        ),
        kiosks=KioskTable(
            device_id=dealers.tablet_ids, dealer_id=dealers.ids[dealers.tablet_dealer]
        ),
        consent=ConsentTable(**consent),
        vin_owners=VinOwnerTable(
            vin=spans["vin"],
            true_person_id=spans["person"],
            valid_from=spans["from"].view("datetime64[us]"),
            valid_to=np.where(spans["to"] < 0, nat, spans["to"]).view("datetime64[us]"),
        ),
        as_of=np.datetime64(end_us, "us"),
        truth_traps=traps,
    )


def _set_module(names: list[str]) -> None:
    for name in names:
        obj: Any = globals()[name]
        obj.__module__ = __name__


_set_module(__all__)
_Array = npt.NDArray[Any]
