"""The true synthetic population: properties, households and the citizens living in them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from orchestration.generator.identifiers import make_inward_codes, make_nhs_numbers, make_ninos
from orchestration.generator.reference import (
    COUNCIL_TAX_BANDS,
    ENERGY_RATINGS,
    ETHNICITY_CODES,
    LOCAL_AUTHORITIES,
    MAIN_FUELS,
    NICKNAMES,
    STREET_SUFFIXES,
)

UPRN_BASE = 10_000_000_000
"""First UPRN handed out; property i gets ``UPRN_BASE + i``."""

PROPERTY_TYPES = np.array(["House", "Flat", "Bungalow", "Maisonette"])
"""Property types as DLUHC writes them; indices are stored on properties."""

# Household kinds: single adult, couple, couple with children, lone parent, sharers.
_HOUSEHOLD_KIND_SHARES = np.array([0.31, 0.30, 0.24, 0.09, 0.06])


@dataclass
class NamePools:
    """Name pools drawn once from Faker (en_GB) and sampled with numpy.

    Attributes:
        male: Male given names.
        female: Female given names.
        family: Family names.
        male_p: Sampling probabilities of ``male``.
        female_p: Sampling probabilities of ``female``.
        family_p: Sampling probabilities of ``family``.
    """

    male: np.ndarray
    female: np.ndarray
    family: np.ndarray
    male_p: np.ndarray
    female_p: np.ndarray
    family_p: np.ndarray


@dataclass
class Population:
    """The ground truth: every property and citizen, as numpy arrays indexed by position.

    Citizen ``i`` has ``citizen_id = i + 1``; property ``j`` has ``property_id = j + 1``.
    Citizens of a household are contiguous, adults first.

    Attributes:
        given: Given name of each citizen.
        family: Family name of each citizen.
        sex: 1 male, 2 female.
        dob: Date of birth.
        nino: NINO without spaces (empty string below 16).
        nhs: NHS number.
        household: Household index of each citizen.
        is_adult: Whether the citizen is 18 or over at the census date.
        carer: Index of the first adult of the citizen's household (-1 if none).
        n_adults: Number of adults in the citizen's household.
        property_idx: Index of the citizen's current property.
        previous_property_idx: Index of the previous property for movers, else -1.
        move_date: Date the household moved to its current property.
        deprivation: Deprivation score in [0, 1] of the citizen's household.
        ethnicity: DfE ethnicity code of the citizen's household.
        uprn: UPRN of each property.
        line1: First address line of each property.
        town: Post town of each property.
        postcode: Canonical postcode of each property.
        la: Index into ``LOCAL_AUTHORITIES`` of each property.
        property_type: Index into ``PROPERTY_TYPES`` of each property.
        floor_area: Total floor area of each property in square metres.
        fuel: Main heating fuel of each property.
        band: Council-tax band of each property.
        rating: Current energy rating index (0=A .. 6=G) of each property.
    """

    given: np.ndarray
    family: np.ndarray
    sex: np.ndarray
    dob: np.ndarray
    nino: np.ndarray
    nhs: np.ndarray
    household: np.ndarray
    is_adult: np.ndarray
    carer: np.ndarray
    n_adults: np.ndarray
    property_idx: np.ndarray
    previous_property_idx: np.ndarray
    move_date: np.ndarray
    deprivation: np.ndarray
    ethnicity: np.ndarray
    uprn: np.ndarray
    line1: np.ndarray
    town: np.ndarray
    postcode: np.ndarray
    la: np.ndarray
    property_type: np.ndarray
    floor_area: np.ndarray
    fuel: np.ndarray
    band: np.ndarray
    rating: np.ndarray

    @property
    def citizens(self) -> int:
        """Number of citizens."""
        return len(self.given)

    @property
    def properties(self) -> int:
        """Number of properties."""
        return len(self.uprn)

    def la_codes(self) -> np.ndarray:
        """GSS code of each property's local authority."""
        return np.array([a.gss_code for a in LOCAL_AUTHORITIES])[self.la]

    def citizens_frame(self) -> pd.DataFrame:
        """The citizens ground-truth table."""
        nino = pd.Series(self.nino, dtype="str")
        return pd.DataFrame(
            {
                "citizen_id": np.arange(1, self.citizens + 1, dtype=np.int64),
                "given_name": pd.Series(self.given, dtype="str"),
                "family_name": pd.Series(self.family, dtype="str"),
                "sex": np.where(self.sex == 1, "M", "F"),
                "date_of_birth": self.dob,
                "nino": nino.where(nino != "", None),
                "nhs_number": pd.Series(self.nhs, dtype="str"),
                "property_id": self.property_idx + 1,
                "previous_property_id": pd.Series(self.previous_property_idx + 1)
                .astype("Int64")
                .mask(self.previous_property_idx < 0),
            }
        )

    def properties_frame(self) -> pd.DataFrame:
        """The properties ground-truth table."""
        return pd.DataFrame(
            {
                "property_id": np.arange(1, self.properties + 1, dtype=np.int64),
                "uprn": self.uprn,
                "address_line_1": pd.Series(self.line1, dtype="str"),
                "town": pd.Series(self.town, dtype="str"),
                "postcode": pd.Series(self.postcode, dtype="str"),
                "local_authority_code": self.la_codes(),
            }
        )


