"""Asset keys of the governance assets, defined once for every module that depends on them."""

import dagster as dg

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
