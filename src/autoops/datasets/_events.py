"""Touchpoint events: engagement, the sales funnel, spend, outbound pushes and traps."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._tabular import NULL
from autoops.datasets._people import DAY_US, TEST_NUMBERS, Dealers, Population, messy_phones
from autoops.datasets._strings import id_strings, pick

__all__ = ["EventColumns", "Funnel", "make_events"]

Array = npt.NDArray[Any]
HOUR_US = 3_600_000_000
MINI_APPID = "wx5e1a0c0mini0001"
OA_APPID = "wx9b2f7d0oa000001"
CORP_ID = "ww4c7e0corp000001"
ID_COLUMNS = (
    "phone",
    "email",
    "wechat_unionid",
    "wechat_openid",
    "wechat_appid",
    "wecom_external_userid",
    "wecom_corp_id",
    "app_user_id",
    "crm_id",
    "device_id",
    "vin",
)
CONTENT_RATIONAL = ["spec", "price", "test_report"]
CONTENT_EMOTIONAL = ["lifestyle", "travel", "community"]


@attrs.frozen(slots=True)
class Funnel:
    """Per-prospect funnel outcome (internal; feeds leads and contacts)."""

    person: npt.NDArray[np.int64]
    lead_us: npt.NDArray[np.int64]
    lead_touchpoint: Array
    dealer: npt.NDArray[np.int64]
    visit_us: npt.NDArray[np.int64]  # -1 when the step was not reached
    test_drive_us: npt.NDArray[np.int64]
    small_order_us: npt.NDArray[np.int64]
    refund_us: npt.NDArray[np.int64]
    big_order_us: npt.NDArray[np.int64]
    delivery_us: npt.NDArray[np.int64]
    order_id: Array
    vin: Array


@attrs.define
class EventColumns:
    """Blocks of events inside [start, end) collected before one concatenation (internal).

    Rows drawn past the period end (follow-ups that have not happened yet) are
    dropped per block, where only the block's own columns need filtering.
    """

    start_us: int
    end_us: int
    blocks: list[dict[str, Array]] = attrs.field(factory=list)

    def add(
        self,
        person: npt.NDArray[np.int64],
        ts: npt.NDArray[np.int64],
        touchpoint: Any,
        event: Any,
        **cols: Any,
    ) -> None:
        inside = (ts >= self.start_us) & (ts < self.end_us)
        if not inside.all():
            person, ts = person[inside], ts[inside]
            touchpoint, event = _keep(touchpoint, inside), _keep(event, inside)
            cols = {name: _keep(value, inside) for name, value in cols.items()}
        if len(person) == 0:
            return
        block: dict[str, Array] = {
            "true_person_id": person.astype(np.int64),
            "ts": ts.astype(np.int64),
            "touchpoint": touchpoint,
            "event": event,
        }
        block.update(cols)
        self.blocks.append(block)

    def concat(self) -> dict[str, Array]:
        names = [
            "true_person_id",
            "ts",
            "touchpoint",
            "event",
            "dealer_id",
            "order_id",
            "amount",
            "category",
            *ID_COLUMNS,
        ]
        total = sum(len(b["ts"]) for b in self.blocks)
        out: dict[str, Array] = {}
        for name in names:
            if name in ("true_person_id", "ts"):
                out[name] = np.concatenate([b[name] for b in self.blocks])
                continue
            column = (
                np.full(total, np.nan) if name == "amount" else np.full(total, None, dtype=object)
            )
            at = 0
            for b in self.blocks:
                n = len(b["ts"])
                if name in b:
                    column[at : at + n] = b[name]
                at += n
            out[name] = column
        return out


def _keep(value: Any, rows: npt.NDArray[np.bool_]) -> Any:
    return value[rows] if isinstance(value, np.ndarray) else value


def _choose_rows(
    rng: np.random.Generator, weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """One weighted column choice per row of *weights* (rows sum > 0)."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    choice: npt.NDArray[np.int64] = (u[:, None] >= cum).sum(axis=1).astype(np.int64)
    return choice


