"""Column lineage outside the dbt SQL: ingest (a delivered header into a raw column) and the
person linkage (the person records' identifiers and attributes into the person index)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from orchestration.contracts import Contract
from orchestration.lineage.queries import AGGREGATED, DERIVED, DIRECT, MASKED
from orchestration.lineage.rows import LineageRow, table_column_lineage

if TYPE_CHECKING:
    import dagster as dg

RAW_SCHEMA = "raw"


def landing_asset(contract: Contract) -> str:
    """The landing dataset a contract's files are delivered to, as an asset key string
    (``landing/<department>/<dataset>``; not a Dagster asset, the files themselves)."""
    return f"landing/{contract.department}/{contract.dataset}"


def raw_asset(contract: Contract) -> str:
    """The asset key string of a contract's raw table (``raw/<department>__<dataset>``)."""
    return f"{RAW_SCHEMA}/{contract.raw_table}"


def ingest_lineage(contract: Contract, provenance: Iterable[str] = ()) -> list[LineageRow]:
    """How a contract's raw table is made from its deliveries.

    Each contract column is its delivered header (``physical_name``) loaded as delivered:
    kind direct. Each provenance column the ingest adds (source file, row number, batch,
    load time) is derived from the delivery as a whole: no upstream column.

    Args:
        contract: The dataset's contract.
        provenance: Names of the columns the ingest adds to every raw row
            (``orchestration.ingest.LINEAGE_COLUMNS``).
    """
    asset, dataset = raw_asset(contract), f"{RAW_SCHEMA}.{contract.raw_table}"
    landing, folder = landing_asset(contract), contract.landing_path
    rows = [
        LineageRow(asset, dataset, c.name, landing, folder, c.physical_name, DIRECT)
        for c in contract.columns
    ]
    rows += [
        LineageRow(asset, dataset, name, landing, folder, None, DERIVED) for name in provenance
    ]
    return rows


def ingest_column_lineage(contract: Contract) -> dg.TableColumnLineage:
    """``dagster/column_lineage`` of a contract's raw asset: each column from its header."""
    return next(iter(table_column_lineage(ingest_lineage(contract)).values()))


def person_index_lineage(
    index: tuple[str, str],
    index_columns: Sequence[str],
    records: tuple[str, str],
    record_id: str,
    anchors: Sequence[str],
    attributes: Collection[str],
) -> list[LineageRow]:
    """How the person index is made from the person records.

    The linkage compares the records' ``attributes`` and clusters the records; each
    cluster's ``person_key`` is the keyed HMAC of its anchor (the first of ``anchors`` it
    holds, else its smallest record id). So:

    - the record id is copied (direct);
    - ``person_key`` is masked from each anchor and the record id, and derived from every
      compared attribute (they decide the cluster);
    - ``cluster_size`` is a count of records per cluster (aggregated from the record id);
    - any other column (``match_rule``) is derived from the compared attributes.

    Args:
        index: ``(asset, dataset)`` of the person index.
        index_columns: Its columns.
        records: ``(asset, dataset)`` of the person records the linkage reads.
        record_id: The records' id column.
        anchors: The identifier columns a person key may be the pseudonym of, in order.
        attributes: The record columns the linkage compares (identifiers included).
    """
    asset, dataset = index
    up_asset, up_dataset = records
    compared = sorted(set(attributes) - {record_id})

    def made(column: str, upstream: str, kind: str) -> LineageRow:
        return LineageRow(asset, dataset, column, up_asset, up_dataset, upstream, kind)

    rows = []
    for column in index_columns:
        if column == record_id:
            rows.append(made(column, record_id, DIRECT))
        elif column == "person_key":
            keyed = [*(a for a in anchors if a != record_id), record_id]
            rows += [made(column, a, MASKED) for a in keyed]
            rows += [made(column, a, DERIVED) for a in compared if a not in keyed]
        elif column == "cluster_size":
            rows.append(made(column, record_id, AGGREGATED))
        else:
            rows += [made(column, a, DERIVED) for a in compared]
    return rows
