"""``governance/contracts`` (the registry of data contracts) and ``governance/ingestion_log``
(every landing file seen), as tables and assets."""

from __future__ import annotations

import hashlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance
from orchestration.contracts import Contract, load_contracts
from orchestration.defs.governance.keys import CONTRACTS_KEY, INGESTION_LOG_KEY, governance_asset
from orchestration.defs.ingest.assets import raw_asset_key
from orchestration.ingest import ensure_warehouse
from orchestration.settings import REPO_ROOT


def contract_rows(contracts: list[Contract]) -> list[list]:
    """One registry row per contract."""
    rows = []
    for c in contracts:
        path = c.path.resolve()
        shown = path.relative_to(REPO_ROOT) if REPO_ROOT in path.parents else path
        rows.append(
            [
                c.id,
                c.version,
                c.status,
                c.owner,
                c.team,
                c.department,
                c.dataset,
                c.raw_table,
                c.classification,
                c.format,
                len(c.columns),
                len(c.quality),
                c.legal_basis,
                c.purpose,
                str(shown),
                hashlib.sha256(c.path.read_bytes()).hexdigest(),
            ]
        )
    return rows


def build_contracts_asset(contracts: list[Contract]) -> dg.AssetsDefinition:
    """The registry asset; its code version changes whenever any contract file changes."""
    digest = hashlib.sha256()
    for c in contracts:
        digest.update(c.path.read_bytes())

    @governance_asset(
        key=CONTRACTS_KEY,
        code_version=digest.hexdigest()[:16],
        description=(
            "The registry of data contracts: id, version, status, owner, dataset, "
            "classification, format, legal basis and purpose of every contract under "
            "expectations/contracts."
        ),
        metadata=governance.asset_metadata("contracts"),
    )
    def contracts_registry(warehouse: DuckDBResource) -> dg.MaterializeResult:
        rows = contract_rows(contracts)
        with warehouse.get_connection() as con:
            con.execute("create schema if not exists governance")
            con.execute("begin transaction")
            governance.recreate(con, "contracts")
            if rows:
                con.executemany(
                    "insert into governance.contracts values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            con.execute("commit")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "contracts": dg.MetadataValue.md(
                    "\n".join(f"- `{r[0]}` v{r[1]} ({r[2]}, {r[8]}), owner {r[3]}" for r in rows)
                ),
            }
        )

    return contracts_registry


def build_ingestion_log_asset(contracts: list[Contract]) -> dg.AssetsDefinition:
    """The ingestion log as an asset downstream of every ingest asset."""

    @governance_asset(
        key=INGESTION_LOG_KEY,
        deps=[raw_asset_key(c) for c in contracts],
        description=(
            "One row per landing file the platform has seen: loaded, rejected or duplicate, with "
            "rows in, loaded and quarantined, the run and a message."
        ),
        metadata=governance.asset_metadata("ingestion_log"),
    )
    def ingestion_log(warehouse: DuckDBResource):
        with warehouse.get_connection() as con:
            ensure_warehouse(con, contracts)
            rows = con.execute(
                "select status, count(*), coalesce(sum(rows_loaded), 0) "
                "from governance.ingestion_log group by status order by status"
            ).fetchall()
            total = con.execute("select count(*) from governance.ingestion_log").fetchone()[0]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": total,
                **{f"files_{status}": n for status, n, _ in rows},
                "rows_loaded": sum(r[2] for r in rows),
            }
        )

    return ingestion_log


@dg.definitions
def defs() -> dg.Definitions:
    """The contracts registry and the ingestion log."""
    contracts = load_contracts()
    return dg.Definitions(
        assets=[build_contracts_asset(contracts), build_ingestion_log_asset(contracts)]
    )