def build_name_pools(seed: int) -> NamePools:
    """Builds the given- and family-name pools from a seeded en_GB Faker.

    Faker is called a fixed, small number of times here; rows are then sampled from the
    pools with numpy, which keeps large populations fast.

    Args:
        seed: Seed for Faker.

    Returns:
        The name pools with Zipf-like sampling weights.
    """
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    person = next(p for p in fake.providers if type(p).__module__.endswith("person.en_GB"))
    male = sorted(set(person.first_names_male) | {n for n in NICKNAMES if n in _MALE_NICKABLE})
    female = sorted(set(person.first_names_female) | (set(NICKNAMES) - _MALE_NICKABLE))
    family_weights = dict(person.last_names)
    family = sorted(family_weights)

    def zipf(names: list[str]) -> np.ndarray:
        order = np.array([fake.random.random() for _ in names]).argsort().argsort()
        w = 1.0 / (order + 8.0)
        return w / w.sum()

    fw = np.array([float(family_weights[n]) for n in family])
    return NamePools(
        male=np.array(male, dtype=object),
        female=np.array(female, dtype=object),
        family=np.array(family, dtype=object),
        male_p=zipf(male),
        female_p=zipf(female),
        family_p=fw / fw.sum(),
    )


_MALE_NICKABLE = frozenset(
    {
        "Robert", "William", "Jonathan", "Michael", "Richard", "James", "Thomas",
        "Christopher", "Daniel", "Matthew", "Anthony", "Andrew", "Joseph", "Samuel",
        "Benjamin", "Alexander", "Stephen", "Nicholas", "Edward",
    }
)  # fmt: skip


def _adult_age_weights() -> np.ndarray:
    """Relative frequency of adult ages 18..100 in the population."""
    ages = np.arange(18, 101)
    w = np.interp(ages, [18, 60, 70, 80, 90, 100], [1.0, 1.0, 0.85, 0.5, 0.15, 0.01])
    return w / w.sum()


