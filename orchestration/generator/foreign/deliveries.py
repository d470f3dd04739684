"""The foreign profile's deliveries: which department holds whom, in which columns and
conventions, and with how much mess.

``revenue/taxpayers`` holds every citizen with little mess; ``health/patients`` holds every
citizen again, each record a messier copy (the two files have exactly one true link per
citizen); ``transport/licence_holders`` holds some of them and no social security number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.generator.foreign import corrupt
from orchestration.generator.foreign.people import ForeignPopulation
from orchestration.generator.foreign.reference import EXTRA_NICKNAMES, REGIONS, STREET_TYPES
from orchestration.generator.reference import NICKNAMES

BASE_RATES: dict[str, float] = {
    "given_slip": 0.12,
    "given_sound": 0.05,
    "given_nickname": 0.25,
    "given_initial": 0.02,
    "given_missing": 0.03,
    "family_slip": 0.12,
    "family_sound": 0.06,
    "family_hyphen": 0.5,
    "family_missing": 0.02,
    "names_swapped": 0.02,
    "names_lower": 0.05,
    "dob_swap": 0.02,
    "dob_digit": 0.04,
    "dob_impossible": 0.006,
    "dob_missing": 0.02,
    "ssn_missing": 0.15,
    "ssn_mistyped": 0.03,
    "sex_wrong": 0.005,
    "sex_missing": 0.02,
    "moved": 0.08,
    "house_number_mistyped": 0.04,
    "house_number_missing": 0.04,
    "street_slip": 0.08,
    "street_missing": 0.03,
    "unit_missing": 0.3,
    "locality_slip": 0.06,
    "locality_missing": 0.03,
    "postal_code_mistyped": 0.04,
    "postal_code_missing": 0.03,
    "region_wrong": 0.01,
    "region_missing": 0.04,
}
"""Shares of each kind of mess in a delivery of mess 1 at messiness 1.

