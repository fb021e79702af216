"""People, their true identifiers, dealers, staff and showroom kiosks."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops.datasets._strings import format_digits, id_strings, pick

__all__ = ["CITIES", "Dealers", "Population", "make_dealers", "make_population", "messy_phones"]

Array = npt.NDArray[Any]
DAY_US = 86_400_000_000

# city, province, weight, latitude, longitude
CITIES: list[tuple[str, str, float, float, float]] = [
    ("Shanghai", "Shanghai", 9, 31.23, 121.47),
    ("Beijing", "Beijing", 9, 39.90, 116.40),
    ("Shenzhen", "Guangdong", 7, 22.54, 114.06),
    ("Guangzhou", "Guangdong", 7, 23.13, 113.26),
    ("Hangzhou", "Zhejiang", 6, 30.27, 120.16),
    ("Chengdu", "Sichuan", 6, 30.57, 104.07),
    ("Wuhan", "Hubei", 5, 30.59, 114.31),
    ("Nanjing", "Jiangsu", 5, 32.06, 118.80),
    ("Suzhou", "Jiangsu", 4, 31.30, 120.59),
    ("Chongqing", "Chongqing", 5, 29.56, 106.55),
    ("Xi'an", "Shaanxi", 4, 34.34, 108.94),
    ("Tianjin", "Tianjin", 4, 39.13, 117.20),
    ("Changsha", "Hunan", 3, 28.23, 112.94),
    ("Zhengzhou", "Henan", 3, 34.75, 113.63),
    ("Qingdao", "Shandong", 3, 36.07, 120.38),
    ("Hefei", "Anhui", 3, 31.82, 117.23),
    ("Foshan", "Guangdong", 2, 23.02, 113.12),
    ("Ningbo", "Zhejiang", 2, 29.87, 121.54),
    ("Xiamen", "Fujian", 2, 24.48, 118.09),
    ("Kunming", "Yunnan", 2, 25.04, 102.71),
]
SERIES = ["Aurora", "Vista", "Terra", "Nova EV"]
TAGS = ["price_sensitive", "family", "ev_interest", "referrer"]
MOBILE_PREFIXES = [
    130,
    131,
    132,
    133,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    155,
    156,
    157,
    158,
    159,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    185,
    186,
    187,
    188,
    189,
    199,
]
TEST_NUMBERS = [13800138000, 13888888888, 13900000000, 18888888888]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jun", "Yan", "Tao", "Ming", "Li"]
# phone templates: d = ASCII digit slot, D = full-width digit slot; weights below
PHONE_STYLES = [
    ("ddddddddddd", 50),
    ("ddd dddd dddd", 12),
    ("ddd-dddd-dddd", 8),
    ("+86 ddd dddd dddd", 7),
    ("+86ddddddddddd", 7),
    ("86-ddd-dddd-dddd", 4),
    ("DDDDDDDDDDD", 3),
    (" ddddddddddd ", 3),
    ("0086ddddddddddd", 3),
    ("(+86)ddddddddddd", 3),
]


def _digit_matrix(numbers: npt.NDArray[np.int64], width: int = 11) -> npt.NDArray[np.int8]:
    out = np.empty((len(numbers), width), dtype=np.int8)
    rest = numbers.copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = rest % 10
        rest //= 10
    return out


def messy_phones(rng: np.random.Generator, numbers: npt.NDArray[np.int64]) -> Array:
    """Raw phone strings in the shapes people type (see ``PHONE_STYLES``).

    Examples:
        >>> messy_phones(np.random.default_rng(0), np.array([13812345678]))[0].count("5678") >= 0
        True
    """
    digits = _digit_matrix(numbers)
    weights = np.array([w for _, w in PHONE_STYLES], dtype=float)
    style = rng.choice(len(PHONE_STYLES), size=len(numbers), p=weights / weights.sum())
    out = np.empty(len(numbers), dtype=object)
    for k, (template, _) in enumerate(PHONE_STYLES):
        rows = np.flatnonzero(style == k)
        if rows.size:
            out[rows] = format_digits(digits[rows], template)
    return out


def e164(numbers: npt.NDArray[np.int64]) -> Array:
    """E.164 strings of 11-digit mobile numbers.

    Examples:
        >>> e164(np.array([13812345678])).tolist()
        ['+8613812345678']
    """
    return format_digits(_digit_matrix(numbers), "+86ddddddddddd")


STAFF_BLOCK = 2_000_000_000
"""Index offset of staff numbers, so that they never equal a customer's."""


