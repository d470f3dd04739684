"""The foreign profile's true population: households of adults at addresses in a fictional
country, each person with a social security number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from orchestration.generator.foreign.reference import (
    BUILDING_NAMES,
    LOCALITY_ENDINGS,
    LOCALITY_STEMS,
    NAME_ORIGINS,
    REFERENCE_DATE,
    REGIONS,
    STREET_TYPES,
    STREET_WORDS,
)
from orchestration.generator.identifiers import unique_codes


@dataclass
class ForeignPopulation:
    """The ground truth of the foreign profile, as arrays indexed by position.

    Citizen ``i`` has ``citizen_id = i + 1``; citizens of a household are contiguous and
    share an address.

    Attributes:
        given: Given name of each citizen.
        middle: Middle name of each citizen (empty when none).
        family: Family name of each citizen.
        sex: 1 male, 2 female.
        dob: Date of birth.
        ssn: Nine-digit social security number.
        household: Household index of each citizen.
        address: Index of each citizen's address.
        house_number: House number of each address.
        street_name: Street name of each address, without its type (``Banksia``).
        street_type: Index into ``STREET_TYPES`` of each address's street.
        unit: Second address line of each address (unit or building; empty when none).
        locality: Locality (suburb) of each address.
        postal_code: Four-digit postal code of each address.
        region: Index into ``REGIONS`` of each address.
    """

    given: np.ndarray
    middle: np.ndarray
    family: np.ndarray
    sex: np.ndarray
    dob: np.ndarray
    ssn: np.ndarray
    household: np.ndarray
    address: np.ndarray
    house_number: np.ndarray
    street_name: np.ndarray
    street_type: np.ndarray
    unit: np.ndarray
    locality: np.ndarray
    postal_code: np.ndarray
    region: np.ndarray

    @property
    def citizens(self) -> int:
        """Number of citizens."""
        return len(self.given)

    @property
    def addresses(self) -> int:
        """Number of addresses."""
        return len(self.house_number)

    def street(self, address: np.ndarray) -> np.ndarray:
        """Street names with their type spelled out (``Banksia Street``) of some addresses."""
        types = np.array([full for full, _ in STREET_TYPES], dtype=object)
        return self.street_name[address] + " " + types[self.street_type[address]]

    def citizens_frame(self) -> pd.DataFrame:
        """The citizens ground-truth table (true values, before any department's mess)."""
        address = self.address
        codes = np.array([r.code for r in REGIONS], dtype=object)
        return pd.DataFrame(
            {
                "citizen_id": np.arange(1, self.citizens + 1, dtype=np.int64),
                "given_name": pd.Series(self.given, dtype="str"),
                "middle_name": pd.Series(self.middle, dtype="str"),
                "family_name": pd.Series(self.family, dtype="str"),
                "sex": np.where(self.sex == 1, "M", "F"),
                "date_of_birth": self.dob,
                "ssn": pd.Series(self.ssn, dtype="str"),
                "household": self.household.astype(np.int64),
                "house_number": pd.Series(self.house_number[address], dtype="str"),
                "street": pd.Series(self.street(address), dtype="str"),
                "unit": pd.Series(self.unit[address], dtype="str"),
                "locality": pd.Series(self.locality[address], dtype="str"),
                "postal_code": pd.Series(self.postal_code[address], dtype="str"),
                "region": codes[self.region[address]],
            }
        )


@dataclass
class _Pools:
    """Given and family names of one name origin, with sampling weights."""

    male: np.ndarray
    female: np.ndarray
    family: np.ndarray
    family_p: np.ndarray


def _name_pools(rng: np.random.Generator) -> list[_Pools]:
    """Name pools of every origin in ``NAME_ORIGINS``, from Faker's fixed lists."""
    pools = []
    for locale, _ in NAME_ORIGINS:
        fake = Faker(locale)
        person = next(p for p in fake.providers if type(p).__module__.endswith(f"person.{locale}"))
        family = sorted(set(person.last_names))
        if isinstance(person.last_names, dict):
            weights = np.array([float(person.last_names[n]) for n in family])
        else:
            # Zipf-like weights in a random order: a few common names, a long tail.
            weights = 1.0 / (rng.permutation(len(family)) + 8.0)
        pools.append(
            _Pools(
                male=np.array(sorted(set(person.first_names_male)), dtype=object),
                female=np.array(sorted(set(person.first_names_female)), dtype=object),
                family=np.array(family, dtype=object),
                family_p=weights / weights.sum(),
            )
        )
    return pools


def _draw_names(
    rng: np.random.Generator, pools: list[_Pools], origin: np.ndarray, sex: np.ndarray
) -> np.ndarray:
    """A given name for each person from the pool of their origin and sex."""
    out = np.empty(len(origin), dtype=object)
    for k, pool in enumerate(pools):
        for code, names in ((1, pool.male), (2, pool.female)):
            pick = np.flatnonzero((origin == k) & (sex == code))
            weights = 1.0 / (np.arange(len(names)) % 97 + 6.0)
            out[pick] = names[rng.choice(len(names), len(pick), p=weights / weights.sum())]
    return out


def _draw_family(rng: np.random.Generator, pools: list[_Pools], origin: np.ndarray) -> np.ndarray:
    """A family name for each household from the pool of its origin."""
    out = np.empty(len(origin), dtype=object)
    for k, pool in enumerate(pools):
        pick = np.flatnonzero(origin == k)
        out[pick] = pool.family[rng.choice(len(pool.family), len(pick), p=pool.family_p)]
    return out


def build_foreign_population(rng: np.random.Generator, citizens: int) -> ForeignPopulation:
    """Builds ``citizens`` adults in households, with names, dates of birth, social security
    numbers and addresses in the fictional country.

    Args:
        rng: Random generator.
        citizens: Number of citizens.

    Returns:
        The population.
    """
    pools = _name_pools(rng)
    sizes = rng.choice([1, 2, 3, 4], size=citizens, p=[0.34, 0.42, 0.15, 0.09])
    n_house = int(np.searchsorted(np.cumsum(sizes), citizens) + 1)
    sizes = sizes[:n_house]
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    household = np.repeat(np.arange(n_house), sizes)[:citizens]
    member = np.arange(citizens) - start[household]

    origin_p = np.array([w for _, w in NAME_ORIGINS])
    house_origin = rng.choice(len(pools), n_house, p=origin_p / origin_p.sum())
    origin = house_origin[household]
    # Some people carry given names of another origin than their family name.
    mixed = rng.random(citizens) < 0.15
    given_origin = np.where(mixed, rng.choice(len(pools), citizens), origin)

    head_age = rng.choice(np.arange(20, 96), n_house, p=_age_weights())[household]
    age = np.where(
        member == 0,
        head_age,
        np.where(
            member == 1,
            np.clip(head_age + np.round(rng.normal(0, 4, citizens)).astype(int), 18, 99),
            np.maximum(head_age - rng.integers(22, 38, citizens), 16),
        ),
    )
    reference = np.datetime64(REFERENCE_DATE)
    dob = (reference - (age * 365.25 + rng.random(citizens) * 365).astype("timedelta64[D]")).astype(
        "datetime64[D]"
    )
    sex = rng.integers(1, 3, citizens)
    sex = np.where((member == 1) & (rng.random(citizens) < 0.95), 3 - sex[start[household]], sex)

    family = _draw_family(rng, pools, house_origin)[household]
    own = _draw_family(rng, pools, origin)
    family = np.where((member > 0) & (rng.random(citizens) < 0.2), own, family)
    double = rng.random(citizens) < 0.02
    family = np.where(double, family + "-" + _draw_family(rng, pools, origin), family)
    given = _draw_names(rng, pools, given_origin, sex)
    middle = np.where(
        rng.random(citizens) < 0.12, _draw_names(rng, pools, given_origin, sex), ""
    ).astype(object)

    ssn = (100_000_000 + unique_codes(rng, citizens, 800_000_000)).astype(str)
    streets = _build_addresses(rng, int(np.ceil(n_house * 1.15)) + 5, pools[0].family)
    home = rng.permutation(len(streets["house_number"]))[:n_house]
    return ForeignPopulation(
        given=given,
        middle=middle,
        family=family,
        sex=sex.astype(np.int8),
        dob=dob,
        ssn=ssn,
        household=household,
        address=home[household],
        **streets,
    )


def _age_weights() -> np.ndarray:
    """Relative frequency of household heads' ages 20..95."""
    ages = np.arange(20, 96)
    w = np.interp(ages, [20, 30, 60, 75, 85, 95], [0.6, 1.0, 1.0, 0.7, 0.3, 0.05])
    return w / w.sum()


def _build_addresses(
    rng: np.random.Generator, count: int, family_names: np.ndarray
) -> dict[str, np.ndarray]:
    """Lays ``count`` addresses out on streets in localities of the regions.

    Each locality lies in one region and has one postal code (neighbouring localities may
    share it); streets are named after trees, places or (from ``family_names``) people;
    houses on a street are numbered 1, 2, ...; some addresses are units or named buildings.
    """
    n_localities = max(30, count // 150)
    stems, endings = len(LOCALITY_STEMS), len(LOCALITY_ENDINGS)
    picks = rng.choice(stems * endings, min(n_localities, stems * endings), replace=False)
    if n_localities > len(picks):
        picks = np.resize(picks, n_localities)
    names = np.array(
        [LOCALITY_STEMS[p // endings] + LOCALITY_ENDINGS[p % endings] for p in picks], dtype=object
    )
    # Beyond the name space, localities of the same name lie in different regions.
    weights = np.array([r.weight for r in REGIONS])
    loc_region = rng.choice(len(REGIONS), n_localities, p=weights / weights.sum())
    loc_region[: len(REGIONS)] = np.arange(len(REGIONS))  # every region has a locality
    first = np.array([r.first_postal_code for r in REGIONS])[loc_region]
    last = np.array([r.last_postal_code for r in REGIONS])[loc_region]
    loc_code = first + (rng.random(n_localities) * (last - first + 1)).astype(np.int64)
    loc_size = rng.lognormal(0, 0.8, n_localities)

    n_streets = max(len(REGIONS), count // 22)
    # A region's share of streets is its weight, spread over its localities by their size.
    region_size = np.bincount(loc_region, weights=loc_size, minlength=len(REGIONS))
    loc_p = loc_size / region_size[loc_region] * weights[loc_region]
    street_loc = rng.choice(n_localities, n_streets, p=loc_p / loc_p.sum())
    street_loc[: len(REGIONS)] = np.arange(len(REGIONS))  # every region has a street
    words = np.array(STREET_WORDS, dtype=object)
    people = rng.choice(family_names, min(len(family_names), 4 * len(words)), replace=False)
    word_pool = np.concatenate([words, people])
    street_name = word_pool[rng.integers(0, len(word_pool), n_streets)]
    street_type = rng.integers(0, len(STREET_TYPES), n_streets)

    street = np.sort(rng.integers(0, n_streets, count))
    first_on_street = np.searchsorted(street, street)
    number = np.arange(count) - first_on_street + 1
    unit_kind = rng.random(count)
    units = np.where(
        unit_kind < 0.10,
        "Unit " + rng.integers(1, 25, count).astype(str).astype(object),
        np.where(
            unit_kind < 0.13,
            np.array(BUILDING_NAMES, dtype=object)[rng.integers(0, len(BUILDING_NAMES), count)],
            "",
        ),
    ).astype(object)
    order = rng.permutation(count)
    loc = street_loc[street]
    return {
        "house_number": number.astype(str).astype(object)[order],
        "street_name": street_name[street][order],
        "street_type": street_type[street][order],
        "unit": units,
        "locality": names[loc][order],
        "postal_code": np.char.zfill(loc_code[loc].astype(str), 4).astype(object)[order],
        "region": loc_region[loc][order],
    }
