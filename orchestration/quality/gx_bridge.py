"""The bridge between Great Expectations 1.x and the DuckDB warehouse.

Suites run in an ephemeral GX context against the warehouse through SQLAlchemy and
``duckdb-engine``: every metric is a SQL query that DuckDB answers, so tables are never pulled
into pandas. Each expectation's result comes back as an :class:`ExpectationOutcome` carrying
its GDQF dimension and severity (from the expectation's ``meta``).

Two defects of the stack are handled here, once:

- GX's SQL execution engine returns a query's result after handing its pooled connection
  back, and DuckDB discards a result when its connection is reused or closed, so every
  expectation used to fail with an empty result ("list index out of range"). The
  :class:`BufferedSqlAlchemyExecutionEngine` fetches every result while the connection is
  still held.
- SQLAlchemy's PostgreSQL reflection (which ``duckdb-engine`` inherits) queries catalog tables
  DuckDB lacks, so GX cannot read a schema-qualified table's columns. Relations are therefore
  validated as query assets (``select ... from schema.table``).

Contract ``sql`` rules are written by departments and run here, so every connection the bridge
opens is sandboxed (:func:`sandbox_connection`): DuckDB's external access is disabled and its
configuration locked before any query runs, so a rule that slipped past the contract parser
(:mod:`orchestration.contracts.sql_rules`) still cannot read a file, a URL or an extension.
DuckDB holds these settings per database instance, which every connection to the file in this
process shares until the last one closes: the Dagster checks close their warehouse connection
before validating, and the bridge disposes of its own afterwards.

GX's regex expectations are not implemented for DuckDB; the custom expectations that run format
and contract ``sql`` rules as SQL live in :mod:`orchestration.quality.expectations`.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import great_expectations as gx
import sqlalchemy
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

# The custom expectations are imported here too, so that loading the bridge registers them
# with GX (and keeps them importable from here).
from orchestration.quality.expectations import SAMPLE_SIZE
from orchestration.quality.expectations import (
    ExpectQueryValueToMeetThreshold as ExpectQueryValueToMeetThreshold,
)
from orchestration.quality.expectations import (
    ExpectRowsToSatisfyCondition as ExpectRowsToSatisfyCondition,
)
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.standards import GDQF_DIMENSIONS

log = logging.getLogger(__name__)

SEVERITY_VALUES = ("ERROR", "WARN")
MAX_ERROR_CHARS = 1000
DATASOURCE_NAME = "warehouse"
SITE_NAME = "commonground_quality"


class GXBridgeError(RuntimeError):
    """An expectation suite is malformed (a missing dimension, severity or check name)."""


def sandbox_connection(dbapi_connection: Any, *_: Any) -> None:
    """Disables DuckDB's external access, then locks the configuration, on a connection.

    Idempotent: when the database instance is already locked it only checks that external
    access is off. A SQLAlchemy ``checkout`` listener, so no query runs unsandboxed.

    Raises:
        GXBridgeError: The configuration is locked with external access still enabled.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(
            "select current_setting('lock_configuration'), "
            "current_setting('enable_external_access')"
        )
        locked, external = cursor.fetchone()
        if not locked:
            cursor.execute("set enable_external_access = false")
            cursor.execute("set lock_configuration = true")
        elif external:
            raise GXBridgeError("DuckDB's configuration is locked with external access enabled")
    finally:
        cursor.close()


class BufferedSqlAlchemyExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQLAlchemy execution engine, fetching every result before releasing its connection.

    The stock engine returns a live cursor result after leaving ``with get_connection()``;
    DuckDB drops the pending rows once that connection is reused or closed, and GX then
    reads nothing. Buffering (``Result.freeze()``) keeps GX's code paths unchanged. Every
    connection it checks out is sandboxed (:func:`sandbox_connection`).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        sqlalchemy.event.listen(self.engine, "checkout", sandbox_connection)

    def execute_query(self, query):
        """Runs ``query`` and returns its rows fully fetched."""
        with self.get_connection() as connection:
            return self._execute_query_with_recovery(connection, query).freeze()()

    def execute_query_in_transaction(self, query):
        """Runs ``query`` in a transaction that commits, returning its rows fully fetched."""
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query).freeze()()
            if connection.in_transaction():
                connection.commit()
            return result


class DuckDBWarehouseDatasource(SQLDatasource):
    """A GX SQL datasource for a DuckDB file that uses the buffered execution engine."""

    type: Literal["commonground_duckdb"] = "commonground_duckdb"

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        """The execution engine class GX instantiates for this datasource."""
        return BufferedSqlAlchemyExecutionEngine


@dataclass(frozen=True)
class CheckSpec:
    """What the Dagster side needs to know about an expectation before running it."""

    check_name: str
    dimension: str
    severity: str
    description: str
    masked: bool = False