def make_events(
    rng: np.random.Generator,
    pop: Population,
    dealers: Dealers,
    start_us: int,
    end_us: int,
    events_per_month: float,
    tablet_share: float,
    hotline_share: float,
) -> tuple[dict[str, Array], Funnel, dict[str, list[str]], dict[str, Array]]:
    """All events, grouped by source (not sorted by time); also funnel outcomes, traps, VIN spans."""
    cols = EventColumns(start_us, end_us)
    funnel = _funnel(rng, pop, dealers, start_us, end_us, cols)
    vin_spans = _owners(rng, pop, dealers, funnel, start_us, end_us, cols)
    _engagement(rng, pop, start_us, end_us, events_per_month, cols)
    _public(rng, pop, start_us, end_us, cols)
    _outbound(rng, pop, start_us, end_us, cols)
    traps = _traps(rng, pop, dealers, start_us, end_us, tablet_share, hotline_share, cols)
    data = cols.concat()
    data["ts"] = data["ts"].view("datetime64[us]")
    data["true_fake"] = data["true_person_id"] < 0
    return data, funnel, traps, vin_spans


def _phone_of(
    rng: np.random.Generator, pop: Population, person: npt.NDArray[np.int64], typo: float = 0.003
) -> Array:
    numbers = pop.phone[person].copy()
    bad = rng.random(len(numbers)) < typo
    # a typo changes one of the last eight digits
    place = 10 ** rng.integers(0, 8, int(bad.sum()))
    digit = (numbers[bad] // place) % 10
    numbers[bad] += ((digit + rng.integers(1, 10, int(bad.sum()))) % 10 - digit) * place
    return messy_phones(rng, numbers)


def _after(
    rng: np.random.Generator, base: npt.NDArray[np.int64], mean_days: float
) -> npt.NDArray[np.int64]:
    return base + (rng.exponential(mean_days, len(base)) * DAY_US).astype(np.int64) + HOUR_US


def _funnel(
    rng: np.random.Generator,
    pop: Population,
    dealers: Dealers,
    start_us: int,
    end_us: int,
    cols: EventColumns,
) -> Funnel:
    """Prospects: lead → visit → test drive → small order (→ refund) → big order → delivery."""
    prospect = np.flatnonzero(rng.random(pop.n) < 0.45)
    m = len(prospect)
    lead_us = start_us + rng.integers(0, end_us - start_us, m)
    touch = pick(
        rng,
        [
            "douyin",
            "vertical_media",
            "website",
            "app",
            "mini_program",
            "wechat_channels",
            "xiaohongshu",
            "showroom",
            "hotline",
            "dealer_crm",
        ],
        m,
        [18, 16, 10, 10, 14, 8, 8, 8, 4, 4],
    )
    dealer = pop.home_dealer[prospect]
    reach = rng.random((m, 6))
    visit = reach[:, 0] < 0.40
    drive = visit & (reach[:, 1] < 0.65)
    small = drive & (reach[:, 2] < 0.35)
    refund = small & (reach[:, 3] < 0.15)
    big = small & ~refund & (reach[:, 4] < 0.80)
    deliver = big & (reach[:, 5] < 0.95)
    visit_us = _after(rng, lead_us, 5)
    drive_us = visit_us + np.where(
        rng.random(m) < 0.7,
        rng.integers(1, 3, m) * HOUR_US // 2,
        _after(rng, np.zeros(m, np.int64), 3),
    )
    small_us = _after(rng, drive_us, 7)
    refund_us = _after(rng, small_us, 5)
    big_us = _after(rng, small_us, 10)
    deliver_us = _after(rng, big_us, 20)

    def step(mask: npt.NDArray[np.bool_], ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.where(mask & (ts < end_us), ts, -1)

    visit_us, drive_us = step(visit, visit_us), step(drive, drive_us)
    small_us, refund_us = step(small & (drive_us >= 0), small_us), step(refund, refund_us)
    big_us = step(big & (small_us >= 0), big_us)
    deliver_us = step(deliver & (big_us >= 0), deliver_us)
    refund_us = np.where(small_us >= 0, refund_us, -1)
    order_id = id_strings("O", np.arange(m), width=8)
    vin = id_strings("LSVA", rng.integers(0, 10**13, m), width=13)
    dealer_ids = dealers.ids[dealer]

    extra_ids: dict[str, dict[str, Any]] = {
        "app": {"app_user_id": pop.app_user_id[prospect], "device_id": pop.device_id[prospect]},
        "mini_program": {"wechat_openid": pop.openid_mini[prospect], "wechat_appid": MINI_APPID},
        "website": {"device_id": pop.ad_device_id[prospect]},
    }
    for tp, ids in extra_ids.items():
        rows = np.flatnonzero(touch == tp)
        cols.add(
            prospect[rows],
            lead_us[rows],
            tp,
            "lead",
            phone=_phone_of(rng, pop, prospect[rows]),
            **{k: (v[rows] if isinstance(v, np.ndarray) else v) for k, v in ids.items()},
        )
    rows = np.flatnonzero(~np.isin(touch, list(extra_ids)))
    cols.add(
        prospect[rows],
        lead_us[rows],
        touch[rows],
        "lead",
        phone=_phone_of(rng, pop, prospect[rows]),
        dealer_id=np.where(
            np.isin(touch[rows], ["showroom", "dealer_crm", "hotline"]), dealer_ids[rows], NULL
        ),
    )
    # one prospect in six leaves a second lead elsewhere within forty days
    again = np.flatnonzero(rng.random(m) < 0.16)
    cols.add(
        prospect[again],
        lead_us[again] + rng.integers(1, 40 * DAY_US, len(again)),
        pick(rng, ["douyin", "vertical_media", "mini_program", "website"], len(again)),
        "lead",
        phone=_phone_of(rng, pop, prospect[again]),
    )

    crm = pop.crm_id[prospect]
    # half of the test drivers negotiate a price with the consultant within days
    quote_us = np.where((drive_us >= 0) & (rng.random(m) < 0.5), _after(rng, drive_us, 2), -1)
    quote_us = np.where(quote_us < end_us, quote_us, -1)
    for name, ts, tp in [
        ("visit", visit_us, "showroom"),
        ("test_drive", drive_us, "showroom"),
        ("quote", quote_us, "showroom"),
        ("small_order", small_us, "dealer_crm"),
        ("refund", refund_us, "dealer_crm"),
        ("big_order", big_us, "dealer_crm"),
        ("delivery", deliver_us, "dealer_crm"),
    ]:
        rows = np.flatnonzero(ts >= 0)
        ordered = name in ("small_order", "refund", "big_order", "delivery")
        cols.add(
            prospect[rows],
            ts[rows],
            tp,
            name,
            phone=_phone_of(rng, pop, prospect[rows]),
            crm_id=crm[rows],
            dealer_id=dealer_ids[rows],
            order_id=order_id[rows] if ordered else None,
            vin=vin[rows] if name == "delivery" else None,
        )
    return Funnel(
        prospect,
        lead_us,
        touch,
        dealer,
        visit_us,
        drive_us,
        small_us,
        refund_us,
        big_us,
        deliver_us,
        order_id,
        vin,
    )


def _owners(
    rng: np.random.Generator,
    pop: Population,
    dealers: Dealers,
    funnel: Funnel,
    start_us: int,
    end_us: int,
    cols: EventColumns,
) -> dict[str, Array]:
    """Head-unit use, after-sales spend and referrals of owners; resales of 3% of cars."""
    before = np.flatnonzero(pop.owner_before)
    delivered = funnel.delivery_us >= 0
    owner = np.concatenate([before, funnel.person[delivered]])
    since = np.concatenate(
        [np.full(len(before), start_us - 400 * DAY_US), funnel.delivery_us[delivered]]
    )
    vin = np.concatenate(
        [id_strings("LFVB", rng.integers(0, 10**13, len(before)), width=13), funnel.vin[delivered]]
    )
    until = np.full(len(owner), -1, dtype=np.int64)
    # resale: 3% of cars change hands to a person who owns no car
    sold = np.flatnonzero(rng.random(len(owner)) < 0.03)
    owns = np.zeros(pop.n, dtype=bool)
    owns[owner] = True
    not_owner = np.flatnonzero(~owns)
    buyers = rng.choice(not_owner, size=min(len(sold), len(not_owner)), replace=False)
    sold = sold[: len(buyers)]
    sale_us = np.maximum(since[sold], start_us) + (
        (end_us - np.maximum(since[sold], start_us)) * rng.random(len(sold))
    ).astype(np.int64)
    until[sold] = sale_us
    span_person = np.concatenate([owner, buyers])
    span_vin = np.concatenate([vin, vin[sold]])
    span_from = np.concatenate([since, sale_us])
    span_to = np.concatenate([until, np.full(len(sold), -1, dtype=np.int64)])

    # a buyer binds the car to their own phone on the head unit at the sale
    cols.add(
        buyers, sale_us, "head_unit", "login", vin=vin[sold], phone=_phone_of(rng, pop, buyers)
    )
    # owners bind their car once in the period (service check-in with VIN and phone)
    cols.add(
        owner,
        np.maximum(since, start_us) + HOUR_US,
        "dealer_crm",
        "after_sales",
        vin=vin,
        phone=_phone_of(rng, pop, owner),
        crm_id=pop.crm_id[owner],
        dealer_id=dealers.ids[pop.home_dealer[owner]],
        amount=np.zeros(len(owner)),
        category="vehicle_check",
    )
    # head-unit logins spread over each ownership span inside the period
    lo = np.maximum(span_from, start_us)
    hi = np.where(span_to < 0, end_us, span_to)
    months = np.maximum(hi - lo, 0) / (30.4 * DAY_US)
    k = rng.poisson(months * 0.8)
    rows = np.repeat(np.arange(len(span_person)), k)
    ts = lo[rows] + (rng.random(len(rows)) * (hi - lo)[rows]).astype(np.int64)
    cols.add(span_person[rows], ts, "head_unit", "login", vin=span_vin[rows])
    # after-sales spend (maintenance, repairs, accessories)
    k = rng.poisson(months * 0.18)
    rows = np.repeat(np.arange(len(span_person)), k)
    ts = lo[rows] + (rng.random(len(rows)) * (hi - lo)[rows]).astype(np.int64)
    p = span_person[rows]
    cols.add(
        p,
        ts,
        "dealer_crm",
        "after_sales",
        crm_id=pop.crm_id[p],
        phone=_phone_of(rng, pop, p),
        vin=span_vin[rows],
        dealer_id=dealers.ids[pop.home_dealer[p]],
        amount=np.round(rng.lognormal(np.log(900), 0.7, len(p)), 2),
        category=pick(rng, ["maintenance", "repair", "accessories"], len(p), [6, 2, 2]),
    )
    # referrals by a few owners
    ref = owner[rng.random(len(owner)) < 0.05]
    cols.add(
        ref,
        start_us + rng.integers(0, end_us - start_us, len(ref)),
        "app",
        "referral",
        app_user_id=pop.app_user_id[ref],
    )
    return {
        "vin": span_vin,
        "person": span_person,
        "from": span_from,
        "to": span_to,
    }


def _engagement(
    rng: np.random.Generator,
    pop: Population,
    start_us: int,
    end_us: int,
    per_month: float,
    cols: EventColumns,
) -> None:
    """Person-initiated private-domain interactions of members."""
    members = np.flatnonzero(pop.member)
    lo = np.maximum(pop.joined_us[members], start_us)
    months = (end_us - lo) / (30.4 * DAY_US)
    rate = rng.lognormal(np.log(per_month) - 0.5, 1.0, len(members))
    k = rng.poisson(rate * months)
    rows = np.repeat(np.arange(len(members)), k)
    person = members[rows]
    ts = lo[rows] + (rng.random(len(rows)) * (end_us - lo)[rows]).astype(np.int64)
    channels = np.stack(
        [
            pop.has_app[person] * 4.0,
            pop.has_mini[person] * 3.0,
            pop.has_oa[person] * 1.5,
            pop.has_wecom[person] * 1.0,
        ],
        axis=1,
    )
    channels[channels.sum(axis=1) == 0, 3] = 0.0
    channels[channels.sum(axis=1) == 0, 1] = 1.0  # members without a channel use the mini program
    choice = _choose_rows(rng, channels)
    rational = pop.rational[person]
    category = np.where(
        rational ^ (rng.random(len(person)) < 0.25),
        pick(rng, CONTENT_RATIONAL, len(person)),
        pick(rng, CONTENT_EMOTIONAL, len(person)),
    )
    app_events = [
        "app_open",
        "login",
        "page_view",
        "content_view",
        "click",
        "favourite",
        "share",
        "comment",
        "post",
        "check_in",
    ]
    app_w = [20, 8, 15, 15, 15, 4, 4, 4, 2, 13]
    for c, (tp, names, weights) in enumerate(
        [
            ("app", app_events, app_w),
            (
                "mini_program",
                ["page_view", "content_view", "click", "favourite", "share", "check_in"],
                [25, 25, 25, 5, 5, 15],
            ),
            ("official_account", ["content_view", "click"], [70, 30]),
            ("wecom", ["wecom_reply"], [1]),
        ]
    ):
        sel = np.flatnonzero(choice == c)
        p = person[sel]
        name = pick(rng, names, len(sel), weights)
        cat = np.where(name == "content_view", category[sel], NULL)
        ids: dict[str, Any]
        if tp == "app":
            ids = {"app_user_id": pop.app_user_id[p], "device_id": pop.device_id[p]}
        elif tp == "mini_program":
            union = np.where(rng.random(len(p)) < 0.4, pop.unionid[p], NULL)
            ids = {
                "wechat_openid": pop.openid_mini[p],
                "wechat_appid": MINI_APPID,
                "wechat_unionid": union,
            }
        elif tp == "official_account":
            union = np.where(rng.random(len(p)) < 0.6, pop.unionid[p], NULL)
            ids = {
                "wechat_openid": pop.openid_oa[p],
                "wechat_appid": OA_APPID,
                "wechat_unionid": union,
            }
        else:
            ids = {"wecom_external_userid": pop.wecom_id[p], "wecom_corp_id": CORP_ID}
        cols.add(p, ts[sel], tp, name, category=cat, **ids)
    # the app account is bound to a phone once, at sign-up; mall purchases spend in the brand mall
    app_users = np.flatnonzero(pop.has_app)
    bind_us = np.maximum(pop.joined_us[app_users], start_us) + HOUR_US
    keep = bind_us < end_us
    app_users, bind_us = app_users[keep], bind_us[keep]
    cols.add(
        app_users,
        bind_us,
        "app",
        "login",
        app_user_id=pop.app_user_id[app_users],
        phone=_phone_of(rng, pop, app_users),
        email=np.where(pop.has_email[app_users], pop.email[app_users], NULL),
    )
    buyers = app_users[rng.random(len(app_users)) < 0.25]
    cols.add(
        buyers,
        start_us + rng.integers(0, end_us - start_us, len(buyers)),
        "app",
        "mall_purchase",
        app_user_id=pop.app_user_id[buyers],
        amount=np.round(rng.uniform(30, 800, len(buyers)), 2),
        category=pick(rng, ["merch", "coffee", "coupon"], len(buyers)),
    )
    # WeChat identities are bound once too: unionid beside the mini-program openid
    wx = np.flatnonzero(pop.has_mini | pop.has_oa)
    bind = np.maximum(pop.joined_us[wx], start_us) + 2 * HOUR_US
    keep = bind < end_us
    wx, bind = wx[keep], bind[keep]
    cols.add(
        wx,
        bind,
        "mini_program",
        "login",
        wechat_unionid=pop.unionid[wx],
        wechat_openid=pop.openid_mini[wx],
        wechat_appid=MINI_APPID,
        phone=_phone_of(rng, pop, wx),
    )
    wc = np.flatnonzero(pop.has_wecom)
    bind = np.maximum(pop.joined_us[wc], start_us) + 3 * HOUR_US
    keep = bind < end_us
    wc, bind = wc[keep], bind[keep]
    cols.add(
        wc,
        bind,
        "wecom",
        "wecom_reply",
        wecom_external_userid=pop.wecom_id[wc],
        wecom_corp_id=CORP_ID,
        wechat_unionid=pop.unionid[wc],
    )


def _public(
    rng: np.random.Generator, pop: Population, start_us: int, end_us: int, cols: EventColumns
) -> None:
    """Public-domain content views and clicks, identified by an advertising device id."""
    k = rng.poisson(0.15 * (end_us - start_us) / (30.4 * DAY_US), pop.n)
    person = np.repeat(np.arange(pop.n), k)
    ts = start_us + rng.integers(0, end_us - start_us, len(person))
    tp = pick(
        rng,
        ["douyin", "xiaohongshu", "bilibili", "vertical_media", "wechat_channels"],
        len(person),
        [35, 20, 10, 25, 10],
    )
    name = pick(rng, ["content_view", "click"], len(person), [70, 30])
    cat = np.where(
        name == "content_view",
        np.where(
            pop.rational[person],
            pick(rng, CONTENT_RATIONAL, len(person)),
            pick(rng, CONTENT_EMOTIONAL, len(person)),
        ),
        NULL,
    )
    cols.add(person, ts, tp, name, category=cat, device_id=pop.ad_device_id[person])


def _outbound(
    rng: np.random.Generator, pop: Population, start_us: int, end_us: int, cols: EventColumns
) -> None:
    """Pushes and deliveries the brand sends: never counted as activity."""
    months = (end_us - start_us) / (30.4 * DAY_US)
    for mask, tp, name, ids in [
        (pop.has_app, "app", "push_sent", "app_user_id"),
        (pop.has_wecom, "wecom", "message_delivered", "wecom_external_userid"),
    ]:
        k = rng.poisson(0.25 * months, pop.n) * mask
        person = np.repeat(np.arange(pop.n), k)
        ts = start_us + rng.integers(0, end_us - start_us, len(person))
        if ids == "app_user_id":
            cols.add(person, ts, tp, name, app_user_id=pop.app_user_id[person])
        else:
            cols.add(
                person,
                ts,
                tp,
                name,
                wecom_external_userid=pop.wecom_id[person],
                wecom_corp_id=CORP_ID,
            )


def _traps(
    rng: np.random.Generator,
    pop: Population,
    dealers: Dealers,
    start_us: int,
    end_us: int,
    tablet_share: float,
    hotline_share: float,
    cols: EventColumns,
) -> dict[str, list[str]]:
    """What a naive merger falls for: tablets, hotlines, consultants' phones, test numbers, fakes."""
    n = pop.n
    span = end_us - start_us
    # showroom tablets: customers register on a kiosk; the kiosk's device id rides along
    tab = np.flatnonzero(rng.random(n) < tablet_share)
    which = rng.integers(0, len(dealers.tablet_ids), len(tab))
    cols.add(
        tab,
        start_us + rng.integers(0, span, len(tab)),
        "showroom",
        "page_view",
        device_id=dealers.tablet_ids[which],
        phone=_phone_of(rng, pop, tab),
        dealer_id=dealers.ids[dealers.tablet_dealer[which]],
    )
    # dealer hotline typed into a customer's record in the dealer CRM
    hot = np.flatnonzero(rng.random(n) < hotline_share)
    pool = rng.choice(
        dealers.n, size=min(dealers.n, max(2, round(n * hotline_share / 100))), replace=False
    )
    d = pool[rng.integers(0, len(pool), len(hot))]
    cols.add(
        hot,
        start_us + rng.integers(0, span, len(hot)),
        "dealer_crm",
        "visit",
        phone=dealers.hotline_raw[d],
        crm_id=pop.crm_id[hot],
        dealer_id=dealers.ids[d],
    )
    # consultants typing their own phone into a customer's test-drive form
    cons = np.flatnonzero(rng.random(n) < 0.005)
    s = rng.integers(0, len(dealers.staff_ids), len(cons))
    cols.add(
        cons,
        start_us + rng.integers(0, span, len(cons)),
        "showroom",
        "test_drive",
        phone=messy_phones(rng, dealers.staff_phone[s]),
        crm_id=pop.crm_id[cons],
        dealer_id=dealers.ids[dealers.staff_dealer[s]],
    )
    # placeholder and test numbers on real people's forms
    tst = np.flatnonzero(rng.random(n) < 0.003)
    nums = np.array(TEST_NUMBERS, dtype=np.int64)[rng.integers(0, len(TEST_NUMBERS), len(tst))]
    cols.add(
        tst,
        start_us + rng.integers(0, span, len(tst)),
        "website",
        "lead",
        phone=messy_phones(rng, nums),
        device_id=pop.ad_device_id[tst],
    )
    # fake traffic: bought leads in bursts from a few devices, virtual-operator and invalid numbers
    fakes = max(10, n // 40)
    bots = id_strings("bot-", rng.integers(0, 2**40, max(2, fakes // 50)), width=10, base=16)
    burst_at = start_us + rng.integers(0, span, len(bots))
    b = rng.integers(0, len(bots), fakes)
    fake_ts = burst_at[b] + rng.integers(0, 20 * 60 * 1_000_000, fakes)
    virtual = (
        np.array([170, 171, 162, 165, 167], dtype=np.int64)[rng.integers(0, 5, fakes)] * 100_000_000
    )
    invalid = 12 * 10**9 + rng.integers(0, 10**9, fakes)  # "12…": no such mobile prefix
    numbers = np.where(rng.random(fakes) < 0.7, virtual + rng.integers(0, 10**8, fakes), invalid)
    cols.add(
        np.full(fakes, -1, dtype=np.int64),
        fake_ts,
        "website",
        "lead",
        phone=messy_phones(rng, numbers),
        device_id=bots[b],
    )
    return {
        "tablet_device_ids": dealers.tablet_ids.tolist(),
        "hotline_phones": dealers.hotline_raw[pool].tolist(),
        "consultant_phones": messy_phones(rng, dealers.staff_phone).tolist(),
        "test_phones": [str(x) for x in TEST_NUMBERS],
        "fake_device_ids": bots.tolist(),
    }
