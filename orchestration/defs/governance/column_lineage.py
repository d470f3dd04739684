"""``governance/column_lineage``: where every column of every dataset comes from.

One table, ``governance.column_lineage``, rebuilt each run from three sources:

- ingest: each raw column from its delivered header (the contract's ``physical_name``);
- dbt: each model column from the columns its compiled SQL reads (sqlglot), as direct,
  derived, aggregated or masked;
- the person linkage: ``linkage.person_matches`` from the person records' identifiers and
  compared attributes (``person_key`` masked: the keyed HMAC of the cluster's anchor).

The asset sits downstream of every asset it describes. The same lineage is attached to
each asset's own materialization as ``dagster/column_lineage`` by the hooks this module and
:mod:`orchestration.lineage` provide.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance, lineage
from orchestration.contracts import Contract, load_contracts
from orchestration.defs.governance.keys import governance_asset
from orchestration.defs.ingest.assets import raw_asset_key
from orchestration.defs.transform.assets import CommonGroundTranslator
from orchestration.ingest import LINEAGE_COLUMNS
from orchestration.linkage.model import is_identifier_scheme
from orchestration.linkage.person import PERSON_ATTRIBUTES
from orchestration.project import ensure_manifest, read_manifest
from orchestration.settings import get_settings

COLUMN_LINEAGE_KEY = dg.AssetKey(["governance", "column_lineage"])

COMPLETE_CHECK = "every_model_column_has_lineage"

PERSON_RECORD_ID = "person_record_id"
"""The person records' id, which the person index keeps."""

PERSON_KEY_ANCHORS = ("nino", "nhs_number")
"""The identifiers whose keyed HMAC becomes a person's key, in order, before each identifier
scheme's pseudonym and the smallest record id (``linkage.assign_person_keys``)."""


def person_index_lineage(
    relations: Mapping[str, lineage.DbtRelation], model_rows: Iterable[lineage.LineageRow] = ()
) -> list[lineage.LineageRow]:
    """The person index's lineage from the person records: their identifiers (the person
    key's anchors) and the attributes the linkage reads.

    Args:
        relations: The dbt project's relations (:func:`orchestration.lineage.dbt_relations`):
            the person index is the dbt source the linkage asset writes.
        model_rows: The dbt models' lineage, whose rows give the person records' columns as
            their SQL makes them; without them, the columns their model declares.
    """
    # deferred: defs.linkage.assets imports this module for its lineage hook.
    from orchestration.defs.linkage.assets import PERSON_MATCHES_KEY, PERSON_RECORDS_KEY

    by_asset = {r.asset: r for r in relations.values()}
    index = by_asset.get(PERSON_MATCHES_KEY.to_user_string())
    records = by_asset.get(PERSON_RECORDS_KEY.to_user_string())
    if index is None or records is None:
        return []
    made = dict.fromkeys(r.column_name for r in model_rows if r.asset == records.asset)
    columns = list(made or records.columns)
    schemes = sorted(c for c in columns if is_identifier_scheme(c))
    attributes = [c for c in columns if c in PERSON_ATTRIBUTES] + schemes
    anchors = [c for c in PERSON_KEY_ANCHORS if c in columns] + schemes
    return lineage.person_index_lineage(
        (index.asset, index.dataset),
        list(index.columns),
        (records.asset, records.dataset),
        PERSON_RECORD_ID,
        anchors,
        attributes,
    )


def person_index_column_lineage() -> dg.TableColumnLineage:
    """``dagster/column_lineage`` of ``linkage/person_matches``, from the parsed dbt project
    (the hook for the linkage asset's materialization)."""
    translator = CommonGroundTranslator(load_contracts())
    relations = lineage.dbt_relations(read_manifest(ensure_manifest()), translator.get_asset_key)
    return next(iter(lineage.table_column_lineage(person_index_lineage(relations)).values()))


def all_lineage(
    manifest: Mapping, compiled: Mapping[str, str], contracts: list[Contract]
) -> tuple[list[lineage.LineageRow], lineage.DbtLineage]:
    """Every lineage row: ingest, the dbt models and the person index."""
    translator = CommonGroundTranslator(contracts)
    models = lineage.dbt_lineage(manifest, compiled, translator.get_asset_key)
    provenance = [name for name, _ in LINEAGE_COLUMNS]
    rows = [row for c in contracts for row in lineage.ingest_lineage(c, provenance)]
    rows += person_index_lineage(models.relations, models.rows)
    return rows + models.rows, models


def build_column_lineage_asset(contracts: list[Contract]) -> dg.AssetsDefinition:
    """The column lineage asset, downstream of every model, source and raw table."""
    translator = CommonGroundTranslator(contracts)
    relations = lineage.dbt_relations(read_manifest(ensure_manifest()), translator.get_asset_key)
    deps = {dg.AssetKey.from_user_string(r.asset) for r in relations.values()}
    deps |= {raw_asset_key(c) for c in contracts}

    @governance_asset(
        key=COLUMN_LINEAGE_KEY,
        deps=sorted(deps, key=str),
        description=(
            "Column-level lineage: for every column of every raw table, dbt model and the "
            "person index, the upstream columns it is made from and how (direct, derived, "
            "aggregated or masked): raw columns from the delivered headers, models from "
            "their compiled SQL (sqlglot), the person key from the linked identifiers."
        ),
        metadata=governance.asset_metadata(lineage.TABLE),
        check_specs=[
            dg.AssetCheckSpec(
                name=COMPLETE_CHECK,
                asset=COLUMN_LINEAGE_KEY,
                blocking=False,
                description=(
                    "[completeness · WARN] every dbt model has compiled SQL that sqlglot "
                    "reads, and every column's inputs are placed (no star over an unknown "
                    "table)."
                ),
                metadata={"gdqf_dimension": "completeness", "severity": "WARN"},
            )
        ],
    )
    def column_lineage(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        """Reads the lineage of every dataset and replaces governance.column_lineage."""
        started = time.perf_counter()
        manifest = read_manifest(ensure_manifest())
        compiled, compiled_here = lineage.compiled_sql(
            manifest, get_settings().dbt_target_dir, context.run.run_id
        )
        rows, models = all_lineage(manifest, compiled, contracts)
        with warehouse.get_connection() as con:
            written = lineage.record(con, rows, context.run.run_id)
        model_columns = {(r.asset, r.column_name) for r in models.rows}
        problems = {
            "missing": models.missing,
            "unresolved": models.unresolved,
            "failed": models.failed,
        }
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": written,
                "models": models.models,
                "model_columns": len(model_columns),
                "rows_by_kind": dg.MetadataValue.json(dict(lineage.kind_counts(rows))),
                "models_compiled_here": compiled_here,
                "seconds": round(time.perf_counter() - started, 2),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=COMPLETE_CHECK,
                    passed=not any(problems.values()),
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={k: dg.MetadataValue.json(v) for k, v in problems.items()},
                )
            ],
        )

    return column_lineage


@dg.definitions
def defs() -> dg.Definitions:
    """The column lineage of every dataset."""
    return dg.Definitions(assets=[build_column_lineage_asset(load_contracts())])