def check_specs(suite: gx.ExpectationSuite) -> list[CheckSpec]:
    """The checks a suite defines, read from each expectation's ``meta``.

    Raises:
        GXBridgeError: An expectation lacks a check name, a GDQF dimension or a severity, or
            two expectations share a check name.
    """
    specs: list[CheckSpec] = []
    for expectation in suite.expectations:
        meta = expectation.meta or {}
        name = meta.get("check_name")
        where = f"suite {suite.name!r}, {expectation.expectation_type}"
        if not name:
            raise GXBridgeError(f"{where}: meta.check_name is required")
        if meta.get("dimension") not in GDQF_DIMENSIONS:
            raise GXBridgeError(
                f"{where} ({name}): meta.dimension must be one of {', '.join(GDQF_DIMENSIONS)}"
            )
        if meta.get("severity") not in SEVERITY_VALUES:
            raise GXBridgeError(f"{where} ({name}): meta.severity must be ERROR or WARN")
        specs.append(
            CheckSpec(
                check_name=name,
                dimension=meta["dimension"],
                severity=meta["severity"],
                description=expectation.description or meta.get("description") or "",
                masked=bool(meta.get("mask_samples")),
            )
        )
    names = [s.check_name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise GXBridgeError(f"suite {suite.name!r}: check names repeat: {repeated}")
    return specs


def _error_message(exception_info: Any) -> str | None:
    """GX's internal error, if any: exception_info is either one record or one per metric."""
    if not isinstance(exception_info, Mapping):
        return None
    records = (
        [exception_info]
        if "raised_exception" in exception_info
        else [v for v in exception_info.values() if isinstance(v, Mapping)]
    )
    messages = [
        str(r.get("exception_message") or "unknown error")
        for r in records
        if r.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(m.strip()[:MAX_ERROR_CHARS] for m in messages)) or None


def _mask(value: str) -> str:
    return value[:3] + "*" * max(len(value) - 3, 0)


def outcome_from_result(spec: CheckSpec, result: Any) -> ExpectationOutcome:
    """Turns one GX ``ExpectationValidationResult`` into an :class:`ExpectationOutcome`.

    A result carrying an internal error, or none at all, is a failed check with the error
    message: GX's own failures are platform errors, never data findings or passes.
    """
    error = _error_message(result.exception_info)
    payload = dict(result.result or {})
    if error is None and not result.success and not payload:
        error = "Great Expectations returned an empty result"
    if error:
        return ExpectationOutcome(
            spec.check_name, spec.dimension, spec.severity, spec.description, False, error=error
        )
    unexpected = [v for v in payload.get("partial_unexpected_list") or [] if v is not None]
    samples = [str(v) for v in unexpected[:SAMPLE_SIZE]]
    if spec.masked:
        samples = [_mask(s) for s in samples]
    observed = payload.get("observed_value")
    percent = payload.get("unexpected_percent")
    return ExpectationOutcome(
        check_name=spec.check_name,
        dimension=spec.dimension,
        severity=spec.severity,
        description=spec.description,
        success=bool(result.success),
        element_count=payload.get("element_count"),
        unexpected_count=payload.get("unexpected_count"),
        unexpected_percent=None if percent is None else float(percent),
        observed_value=None if observed is None else str(observed),
        samples=tuple(samples),
    )


@dataclass
class GXWorkspace:
    """Where GX keeps validation results and renders Data Docs, under the data directory.

    Attributes:
        docs_dir: Root of the Data Docs site (``<data dir>/docs/quality``).
        store_dir: Stored suites and validation results the site is built from.
        history: Validation runs kept per suite; older ones (and their pages) are pruned.
    """

    docs_dir: Path | None
    store_dir: Path | None
    history: int = 10
    _context: Any = field(default=None, init=False, repr=False)

    def context(self):
        """An ephemeral GX context whose suites and results live in :attr:`store_dir`.

        Without a store directory everything stays in memory and no Data Docs site is set up.
        """
        if self._context is not None:
            return self._context
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        def filesystem(sub: str) -> dict[str, Any]:
            return {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(self.store_dir / sub),
            }

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        if self.store_dir is None or self.docs_dir is None:
            self._context = gx.get_context(mode="ephemeral", project_config=config)
            return self._context
        config.stores["expectations_store"]["store_backend"] = filesystem("expectations")
        config.stores["validation_results_store"]["store_backend"] = filesystem("validations")
        config.data_docs_sites = {
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": self.history * 50,
                },
            }
        }
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        return self._context

    def prune(self) -> int:
        """Keeps the latest :attr:`history` runs of each suite; returns the runs removed."""
        removed = 0
        if self.store_dir is None or self.docs_dir is None:
            return 0
        base = self.store_dir / "validations"
        # Results sit at <suite name parts>/<run name>/<run time>/<batch>.json.
        runs_by_suite: dict[Path, set[Path]] = {}
        for result in base.rglob("*.json"):
            run = result.parent.parent
            runs_by_suite.setdefault(run.parent, set()).add(run)
        for runs in runs_by_suite.values():
            ordered = sorted(runs, key=lambda p: p.stat().st_mtime)
            for old in ordered[: max(len(ordered) - self.history, 0)]:
                shutil.rmtree(old, ignore_errors=True)
                page = self.docs_dir / "validations" / old.relative_to(base)
                shutil.rmtree(page, ignore_errors=True)
                removed += 1
        return removed

    def build_docs(self) -> Path:
        """Renders the Data Docs site from the stored (pruned) results; returns index.html."""
        self.prune()
        self.context().build_data_docs(site_names=[SITE_NAME])
        return self.docs_dir / "index.html"


