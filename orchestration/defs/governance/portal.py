"""``governance/portal``: the static, offline governance portal under ``<data dir>/portal``."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.governance.catalogue import CATALOGUE_KEY, DATA_MATURITY_KEY
from orchestration.defs.governance.column_lineage import COLUMN_LINEAGE_KEY
from orchestration.defs.governance.keys import (
    CONTRACTS_KEY,
    GOVERNANCE_OWNER,
    QUALITY_DECLARATIONS_KEY,
    QUALITY_RESULTS_KEY,
    QUALITY_SCORECARD_KEY,
    governance_asset,
)
from orchestration.defs.publish.assets import PUBLISHED_KEY
from orchestration.portal import build_portal
from orchestration.settings import get_settings

PORTAL_KEY = dg.AssetKey(["governance", "portal"])

PORTAL_UPSTREAM = [
    QUALITY_RESULTS_KEY,
    QUALITY_SCORECARD_KEY,
    QUALITY_DECLARATIONS_KEY,
    CONTRACTS_KEY,
    COLUMN_LINEAGE_KEY,
    CATALOGUE_KEY,
    DATA_MATURITY_KEY,
    PUBLISHED_KEY,
]
"""The governance assets the portal reads, and the published snapshot (which itself waits
for every published table)."""


def asset_parents(graph) -> dict[str, list[str]]:
    """Upstream asset keys (``a/b``) of every asset key of a Dagster asset graph."""
    return {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    }


def _whole_asset_graph(context: dg.AssetExecutionContext):
    """The code location's whole asset graph, whatever subset this run materializes."""
    try:
        return context.repository_def.asset_graph
    except Exception:
        # A job run with execute_in_process (commonground run, tests) has no repository, and
        # its job's graph holds only the assets selected: load the code location instead.
        # Deferred: the code location imports this module.
        from orchestration.definitions import defs

        return defs().resolve_asset_graph()


@governance_asset(
    key=PORTAL_KEY,
    deps=PORTAL_UPSTREAM,
    kinds={"duckdb", "html"},
    description=(
        "The governance portal: static HTML under <data dir>/portal (no CDN, no network, "
        "works from file://). An index with search over datasets and columns; a page per "
        "dataset (description, owner, classification, contract version, schema, lineage "
        "drawn as SVG, column lineage, quality scorecard and runs chart, declaration, "
        "disclosure control, sharing agreements); quality results per dataset; a page per "
        "department (data maturity, catalogue); the sharing agreements."
    ),
)
def portal(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Writes the portal from the warehouse, the dbt manifest, the contracts, the agreements
    and the published snapshot, with table lineage from this code location's asset graph."""
    settings = get_settings()
    parents = asset_parents(_whole_asset_graph(context))
    with warehouse.get_connection() as con:
        result = build_portal(
            settings.data_dir,
            con=con,
            asset_parents=parents,
            governance_owner=GOVERNANCE_OWNER,
        )
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(result.index)),
            "pages": sum(result.pages.values()),
            **{f"pages_{kind}": n for kind, n in sorted(result.pages.items())},
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The governance portal."""
    return dg.Definitions(assets=[portal])
