"""Timeliness: is each dataset's latest delivery within its contract's SLA?

A contract states how often a department delivers (``frequency``) and how late a delivery may
be (``latency``). A dataset is fresh while its last loaded file is at most
``frequency + latency`` days old; otherwise the next delivery is overdue.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from orchestration.contracts import Contract
from orchestration.quality.outcome import ExpectationOutcome

CHECK_NAME = "delivered_within_sla"


def allowed_age_days(contract: Contract) -> float:
    """Oldest the latest delivery may be, in days: delivery frequency plus latency."""
    return contract.frequency_days + contract.latency_days


def delivery_freshness(
    con: duckdb.DuckDBPyConnection, contract: Contract, now: datetime | None = None
) -> ExpectationOutcome:
    """Checks the age of a dataset's latest loaded delivery against its SLA.

    Args:
        con: Warehouse connection (reads ``governance.ingestion_log``).
        contract: The dataset's contract.
        now: The time to judge against (default: now, UTC).

    Returns:
        A ``timeliness`` WARN outcome: a late delivery is recorded, it does not block.
    """
    allowed = allowed_age_days(contract)
    description = (
        f"The latest delivery is at most {allowed:g} days old (delivered every "
        f"{contract.frequency_days:g} days, up to {contract.latency_days:g} days late)."
    )
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'ingestion_log'"
    ).fetchone()[0]
    last = None
    if exists:
        last = con.execute(
            "select max(loaded_at) from governance.ingestion_log "
            "where department = ? and dataset = ? and status = 'loaded'",
            [contract.department, contract.dataset],
        ).fetchone()[0]
    if last is None:
        return ExpectationOutcome(
            CHECK_NAME,
            "timeliness",
            "WARN",
            description,
            success=False,
            observed_value="no delivery has been loaded",
        )
    current = (now or datetime.now(UTC)).replace(tzinfo=None)
    age = (current - last).total_seconds() / 86_400
    return ExpectationOutcome(
        CHECK_NAME,
        "timeliness",
        "WARN",
        description,
        success=age <= allowed,
        observed_value=f"latest delivery {age:.1f} days old (allowed {allowed:g})",
    )
