"""Reference tables of the fictional country the foreign profile's population lives in.

Everything here is invented for development data: regions, their postal-code ranges and
the pieces locality and street names are built from. Name pools come from Faker.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTRY = "XX"
"""ISO 3166-1 alpha-2 code of the fictional country (``XX`` is a user-assigned code)."""

IDENTIFIER_SCHEME = "xx.social_security"
"""Scheme of the country's social security number (nine digits, no check digit)."""

REFERENCE_DATE = "2026-01-15"
"""Date ages are counted at and the extract date written into file names."""


@dataclass(frozen=True)
class Region:
    """A region (state) of the fictional country.

    Attributes:
        code: Abbreviation written on addresses.
        name: Full name.
        first_postal_code: Lowest four-digit postal code of the region.
        last_postal_code: Highest four-digit postal code of the region.
        weight: Relative share of the population living there.
    """

    code: str
    name: str
    first_postal_code: int
    last_postal_code: int
    weight: float


REGIONS: tuple[Region, ...] = (
    Region("NM", "Northmere", 2000, 2999, 0.30),
    Region("ES", "Eastshore", 3000, 3999, 0.25),
    Region("HL", "Highlands", 4000, 4999, 0.17),
    Region("SR", "Southreach", 5000, 5799, 0.10),
    Region("WV", "Westvale", 6000, 6799, 0.11),
    Region("CD", "Capital District", 7000, 7199, 0.04),
    # Postal codes with a leading zero, which spreadsheets and number parsers lose.
    Region("FT", "Far Territory", 800, 999, 0.03),
)

NAME_ORIGINS: tuple[tuple[str, float], ...] = (
    ("en_US", 0.46),
    ("en_IE", 0.12),
    ("it_IT", 0.12),
    ("de_DE", 0.10),
    ("nl_NL", 0.08),
    ("es_ES", 0.12),
)
"""Faker locales the population's names come from, with the share of households of each."""

LOCALITY_STEMS: tuple[str, ...] = (
    "Ash", "Bel", "Bright", "Clare", "Dun", "Elm", "Fair", "Glen", "Green", "Hazel",
    "Kings", "Lake", "Marsh", "Mill", "North", "Oak", "Pine", "Red", "Rose", "Silver",
    "Stone", "Sun", "West", "Wood", "Avon", "Kil", "Mor", "Tarra", "Wal", "Yar",
    "Cor", "Lin", "Bram", "Cal", "Hart", "Wynd",
)  # fmt: skip

LOCALITY_ENDINGS: tuple[str, ...] = (
    "brook", "dale", "field", "ford", "gate", "haven", "hill", "hurst", "lea", "mere",
    "mont", "park", "ridge", "side", "ton", "vale", "view", "wood", "bay", "wick",
    " Heights", " Park", " Point", " Downs", " Creek", " Beach",
)  # fmt: skip

STREET_WORDS: tuple[str, ...] = (
    "Banksia", "Wattle", "Acacia", "Jacaranda", "Myrtle", "Laurel", "Cedar", "Willow",
    "Poplar", "Maple", "Birch", "Rowan", "Heather", "Juniper", "Magnolia", "Orchid",
    "Station", "Church", "Bridge", "Harbour", "Ocean", "River", "Hill", "Park", "Market",
    "Victory", "Railway", "Mountain", "Valley", "Quarry", "Meadow", "Orchard",
)  # fmt: skip
"""Street names besides family names."""

STREET_TYPES: tuple[tuple[str, str], ...] = (
    ("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Crescent", "Cres"),
    ("Place", "Pl"), ("Close", "Cl"), ("Parade", "Pde"), ("Drive", "Dr"), ("Court", "Ct"),
    ("Lane", "La"), ("Terrace", "Tce"), ("Way", "Wy"), ("Circuit", "Cct"), ("Grove", "Gr"),
)  # fmt: skip
"""Street types spelled out and abbreviated."""

BUILDING_NAMES: tuple[str, ...] = (
    "Rosedale", "The Elms", "Harbour View", "Kingsgate House", "Parkside", "Wattle Lodge",
    "Bellevue", "Riverside Court", "Summit Towers", "Greenacres",
)  # fmt: skip
"""Names of buildings written on a second address line."""

EXTRA_NICKNAMES: dict[str, str] = {
    "Giuseppe": "Beppe", "Francesco": "Franco", "Alessandro": "Sandro", "Johannes": "Hans",
    "Wilhelm": "Willi", "Friedrich": "Fritz", "Francisco": "Paco", "José": "Pepe",
    "Dolores": "Lola", "Concepción": "Concha", "Hendrik": "Henk", "Cornelis": "Kees",
    "Sean": "Shane", "Patrick": "Paddy", "Siobhan": "Shiv", "Patricia": "Trish",
}  # fmt: skip
"""Nicknames the UK list lacks (or gives otherwise: Patricia), added to it for the foreign
population."""

KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv",
    "g": "fhtb", "h": "gjyn", "j": "hkum", "k": "jli", "l": "kop", "z": "asx", "x": "zsc",
    "c": "xdv", "v": "cfb", "b": "vgn", "n": "bhm", "m": "nj",
}  # fmt: skip
"""Letters next to each letter on a QWERTY keyboard, for keying slips."""

PHONETIC_VARIANTS: tuple[tuple[str, str], ...] = (
    ("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "ck"), ("ie", "y"), ("y", "ie"),
    ("ey", "y"), ("ou", "ow"), ("c", "k"), ("s", "z"), ("z", "s"), ("ee", "ea"),
    ("ll", "l"), ("l", "ll"), ("tt", "t"), ("nn", "n"), ("mm", "m"), ("son", "sen"),
    ("sen", "son"), ("mc", "mac"), ("mac", "mc"), ("th", "t"), ("i", "y"), ("ai", "ay"),
    ("rn", "m"), ("er", "a"), ("ch", "sh"), ("v", "w"), ("w", "v"), ("ei", "ie"),
)  # fmt: skip
"""Spelling variants that sound alike (and one that reads alike: ``rn``/``m``)."""
