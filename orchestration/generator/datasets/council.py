"""The council's delivery: council-tax accounts (an Excel workbook)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.datasets.context import (
    DAY,
    Chunk,
    Context,
    as_str,
    held_names,
    truth_frame,
    uniform_dates,
)
from orchestration.generator.formatting import blank
from orchestration.generator.population import Population
from orchestration.generator.reference import COUNCIL_TAX_AUTHORITY, LOCAL_AUTHORITIES


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
        moved, move, uniform_dates(rng, adult_from, np.full(n, np.datetime64("2025-12-31")))
    )
    start = np.where(
        kind == 1,
        uniform_dates(rng, np.minimum(adult_from, move - 365 * DAY), move - 365 * DAY),
        start,
    )
    start = np.where(kind == 2, start + rng.integers(1, 400, n) * DAY, start)
    start = np.minimum(start, ctx.extract_date - DAY)
    end = np.where(kind == 1, move - DAY, np.datetime64("NaT"))
    account = np.char.add("LCC", np.char.zfill(ctx.take_ids("council", n).astype(str), 8))
    given, family = held_names(rng, pop, idx, rates, nicknames=True)
    spd = np.where(pop.n_adults[idx] == 1, "Y", "N")
    landing = pd.DataFrame(
        {
            "Account Reference": account,
            "UPRN": pop.uprn[prop].astype(str),
            "Property Address": as_str(pop.line1[prop]) + ", " + as_str(pop.town[prop]),
            "Postcode": blank(rng, as_str(pop.postcode[prop]), rates.missing),
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
        persons=truth_frame("council", "council_tax", account, "subject", idx + 1, "citizen_id"),
        properties=truth_frame("council", "council_tax", account, None, prop + 1, "property_id"),
    )