def validate(
    *,
    database: Path | str,
    connection_config: Mapping[str, Any] | None,
    dataset: str,
    relation_sql: str,
    suite: gx.ExpectationSuite,
    run_name: str,
    workspace: GXWorkspace | None = None,
) -> list[ExpectationOutcome]:
    """Runs a suite against a relation of the warehouse and returns one outcome per expectation.

    Args:
        database: The DuckDB file.
        connection_config: DuckDB settings; must match those of other open connections to the
            same file in this process (DuckDB refuses a second, different configuration).
        dataset: Name of the dataset validated (``<layer>.<table>``); names the GX asset.
        relation_sql: ``select`` giving the rows to validate.
        suite: The expectation suite; every expectation has ``meta`` check_name, dimension,
            severity.
        run_name: The Dagster run id, recorded with the stored validation result.
        workspace: Where results are stored for Data Docs; an in-memory context when None.

    Returns:
        One outcome per expectation, in suite order. GX errors become failed outcomes.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    specs = check_specs(suite)
    # A context binds a suite's expectations to itself; validate a fresh copy each time so the
    # caller's suite can be validated again (next run, another context).
    suite = gx.ExpectationSuite(
        name=suite.name,
        meta=dict(suite.meta or {}),
        expectations=[e.copy(update={"id": None}) for e in suite.expectations],
    )
    context = (workspace or GXWorkspace(docs_dir=None, store_dir=None)).context()
    kwargs = {"connect_args": {"config": dict(connection_config or {})}}
    name = f"{DATASOURCE_NAME}_{dataset}"
    datasource = context.data_sources.add_or_update_commonground_duckdb(
        name=name, connection_string=f"duckdb:///{database}", kwargs=kwargs
    )
    try:
        sqlalchemy.event.listen(datasource.get_engine(), "checkout", sandbox_connection)
        asset = datasource.add_query_asset(name=dataset, query=relation_sql)
        batch_definition = asset.add_batch_definition_whole_table("whole")
        stored_suite = context.suites.add_or_update(suite)
        definition = gx.ValidationDefinition(
            name=f"{dataset}_{run_name}", data=batch_definition, suite=stored_suite
        )
        definition = context.validation_definitions.add_or_update(definition)
        results = definition.run(
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
            run_id=RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC)),
        )
        by_name = {(r.expectation_config.meta or {}).get("check_name"): r for r in results.results}
        outcomes = []
        for spec in specs:
            result = by_name.get(spec.check_name)
            if result is None:
                outcomes.append(
                    ExpectationOutcome(
                        spec.check_name,
                        spec.dimension,
                        spec.severity,
                        spec.description,
                        False,
                        error="Great Expectations returned no result for this expectation",
                    )
                )
            else:
                outcomes.append(outcome_from_result(spec, result))
        return outcomes
    finally:
        # Release DuckDB: pooled connections would keep the file open in this process, and
        # dbt (another process) could not open it.
        datasource.get_execution_engine().engine.dispose()
        datasource.get_engine().dispose()
        context.data_sources.delete(name)


def expectation_meta(
    check_name: str, dimension: str, severity: str, *, mask_samples: bool = False
) -> dict[str, Any]:
    """The ``meta`` every Common Ground expectation carries (one GDQF dimension, a severity)."""
    if dimension not in GDQF_DIMENSIONS:
        raise GXBridgeError(f"{check_name}: {dimension!r} is not a GDQF dimension")
    if severity not in SEVERITY_VALUES:
        raise GXBridgeError(f"{check_name}: severity must be ERROR or WARN, not {severity!r}")
    meta: dict[str, Any] = {"check_name": check_name, "dimension": dimension, "severity": severity}
    if mask_samples:
        meta["mask_samples"] = True
    return meta


def suite_targets(suite: gx.ExpectationSuite) -> dict[str, float]:
    """Quality targets (dimension → percent) a hand-written suite declares in its ``meta``."""
    targets = (suite.meta or {}).get("quality_targets") or {}
    return {str(k): float(v) for k, v in targets.items()}


def names(specs: Sequence[CheckSpec]) -> list[str]:
    """Check names of ``specs`` in order."""
    return [s.check_name for s in specs]
