"""The shared standards: attributes a delivered column can map to, and GDQF dimensions.

A contract maps each delivered column to one standard attribute (ODCS ``customProperties``
``standardAttribute``). The cleaning rule for each attribute lives in one dbt macro
(``dbt_project/macros``); this module is the catalogue the contract linter checks against.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StandardAttribute:
    """A shared-standard attribute.

    Attributes:
        name: Dotted name, e.g. ``person.nino``.
        description: What the attribute holds once conformed.
        direct_identifier: True when the value identifies a person on its own (it is
            pseudonymised in staging and never leaves staging in clear).
        person_attribute: True when the attribute describes the record's subject and feeds
            person linkage.
        repeats_rarely: True when values seldom repeat from one record to the next
            (identifiers, amounts, address lines). Dictionary compression finds little to
            share in such text and analysing it is the slowest part of writing a raw table, so
            raw tables store these columns with zstd: measured at 1,000,000 citizens, ingest
            is about 8% faster and the raw tables about 28% larger.
    """

    name: str
    description: str
    direct_identifier: bool = False
    person_attribute: bool = False
    repeats_rarely: bool = False


_ATTRIBUTES = [
    StandardAttribute(
        "record.id", "The source system's identifier of the record.", repeats_rarely=True
    ),
    StandardAttribute(
        "person.nino",
        "National Insurance number, upper case without spaces, HMRC format validated.",
        direct_identifier=True,
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "person.nhs_number",
        "NHS number, ten digits with a valid modulus-11 check digit.",
        direct_identifier=True,
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "person.pupil_number",
        "Unique Pupil Number (UPN).",
        direct_identifier=True,
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "person.identifier",
        "A person's identifier in a scheme a department keeps (column customProperties "
        "identifierScheme, e.g. au.social_security): trimmed, upper case, no format check.",
        direct_identifier=True,
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "person.given_name", "Given name, normalised for matching.", True, person_attribute=True
    ),
    StandardAttribute(
        "person.family_name", "Family name, normalised for matching.", True, person_attribute=True
    ),
    StandardAttribute(
        "person.date_of_birth", "Date of birth as a date.", True, person_attribute=True
    ),
    StandardAttribute("person.sex", "Sex mapped to the standard code list.", person_attribute=True),
    StandardAttribute("person.ethnicity", "Ethnic group mapped to ONS 2021 groups."),
    StandardAttribute(
        "related_person.given_name", "Given name of a related person (parent or carer).", True
    ),
    StandardAttribute(
        "related_person.family_name", "Family name of a related person (parent or carer).", True
    ),
    StandardAttribute(
        "address.line",
        "First line of an address.",
        True,
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute("address.text", "A whole address as free text.", True, repeats_rarely=True),
    StandardAttribute(
        "address.house_number",
        "House number or name within a street, upper case.",
        True,
        person_attribute=True,
    ),
    StandardAttribute(
        "address.street",
        "Street of an address, upper case, punctuation removed.",
        True,
        person_attribute=True,
    ),
    StandardAttribute(
        "address.locality",
        "Town, village or suburb of an address, upper case.",
        person_attribute=True,
    ),
    StandardAttribute(
        "address.region",
        "County, state or province of an address, upper case.",
        person_attribute=True,
    ),
    StandardAttribute(
        "address.postal_code",
        "A postcode of any country: trimmed, upper case, inner spaces removed (no format "
        "check; the contract's customProperties.country says which country).",
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "address.postcode",
        "UK postcode, upper case with one space.",
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute(
        "property.uprn",
        "Unique Property Reference Number.",
        person_attribute=True,
        repeats_rarely=True,
    ),
    StandardAttribute("geography.local_authority", "Local authority GSS code."),
    StandardAttribute(
        "money.gbp", "An amount in pounds sterling as a decimal.", repeats_rarely=True
    ),
    StandardAttribute("time.date", "A calendar date."),
    StandardAttribute("time.tax_year", "A UK tax year, yyyy-yy."),
    StandardAttribute("code.benefit_type", "DWP benefit type code."),
    StandardAttribute("code.energy_rating", "EPC energy efficiency band A-G."),
    StandardAttribute("code.main_fuel", "Main heating fuel mapped to the standard fuel list."),
    StandardAttribute("code.property_type", "Property type (house, flat, bungalow, maisonette)."),
    StandardAttribute("code.council_tax_band", "Council tax valuation band A-H."),
    StandardAttribute("flag.yes_no", "A Y/N flag as a boolean."),
    StandardAttribute("flag.true_false", "A true/false flag as a boolean."),
    StandardAttribute(
        "organisation.paye_reference", "Employer PAYE reference.", repeats_rarely=True
    ),
    StandardAttribute("organisation.gp_practice", "ODS code of a GP practice."),
    StandardAttribute("organisation.school_urn", "URN of a school."),
    StandardAttribute("measure.number", "A numeric measure.", repeats_rarely=True),
    StandardAttribute(
        "none", "Kept in the raw table as delivered and not conformed: left out of staging."
    ),
]

STANDARD_ATTRIBUTES: dict[str, StandardAttribute] = {a.name: a for a in _ATTRIBUTES}

GDQF_DIMENSIONS = (
    "accuracy",
    "completeness",
    "consistency",
    "timeliness",
    "uniqueness",
    "validity",
)

# ODCS v3 names two dimensions differently from the UK Government Data Quality Framework.
ODCS_TO_GDQF = {
    "accuracy": "accuracy",
    "completeness": "completeness",
    "conformity": "validity",
    "consistency": "consistency",
    "coverage": "completeness",
    "timeliness": "timeliness",
    "uniqueness": "uniqueness",
}

CLASSIFICATIONS = ("public", "official", "personal", "special_category")

# ISO 3166-1 alpha-2 country codes for a contract's ``country``: the officially assigned ones
# plus the user-assigned ones ISO reserves for private use (AA, QM-QZ, XA-XZ, ZZ), which
# name a fictional or not-yet-coded territory, as test data does.
USER_ASSIGNED_COUNTRY_CODES = frozenset(
    ["AA", "ZZ"]
    + [f"Q{c}" for c in "MNOPQRSTUVWXYZ"]
    + [f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
)
COUNTRY_CODES = USER_ASSIGNED_COUNTRY_CODES | frozenset(
    " ".join(
        (
            "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM",
            "BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX",
            "CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG",
            "GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR",
            "IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV",
            "LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE",
            "NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO",
            "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF",
            "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF",
            "WS YE YT ZA ZM ZW",
        )
    ).split()
)

SEVERITIES = {"error": "ERROR", "warning": "WARN", "warn": "WARN", "info": "WARN"}