def unique_mobiles(rng: np.random.Generator, n: int, *, block: int = 0) -> npt.NDArray[np.int64]:
    """*n* distinct realistic mobile numbers, none of them a test number.

    Number *i* of a block takes prefix ``i mod 30`` and an 8-digit suffix from
    an affine bijection of ``i // 30`` modulo 10^8, so numbers are distinct by
    construction (no sort, no retry); a shuffle of the indices hides the pattern.
    Calls with different *block* offsets never share a number.

    Examples:
        >>> len(set(unique_mobiles(np.random.default_rng(0), 1000).tolist()))
        1000
    """
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)
    index = block + rng.permutation(n + len(TEST_NUMBERS)).astype(np.int64)
    suffix = (54_435_761 * (index // len(prefixes)) + 20_231_007) % 100_000_000
    numbers = prefixes[index % len(prefixes)] * 100_000_000 + suffix
    return numbers[~np.isin(numbers, TEST_NUMBERS)][:n]


@attrs.frozen(slots=True)
class Population:
    """True people with their attributes and true identifiers (internal)."""

    n: int
    city_idx: npt.NDArray[np.int64]
    age: npt.NDArray[np.int64]
    gender: Array
    rational: npt.NDArray[np.bool_]
    member: npt.NDArray[np.bool_]
    joined_us: npt.NDArray[np.int64]
    owner_before: npt.NDArray[np.bool_]
    tags: Array
    phone: npt.NDArray[np.int64]
    name: Array
    series: Array
    unionid: Array
    openid_mini: Array
    openid_oa: Array
    wecom_id: Array
    app_user_id: Array
    crm_id: Array
    device_id: Array
    ad_device_id: Array
    email: Array
    has_app: npt.NDArray[np.bool_]
    has_mini: npt.NDArray[np.bool_]
    has_oa: npt.NDArray[np.bool_]
    has_wecom: npt.NDArray[np.bool_]
    has_email: npt.NDArray[np.bool_]
    home_dealer: npt.NDArray[np.int64]


@attrs.frozen(slots=True)
class Dealers:
    """Dealers, their consultants and showroom tablets (internal)."""

    n: int
    city_idx: npt.NDArray[np.int64]
    ids: Array
    hotline_raw: Array
    capacity: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    performance: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    staff_dealer: npt.NDArray[np.int64]
    staff_ids: Array
    staff_phone: npt.NDArray[np.int64]
    staff_wecom: Array
    tablet_dealer: npt.NDArray[np.int64]
    tablet_ids: Array


def make_dealers(rng: np.random.Generator, people: int, tablet_share: float) -> Dealers:
    """Dealers in proportion to the population, with staff and tablets."""
    n = int(np.clip(people // 500, 5, 2000))
    weights = np.array([c[2] for c in CITIES], dtype=float)
    city_idx = np.concatenate(
        [
            np.arange(min(n, len(CITIES))),
            rng.choice(len(CITIES), max(n - len(CITIES), 0), p=weights / weights.sum()),
        ]
    ).astype(np.int64)
    lat = np.array([c[3] for c in CITIES])[city_idx] + rng.normal(0, 0.08, n)
    lon = np.array([c[4] for c in CITIES])[city_idx] + rng.normal(0, 0.08, n)
    # dealer hotlines: 8-digit landlines with the city's area code, typed as customers' phones
    hotline = id_strings("021-6", rng.integers(0, 10_000_000, n), width=7)
    per = rng.integers(3, 7, n)
    staff_dealer = np.repeat(np.arange(n), per)
    n_staff = len(staff_dealer)
    tablets = max(2, round(people * tablet_share / 200))
    return Dealers(
        n=n,
        city_idx=city_idx,
        ids=id_strings("D", np.arange(n), width=4),
        hotline_raw=hotline,
        capacity=rng.integers(20, 81, n),
        weight=rng.choice([1.0, 1.5, 2.0, 3.0], n),
        performance=np.round(rng.beta(4, 6, n), 3),
        lat=np.round(lat, 4),
        lon=np.round(lon, 4),
        staff_dealer=staff_dealer,
        staff_ids=id_strings("S", np.arange(n_staff), width=5),
        staff_phone=unique_mobiles(rng, n_staff, block=STAFF_BLOCK),
        staff_wecom=id_strings("sales", np.arange(n_staff), width=5),
        tablet_dealer=rng.integers(0, n, tablets),
        tablet_ids=id_strings("kiosk-", rng.integers(0, 2**40, tablets), width=10, base=16),
    )


def make_population(
    rng: np.random.Generator, n: int, start_us: int, end_us: int, dealers: Dealers
) -> Population:
    """People with attributes and the identifiers they truly hold."""
    weights = np.array([c[2] for c in CITIES], dtype=float)
    city_idx = rng.choice(len(CITIES), n, p=weights / weights.sum()).astype(np.int64)
    member = rng.random(n) < 0.70
    span = end_us - start_us
    # two in five members joined before the period; the rest during it
    joined = np.where(
        rng.random(n) < 0.4,
        start_us - rng.integers(0, 3 * 365 * DAY_US, n),
        start_us + rng.integers(0, span, n),
    )
    tag_bits = (rng.random((n, len(TAGS))) < np.array([0.30, 0.40, 0.35, 0.05])).astype(np.int64)
    combos = np.array(
        [",".join(t for j, t in enumerate(TAGS) if m >> j & 1) for m in range(1 << len(TAGS))],
        dtype=object,
    )
    tags = combos[(tag_bits << np.arange(len(TAGS))).sum(axis=1)]
    phones = unique_mobiles(rng, n)
    names = pick(rng, SURNAMES, n) + " " + pick(rng, GIVEN, n)
    has_app = member & (rng.random(n) < 0.60)
    has_mini = member & (rng.random(n) < 0.70)
    has_oa = member & (rng.random(n) < 0.50)
    has_wecom = member & (rng.random(n) < 0.45)
    has_email = rng.random(n) < 0.30
    ids = np.arange(n, dtype=np.int64)
    salt = rng.integers(0, 2**40)
    # dealers in the person's city (5% go to another city)
    by_city = [np.flatnonzero(dealers.city_idx == c) for c in range(len(CITIES))]
    home = np.empty(n, dtype=np.int64)
    for c, options in enumerate(by_city):
        rows = np.flatnonzero(city_idx == c)
        pool = options if options.size else np.arange(dealers.n)
        home[rows] = pool[rng.integers(0, pool.size, rows.size)]
    away = rng.random(n) < 0.05
    home[away] = rng.integers(0, dealers.n, int(away.sum()))
    return Population(
        n=n,
        city_idx=city_idx,
        age=np.clip(np.round(rng.normal(37, 8, n)), 20, 68).astype(np.int64),
        gender=pick(rng, ["F", "M"], n, [0.42, 0.58]),
        rational=rng.random(n) < 0.55,
        member=member,
        joined_us=joined,
        owner_before=rng.random(n) < 0.20,
        tags=tags,
        phone=phones,
        name=names,
        series=pick(rng, SERIES, n, [0.35, 0.3, 0.2, 0.15]),
        unionid=id_strings("oU", (ids * 7919 + salt) % 2**60, width=16, base=16),
        openid_mini=id_strings("oM", (ids * 104729 + salt) % 2**60, width=16, base=16),
        openid_oa=id_strings("oA", (ids * 1299709 + salt) % 2**60, width=16, base=16),
        wecom_id=id_strings("wm", (ids * 15485863 + salt) % 2**60, width=16, base=16),
        app_user_id=id_strings("u", ids + 100_000_000, width=9),
        crm_id=id_strings("C", ids + 300_000_000, width=9),
        device_id=id_strings("dev-", (ids * 32452843 + salt) % 2**48, width=12, base=16),
        ad_device_id=id_strings("ad-", (ids * 49979687 + salt) % 2**48, width=12, base=16),
        email=id_strings("user", ids, width=8, suffix="@example.com"),
        has_app=has_app,
        has_mini=has_mini,
        has_oa=has_oa,
        has_wecom=has_wecom,
        has_email=has_email,
        home_dealer=home,
    )
