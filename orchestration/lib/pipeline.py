"""Running the whole pipeline headless and summarising what it produced."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

JOB_NAME = "commonground_everything"
LAYER_SCHEMAS = ("raw", "staging", "intermediate", "conformed", "marts", "governance")


@dataclass
class CheckOutcome:
    """One asset check's result in a run."""

    asset: str
    name: str
    passed: bool
    severity: str
    description: str = ""


@dataclass
class RunSummary:
    """What a pipeline run did: success, timings, checks and the rows in each layer."""

    run_id: str
    success: bool
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    tables: list[tuple[str, str, int]] = field(default_factory=list)
    ingestion: list[tuple] = field(default_factory=list)
    scorecard: list = field(default_factory=list)
    published: tuple | None = None

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        """Checks that did not pass."""
        return [c for c in self.checks if not c.passed]

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        """ERROR checks that did not pass: they block downstream assets and publishing."""
        return [c for c in self.failed_checks if c.severity == "ERROR"]

    def rows_by_layer(self) -> dict[str, int]:
        """Total rows per warehouse layer (marts schemas folded into ``marts``)."""
        totals: dict[str, int] = {}
        for schema, _, rows in self.tables:
            layer = "marts" if schema.startswith("marts") else schema
            totals[layer] = totals.get(layer, 0) + rows
        return totals


def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_everything(log_level: str = "WARNING") -> RunSummary:
    """Materializes every asset once, in process, and returns a summary.

    The run is recorded in the Dagster instance named by ``DAGSTER_HOME`` (so it appears in
    ``make ui``), or in an ephemeral instance when that is not set.
    """
    from dagster import AssetCheckSeverity

    from orchestration.definitions import defs
    from orchestration.defs.transform.assets import ensure_manifest
    from orchestration.lib.publish import read_publication
    from orchestration.lib.quality.results import read_scorecard
    from orchestration.settings import get_settings

    ensure_manifest(force=True)
    definitions = defs()
    job = definitions.resolve_job_def(JOB_NAME)
    started = time.perf_counter()
    with _instance() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    seconds = time.perf_counter() - started
    summary = RunSummary(run_id=result.run_id, success=result.success, seconds=seconds)
    summary.failed_steps = sorted(
        e.step_key for e in result.all_events if e.is_step_failure and e.step_key
    )
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            CheckOutcome(
                asset="/".join(evaluation.asset_key.path),
                name=evaluation.check_name,
                passed=evaluation.passed,
                severity="ERROR" if evaluation.severity == AssetCheckSeverity.ERROR else "WARN",
                description=evaluation.description or "",
            )
        )
    settings = get_settings()
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            summary.tables = warehouse_tables(con)
            summary.ingestion = con.execute(
                "select department, dataset, status, count(*), sum(rows_in), sum(rows_loaded), "
                "sum(rows_quarantined) from governance.ingestion_log where run_id = ? "
                "group by all order by all",
                [result.run_id],
            ).fetchall()
            summary.scorecard = read_scorecard(con)
    summary.published = read_publication(settings.published_dir)
    return summary


def warehouse_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """Every table and view of the warehouse's layers with its row count."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'staging', 'intermediate', 'conformed', 'governance') "
        "or table_schema like 'marts%' order by all"
    ).fetchall()
    out = []
    for schema, name in tables:
        rows = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
        out.append((schema, name, rows))
    return out
