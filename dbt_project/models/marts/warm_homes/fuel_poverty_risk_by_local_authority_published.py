"""Warm Homes for publication: the local-authority counts under disclosure control."""

import pandas as pd

from orchestration.privacy import suppress

COUNTS = ["homes_with_certificate", "homes_rated_e_to_g", "homes_e_to_g_income_related"]


def model(dbt, session):
    """Counts 1-9 suppressed, plus secondary suppression against the totals row."""
    dbt.config(materialized="table")
    internal = dbt.ref("fuel_poverty_risk_by_local_authority").df()
    internal = internal.sort_values("local_authority_code").reset_index(drop=True)
    rows = [[int(v) for v in row] for row in internal[COUNTS].itertuples(index=False)]
    total = [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * len(COUNTS)
    result = suppress([*rows, total], column_totals=True)
    names = internal["local_authority_name"].tolist() + ["All local authorities"]
    codes = internal["local_authority_code"].tolist() + ["TOTAL"]
    out = pd.DataFrame(result.values, columns=COUNTS, dtype="Int64")
    out.insert(0, "local_authority_name", pd.Series(names, dtype="string"))
    out.insert(0, "local_authority_code", pd.Series(codes, dtype="string"))
    share = out["homes_e_to_g_income_related"] / out["homes_rated_e_to_g"].replace(0, pd.NA)
    out["share_income_related"] = share.astype("Float64").round(4)
    out["suppressed_cells"] = out[COUNTS].isna().sum(axis=1).astype("int32")
    return out