``given_nickname`` applies to names that have a nickname; ``family_hyphen`` to
double-barrelled names (written with a space or only the first part); ``unit_missing`` to
addresses with a second line."""

FIELDS = (
    "record_id", "ssn", "given", "family", "dob", "sex", "house_number", "street", "unit",
    "locality", "postal_code", "region",
)  # fmt: skip
"""The values a delivery can hold, in the order the builder makes them."""


@dataclass(frozen=True)
class Delivery:
    """One department's dataset in the foreign profile.

    Attributes:
        department: Department name (landing folder).
        dataset: Dataset name (landing folder and file name).
        id_prefix: Prefix of the record ids.
        columns: Each held field (of ``FIELDS``) and its delivered header, in file order.
        coverage: Share of citizens held.
        mess: Multiplier of ``BASE_RATES`` for this dataset.
        upper_case: Whether names and localities are written in upper case.
        ascii_only: Whether the system drops diacritics.
        abbreviated_streets: Share of street types abbreviated (``St``, ``Rd``).
        middle_names: Share of middle names written after the given name.
        lower_case_regions: Whether region codes are written in lower case.
    """

    department: str
    dataset: str
    id_prefix: str
    columns: tuple[tuple[str, str], ...]
    coverage: float
    mess: float
    upper_case: bool = False
    ascii_only: bool = False
    abbreviated_streets: float = 0.0
    middle_names: float = 0.0
    lower_case_regions: bool = False

    @property
    def key(self) -> str:
        """``<department>/<dataset>``."""
        return f"{self.department}/{self.dataset}"

    @property
    def headers(self) -> list[str]:
        """Delivered headers in file order."""
        return [header for _, header in self.columns]


DELIVERIES: tuple[Delivery, ...] = (
    Delivery(
        department="revenue",
        dataset="taxpayers",
        id_prefix="TP",
        columns=(
            ("record_id", "taxpayer_ref"),
            ("ssn", "ssn"),
            ("given", "given_name"),
            ("family", "surname"),
            ("dob", "date_of_birth"),
            ("house_number", "street_number"),
            ("street", "address_1"),
            ("unit", "address_2"),
            ("locality", "suburb"),
            ("postal_code", "postcode"),
            ("region", "state"),
        ),
        coverage=1.0,
        mess=0.25,
        upper_case=True,
        ascii_only=True,
        abbreviated_streets=0.1,
        middle_names=0.7,
    ),
    Delivery(
        department="health",
        dataset="patients",
        id_prefix="PT",
        columns=(
            ("record_id", "PatientID"),
            ("ssn", "SocialSecurityNo"),
            ("given", "FirstName"),
            ("family", "LastName"),
            ("dob", "DOB"),
            ("sex", "Sex"),
            ("house_number", "HouseNo"),
            ("street", "Street"),
            ("unit", "AddressLine2"),
            ("locality", "Suburb"),
            ("postal_code", "Postcode"),
            ("region", "State"),
        ),
        coverage=1.0,
        mess=1.0,
        abbreviated_streets=0.6,
        middle_names=0.1,
        lower_case_regions=True,
    ),
    Delivery(
        department="transport",
        dataset="licence_holders",
        id_prefix="DL",
        columns=(
            ("record_id", "Licence Number"),
            ("given", "Given Names"),
            ("family", "Family Name"),
            ("dob", "Birth Date"),
            ("unit", "Unit"),
            ("house_number", "Street No"),
            ("street", "Street Name"),
            ("locality", "Suburb"),
            ("postal_code", "Post Code"),
            ("region", "State"),
        ),
        coverage=0.6,
        mess=0.6,
        abbreviated_streets=0.3,
        middle_names=0.5,
    ),
)
"""The foreign profile's deliveries; their contracts are in
``expectations/examples/foreign/<department>/<dataset>.yaml``."""


def build_delivery(
    rng: np.random.Generator, pop: ForeignPopulation, spec: Delivery, messiness: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Builds one delivery as its department holds it, and its ground truth.

    Args:
        rng: Random generator of this delivery.
        pop: The true population.
        spec: The delivery.
        messiness: Multiplier of every mess rate (0 leaves only the department's conventions).

    Returns:
        The rows to deliver (columns named by the delivered headers) and the ground-truth
        person records (``department``, ``dataset``, ``record_id``, ``role``, ``citizen_id``).
    """
    rates = {k: min(1.0, v * spec.mess * messiness) for k, v in BASE_RATES.items()}
    held = np.flatnonzero(rng.random(pop.citizens) < spec.coverage)
    idx = held[rng.permutation(len(held))]
    n = len(idx)
    values = _names(rng, pop, idx, spec, rates)
    values["record_id"] = np.array(
        [f"{spec.id_prefix}{k:08d}" for k in range(1, n + 1)], dtype=object
    )
    values["dob"] = corrupt.yyyymmdd(rng, pop.dob[idx], rates)
    ssn = corrupt.mistype_digits(rng, pop.ssn[idx].astype(object), rates["ssn_mistyped"])
    values["ssn"] = corrupt.blank(rng, ssn, rates["ssn_missing"])
    sex = np.where(rng.random(n) < rates["sex_wrong"], 3 - pop.sex[idx], pop.sex[idx])
    values["sex"] = corrupt.blank(
        rng, np.where(sex == 1, "M", "F").astype(object), rates["sex_missing"]
    )
    values.update(_address(rng, pop, idx, spec, rates))
    landing = pd.DataFrame({header: values[name] for name, header in spec.columns})
    truth = pd.DataFrame(
        {
            "department": spec.department,
            "dataset": spec.dataset,
            "record_id": pd.Series(values["record_id"], dtype="str"),
            "role": "subject",
            "citizen_id": (idx + 1).astype(np.int64),
        }
    )
    return landing, truth