def build_population(rng: np.random.Generator, citizens: int, seed: int, census: np.datetime64):
    """Builds the true population of ``citizens`` people, their households and homes.

    Args:
        rng: Random generator for the population.
        citizens: Number of citizens to create.
        seed: Seed (for Faker's name pools).
        census: Reference date ages are counted at.

    Returns:
        The population.
    """
    pools = build_name_pools(seed)
    n_house = int(np.ceil(citizens / 2.2)) + 10
    kind = rng.choice(5, size=n_house, p=_HOUSEHOLD_KIND_SHARES)
    n_adults = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3], [1, 2, 2, 1], rng.integers(3, 5, n_house)
    )
    n_kids = np.where(np.isin(kind, [2, 3]), rng.choice([1, 2, 3], n_house, p=[0.45, 0.4, 0.15]), 0)
    size = n_adults + n_kids
    cum = np.cumsum(size)
    n_house = int(np.searchsorted(cum, citizens) + 1)
    kind, n_adults, n_kids, size = (
        kind[:n_house],
        n_adults[:n_house],
        n_kids[:n_house],
        size[:n_house],
    )
    start = np.concatenate([[0], np.cumsum(size)[:-1]])

    household = np.repeat(np.arange(n_house), size)[:citizens]
    member = np.arange(citizens) - start[household]
    is_adult = member < n_adults[household]
    hk = kind[household]

    # Ages: the first adult's age sets the household; partners near it; children below it.
    adult_w = _adult_age_weights()
    head_age = np.where(
        np.isin(kind, [2, 3]),
        rng.integers(24, 56, n_house),
        np.where(
            kind == 4,
            rng.integers(18, 36, n_house),
            rng.choice(np.arange(18, 101), n_house, p=adult_w),
        ),
    )
    ha = head_age[household]
    partner_age = np.clip(ha + np.round(rng.normal(0, 4, citizens)).astype(int), 18, 100)
    sharer_age = rng.integers(18, 36, citizens)
    child_age = (rng.random(citizens) * np.minimum(18, ha - 17)).astype(int)
    age = np.where(
        member == 0, ha, np.where(is_adult, np.where(hk == 4, sharer_age, partner_age), child_age)
    )
    dob = census - (age * 365.25 + rng.random(citizens) * 365).astype("timedelta64[D]")
    dob = dob.astype("datetime64[D]")

    # Sex: couples mostly opposite sex.
    sex = rng.integers(1, 3, citizens)
    head_sex = sex[start[household]]
    opposite = (member == 1) & np.isin(hk, [1, 2]) & (rng.random(citizens) < 0.95)
    sex = np.where(opposite, 3 - head_sex, sex)

    # Names: a household surname; some partners keep their own.
    house_family = rng.choice(len(pools.family), n_house, p=pools.family_p)
    own_family = rng.choice(len(pools.family), citizens, p=pools.family_p)
    keeps_own = is_adult & (member > 0) & ((hk == 4) | (rng.random(citizens) < 0.15))
    family = pools.family[np.where(keeps_own, own_family, house_family[household])]
    male = pools.male[rng.choice(len(pools.male), citizens, p=pools.male_p)]
    female = pools.female[rng.choice(len(pools.female), citizens, p=pools.female_p)]
    given = np.where(sex == 1, male, female)

    ages_now = (census - dob).astype(np.int64) / 365.25
    nino = np.full(citizens, "", dtype="U9")
    has_nino = ages_now >= 16
    nino[has_nino] = make_ninos(rng, int(has_nino.sum()))
    nhs = make_nhs_numbers(rng, citizens)

    deprivation = rng.beta(1.6, 2.4, n_house)
    eth_codes = np.array([c for c, _ in ETHNICITY_CODES])
    eth_p = np.array([p for _, p in ETHNICITY_CODES])
    ethnicity = eth_codes[rng.choice(len(eth_codes), n_house, p=eth_p / eth_p.sum())]

    props = _build_properties(rng, int(np.ceil(n_house * 1.06)), pools)
    n_prop = len(props["uprn"])
    home = rng.permutation(n_prop)[:n_house]
    moved = rng.random(n_house) < 0.08
    previous = np.where(moved, rng.integers(0, n_prop, n_house), -1)
    previous = np.where(previous == home, (previous + 1) % n_prop, previous)
    move_date = np.where(
        moved,
        np.datetime64("2023-04-01") + rng.integers(0, 1080, n_house).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    ).astype("datetime64[D]")

    # Energy rating: poorer households live in poorer homes.
    prop_dep = rng.random(n_prop)
    prop_dep[home] = deprivation
    latent = 0.55 * props["age_latent"] + 0.9 * prop_dep + rng.normal(0, 0.18, n_prop)
    shares = np.array([p for _, p in ENERGY_RATINGS])
    cuts = np.quantile(latent, np.cumsum(shares / shares.sum())[:-1])
    rating = np.searchsorted(cuts, latent)

    carer = np.where(n_adults[household] > 0, start[household], -1)
    return Population(
        given=given,
        family=family,
        sex=sex.astype(np.int8),
        dob=dob,
        nino=nino,
        nhs=nhs,
        household=household,
        is_adult=is_adult,
        carer=carer,
        n_adults=n_adults[household],
        property_idx=home[household],
        previous_property_idx=previous[household],
        move_date=move_date[household],
        deprivation=deprivation[household],
        ethnicity=ethnicity[household],
        uprn=props["uprn"],
        line1=props["line1"],
        town=props["town"],
        postcode=props["postcode"],
        la=props["la"],
        property_type=props["property_type"],
        floor_area=props["floor_area"],
        fuel=props["fuel"],
        band=props["band"],
        rating=rating.astype(np.int8),
    )


