"""``governance/alerts``: every alert the platform raised, recorded through the run's warehouse.

The alert sensors record alerts in ``governance.alerts`` themselves when the warehouse is
free; while a run writes it they leave them in the outbox, and this asset records them in
the next run that materializes it.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance
from orchestration.alerts import pending_alerts, record_outbox
from orchestration.defs.governance.keys import governance_asset
from orchestration.settings import get_settings

ALERTS_KEY = dg.AssetKey(["governance", "alerts"])

RECENT_HOURS = 24
"""Alerts raised this recently are the open ones shown in the asset's metadata."""


def column_schema(table: governance.GovernanceTable) -> dg.TableSchema:
    """A governance table's columns, types, constraints and descriptions for Dagster."""
    columns = []
    for column in table.columns:
        kind = column.type.lower()
        base = kind.split(" not null")[0].split(" primary key")[0].split(" default")[0]
        key = "primary key" in kind
        columns.append(
            dg.TableColumn(
                name=column.name,
                type=base.strip(),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=not (key or "not null" in kind), unique=key
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def _markdown(rows: list[tuple]) -> str:
    if not rows:
        return "none"
    lines = ["| raised at (UTC) | severity | kind | subject | webhook |", "|---|---|---|---|---|"]
    for raised_at, severity, kind, subject, status in rows:
        cells = [raised_at, severity, kind, subject, status]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


@governance_asset(
    key=ALERTS_KEY,
    description=(
        "Every alert raised: failed runs, failed blocking (ERROR) checks and deliveries late "
        "against their contract's SLA, one row per alert, with whether the alert webhook "
        "received it. Records the alerts the sensors left in the outbox while the warehouse "
        "was busy."
    ),
    metadata={
        "dagster/column_schema": column_schema(governance.table("alerts")),
        "dagster/table_name": governance.table("alerts").qualified_name,
    },
)
def alerts(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Records the alert outbox in ``governance.alerts`` and reports the open alerts."""
    settings = get_settings()
    with warehouse.get_connection() as con:
        recorded = record_outbox(con, settings)
        total = con.execute("select count(*) from governance.alerts").fetchone()[0]
        recent = con.execute(
            "select strftime(raised_at at time zone 'UTC', '%Y-%m-%d %H:%M'), severity, kind, "
            "subject, webhook_status from governance.alerts "
            f"where raised_at >= now() - interval {RECENT_HOURS} hour "
            "order by raised_at desc, alert_id"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "recorded_this_run": recorded,
            "waiting_in_outbox": len(pending_alerts(settings.data_dir)),
            "open_alerts": len(recent),
            "open_errors": sum(1 for r in recent if r[1] == "ERROR"),
            "webhook_failures": sum(1 for r in recent if str(r[4]).startswith("failed")),
            "open_alerts_table": dg.MetadataValue.md(_markdown(recent[:20])),
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The alerts log."""
    return dg.Definitions(assets=[alerts])
