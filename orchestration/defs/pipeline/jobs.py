"""Jobs that materialize the pipeline."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_WRITE_TAGS

everything_job = dg.define_asset_job(
    name="commonground_everything",
    selection=dg.AssetSelection.all(),
    description="Ingests every delivery and builds staging, conformed, marts and governance.",
    tags=WAREHOUSE_WRITE_TAGS,
)
