"""DWP's delivery: benefit awards (NDJSON)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.datasets.context import (
    DAY,
    Chunk,
    Context,
    address_property,
    age_on,
    as_str,
    held_names,
    truth_frame,
    uniform_dates,
)
from orchestration.generator.formatting import blank, iso_dates, transpose_day_month
from orchestration.generator.identifiers import invalidate_ninos
from orchestration.generator.population import Population
from orchestration.generator.reference import BENEFIT_WEEKLY_RANGES

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
    age = age_on(pop.dob[cit], ctx.extract_date)
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
        uniform_dates(rng, np.maximum(earliest, np.datetime64("2010-01-01")), last_start),
    )
    closes = np.where(pension, rng.random(n) < 0.12, rng.random(n) < 0.45) & (code != "SP")
    end = start + rng.integers(28, 1500, n).astype("timedelta64[D]")
    end = np.where(closes & (end < ctx.extract_date), end, np.datetime64("NaT"))
    low = np.array([BENEFIT_WEEKLY_RANGES[c][0] for c in code]) if n else np.zeros(0)
    high = np.array([BENEFIT_WEEKLY_RANGES[c][1] for c in code]) if n else np.zeros(0)
    weekly = np.round(low + (high - low) * rng.random(n), 2)

    award_id = np.char.add("AW", np.char.zfill(ctx.take_ids("award", n).astype(str), 9))
    prop = address_property(rng, pop, idx, rates)
    given, family = held_names(rng, pop, idx, rates, nicknames=True)
    nino = pop.nino[idx].copy()
    bad = rng.random(n) < rates.invalid_nino
    nino[bad] = invalidate_ninos(rng, nino[bad])
    uprn = as_str(pop.uprn[prop].astype(str))
    uprn = blank(rng, uprn, 3 * rates.missing)
    landing = pd.DataFrame(
        {
            "award_id": award_id,
            "nino": nino,
            "first_name": given,
            "last_name": family,
            "date_of_birth": iso_dates(transpose_day_month(rng, dob, rates.transposed_dob)),
            "address_line_1": blank(rng, as_str(pop.line1[prop]), rates.missing),
            "postcode": blank(rng, as_str(pop.postcode[prop]), rates.missing),
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
        persons=truth_frame("dwp", "benefit_awards", award_id, "subject", idx + 1, "citizen_id"),
        properties=truth_frame("dwp", "benefit_awards", award_id, None, prop + 1, "property_id"),
        facts=facts,
    )
