"""The UK Cross-Government Metadata Exchange Model's controlled values, and how Common
Ground's own vocabulary (contract classifications, delivery frequencies) maps onto them.

The model (CDDO, based on DCAT 3) fixes the values of ``type``, ``accessRights``,
``securityClassification`` and ``updateFrequency``, and lets ``licence`` be a licence's IRI
or ``DATA_SHARE_AGREEMENT``. Every mapping from a contract to those values lives here, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from orchestration.standards import CLASSIFICATIONS

DATASET_TYPE = "dataset"
"""``type`` of a Dataset entry."""

DISTRIBUTION_TYPE = "distribution"
"""``type`` of a Distribution."""

ACCESS_RIGHTS = ("OPEN", "COMMERCIAL", "NON-PUBLIC")
"""The model's ``accessRights`` values: open to everyone; available under conditions
(payment, non-disclosure); not public (government users only, under an agreement)."""

SECURITY_CLASSIFICATIONS = ("OFFICIAL", "SECRET", "TOP-SECRET")
"""The Government Security Classifications the model admits. OFFICIAL-SENSITIVE is not a
classification but a handling caveat on OFFICIAL information."""

OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"
"""Handling caveat for OFFICIAL information whose loss would harm people (personal data)."""

OPEN_GOVERNMENT_LICENCE = (
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
)
"""The Open Government Licence v3.0: the default licence of public sector information."""

DATA_SHARE_AGREEMENT = "DATA_SHARE_AGREEMENT"
"""The model's ``licence`` for data obtainable only under a data sharing agreement."""

DUCKDB_MEDIA_TYPE = "application/vnd.duckdb"
"""Media type of a DuckDB database file: the vendor type DuckDB itself serves (not yet in
the IANA register)."""

PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
"""IANA media type of an Apache Parquet file (an extract under a sharing agreement)."""


@dataclass(frozen=True)
class Handling:
    """How a contract classification is catalogued.

    Attributes:
        classification: The contract classification (``orchestration.standards``).
        security_classification: The model's ``securityClassification``.
        handling_caveat: ``OFFICIAL-SENSITIVE`` for personal data, else None (recorded in
            the entry's ``handlingCaveat`` extension, beside the classification).
        access_rights: The model's ``accessRights``.
        licence: The model's ``licence``.
    """

    classification: str
    security_classification: str
    handling_caveat: str | None
    access_rights: str
    licence: str


HANDLING: dict[str, Handling] = {
    h.classification: h
    for h in (
        Handling("public", "OFFICIAL", None, "OPEN", OPEN_GOVERNMENT_LICENCE),
        Handling("official", "OFFICIAL", None, "NON-PUBLIC", DATA_SHARE_AGREEMENT),
        Handling("personal", "OFFICIAL", OFFICIAL_SENSITIVE, "NON-PUBLIC", DATA_SHARE_AGREEMENT),
        Handling(
            "special_category", "OFFICIAL", OFFICIAL_SENSITIVE, "NON-PUBLIC", DATA_SHARE_AGREEMENT
        ),
    )
}
"""Contract classification -> catalogue handling. Everything Common Ground holds is OFFICIAL
(no contract vocabulary reaches SECRET); personal and special category data carry the
OFFICIAL-SENSITIVE caveat. Only public data is OPEN under the Open Government Licence; the
rest is NON-PUBLIC and shared across government under a data sharing agreement (the
contract's legal basis). COMMERCIAL is never derived: no contract sells its data."""


def highest_classification(classifications: list[str] | tuple[str, ...]) -> str:
    """The most restrictive of some contract classifications (``CLASSIFICATIONS`` order).

    Raises:
        ValueError: None given, or one is not a contract classification.
    """
    unknown = sorted(set(classifications) - set(CLASSIFICATIONS))
    if unknown or not classifications:
        raise ValueError(f"not contract classifications: {unknown or 'none given'}")
    return max(classifications, key=CLASSIFICATIONS.index)


FREQUENCY_DAYS: dict[str, float] = {
    "freq:daily": 1.0,
    "freq:threeTimesAWeek": 7 / 3,
    "freq:semiweekly": 3.5,
    "freq:weekly": 7.0,
    "freq:threeTimesAMonth": 365.25 / 36,
    "freq:biweekly": 14.0,
    "freq:semimonthly": 365.25 / 24,
    "freq:monthly": 365.25 / 12,
    "freq:bimonthly": 365.25 / 6,
    "freq:quarterly": 365.25 / 4,
    "freq:threeTimesAYear": 365.25 / 3,
    "freq:semiannual": 365.25 / 2,
    "freq:annual": 365.25,
    "freq:biennial": 730.5,
    "freq:triennial": 1095.75,
}
"""The periodic terms of the Dublin Core frequency vocabulary the model uses, with the
interval each stands for, in days."""

CONTINUOUS = "freq:continuous"
"""Updated without interruption: deliveries less than half a day apart."""

IRREGULAR = "freq:irregular"
"""The model's value when the frequency is unknown or uneven."""

UPDATE_FREQUENCIES = (*FREQUENCY_DAYS, CONTINUOUS, IRREGULAR)
"""Every ``updateFrequency`` value the catalogue may write."""


def update_frequency(days: float) -> str:
    """The frequency term nearest a delivery interval (a contract's SLA ``frequency``).

    Nearest on a logarithmic scale (5 days is nearer weekly than twice a week); an interval
    under half a day is ``freq:continuous``.

    Raises:
        ValueError: The interval is not a positive number of days.
    """
    if not isinstance(days, int | float) or isinstance(days, bool) or not days > 0:
        raise ValueError(f"a delivery frequency must be a positive number of days, not {days!r}")
    if days < 0.5:
        return CONTINUOUS
    return min(FREQUENCY_DAYS, key=lambda term: abs(math.log(days / FREQUENCY_DAYS[term])))
