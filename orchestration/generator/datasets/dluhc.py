"""DLUHC's delivery: energy performance certificates (CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.datasets.context import (
    DAY,
    Chunk,
    Context,
    as_str,
    truth_frame,
    uniform_dates,
)
from orchestration.generator.formatting import blank, iso_dates, postcode_variants
from orchestration.generator.identifiers import unique_codes
from orchestration.generator.population import PROPERTY_TYPES, Population
from orchestration.generator.reference import ENERGY_RATINGS

RATING_LETTERS = np.array([r for r, _ in ENERGY_RATINGS])


def energy_certificates(rng: np.random.Generator, pop: Population, ctx: Context) -> Chunk:
    """DLUHC energy performance certificates for all properties (about 60% have one)."""
    rates = ctx.rates
    n_prop = pop.properties
    has = np.flatnonzero(rng.random(n_prop) < 0.6)
    two = rng.random(len(has)) < 0.15
    latest = uniform_dates(
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
    address = as_str(pop.line1[prop]) + ", " + as_str(pop.town[prop])
    landing = pd.DataFrame(
        {
            "LMK_KEY": lmk,
            "UPRN": blank(rng, as_str(pop.uprn[prop].astype(str)), 5 * rates.missing),
            "ADDRESS": address,
            "POSTCODE": postcode_variants(rng, as_str(pop.postcode[prop]), rates.postcode_variant),
            "LOCAL_AUTHORITY": pop.la_codes()[prop],
            "CURRENT_ENERGY_RATING": RATING_LETTERS[rating],
            "MAIN_FUEL": blank(rng, as_str(pop.fuel[prop]), rates.missing),
            "PROPERTY_TYPE": blank(
                rng, as_str(PROPERTY_TYPES[pop.property_type[prop]]), rates.missing
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
        properties=truth_frame("dluhc", "energy_certificates", lmk, None, prop + 1, "property_id"),
        facts=facts,
    )
