"""Checks on a raw table's deliveries that its contract implies, beyond its quality rules.

- :func:`delivery_expected`: whether a dataset's rules apply yet. A dataset that has never
  had a delivery is not judged (a landing zone holding only new departments runs end to
  end) until its contract's SLA says the first delivery is overdue.
- :func:`format_drift`: a ``validity`` ERROR check per raw table: in the latest delivery,
  at least half of each typed column's non-empty values parse with the declared format. A
  department that switches to another date format fails it loudly, with sample values,
  instead of losing every value to quarantine or to nulls.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from orchestration.contracts import Contract
from orchestration.ingest.row_rules import column_rules
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.sql import quote_identifier
from orchestration.standards import STANDARD_ATTRIBUTES

DRIFT_CHECK = "format_drift"
DRIFT_SHARE = 0.5
DRIFT_DESCRIPTION = (
    "In the latest delivery, at least half of each typed column's non-empty values "
    "parse with the contract's format (else the department changed its format)."
)
NO_DELIVERY = "no delivery yet: not judged until one is loaded or the SLA says one is overdue"


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def delivery_expected(
    con: duckdb.DuckDBPyConnection, contract: Contract, now: datetime | None = None
) -> bool:
    """True once a dataset has had a delivery (any file logged for it), or once the
    contract's SLA says the first one is overdue: ``contractCreatedTs`` plus delivery
    frequency and latency has passed."""
    if _table_exists(con, "governance", "ingestion_log"):
        logged = con.execute(
            "select count(*) from governance.ingestion_log where department = ? and dataset = ?",
            [contract.department, contract.dataset],
        ).fetchone()[0]
        if logged:
            return True
    created = contract.document.get("contractCreatedTs")
    if not created:
        return False
    try:
        since = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    age_days = ((now or datetime.now(UTC)) - since).total_seconds() / 86_400
    return age_days > contract.frequency_days + contract.latency_days


def typed_columns(contract: Contract) -> list[str]:
    """Columns with a ``type`` row rule (dates, timestamps, numbers, booleans)."""
    return [c.name for c in contract.columns if any(r.rule == "type" for r in column_rules(c))]


def _latest_batch(con: duckdb.DuckDBPyConnection, contract: Contract) -> str | None:
    """The batch of the latest delivery, from the raw rows and the quarantined ones (a
    delivery whose every row was quarantined has no raw rows)."""
    table = quote_identifier(contract.raw_table)
    parts = [
        f"select _batch_id, _loaded_at from {schema}.{table}"
        for schema in ("raw", "quarantine")
        if _table_exists(con, schema, contract.raw_table)
    ]
    if not parts:
        return None
    row = con.execute(
        f"select _batch_id from ({' union all '.join(parts)}) "
        "order by _loaded_at desc, _batch_id desc limit 1"
    ).fetchone()
    return row[0] if row else None


def latest_batch_identity(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> tuple[str, int, int] | None:
    """What the format-drift check judges: the latest delivery's batch id and its rows in
    the raw and the quarantine tables; None before the first delivery."""
    batch = _latest_batch(con, contract)
    if batch is None:
        return None
    counts = [
        con.execute(
            f"select count(*) from {schema}.{quote_identifier(contract.raw_table)} "
            "where _batch_id = ?",
            [batch],
        ).fetchone()[0]
        if _table_exists(con, schema, contract.raw_table)
        else 0
        for schema in ("raw", "quarantine")
    ]
    return batch, counts[0], counts[1]


def format_drift(con: duckdb.DuckDBPyConnection, contract: Contract) -> ExpectationOutcome:
    """The ``format_drift`` check of a contract's latest delivery.

    A typed column drifts when fewer than half of its non-empty values parse: the values
    counted are the raw rows of the batch plus the batch's quarantine rows for the column's
    ``type`` rule (a column with ``onInvalid: null`` keeps its unparseable values in raw).
    """
    description = DRIFT_DESCRIPTION
    batch = _latest_batch(con, contract)
    if batch is None:
        return ExpectationOutcome(
            DRIFT_CHECK, "validity", "ERROR", description, True, observed_value="no delivery"
        )
    raw = f"raw.{quote_identifier(contract.raw_table)}"
    quarantine = f"quarantine.{quote_identifier(contract.raw_table)}"
    drifted, samples, judged, bad_total = [], [], 0, 0
    for column in contract.columns:
        [rule] = [r for r in column_rules(column) if r.rule == "type"] or [None]
        if rule is None:
            continue
        v = quote_identifier(column.name)
        good = con.execute(
            f"select count(*) from {raw} where _batch_id = ? and {v} is not null "
            f"and trim({v}) <> '' and not ({rule.broken})",
            [batch],
        ).fetchone()[0]
        bad_rows = con.execute(
            f"select raw_value from {quarantine} where _batch_id = ? and column_name = ? "
            "and rule = 'type' union all "
            f"select {v} from {raw} where _batch_id = ? and ({rule.broken})",
            [batch, column.name, batch],
        ).fetchall()
        bad = len(bad_rows)
        judged += good + bad
        bad_total += bad
        if good + bad and good < DRIFT_SHARE * (good + bad):
            drifted.append(f"{column.name} ({good:,} of {good + bad:,} parse)")
            masked = STANDARD_ATTRIBUTES[column.standard_attribute].direct_identifier
            shown = sorted({str(r[0]) for r in bad_rows})[:3]
            samples += [f"{column.name}: {'***' if masked else s}" for s in shown]
    observed = (
        "columns whose format drifted: " + "; ".join(drifted)
        if drifted
        else "every typed column parses"
    )
    return ExpectationOutcome(
        DRIFT_CHECK,
        "validity",
        "ERROR",
        description,
        success=not drifted,
        element_count=judged,
        unexpected_count=bad_total,
        unexpected_percent=100.0 * bad_total / judged if judged else 0.0,
        observed_value=observed,
        samples=tuple(samples),
    )
