"""Builders of each department's delivery from the true population, one chunk at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orchestration.generator.formatting import (
    MessRates,
    add_typos,
    blank,
    dmy_dates,
    iso_dates,
    postcode_variants,
    pounds,
    transpose_day_month,
    use_nicknames,
)
from orchestration.generator.identifiers import (
    break_nhs_numbers,
    invalidate_ninos,
    make_upns,
    space_nino,
    unique_codes,
)
from orchestration.generator.population import PROPERTY_TYPES, Population
from orchestration.generator.reference import (
    BENEFIT_WEEKLY_RANGES,
    COUNCIL_TAX_AUTHORITY,
    ENERGY_RATINGS,
    LOCAL_AUTHORITIES,
)

DAY = np.timedelta64(1, "D")
RATING_LETTERS = np.array([r for r, _ in ENERGY_RATINGS])


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
    age = _age_on(pop.dob, census_date)
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


def _age_on(dob: np.ndarray, when: np.datetime64) -> np.ndarray:
    """Age in whole years of people born on ``dob`` at the date ``when``."""
    dob = np.asarray(dob, dtype="datetime64[D]")
    years = when.astype("datetime64[Y]").astype(int) - dob.astype("datetime64[Y]").astype(int)
    birthday = (dob - dob.astype("datetime64[Y]")).astype(int)
    this_year = (when - when.astype("datetime64[Y]")).astype(int)
    return years - (birthday > this_year)


def _uniform_dates(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A random date in ``[low, high]`` for each pair (``high`` wins when ``low > high``)."""
    low = np.asarray(low, dtype="datetime64[D]")
    high = np.asarray(high, dtype="datetime64[D]")
    span = np.maximum((high - low).astype(np.int64), 0)
    offset = (rng.random(len(span)) * (span + 1)).astype(np.int64)
    return np.minimum(low + offset.astype("timedelta64[D]"), high)


def _address_property(
    rng: np.random.Generator, pop: Population, idx: np.ndarray, rates: MessRates
) -> np.ndarray:
    """The property a department holds for each citizen: current, or previous for some movers."""
    prev = pop.previous_property_idx[idx]
    stale = (prev >= 0) & (rng.random(len(idx)) < rates.old_address)
    return np.where(stale, prev, pop.property_idx[idx])