def _build_properties(rng: np.random.Generator, count: int, pools: NamePools) -> dict:
    """Lays out ``count`` properties on streets in the local authorities.

    Each street lies in one authority and has one postcode; a street is either houses
    (numbered 1, 2, ...) or blocks of six flats ("Flat 3, 22 Mill Lane").
    """
    weights = np.array([a.weight for a in LOCAL_AUTHORITIES])
    per_la = rng.multinomial(count, weights / weights.sum())
    parts = []
    for la_index, (authority, n) in enumerate(zip(LOCAL_AUTHORITIES, per_la, strict=True)):
        if n == 0:
            continue
        lengths = rng.integers(8, 45, n // 8 + 2)
        n_streets = int(np.searchsorted(np.cumsum(lengths), n) + 1)
        lengths = lengths[:n_streets]
        lengths[-1] -= lengths.sum() - n
        street = np.repeat(np.arange(n_streets), lengths)
        pos = np.arange(n) - np.concatenate([[0], np.cumsum(lengths)[:-1]])[street]
        name_space = len(pools.family) * len(STREET_SUFFIXES)
        picks = rng.choice(name_space, n_streets, replace=n_streets > name_space)
        names = np.char.add(
            np.char.add(pools.family[picks // len(STREET_SUFFIXES)].astype(str), " "),
            np.array(STREET_SUFFIXES)[picks % len(STREET_SUFFIXES)],
        )
        districts = np.array(authority.districts)[
            rng.integers(0, len(authority.districts), n_streets)
        ]
        postcodes = np.char.add(np.char.add(districts, " "), make_inward_codes(rng, n_streets))
        flat_street = rng.random(n_streets) < authority.flat_share
        is_flat = flat_street[street]
        number = np.where(is_flat, pos // 6 * 2 + 1, pos + 1)
        line1 = np.char.add(np.char.add(number.astype(str), " "), names[street])
        flat_prefix = np.char.add(np.char.add("Flat ", (pos % 6 + 1).astype(str)), ", ")
        line1 = np.where(is_flat, np.char.add(flat_prefix, line1), line1)
        ptype = np.where(
            is_flat,
            np.where(rng.random(n) < 0.15, 3, 1),
            np.where(rng.random(n) < 0.12, 2, 0),
        )
        parts.append(
            {
                "la": np.full(n, la_index, dtype=np.int16),
                "line1": line1.astype(object),
                "town": np.full(n, authority.town, dtype=object),
                "postcode": postcodes[street].astype(object),
                "property_type": ptype.astype(np.int8),
            }
        )
    props = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(props["la"])
    props["uprn"] = UPRN_BASE + np.arange(n, dtype=np.int64)
    mean_area = np.array([95.0, 58.0, 78.0, 72.0])[props["property_type"]]
    area = np.round(mean_area * rng.lognormal(0, 0.25, n))
    props["floor_area"] = np.clip(area, 18, 600)
    props["age_latent"] = rng.random(n)
    fuels = np.array([f for f, _ in MAIN_FUELS])
    fuel_p = np.array([p for _, p in MAIN_FUELS])
    props["fuel"] = fuels[rng.choice(len(fuels), n, p=fuel_p / fuel_p.sum())].astype(object)
    bands = np.array([b for b, _ in COUNCIL_TAX_BANDS])
    band_p = np.array([p for _, p in COUNCIL_TAX_BANDS])
    size_rank = (props["floor_area"] + rng.normal(0, 20, n)).argsort().argsort() / max(n - 1, 1)
    props["band"] = bands[np.searchsorted(np.cumsum(band_p / band_p.sum())[:-1], size_rank)]
    return props
