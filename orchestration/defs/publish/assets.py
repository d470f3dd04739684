"""The published analytics snapshot: write, audit, then publish atomically."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.contracts import load_contracts
from orchestration.defs.governance.assets import current_checks
from orchestration.defs.governance.keys import (
    CONSENT_KEY,
    CONTRACTS_KEY,
    LINKAGE_METRICS_KEY,
    QUALITY_KEYS,
)
from orchestration.defs.governance.linkage_source_pairs import LINKAGE_SOURCE_PAIRS_KEY
from orchestration.defs.quality.checks import validated_assets
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.project import dbt_project, ensure_manifest
from orchestration.publish import (
    blocking_failures,
    publish_snapshot,
    published_columns,
    published_models,
    published_tables,
)
from orchestration.settings import get_settings
from orchestration.standards import STANDARD_ATTRIBUTES

PUBLISHED_KEY = dg.AssetKey(["published", "analytics"])


def forbidden_columns(contracts) -> set[str]:
    """Column names that hold direct identifiers in a contract: never published."""
    return {
        c.name.lower()
        for contract in contracts
        for c in contract.columns
        if STANDARD_ATTRIBUTES[c.standard_attribute].direct_identifier
    }


def column_schema(models) -> dg.TableSchema:
    """Every column the snapshot publishes, named ``<schema>.<table>.<column>``, with its type
    and description: the snapshot's catalogue, as the asset's column schema."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f"{schema}.{table}.{column.name}",
                type=column.type or "?",
                description=column.description,
            )
            for schema, table, column in published_columns(models)
        ]
    )


def build_publish_asset(models) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every published model and of the governance assets
    whose tables it publishes (``orchestration.publish.PUBLISHED_GOVERNANCE_TABLES``)."""

    deps = [dg.AssetKey([m.layer, m.name]) for m in models]
    deps += [*QUALITY_KEYS, CONTRACTS_KEY, CONSENT_KEY, LINKAGE_METRICS_KEY]
    deps.append(LINKAGE_SOURCE_PAIRS_KEY)
    tables = published_tables(models)

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=PUBLISHED_KEY,
        deps=deps,
        group_name="published",
        kinds={"duckdb"},
        owners=["team:data-platform"],
        tags={"layer": "published"},
        description=(
            "What analysts query: <data dir>/published/analytics.duckdb, a read-only snapshot "
            "of the conformed tables and marts whose dbt meta.publish is not false, the "
            "reference code lists (schema reference) that decode their coded columns, and the "
            "governance tables meant for analysts (quality, linkage, consent, the contract "
            "registry and governance.publication). Every table and column carries its "
            "description as a comment (duckdb_tables(), duckdb_columns()). Written to a new "
            "file, checked, then renamed into place atomically, and only when every blocking "
            "(ERROR) quality check passed; otherwise the previous snapshot stays. Its column "
            "schema lists every published column as <schema>.<table>.<column>."
        ),
        metadata={"dagster/column_schema": column_schema(models)},
    )
    @retry_transient
    def analytics(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        settings = get_settings()
        contracts = load_contracts()
        checks = current_checks(validated_assets(), contracts)
        with warehouse.get_connection() as con:
            failures = blocking_failures(con, checks)
            if failures:
                named = ", ".join(f"{d} :: {c}" for d, c, _ in failures)
                raise dg.Failure(
                    description=f"Publishing refused: blocking checks failed: {named}",
                    metadata={"blocking_checks": named},
                )
            publication = publish_snapshot(
                con,
                settings.published_dir,
                tables,
                context.run.run_id,
                forbidden_columns(contracts),
            )
        rows = sum(r for _, _, r in publication.tables)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(publication.path)),
                "tables": len(publication.tables),
                "dagster/row_count": rows,
                "published_at": publication.published_at.isoformat(),
                "undocumented": dg.MetadataValue.md(
                    "\n".join(f"- {name}" for name in publication.undocumented) or "none"
                ),
                "contents": dg.MetadataValue.md(
                    "| table | rows |\n|---|---|\n"
                    + "\n".join(f"| {s}.{t} | {n:,} |" for s, t, n in publication.tables)
                ),
            }
        )

    return analytics


@dg.definitions
def defs() -> dg.Definitions:
    """The published snapshot asset."""
    ensure_manifest()
    return dg.Definitions(
        assets=[build_publish_asset(published_models(dbt_project().manifest_path))]
    )
