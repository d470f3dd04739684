"""Ingest assets generated from the data contracts: landing files into ``raw.*`` tables."""

from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import lineage
from orchestration.contracts import Contract, load_contracts
from orchestration.defs.ingest.sensors import build_landing_sensor
from orchestration.defs.pipeline.jobs import everything_job
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.ingest import LINEAGE_COLUMNS, ingest_dataset, landing_hashes
from orchestration.ingest.tables import LINEAGE_DESCRIPTIONS, raw_column_descriptions
from orchestration.quality.timeliness import allowed_age_days
from orchestration.settings import get_settings
from orchestration.sql import quote_identifier

FRESHNESS_CHECK_NAME = "freshness_check"
"""The name Dagster gives the freshness checks :func:`build_delivery_freshness_checks` makes."""

FRESHNESS_SENSOR_INTERVAL_SECONDS = 600
"""How often the delivery freshness checks are evaluated between runs."""

FRESHNESS_DIMENSION = "timeliness"
"""The GDQF dimension of the delivery freshness checks."""

FRESHNESS_SEVERITY = dg.AssetCheckSeverity.WARN
"""An overdue delivery is a warning: the freshness checks never block a run."""


def raw_asset_key(contract: Contract) -> dg.AssetKey:
    """Asset key of a contract's raw table."""
    return dg.AssetKey(["raw", contract.raw_table])


def _column_schema(contract: Contract) -> dg.TableSchema:
    """The raw table's columns, described as the warehouse comments them
    (:func:`~orchestration.ingest.tables.raw_column_descriptions`)."""
    described = raw_column_descriptions(contract)
    columns = [
        dg.TableColumn(
            name=c.name,
            type="varchar",
            description=described[c.name],
            constraints=dg.TableColumnConstraints(nullable=not c.required, unique=c.unique),
            tags={"standard_attribute": c.standard_attribute, "classification": c.classification},
        )
        for c in contract.columns
    ]
    columns += [
        dg.TableColumn(
            name=n,
            type=t.lower(),
            description=LINEAGE_DESCRIPTIONS[n],
            constraints=dg.TableColumnConstraints(nullable=False),
        )
        for n, t in LINEAGE_COLUMNS
    ]
    return dg.TableSchema(columns=columns)


def build_ingest_asset(contract: Contract) -> dg.AssetsDefinition:
    """One asset that loads every landing file of a contract's dataset into its raw table."""
    description = (
        f"{contract.title}: {contract.description} Values as delivered ({contract.format}, "
        f"from {contract.landing_path}/) plus lineage columns.\n\n"
        f"Purpose: {contract.purpose}\n\nLegal basis: {contract.legal_basis}"
    )

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=raw_asset_key(contract),
        group_name=contract.department,
        owners=[contract.owner],
        kinds={"duckdb", contract.format},
        description=description,
        tags={"layer": "raw", "classification": contract.classification},
        metadata={
            "dagster/column_schema": _column_schema(contract),
            "dagster/table_name": f"raw.{contract.raw_table}",
            "contract_id": contract.id,
            "contract_version": contract.version,
            "contract_path": dg.MetadataValue.path(str(contract.path)),
            "landing_path": contract.landing_path,
            "delivery_frequency_days": contract.frequency_days,
        },
        code_version=contract.version,
    )
    @retry_transient
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        settings = get_settings()
        hashes = landing_hashes(settings.data_dir / "state", settings.landing_dir)
        with warehouse.get_connection() as con:
            try:
                outcomes = ingest_dataset(
                    con, contract, settings.landing_dir, context.run.run_id, hashes
                )
            finally:
                hashes.save()
            total = con.execute(
                f"select count(*) from raw.{quote_identifier(contract.raw_table)}"
            ).fetchone()[0]
            last_delivery = con.execute(
                "select epoch(max(loaded_at)) from governance.ingestion_log "
                "where department = ? and dataset = ? and status = 'loaded'",
                [contract.department, contract.dataset],
            ).fetchone()[0]
        counts = {
            s: sum(1 for o in outcomes if o.status == s)
            for s in ("loaded", "rejected", "duplicate")
        }
        for o in outcomes:
            if o.status == "rejected":
                context.log.warning(f"rejected {o.file_path} ({o.reason}): {o.message}")
            elif o.rows_quarantined:
                context.log.warning(f"{o.file_path}: {o.message}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": total,
                "dagster/column_lineage": lineage.ingest_column_lineage(contract),
                # Freshness is about deliveries, not runs: the freshness check reads this.
                # No delivery yet counts as the epoch (overdue), never as fresh.
                "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(
                    float(last_delivery or 0.0)
                ),
                "files_loaded": counts["loaded"],
                "files_rejected": counts["rejected"],
                "files_duplicate": counts["duplicate"],
                "rows_loaded_this_run": sum(o.rows_loaded for o in outcomes),
                "rows_quarantined_this_run": sum(o.rows_quarantined for o in outcomes),
                "quarantine_table": f"quarantine.{contract.raw_table}",
                "rejections": dg.MetadataValue.md(
                    "\n".join(
                        f"- `{o.file_path}` ({o.reason}): {o.message}"
                        for o in outcomes
                        if o.status == "rejected"
                    )
                    or "none"
                ),
            }
        )

    return _ingest


