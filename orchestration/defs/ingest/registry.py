"""``governance/contracts``: the registry of data contracts, as a table and an asset."""

from __future__ import annotations

import hashlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.lib.contracts import Contract

CONTRACTS_KEY = dg.AssetKey(["governance", "contracts"])

REGISTRY_DDL = """
create or replace table governance.contracts (
    contract_id varchar primary key,
    version varchar not null,
    status varchar not null,
    owner varchar not null,
    team varchar not null,
    department varchar not null,
    dataset varchar not null,
    raw_table varchar not null,
    classification varchar not null,
    format varchar not null,
    columns integer not null,
    quality_rules integer not null,
    legal_basis varchar not null,
    purpose varchar not null,
    contract_path varchar not null,
    contract_sha256 varchar not null
)
"""


def contract_rows(contracts: list[Contract]) -> list[list]:
    """One registry row per contract."""
    from orchestration.project import REPO_ROOT

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

    @dg.asset(
        key=CONTRACTS_KEY,
        group_name="governance",
        kinds={"duckdb"},
        owners=["team:data-governance"],
        tags={"layer": "governance"},
        code_version=digest.hexdigest()[:16],
        description=(
            "The registry of data contracts: id, version, status, owner, dataset, "
            "classification, format, legal basis and purpose of every contract under "
            "expectations/contracts."
        ),
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn("contract_id", "varchar"),
                    dg.TableColumn("version", "varchar"),
                    dg.TableColumn("status", "varchar"),
                    dg.TableColumn("owner", "varchar"),
                    dg.TableColumn("department", "varchar"),
                    dg.TableColumn("dataset", "varchar"),
                    dg.TableColumn("classification", "varchar"),
                ]
            ),
            "dagster/table_name": "governance.contracts",
        },
    )
    def contracts_registry(warehouse: DuckDBResource) -> dg.MaterializeResult:
        rows = contract_rows(contracts)
        with warehouse.get_connection() as con:
            con.execute("create schema if not exists governance")
            con.execute("begin transaction")
            con.execute(REGISTRY_DDL)
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
