"""DfE's delivery: the school census (CSV)."""

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
from orchestration.generator.formatting import blank, dmy_dates, iso_dates, transpose_day_month
from orchestration.generator.population import Population


def school_census(
    rng: np.random.Generator, pop: Population, ctx: Context, lo: int, hi: int
) -> Chunk:
    """DfE school census rows of pupils among citizens ``lo..hi``."""
    rates = ctx.rates
    idx = np.arange(lo, hi)
    idx = idx[ctx.is_pupil[lo:hi]]
    n = len(idx)
    age = age_on(pop.dob[idx], ctx.census_date)
    la = pop.la[pop.property_idx[idx]]
    slot = np.where(age >= 11, rng.integers(32, 40, n), rng.integers(0, 32, n))
    school = ctx.schools[la, slot]
    dob = transpose_day_month(rng, pop.dob[idx], rates.transposed_dob)
    dmy_school = school.astype(np.int64) % 2 == 0
    dob_text = iso_dates(dob).where(~dmy_school, dmy_dates(dob))
    prop = address_property(rng, pop, idx, rates)
    given, family = held_names(rng, pop, idx, rates, nicknames=False)
    carer = pop.carer[idx]
    has_carer = (carer >= 0) & (rng.random(n) >= rates.missing)
    safe_carer = np.where(carer >= 0, carer, idx)
    parent_given, parent_family = held_names(rng, pop, safe_carer, rates, nicknames=True)
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
            "Ethnicity": blank(rng, as_str(pop.ethnicity[idx]), rates.missing),
            "UPRN": blank(rng, as_str(pop.uprn[prop].astype(str)), rates.missing),
            "AddressLine1": blank(rng, as_str(pop.line1[prop]), rates.missing),
            "Postcode": blank(rng, as_str(pop.postcode[prop]), rates.missing),
            "ParentForename": parent_given,
            "ParentSurname": parent_family,
            "FSMEligible": np.where(pop.deprivation[idx] > 0.72, "true", "false"),
            "SchoolURN": school,
            "CensusDate": str(ctx.census_date),
        }
    )
    persons = pd.concat(
        [
            truth_frame("dfe", "school_census", upn, "subject", idx + 1, "citizen_id"),
            truth_frame(
                "dfe", "school_census", upn[has_carer], "parent", carer[has_carer] + 1, "citizen_id"
            ),
        ],
        ignore_index=True,
    )
    return Chunk(
        landing=landing,
        persons=persons,
        properties=truth_frame("dfe", "school_census", upn, None, prop + 1, "property_id"),
    )
