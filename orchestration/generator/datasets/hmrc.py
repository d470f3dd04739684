"""HMRC's delivery: PAYE employment spells (CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.datasets.context import (
    Chunk,
    Context,
    address_property,
    age_on,
    as_str,
    held_names,
    truth_frame,
)
from orchestration.generator.formatting import (
    blank,
    dmy_dates,
    postcode_variants,
    pounds,
    transpose_day_month,
)
from orchestration.generator.identifiers import invalidate_ninos, space_nino
from orchestration.generator.population import Population


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
    age = age_on(pop.dob[cit], ctx.tax_year_start)
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
    given, family = held_names(rng, pop, idx, rates, nicknames=False)
    nino = pop.nino[idx].copy()
    bad = rng.random(n) < rates.invalid_nino
    nino[bad] = invalidate_ninos(rng, nino[bad])
    prop = address_property(rng, pop, idx, rates)
    postcode = postcode_variants(rng, as_str(pop.postcode[prop]), rates.postcode_variant / 4)
    dob = transpose_day_month(rng, pop.dob[idx], rates.transposed_dob)
    period_start = ctx.tax_year_start + start_off.astype("timedelta64[D]")
    period_end = ctx.tax_year_start + end_off.astype("timedelta64[D]")
    period_end = np.minimum(period_end, ctx.tax_year_end)
    landing = pd.DataFrame(
        {
            "RECORD_ID": record_id,
            "NINO": space_nino(as_str(nino)),
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
        persons=truth_frame("hmrc", "paye_income", record_id, "subject", idx + 1, "citizen_id"),
        facts=facts,
    )
