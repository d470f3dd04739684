"""What every dataset builder shares: the context, the chunk and the helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orchestration.generator.formatting import MessRates, add_typos, use_nicknames
from orchestration.generator.identifiers import make_upns, unique_codes
from orchestration.generator.population import Population
from orchestration.generator.reference import LOCAL_AUTHORITIES

DAY = np.timedelta64(1, "D")


@dataclass
class Context:
    """Settings and lookup tables shared by every dataset builder.

    Attributes:
        rates: Mess rates, scaled by messiness.
        tax_year: Tax year label (``2025-26``).
        tax_year_start: First day of the tax year.
        tax_year_end: Last day of the tax year.
        extract_date: Date the departments extracted their data (the snapshot date).
        census_date: School census date.
        threshold_pence: Undeclared-income threshold in pence.
        income_related: Income-related benefit codes.
        employers: PAYE references of employers.
        practices: GP practice ODS codes, one row per local authority.
        schools: School URNs per local authority, shape (authorities, schools).
        upn: UPN of each citizen (empty for non-pupils).
        is_pupil: Whether each citizen is on the school census.
        counters: Running counters used to number records across chunks.
    """

    rates: MessRates
    tax_year: str
    tax_year_start: np.datetime64
    tax_year_end: np.datetime64
    extract_date: np.datetime64
    census_date: np.datetime64
    threshold_pence: int
    income_related: tuple[str, ...]
    employers: np.ndarray
    practices: np.ndarray
    schools: np.ndarray
    upn: np.ndarray
    is_pupil: np.ndarray
    counters: dict[str, int] = field(default_factory=dict)

    def take_ids(self, name: str, count: int) -> np.ndarray:
        """Next ``count`` sequence numbers of the named counter."""
        start = self.counters.get(name, 0)
        self.counters[name] = start + count
        return np.arange(start + 1, start + count + 1, dtype=np.int64)


def make_context(
    rng: np.random.Generator,
    pop: Population,
    rates: MessRates,
    mission: dict,
    census_date: np.datetime64,
) -> Context:
    """Builds the shared context: dates, employers, practices, schools and pupil numbers."""
    tax_year = str(mission["tax_year"])
    start_year = int(tax_year[:4])
    letters = np.array(list("ABCDEFGHJKLMNPRSTWXY"))
    n_emp = max(50, pop.citizens // 40)
    employers = np.char.add(
        np.char.add(rng.integers(100, 999, n_emp).astype(str), "/"),
        np.char.add(
            np.char.add(letters[rng.integers(0, 20, n_emp)], letters[rng.integers(0, 20, n_emp)]),
            np.char.zfill(rng.integers(0, 100_000, n_emp).astype(str), 5),
        ),
    )
    n_la = len(LOCAL_AUTHORITIES)
    practice_codes = unique_codes(rng, n_la * 40, 26 * 100_000)
    practices = np.char.add(
        np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[practice_codes // 100_000],
        np.char.zfill((practice_codes % 100_000).astype(str), 5),
    ).reshape(n_la, 40)
    schools = (100_000 + unique_codes(rng, n_la * 40, 50_000)).astype(str).reshape(n_la, 40)
    age = age_on(pop.dob, census_date)
    is_pupil = (age >= 4) & (age <= 16) & (rng.random(pop.citizens) < 0.97)
    upn = np.full(pop.citizens, "", dtype="U13")
    upn[is_pupil] = make_upns(rng, int(is_pupil.sum()))
    return Context(
        rates=rates,
        tax_year=tax_year,
        tax_year_start=np.datetime64(f"{start_year}-04-06"),
        tax_year_end=np.datetime64(f"{start_year + 1}-04-05"),
        extract_date=np.datetime64(str(mission["snapshot_date"])),
        census_date=census_date,
        threshold_pence=int(round(float(mission["undeclared_income_threshold_gbp"]) * 100)),
        income_related=tuple(mission["income_related_benefits"]),
        employers=employers,
        practices=practices,
        schools=schools,
        upn=upn,
        is_pupil=is_pupil,
    )


def age_on(dob: np.ndarray, when: np.datetime64) -> np.ndarray:
    """Age in whole years of people born on ``dob`` at the date ``when``."""
    dob = np.asarray(dob, dtype="datetime64[D]")
    years = when.astype("datetime64[Y]").astype(int) - dob.astype("datetime64[Y]").astype(int)
    birthday = (dob - dob.astype("datetime64[Y]")).astype(int)
    this_year = (when - when.astype("datetime64[Y]")).astype(int)
    return years - (birthday > this_year)


def uniform_dates(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A random date in ``[low, high]`` for each pair (``high`` wins when ``low > high``)."""
    low = np.asarray(low, dtype="datetime64[D]")
    high = np.asarray(high, dtype="datetime64[D]")
    span = np.maximum((high - low).astype(np.int64), 0)
    offset = (rng.random(len(span)) * (span + 1)).astype(np.int64)
    return np.minimum(low + offset.astype("timedelta64[D]"), high)


def address_property(
    rng: np.random.Generator, pop: Population, idx: np.ndarray, rates: MessRates
) -> np.ndarray:
    """The property a department holds for each citizen: current, or previous for some movers."""
    prev = pop.previous_property_idx[idx]
    stale = (prev >= 0) & (rng.random(len(idx)) < rates.old_address)
    return np.where(stale, prev, pop.property_idx[idx])


def as_str(values: np.ndarray) -> pd.Series:
    """A pandas string series from a numpy array."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def held_names(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    rates: MessRates,
    nicknames: bool,
) -> tuple[pd.Series, pd.Series]:
    """Given and family names of citizens as a department holds them (typos, nicknames)."""
    given = as_str(pop.given[idx])
    if nicknames:
        given = use_nicknames(rng, given, rates.nickname)
    given = add_typos(rng, given, rates.typo)
    family = add_typos(rng, as_str(pop.family[idx]), rates.typo)
    return given, family


def truth_frame(
    department: str, dataset: str, record_id, role, entity, column: str
) -> pd.DataFrame:
    """A ground-truth frame linking delivered records to true citizens or properties."""
    record_id = pd.Series(np.asarray(record_id, dtype=object), dtype="str")
    frame = pd.DataFrame(
        {"department": department, "dataset": dataset, "record_id": record_id}, index=None
    )
    if role is not None:
        frame["role"] = role
    frame[column] = np.asarray(entity, dtype=np.int64)
    return frame


@dataclass
class Chunk:
    """What one builder produced for one chunk of citizens.

    Attributes:
        landing: Rows to deliver, columns named as in the contract.
        persons: Ground-truth person records.
        properties: Ground-truth property records.
        facts: True values the mission answers are computed from.
    """

    landing: pd.DataFrame
    persons: pd.DataFrame | None = None
    properties: pd.DataFrame | None = None
    facts: pd.DataFrame | None = None
