"""Reference tables the sample-data generator draws from: local authorities and code lists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalAuthority:
    """An English local authority the synthetic population lives in.

    Attributes:
        gss_code: ONS GSS code of the authority.
        name: Official name of the authority.
        postcode_area: Postcode area (the leading letters) of its postcodes.
        region: ONS region (or London) the authority is in.
        town: Post town written on addresses.
        weight: Relative share of the population living there.
        districts: Postcode districts used for its addresses.
        flat_share: Share of streets made of flats rather than houses.
    """

    gss_code: str
    name: str
    postcode_area: str
    region: str
    town: str
    weight: float
    districts: tuple[str, ...]
    flat_share: float = 0.2


def _districts(area: str, count: int) -> tuple[str, ...]:
    """Postcode districts area1..areaN of a postcode area."""
    return tuple(f"{area}{n}" for n in range(1, count + 1))


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    LocalAuthority(
        "E08000035", "Leeds", "LS", "Yorkshire and The Humber", "Leeds", 14.0, _districts("LS", 28)
    ),
    LocalAuthority(
        "E08000025", "Birmingham", "B", "West Midlands", "Birmingham", 14.0, _districts("B", 45)
    ),
    LocalAuthority(
        "E08000003", "Manchester", "M", "North West", "Manchester", 8.0, _districts("M", 40), 0.35
    ),
    LocalAuthority(
        "E06000023", "Bristol", "BS", "South West", "Bristol", 7.0, _districts("BS", 16)
    ),
    LocalAuthority(
        "E08000021",
        "Newcastle upon Tyne",
        "NE",
        "North East",
        "Newcastle upon Tyne",
        4.5,
        _districts("NE", 15),
    ),
    LocalAuthority(
        "E06000018", "Nottingham", "NG", "East Midlands", "Nottingham", 4.5, _districts("NG", 11)
    ),
    LocalAuthority(
        "E08000019",
        "Sheffield",
        "S",
        "Yorkshire and The Humber",
        "Sheffield",
        8.0,
        _districts("S", 36),
    ),
    LocalAuthority(
        "E06000016", "Leicester", "LE", "East Midlands", "Leicester", 5.0, _districts("LE", 9)
    ),
    LocalAuthority(
        "E08000012", "Liverpool", "L", "North West", "Liverpool", 7.0, _districts("L", 38)
    ),
    LocalAuthority(
        "E09000033",
        "Westminster",
        "SW",
        "London",
        "London",
        3.0,
        ("SW1A", "SW1E", "SW1H", "SW1P", "SW1V", "SW1W", "SW1X", "SW1Y"),
        0.8,
    ),
    LocalAuthority(
        "E06000014", "York", "YO", "Yorkshire and The Humber", "York", 3.0, _districts("YO", 32)
    ),
    LocalAuthority("E07000178", "Oxford", "OX", "South East", "Oxford", 2.2, _districts("OX", 4)),
    LocalAuthority(
        "E07000008", "Cambridge", "CB", "East of England", "Cambridge", 2.0, _districts("CB", 5)
    ),
    LocalAuthority(
        "E06000044", "Portsmouth", "PO", "South East", "Portsmouth", 3.0, _districts("PO", 6)
    ),
    LocalAuthority(
        "E06000010",
        "Kingston upon Hull",
        "HU",
        "Yorkshire and The Humber",
        "Hull",
        3.8,
        _districts("HU", 9),
    ),
    LocalAuthority(
        "E08000026", "Coventry", "CV", "West Midlands", "Coventry", 4.5, _districts("CV", 7)
    ),
    LocalAuthority("E06000027", "Torbay", "TQ", "South West", "Torquay", 2.0, _districts("TQ", 5)),
    LocalAuthority("E07000041", "Exeter", "EX", "South West", "Exeter", 1.8, _districts("EX", 6)),
    LocalAuthority(
        "E06000021",
        "Stoke-on-Trent",
        "ST",
        "West Midlands",
        "Stoke-on-Trent",
        3.5,
        _districts("ST", 8),
    ),
    LocalAuthority(
        "E06000001", "Hartlepool", "TS", "North East", "Hartlepool", 1.4, _districts("TS", 27)
    ),
)

COUNCIL_TAX_AUTHORITY = "E08000035"
"""GSS code of the one billing authority that delivers a council-tax extract (Leeds)."""

POSTCODE_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters allowed in the inward part of a UK postcode."""