def _names(
    rng: np.random.Generator,
    pop: ForeignPopulation,
    idx: np.ndarray,
    spec: Delivery,
    rates: dict[str, float],
) -> dict[str, np.ndarray]:
    """Given and family names as the department holds them."""
    n = len(idx)
    first = pop.given[idx]
    nicknames = {**NICKNAMES, **EXTRA_NICKNAMES}
    nick = np.array([nicknames.get(g) for g in first], dtype=object)
    use_nick = (rng.random(n) < rates["given_nickname"]) & (nick != None)  # noqa: E711
    middle = pop.middle[idx]
    with_middle = (middle != "") & (rng.random(n) < spec.middle_names)
    given = np.where(use_nick, nick, np.where(with_middle, first + " " + middle, first))
    initial = rng.random(n) < rates["given_initial"]
    given = np.where(initial, np.array([g[0] for g in given], dtype=object), given).astype(object)
    given = corrupt.keying_slips(rng, given, rates["given_slip"])
    given = corrupt.sound_alike(rng, given, rates["given_sound"])

    family = pop.family[idx].astype(object)
    hyphen = np.array(["-" in f for f in family], dtype=bool) & (
        rng.random(n) < rates["family_hyphen"]
    )
    shortened = rng.random(n) < 0.5
    for i in np.flatnonzero(hyphen):
        family[i] = family[i].split("-")[0] if shortened[i] else family[i].replace("-", " ")
    family = corrupt.keying_slips(rng, family, rates["family_slip"])
    family = corrupt.sound_alike(rng, family, rates["family_sound"])

    swapped = rng.random(n) < rates["names_swapped"]
    given, family = np.where(swapped, family, given), np.where(swapped, given, family)
    given = corrupt.blank(rng, given.astype(object), rates["given_missing"])
    family = corrupt.blank(rng, family.astype(object), rates["family_missing"])
    lower = rng.random(n) < rates["names_lower"]
    names = {}
    for key, values in (("given", given), ("family", family)):
        if spec.ascii_only:
            values = corrupt.ascii_fold(values)
        names[key] = np.array(
            [
                None if v is None else v.upper() if spec.upper_case else v.lower() if low else v
                for v, low in zip(values, lower, strict=True)
            ],
            dtype=object,
        )
    return names


def _address(
    rng: np.random.Generator,
    pop: ForeignPopulation,
    idx: np.ndarray,
    spec: Delivery,
    rates: dict[str, float],
) -> dict[str, np.ndarray]:
    """House number, street, unit, locality, postal code and region as the department holds
    them: the current address, or for some people another one (moved, or out of date)."""
    n = len(idx)
    addr = pop.address[idx]
    addr = np.where(rng.random(n) < rates["moved"], rng.integers(0, pop.addresses, n), addr)
    house = pop.house_number[addr].astype(object)
    house = corrupt.mistype_digits(rng, house, rates["house_number_mistyped"])
    house = corrupt.blank(rng, house, rates["house_number_missing"])

    abbreviate = rng.random(n) < spec.abbreviated_streets
    types = np.array([full for full, _ in STREET_TYPES], dtype=object)
    short = np.array([abbr for _, abbr in STREET_TYPES], dtype=object)
    kind = pop.street_type[addr]
    street = pop.street_name[addr] + " " + np.where(abbreviate, short[kind], types[kind])
    street = corrupt.keying_slips(rng, street.astype(object), rates["street_slip"])
    street = corrupt.blank(rng, street, rates["street_missing"])

    unit = pop.unit[addr].astype(object)
    unit = corrupt.blank(
        rng, np.where(unit == "", None, unit).astype(object), rates["unit_missing"]
    )

    locality = corrupt.keying_slips(rng, pop.locality[addr].astype(object), rates["locality_slip"])
    locality = corrupt.blank(rng, locality, rates["locality_missing"])
    postal = corrupt.mistype_digits(
        rng, pop.postal_code[addr].astype(object), rates["postal_code_mistyped"]
    )
    postal = corrupt.blank(rng, postal, rates["postal_code_missing"])

    codes = np.array([r.code.lower() if spec.lower_case_regions else r.code for r in REGIONS])
    region = codes[pop.region[addr]].astype(object)
    region = corrupt.replace_some(
        rng, region, codes[rng.integers(0, len(codes), n)].astype(object), rates["region_wrong"]
    )
    region = corrupt.blank(rng, region, rates["region_missing"])
    if spec.upper_case:
        street = np.array([None if s is None else s.upper() for s in street], dtype=object)
        locality = np.array([None if s is None else s.upper() for s in locality], dtype=object)
    return {
        "house_number": house,
        "street": street,
        "unit": unit,
        "locality": locality,
        "postal_code": postal,
        "region": region,
    }