def build_delivery_freshness_checks(
    contracts: list[Contract],
) -> tuple[list[dg.AssetChecksDefinition], dg.SensorDefinition]:
    """Dagster freshness checks from the contracts' SLAs, and the sensor that evaluates them.

    A raw asset is fresh while its latest delivery (``dagster/last_updated_timestamp`` on its
    materialization) is at most the contract's frequency plus latency old. The sensor
    re-evaluates them between runs, so the UI (and the alert sensors) see a delivery go
    overdue even when no run happens. They read only Dagster's event log, never the
    warehouse. The in-run ``delivered_within_sla`` check records the same rule in the
    quality results. Each check describes its rule and carries its GDQF dimension
    (:func:`describe_freshness_checks`).
    """
    checks = [
        describe_freshness_checks(check, contract)
        for contract in contracts
        for check in dg.build_last_update_freshness_checks(
            assets=[raw_asset_key(contract)],
            lower_bound_delta=timedelta(days=allowed_age_days(contract)),
            severity=FRESHNESS_SEVERITY,
        )
    ]
    sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=checks,
        minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
        name="delivery_freshness_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    return checks, sensor


def describe_freshness_checks(
    checks_def: dg.AssetChecksDefinition, contract: Contract
) -> dg.AssetChecksDefinition:
    """Dagster's freshness checks of a contract's raw table, each with a description of its
    rule and ``gdqf_dimension: timeliness`` (the factory takes neither).

    The checks keep the factory's op (its evaluation), keys, severity and metadata
    (``dagster/freshness_params``, which the freshness sensor reads); only each spec's
    description is replaced and its metadata added to.
    """
    severity = FRESHNESS_SEVERITY.value
    description = (
        f"[{FRESHNESS_DIMENSION} · {severity}] Dagster's freshness check: the latest delivery "
        f"of {contract.title} is at most {allowed_age_days(contract):g} days old (delivered "
        f"every {contract.frequency_days:g} days, up to {contract.latency_days:g} days late). "
        "Re-evaluated between runs by the delivery freshness sensor."
    )
    specs = {
        output: spec._replace(
            description=description,
            metadata={**spec.metadata, "gdqf_dimension": FRESHNESS_DIMENSION, "severity": severity},
        )
        for output, spec in checks_def.node_check_specs_by_output_name.items()
    }
    return dg.AssetChecksDefinition.create(
        keys_by_input_name=checks_def.node_keys_by_input_name,
        node_def=checks_def.op,
        check_specs_by_output_name=specs,
        can_subset=checks_def.can_subset,
        resource_defs=checks_def.resource_defs,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Ingest assets for every contract, the landing-zone sensor and delivery freshness."""
    contracts = load_contracts()
    freshness, freshness_sensor = build_delivery_freshness_checks(contracts)
    return dg.Definitions(
        assets=[build_ingest_asset(c) for c in contracts],
        asset_checks=freshness,
        sensors=[build_landing_sensor(contracts, everything_job), freshness_sensor],
    )