NINO_FIRST_LETTERS = "ABCEGHJKLMNOPRSTWXYZ"
"""Letters allowed first in a National Insurance number prefix."""

NINO_SECOND_LETTERS = "ABCEGHJKLMNPRSTWXYZ"
"""Letters allowed second in a National Insurance number prefix."""

NINO_BANNED_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
"""Prefixes never issued as National Insurance numbers."""

NINO_INVALID_FIRST_LETTERS = "DFIQUV"
"""Letters never used first in a NINO, used to make deliberately invalid ones."""

STREET_SUFFIXES: tuple[str, ...] = (
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent",
    "Grove", "Gardens", "Terrace", "Place", "Court", "View", "Walk", "Mews",
)  # fmt: skip

NICKNAMES: dict[str, str] = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate",
    "Catherine": "Cath", "Margaret": "Maggie", "Jonathan": "Jon", "Michael": "Mike",
    "Richard": "Dick", "James": "Jim", "Thomas": "Tom", "Christopher": "Chris",
    "Daniel": "Dan", "Matthew": "Matt", "Anthony": "Tony", "Andrew": "Andy",
    "Joseph": "Joe", "Samuel": "Sam", "Benjamin": "Ben", "Alexander": "Alex",
    "Jennifer": "Jenny", "Rebecca": "Becky", "Victoria": "Vicky", "Samantha": "Sam",
    "Deborah": "Debbie", "Susan": "Sue", "Patricia": "Pat", "Stephen": "Steve",
    "Nicholas": "Nick", "Edward": "Ted", "Charlotte": "Charlie", "Jessica": "Jess",
}  # fmt: skip
"""Given names and the nicknames some departments hold instead."""

ETHNICITY_CODES: tuple[tuple[str, float], ...] = (
    ("WBRI", 0.66), ("WIRI", 0.01), ("WOTH", 0.06), ("MWBC", 0.02), ("MWBA", 0.01),
    ("MWAS", 0.01), ("AIND", 0.03), ("APKN", 0.05), ("ABAN", 0.02), ("AOTH", 0.02),
    ("CHNE", 0.01), ("BCRB", 0.01), ("BAFR", 0.04), ("BOTH", 0.01), ("OOTH", 0.02),
    ("REFU", 0.01), ("NOBT", 0.01),
)  # fmt: skip
"""DfE ethnicity codes with the share of pupils recorded under each."""

ENERGY_RATINGS: tuple[tuple[str, float], ...] = (
    ("A", 0.002), ("B", 0.05), ("C", 0.30), ("D", 0.40), ("E", 0.168), ("F", 0.06), ("G", 0.02),
)  # fmt: skip
"""EPC rating bands with their share of current certificates."""

MAIN_FUELS: tuple[tuple[str, float], ...] = (
    ("mains gas (not community)", 0.78),
    ("electricity (not community)", 0.12),
    ("oil (not community)", 0.05),
    ("LPG (not community)", 0.02),
    ("mains gas (community)", 0.02),
    ("wood logs", 0.01),
)
"""Main heating fuels as written on certificates, with their shares."""

COUNCIL_TAX_BANDS: tuple[tuple[str, float], ...] = (
    ("A", 0.26), ("B", 0.20), ("C", 0.22), ("D", 0.15), ("E", 0.09), ("F", 0.05),
    ("G", 0.025), ("H", 0.005),
)  # fmt: skip
"""Council-tax valuation bands with their shares of dwellings."""

BENEFIT_WEEKLY_RANGES: dict[str, tuple[float, float]] = {
    "UC": (85.0, 260.0), "PC": (25.0, 85.0), "PIP": (29.20, 187.45), "ESA": (90.50, 140.0),
    "JSA": (71.70, 92.05), "HB": (45.0, 210.0), "CA": (83.30, 83.30), "AA": (73.90, 110.40),
    "SP": (176.45, 230.25),
}  # fmt: skip
"""Range of plausible weekly amounts (pounds) of each DWP benefit."""
