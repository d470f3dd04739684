"""Asset keys of the governance assets, defined once for every module that depends on them,
and the decorator that gives every governance asset its group, owner and layer."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient

INGESTION_LOG_KEY = dg.AssetKey(["governance", "ingestion_log"])
CONTRACTS_KEY = dg.AssetKey(["governance", "contracts"])
QUALITY_RESULTS_KEY = dg.AssetKey(["governance", "quality_results"])
QUALITY_SCORECARD_KEY = dg.AssetKey(["governance", "quality_scorecard"])
QUALITY_DECLARATIONS_KEY = dg.AssetKey(["governance", "quality_declarations"])
QUALITY_DOCS_KEY = dg.AssetKey(["governance", "quality_docs"])
LINKAGE_METRICS_KEY = dg.AssetKey(["governance", "linkage_metrics"])
CONSENT_KEY = dg.AssetKey(["governance", "consent_exclusions"])

QUALITY_KEYS = (
    QUALITY_RESULTS_KEY,
    QUALITY_SCORECARD_KEY,
    QUALITY_DECLARATIONS_KEY,
    QUALITY_DOCS_KEY,
)
"""The quality governance assets, which publishing waits for."""


GOVERNANCE_OWNER = "team:data-governance"


def governance_asset(
    key: dg.AssetKey, kinds: set[str] | None = None, **kwargs: Any
) -> Callable[..., dg.AssetsDefinition]:
    """``@dg.asset`` for a governance asset: group ``governance``, owned by the data
    governance team, tagged with its layer, in the warehouse pool and retried after a
    transient fault; ``kinds`` defaults to ``{"duckdb"}``."""
    decorate = dg.asset(
        key=key,
        pool=WAREHOUSE_POOL,
        group_name="governance",
        kinds=kinds or {"duckdb"},
        owners=[GOVERNANCE_OWNER],
        tags={"layer": "governance"},
        **kwargs,
    )
    return lambda fn: decorate(retry_transient(fn))
