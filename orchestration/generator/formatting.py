"""Vectorised formatting of values the way departments write them, and the mess they add."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.generator.reference import NICKNAMES

EPOCH = np.datetime64("1970-01-01", "D")


def iso_dates(days: np.ndarray) -> pd.Series:
    """Formats day numbers (datetime64[D]) as ISO ``yyyy-mm-dd`` text; NaT becomes null."""
    values = np.asarray(days, dtype="datetime64[D]")
    text = pd.Series(np.datetime_as_string(values, unit="D"), dtype="str")
    return text.where(~np.isnat(values), None)


def dmy_dates(days: np.ndarray) -> pd.Series:
    """Formats day numbers (datetime64[D]) as ``dd/mm/yyyy`` text; NaT becomes null."""
    iso = iso_dates(days)
    return iso.str[8:10] + "/" + iso.str[5:7] + "/" + iso.str[0:4]


def pounds(pence: np.ndarray) -> pd.Series:
    """Formats amounts in pence like people write them: ``£1,234.50``."""
    pence = np.asarray(pence, dtype=np.int64)
    whole = pence // 100
    frac = pd.Series(pence % 100).astype(str).str.zfill(2)
    millions = pd.Series(whole // 1_000_000)
    thousands = pd.Series(whole // 1000 % 1000)
    units = pd.Series(whole % 1000)
    text = units.astype(str)
    has_thousands = whole >= 1000
    text = text.where(~has_thousands, thousands.astype(str) + "," + units.astype(str).str.zfill(3))
    has_millions = whole >= 1_000_000
    text = text.where(
        ~has_millions,
        millions.astype(str)
        + ","
        + thousands.astype(str).str.zfill(3)
        + ","
        + units.astype(str).str.zfill(3),
    )
    return "£" + text + "." + frac


def postcode_variants(rng: np.random.Generator, postcodes: pd.Series, share: float) -> pd.Series:
    """Rewrites a share of canonical postcodes as people type them (``ls62ab``, ``LS6  2AB``)."""
    out = postcodes.copy()
    pick = rng.random(len(out)) < share
    kind = rng.integers(0, 4, len(out))
    nospace = out.str.replace(" ", "", regex=False)
    variants = [
        nospace.str.lower(),
        nospace,
        out.str.replace(" ", "  ", regex=False),
        out.str.lower(),
    ]
    for k, variant in enumerate(variants):
        mask = pick & (kind == k) & out.notna().to_numpy()
        out = out.where(~mask, variant)
    return out


def _typo(name: str, kind: int, pos: float) -> str:
    """Applies one keyboard slip to a name: swap, drop or double a letter."""
    if len(name) < 3:
        return name
    i = 1 + int(pos * (len(name) - 2))
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :] if i + 1 < len(name) else name
    if kind == 1:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def add_typos(rng: np.random.Generator, names: pd.Series, share: float) -> pd.Series:
    """Introduces a typo (swapped, dropped or doubled letter) into a share of names."""
    pick = rng.random(len(names)) < share
    kind = rng.integers(0, 3, len(names))
    pos = rng.random(len(names))
    idx = np.flatnonzero(pick & names.notna().to_numpy())
    if not len(idx):
        return names
    out = names.copy()
    values = names.to_numpy(dtype=object)
    out.iloc[idx] = [_typo(values[i], kind[i], pos[i]) for i in idx]
    return out


def use_nicknames(rng: np.random.Generator, names: pd.Series, share: float) -> pd.Series:
    """Replaces a share of given names that have a common nickname with the nickname."""
    nick = names.map(NICKNAMES)
    pick = (rng.random(len(names)) < share) & nick.notna().to_numpy()
    return names.where(~pick, nick)


def blank(rng: np.random.Generator, values: pd.Series, share: float) -> pd.Series:
    """Blanks out a share of values (null)."""
    pick = rng.random(len(values)) < share
    return values.where(~pick, None)


def transpose_day_month(rng: np.random.Generator, days: np.ndarray, share: float) -> np.ndarray:
    """Swaps day and month of a share of dates, where the result is still a date."""
    days = np.asarray(days, dtype="datetime64[D]").copy()
    pick = rng.random(len(days)) < share
    if not pick.any():
        return days
    months = days.astype("datetime64[M]")
    years = days.astype("datetime64[Y]")
    day = (days - months).astype(np.int64) + 1
    month = (months - years).astype(np.int64) + 1
    swap = pick & (day <= 12) & (day != month) & ~np.isnat(days)
    if swap.any():
        swapped = (
            years[swap].astype("datetime64[M]")
            + (day[swap] - 1).astype("timedelta64[M]")
            + (month[swap] - 1).astype("timedelta64[D]")
        )
        days[swap] = swapped.astype("datetime64[D]")
    return days


@dataclass(frozen=True)
class MessRates:
    """Rates of each kind of mess departments add, already scaled by ``messiness``.

    Attributes:
        typo: Share of names with a typo.
        nickname: Share of nickname-able given names written as the nickname.
        missing: Share of optional values left empty.
        postcode_variant: Share of postcodes typed in a non-canonical format.
        old_address: Share of movers whose record still holds the previous address.
        invalid_nino: Share of NINOs with an invalid prefix.
        invalid_nhs: Share of NHS numbers with a wrong check digit.
        duplicate_person: Share of people with a second, duplicate record.
        duplicate_row: Share of rows delivered twice verbatim.
        transposed_dob: Share of dates of birth with day and month swapped.
        text_date: Share of spreadsheet dates typed as text.
    """

    typo: float
    nickname: float
    missing: float
    postcode_variant: float
    old_address: float
    invalid_nino: float
    invalid_nhs: float
    duplicate_person: float
    duplicate_row: float
    transposed_dob: float
    text_date: float

    @classmethod
    def scaled(cls, messiness: float) -> MessRates:
        """Base rates of mess multiplied by ``messiness`` (0 gives clean data)."""
        m = max(0.0, float(messiness))
        return cls(
            typo=min(1.0, 0.02 * m),
            nickname=min(1.0, 0.30 * m),
            missing=min(1.0, 0.01 * m),
            postcode_variant=min(1.0, 0.25 * m),
            old_address=min(1.0, 0.4 * m),
            invalid_nino=min(1.0, 0.005 * m),
            invalid_nhs=min(1.0, 0.005 * m),
            duplicate_person=min(1.0, 0.003 * m),
            duplicate_row=min(1.0, 0.002 * m),
            transposed_dob=min(1.0, 0.004 * m),
            text_date=min(1.0, 0.003 * m),
        )
