"""Column-level lineage: which columns of which datasets each column is made from, and how.

- :mod:`~orchestration.lineage.queries`: the lineage of one SQL query with sqlglot, each
  hop classified ``direct`` (copied, renamed or cast), ``derived`` (an expression of it),
  ``aggregated`` (inside an aggregate) or ``masked`` (through a pseudonym or hash).
- :mod:`~orchestration.lineage.dbt`: every dbt model's lineage from its compiled SQL, and
  the same as ``dagster/column_lineage`` on each model's materialization.
- :mod:`~orchestration.lineage.sources`: ingest (a delivered header into a raw column) and
  the person linkage (the person records into the person index).
- :mod:`~orchestration.lineage.rows`: ``governance.column_lineage`` written and read,
  :func:`trace` of a column to its sources, and Dagster's ``TableColumnLineage`` per asset.

Dagster is imported only by the functions that build its metadata.
"""

from orchestration.lineage.dbt import (
    DbtLineage,
    DbtRelation,
    compile_models,
    compiled_code,
    compiled_sql,
    dbt_lineage,
    dbt_relations,
    read_manifest,
    step_manifests,
    with_column_lineage,
)
from orchestration.lineage.queries import (
    AGGREGATED,
    DERIVED,
    DIRECT,
    KINDS,
    MASKED,
    MASKING_FUNCTIONS,
    ColumnInput,
    QueryLineage,
    mapping_schema,
    query_lineage,
)
from orchestration.lineage.rows import (
    TABLE,
    LineageRow,
    Step,
    kind_counts,
    read_rows,
    record,
    table_column_lineage,
    trace,
)
from orchestration.lineage.sources import (
    ingest_column_lineage,
    ingest_lineage,
    landing_asset,
    person_index_lineage,
    raw_asset,
)

__all__ = [
    "AGGREGATED",
    "DERIVED",
    "DIRECT",
    "KINDS",
    "MASKED",
    "MASKING_FUNCTIONS",
    "TABLE",
    "ColumnInput",
    "DbtLineage",
    "DbtRelation",
    "LineageRow",
    "QueryLineage",
    "Step",
    "compile_models",
    "compiled_code",
    "compiled_sql",
    "dbt_lineage",
    "dbt_relations",
    "ingest_column_lineage",
    "ingest_lineage",
    "kind_counts",
    "landing_asset",
    "mapping_schema",
    "person_index_lineage",
    "query_lineage",
    "raw_asset",
    "read_manifest",
    "read_rows",
    "record",
    "step_manifests",
    "table_column_lineage",
    "trace",
    "with_column_lineage",
]