def _str(values: np.ndarray) -> pd.Series:
    """A pandas string series from a numpy array."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _names(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    rates: MessRates,
    nicknames: bool,
) -> tuple[pd.Series, pd.Series]:
    """Given and family names of citizens as a department holds them (typos, nicknames)."""
    given = _str(pop.given[idx])
    if nicknames:
        given = use_nicknames(rng, given, rates.nickname)
    given = add_typos(rng, given, rates.typo)
    family = add_typos(rng, _str(pop.family[idx]), rates.typo)
    return given, family


def _truth(department: str, dataset: str, record_id, role, entity, column: str) -> pd.DataFrame:
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


_BENEFIT_RULES = (
    # code, min age, max age (exclusive), base probability, deprivation weight
    ("UC", 18, 66, 0.02, 0.40),
    ("ESA", 18, 66, 0.004, 0.07),
    ("JSA", 18, 66, 0.003, 0.04),
    ("HB", 18, 120, 0.01, 0.12),
    ("PIP", 16, 66, 0.05, 0.0),
    ("CA", 16, 120, 0.02, 0.0),
    ("SP", 66, 120, 0.97, 0.0),
    ("PC", 66, 120, 0.02, 0.40),
    ("AA", 66, 120, 0.10, 0.0),
)


def benefit_awards(
    rng: np.random.Generator, pop: Population, ctx: Context, lo: int, hi: int
) -> Chunk:
    """DWP benefit awards of citizens ``lo..hi`` (NDJSON rows), with their true facts."""
    rates = ctx.rates
    cit = np.arange(lo, hi)
    cit = cit[pop.nino[lo:hi] != ""]
    age = _age_on(pop.dob[cit], ctx.extract_date)
    dep = pop.deprivation[cit]
    rows, codes = [], []
    for code, low, high, base, weight in _BENEFIT_RULES:
        p = base + weight * dep**2
        take = (age >= low) & (age < high) & (rng.random(len(cit)) < p)
        rows.append(cit[take])
        codes.append(np.full(int(take.sum()), code))
    idx = np.concatenate(rows)
    code = np.concatenate(codes)
    order = np.argsort(idx, kind="stable")
    idx, code = idx[order], code[order]
    n = len(idx)

    dob = pop.dob[idx]
    pension = np.isin(code, ["SP", "PC", "AA"])
    earliest = np.where(
        pension,
        dob + np.timedelta64(66 * 365 + 17, "D"),
        np.maximum(dob + np.timedelta64(18 * 365 + 5, "D"), np.datetime64("2016-01-01")),
    )
    last_start = ctx.extract_date - 7 * DAY
    start = np.where(
        code == "SP",
        np.minimum(earliest, last_start),
        _uniform_dates(rng, np.maximum(earliest, np.datetime64("2010-01-01")), last_start),
    )
    closes = np.where(pension, rng.random(n) < 0.12, rng.random(n) < 0.45) & (code != "SP")
    end = start + rng.integers(28, 1500, n).astype("timedelta64[D]")
    end = np.where(closes & (end < ctx.extract_date), end, np.datetime64("NaT"))
    low = np.array([BENEFIT_WEEKLY_RANGES[c][0] for c in code]) if n else np.zeros(0)
    high = np.array([BENEFIT_WEEKLY_RANGES[c][1] for c in code]) if n else np.zeros(0)
    weekly = np.round(low + (high - low) * rng.random(n), 2)

    award_id = np.char.add("AW", np.char.zfill(ctx.take_ids("award", n).astype(str), 9))
    prop = _address_property(rng, pop, idx, rates)
    given, family = _names(rng, pop, idx, rates, nicknames=True)
    nino = pop.nino[idx].copy()
    bad = rng.random(n) < rates.invalid_nino
    nino[bad] = invalidate_ninos(rng, nino[bad])
    uprn = _str(pop.uprn[prop].astype(str))
    uprn = blank(rng, uprn, 3 * rates.missing)
    landing = pd.DataFrame(
        {
            "award_id": award_id,
            "nino": nino,
            "first_name": given,
            "last_name": family,
            "date_of_birth": iso_dates(transpose_day_month(rng, dob, rates.transposed_dob)),
            "address_line_1": blank(rng, _str(pop.line1[prop]), rates.missing),
            "postcode": blank(rng, _str(pop.postcode[prop]), rates.missing),
            "uprn": uprn,
            "benefit_type": code,
            "award_start": iso_dates(start),
            "award_end": iso_dates(end),
            "weekly_amount": weekly,
        }
    )
    facts = pd.DataFrame(
        {
            "award_id": award_id,
            "citizen_id": idx + 1,
            "property_id": prop + 1,
            "benefit_type": code,
            "award_start": start,
            "award_end": end,
        }
    )
    return Chunk(
        landing=landing,
        persons=_truth("dwp", "benefit_awards", award_id, "subject", idx + 1, "citizen_id"),
        properties=_truth("dwp", "benefit_awards", award_id, None, prop + 1, "property_id"),
        facts=facts,
    )


def paye_income(
    rng: np.random.Generator,
    pop: Population,
    ctx: Context,
    lo: int,
    hi: int,
    awards: pd.DataFrame,
) -> Chunk:
    """HMRC PAYE employment spells of citizens ``lo..hi`` (CSV rows), with their true facts.

    Claimants of income-related benefits during the tax year mostly have no earnings or
    only small ones; a few have substantial pay (the undeclared income the mission finds).
    """
    rates = ctx.rates
    cit = np.arange(lo, hi)
    cit = cit[pop.nino[lo:hi] != ""]
    age = _age_on(pop.dob[cit], ctx.tax_year_start)
    dep = pop.deprivation[cit]
    p_work = np.select(
        [age < 16, age < 18, age < 65, age < 71], [0.0, 0.35, 0.82 - 0.35 * dep, 0.15], 0.0
    )
    works = rng.random(len(cit)) < p_work

    live = awards["benefit_type"].isin(ctx.income_related).to_numpy() & (
        awards["award_end"].isna().to_numpy()
        | (awards["award_end"].to_numpy() >= ctx.tax_year_start)
    )
    claimant = np.isin(cit, awards["citizen_id"].to_numpy()[live] - 1)
    kind = rng.random(len(cit))
    undeclared = claimant & (kind < 0.03)
    small = claimant & (kind >= 0.03) & (kind < 0.18)
    works = np.where(claimant, undeclared | small, works)

    who = cit[works]
    n_people = len(who)
    two = (rng.random(n_people) < 0.18) & ~small[works]
    idx = np.repeat(who, np.where(two, 2, 1))
    second = np.concatenate([[False], idx[1:] == idx[:-1]]) if len(idx) else np.zeros(0, bool)
    n = len(idx)
    year_days = int((ctx.tax_year_end - ctx.tax_year_start).astype(int))
    split = np.repeat(rng.integers(60, year_days - 60, n_people), np.where(two, 2, 1))
    has_two = np.repeat(two, np.where(two, 2, 1))
    full_year = rng.random(n) < 0.7
    a = rng.integers(0, year_days - 40, n)
    b = np.minimum(year_days, a + rng.integers(40, year_days, n))
    first_start = np.where(full_year, 0, a)
    first_end = np.where(full_year, year_days, b)
    start_off = np.where(has_two, np.where(second, split + rng.integers(1, 20, n), 0), first_start)
    end_off = np.where(has_two, np.where(second, year_days, split), first_end)
    start_off = np.minimum(start_off, end_off)
    days = end_off - start_off + 1

    depn = pop.deprivation[idx]
    salary = np.clip(29_000 * (1.25 - 0.6 * depn) * rng.lognormal(0, 0.45, n), 8_000, 250_000)
    gross = np.round(salary * 100 * days / 365).astype(np.int64)
    undeclared_row = undeclared[np.searchsorted(cit, idx)]
    small_row = small[np.searchsorted(cit, idx)]
    gross = np.where(
        undeclared_row,
        np.maximum(gross, int(ctx.threshold_pence * 1.6) + rng.integers(0, 600_000, n)),
        gross,
    )
    gross = np.where(
        small_row,
        (ctx.threshold_pence * rng.uniform(0.1, 0.85, n)).astype(np.int64),
        gross,
    )
    allowance = np.round(1_257_000 * days / 365).astype(np.int64)
    tax = np.maximum(0, (gross - allowance) // 5)

    record_id = np.char.add("RTI", np.char.zfill(ctx.take_ids("paye", n).astype(str), 10))
    given, family = _names(rng, pop, idx, rates, nicknames=False)
    nino = pop.nino[idx].copy()
    bad = rng.random(n) < rates.invalid_nino
    nino[bad] = invalidate_ninos(rng, nino[bad])
    prop = _address_property(rng, pop, idx, rates)
    postcode = postcode_variants(rng, _str(pop.postcode[prop]), rates.postcode_variant / 4)
    dob = transpose_day_month(rng, pop.dob[idx], rates.transposed_dob)
    period_start = ctx.tax_year_start + start_off.astype("timedelta64[D]")
    period_end = ctx.tax_year_start + end_off.astype("timedelta64[D]")
    period_end = np.minimum(period_end, ctx.tax_year_end)
    landing = pd.DataFrame(
        {
            "RECORD_ID": record_id,
            "NINO": space_nino(_str(nino)),
            "FORENAMES": given.str.upper(),
            "SURNAME": family.str.upper(),
            "DATE_OF_BIRTH": blank(rng, dmy_dates(dob), rates.missing),
            "POSTCODE": blank(rng, postcode, rates.missing),
            "EMPLOYER_PAYE_REF": ctx.employers[rng.integers(0, len(ctx.employers), n)],
            "TAX_YEAR": ctx.tax_year,
            "PERIOD_START": dmy_dates(period_start),
            "PERIOD_END": dmy_dates(period_end),
            "GROSS_PAY": pounds(gross),
            "TAX_DEDUCTED": blank(rng, pounds(tax), rates.missing),
        }
    )
    facts = pd.DataFrame(
        {
            "record_id": record_id,
            "citizen_id": idx + 1,
            "period_start": period_start,
            "period_end": period_end,
            "gross_pay_pence": gross,
        }
    )
    return Chunk(
        landing=landing,
        persons=_truth("hmrc", "paye_income", record_id, "subject", idx + 1, "citizen_id"),
        facts=facts,
    )


def gp_registrations(
    rng: np.random.Generator, pop: Population, ctx: Context, lo: int, hi: int
) -> tuple[Chunk, Chunk]:
    """NHS GP registrations and national data opt-outs of citizens ``lo..hi``."""
    rates = ctx.rates
    cit = np.arange(lo, hi)
    cit = cit[rng.random(len(cit)) < 0.985]
    dup = cit[rng.random(len(cit)) < rates.duplicate_person]
    idx = np.concatenate([cit, dup])
    is_dup = np.concatenate([np.zeros(len(cit), bool), np.ones(len(dup), bool)])
    n = len(idx)

    prop = _address_property(rng, pop, idx, rates)
    prop = np.where(
        is_dup & (pop.previous_property_idx[idx] >= 0), pop.previous_property_idx[idx], prop
    )
    dob = pop.dob[idx]
    earliest = np.maximum(dob, np.datetime64("1995-01-01"))
    mover = ~np.isnat(pop.move_date[idx]) & ~is_dup
    earliest = np.where(mover, np.maximum(earliest, pop.move_date[idx]), earliest)
    latest = np.where(is_dup, earliest + 3 * 365 * DAY, ctx.extract_date - 7 * DAY)
    registered = _uniform_dates(rng, earliest, np.minimum(latest, ctx.extract_date - 7 * DAY))
    nhs = pop.nhs[idx].copy()
    bad = rng.random(n) < rates.invalid_nhs
    nhs[bad] = break_nhs_numbers(rng, nhs[bad])
    sex = np.where(rng.random(n) < rates.missing / 2, 9, pop.sex[idx]).astype(np.int64)
    given, family = _names(rng, pop, idx, rates, nicknames=True)
    la = pop.la[pop.property_idx[idx]]
    practice = ctx.practices[la, rng.integers(0, ctx.practices.shape[1], n)]
    registration_id = np.char.add("REG", np.char.zfill(ctx.take_ids("gp", n).astype(str), 9))
    landing = pd.DataFrame(
        {
            "registration_id": registration_id,
            "nhs_number": nhs,
            "given_name": given,
            "family_name": family,
            "date_of_birth": transpose_day_month(rng, dob, rates.transposed_dob),
            "sex_code": sex,
            "postcode": blank(rng, _str(pop.postcode[prop]), rates.missing),
            "practice_code": practice,
            "registered_on": registered,
        }
    )
    registrations = Chunk(
        landing=landing,
        persons=_truth(
            "nhs", "gp_registrations", registration_id, "subject", idx + 1, "citizen_id"
        ),
    )
    opt = cit[rng.random(len(cit)) < 0.03]
    opted_on = _uniform_dates(
        rng,
        np.maximum(pop.dob[opt], np.datetime64("2018-05-25")),
        np.full(len(opt), ctx.extract_date - 7 * DAY),
    )
    opt_nhs = pop.nhs[opt]
    opt_outs = Chunk(
        landing=pd.DataFrame({"nhs_number": opt_nhs, "opted_out_on": opted_on}),
        persons=_truth("nhs", "data_opt_outs", opt_nhs, "subject", opt + 1, "citizen_id"),
    )
    return registrations, opt_outs


def school_census(
    rng: np.random.Generator, pop: Population, ctx: Context, lo: int, hi: int
) -> Chunk:
    """DfE school census rows of pupils among citizens ``lo..hi``."""
    rates = ctx.rates
    idx = np.arange(lo, hi)
    idx = idx[ctx.is_pupil[lo:hi]]
    n = len(idx)
    age = _age_on(pop.dob[idx], ctx.census_date)
    la = pop.la[pop.property_idx[idx]]
    slot = np.where(age >= 11, rng.integers(32, 40, n), rng.integers(0, 32, n))
    school = ctx.schools[la, slot]
    dob = transpose_day_month(rng, pop.dob[idx], rates.transposed_dob)
    dmy_school = school.astype(np.int64) % 2 == 0
    dob_text = iso_dates(dob).where(~dmy_school, dmy_dates(dob))
    prop = _address_property(rng, pop, idx, rates)
    given, family = _names(rng, pop, idx, rates, nicknames=False)
    carer = pop.carer[idx]
    has_carer = (carer >= 0) & (rng.random(n) >= rates.missing)
    safe_carer = np.where(carer >= 0, carer, idx)
    parent_given, parent_family = _names(rng, pop, safe_carer, rates, nicknames=True)
    parent_given = parent_given.where(has_carer, None)
    parent_family = parent_family.where(has_carer, None)
    upn = ctx.upn[idx]
    landing = pd.DataFrame(
        {
            "UPN": upn,
            "Forename": given,
            "Surname": family,
            "DOB": dob_text,
            "Gender": np.where(pop.sex[idx] == 1, "M", "F"),
            "Ethnicity": blank(rng, _str(pop.ethnicity[idx]), rates.missing),
            "UPRN": blank(rng, _str(pop.uprn[prop].astype(str)), rates.missing),
            "AddressLine1": blank(rng, _str(pop.line1[prop]), rates.missing),
            "Postcode": blank(rng, _str(pop.postcode[prop]), rates.missing),
            "ParentForename": parent_given,
            "ParentSurname": parent_family,
            "FSMEligible": np.where(pop.deprivation[idx] > 0.72, "true", "false"),
            "SchoolURN": school,
            "CensusDate": str(ctx.census_date),
        }
    )
    persons = pd.concat(
        [
            _truth("dfe", "school_census", upn, "subject", idx + 1, "citizen_id"),
            _truth(
                "dfe", "school_census", upn[has_carer], "parent", carer[has_carer] + 1, "citizen_id"
            ),
        ],
        ignore_index=True,
    )
    return Chunk(
        landing=landing,
        persons=persons,
        properties=_truth("dfe", "school_census", upn, None, prop + 1, "property_id"),
    )


def council_tax(rng: np.random.Generator, pop: Population, ctx: Context, lo: int, hi: int) -> Chunk:
    """Council-tax accounts in the one delivering billing authority, for citizens ``lo..hi``.

    The liable party is the first adult of each household; movers also have a closed
    account at their previous home when it is in the same authority.
    """
    rates = ctx.rates
    leeds = next(i for i, a in enumerate(LOCAL_AUTHORITIES) if a.gss_code == COUNCIL_TAX_AUTHORITY)
    cit = np.arange(lo, hi)
    head = cit[(pop.carer[lo:hi] == cit) & pop.is_adult[lo:hi]]
    current = head[pop.la[pop.property_idx[head]] == leeds]
    prev = pop.previous_property_idx[head]
    old = head[(prev >= 0) & (pop.la[np.maximum(prev, 0)] == leeds)]
    dup = current[rng.random(len(current)) < rates.duplicate_person]
    idx = np.concatenate([current, old, dup])
    kind = np.repeat([0, 1, 2], [len(current), len(old), len(dup)])
    n = len(idx)
    prop = np.where(kind == 1, pop.previous_property_idx[idx], pop.property_idx[idx])
    adult_from = np.maximum(pop.dob[idx] + 18 * 366 * DAY, np.datetime64("1993-04-01"))
    move = pop.move_date[idx]
    moved = ~np.isnat(move)
    start = np.where(
        moved, move, _uniform_dates(rng, adult_from, np.full(n, np.datetime64("2025-12-31")))
    )
    start = np.where(
        kind == 1,
        _uniform_dates(rng, np.minimum(adult_from, move - 365 * DAY), move - 365 * DAY),
        start,
    )
    start = np.where(kind == 2, start + rng.integers(1, 400, n) * DAY, start)
    start = np.minimum(start, ctx.extract_date - DAY)
    end = np.where(kind == 1, move - DAY, np.datetime64("NaT"))
    account = np.char.add("LCC", np.char.zfill(ctx.take_ids("council", n).astype(str), 8))
    given, family = _names(rng, pop, idx, rates, nicknames=True)
    spd = np.where(pop.n_adults[idx] == 1, "Y", "N")
    landing = pd.DataFrame(
        {
            "Account Reference": account,
            "UPRN": pop.uprn[prop].astype(str),
            "Property Address": _str(pop.line1[prop]) + ", " + _str(pop.town[prop]),
            "Postcode": blank(rng, _str(pop.postcode[prop]), rates.missing),
            "Band": pop.band[prop],
            "Liable Party Forename": given,
            "Liable Party Surname": family,
            "Liability Start": start,
            "Liability End": end,
            "Single Person Discount": spd,
            "_text_date": rng.random(n) < rates.text_date,
        }
    )
    return Chunk(
        landing=landing,
        persons=_truth("council", "council_tax", account, "subject", idx + 1, "citizen_id"),
        properties=_truth("council", "council_tax", account, None, prop + 1, "property_id"),
    )


def energy_certificates(rng: np.random.Generator, pop: Population, ctx: Context) -> Chunk:
    """DLUHC energy performance certificates for all properties (about 60% have one)."""
    rates = ctx.rates
    n_prop = pop.properties
    has = np.flatnonzero(rng.random(n_prop) < 0.6)
    two = rng.random(len(has)) < 0.15
    latest = _uniform_dates(
        rng,
        np.full(len(has), np.datetime64("2012-01-01")),
        np.full(len(has), ctx.extract_date - 14 * DAY),
    )
    older = latest - rng.integers(400, 3500, len(has)) * DAY
    older = np.maximum(older, np.datetime64("2008-10-01"))
    rating_new = pop.rating[has].astype(np.int64)
    rating_old = np.minimum(rating_new + rng.integers(0, 2, len(has)), 6)
    prop = np.concatenate([has, has[two]])
    lodged = np.concatenate([latest, older[two]])
    rating = np.concatenate([rating_new, rating_old[two]])
    order = np.lexsort((lodged, prop))
    prop, lodged, rating = prop[order], lodged[order], rating[order]
    n = len(prop)
    lmk = (10**11 + unique_codes(rng, n, 9 * 10**11)).astype(str)
    address = _str(pop.line1[prop]) + ", " + _str(pop.town[prop])
    landing = pd.DataFrame(
        {
            "LMK_KEY": lmk,
            "UPRN": blank(rng, _str(pop.uprn[prop].astype(str)), 5 * rates.missing),
            "ADDRESS": address,
            "POSTCODE": postcode_variants(rng, _str(pop.postcode[prop]), rates.postcode_variant),
            "LOCAL_AUTHORITY": pop.la_codes()[prop],
            "CURRENT_ENERGY_RATING": RATING_LETTERS[rating],
            "MAIN_FUEL": blank(rng, _str(pop.fuel[prop]), rates.missing),
            "PROPERTY_TYPE": blank(
                rng, _str(PROPERTY_TYPES[pop.property_type[prop]]), rates.missing
            ),
            "TOTAL_FLOOR_AREA": pop.floor_area[prop],
            "LODGEMENT_DATE": iso_dates(lodged),
        }
    )
    repeat = np.flatnonzero(rng.random(n) < rates.duplicate_row)
    if len(repeat):
        landing = pd.concat([landing, landing.iloc[repeat]]).sort_index(kind="stable")
        landing = landing.reset_index(drop=True)
    facts = pd.DataFrame(
        {
            "lmk_key": lmk,
            "property_id": prop + 1,
            "lodgement_date": lodged,
            "rating": RATING_LETTERS[rating],
        }
    )
    return Chunk(
        landing=landing,
        properties=_truth("dluhc", "energy_certificates", lmk, None, prop + 1, "property_id"),
        facts=facts,
    )
