"""The NHS's deliveries: GP registrations and national data opt-outs (Parquet)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.datasets.context import (
    DAY,
    Chunk,
    Context,
    address_property,
    as_str,
    held_names,
    truth_frame,
    uniform_dates,
)
from orchestration.generator.formatting import blank, transpose_day_month
from orchestration.generator.identifiers import break_nhs_numbers
from orchestration.generator.population import Population


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

    prop = address_property(rng, pop, idx, rates)
    prop = np.where(
        is_dup & (pop.previous_property_idx[idx] >= 0), pop.previous_property_idx[idx], prop
    )
    dob = pop.dob[idx]
    earliest = np.maximum(dob, np.datetime64("1995-01-01"))
    mover = ~np.isnat(pop.move_date[idx]) & ~is_dup
    earliest = np.where(mover, np.maximum(earliest, pop.move_date[idx]), earliest)
    latest = np.where(is_dup, earliest + 3 * 365 * DAY, ctx.extract_date - 7 * DAY)
    registered = uniform_dates(rng, earliest, np.minimum(latest, ctx.extract_date - 7 * DAY))
    nhs = pop.nhs[idx].copy()
    bad = rng.random(n) < rates.invalid_nhs
    nhs[bad] = break_nhs_numbers(rng, nhs[bad])
    sex = np.where(rng.random(n) < rates.missing / 2, 9, pop.sex[idx]).astype(np.int64)
    given, family = held_names(rng, pop, idx, rates, nicknames=True)
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
            "postcode": blank(rng, as_str(pop.postcode[prop]), rates.missing),
            "practice_code": practice,
            "registered_on": registered,
        }
    )
    registrations = Chunk(
        landing=landing,
        persons=truth_frame(
            "nhs", "gp_registrations", registration_id, "subject", idx + 1, "citizen_id"
        ),
    )
    opt = cit[rng.random(len(cit)) < 0.03]
    opted_on = uniform_dates(
        rng,
        np.maximum(pop.dob[opt], np.datetime64("2018-05-25")),
        np.full(len(opt), ctx.extract_date - 7 * DAY),
    )
    opt_nhs = pop.nhs[opt]
    opt_outs = Chunk(
        landing=pd.DataFrame({"nhs_number": opt_nhs, "opted_out_on": opted_on}),
        persons=truth_frame("nhs", "data_opt_outs", opt_nhs, "subject", opt + 1, "citizen_id"),
    )
    return registrations, opt_outs
