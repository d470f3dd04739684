"""The headless pipeline runner: ingest, then everything downstream if anything changed.

Used by the CLI (``commonground run``, ``demo``) and the benchmarks; it sits above ``defs/``
and runs the job the code location defines, in a Dagster instance, like any other run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import incremental
from orchestration.definitions import defs
from orchestration.lease import Holder, warehouse_lease
from orchestration.openlineage import emit_run
from orchestration.progress import StepCallback, captured_output, log_path, progress_logger
from orchestration.project import ensure_manifest, read_manifest
from orchestration.publish import read_publication
from orchestration.quality.results import read_scorecard
from orchestration.settings import REPO_ROOT, Settings, get_settings
from orchestration.state import (
    DigestCache,
    check_data_dir,
    read_json_state,
    remove_dead_publish_temps,
    write_atomically,
)

JOB_NAME = "commonground_everything"

CODE_DIGESTS_FILE = "code_digests.json"
"""The source files' remembered digests (:func:`code_fingerprint`), in ``<data dir>/state``."""

logger = logging.getLogger(__name__)


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
    """What a pipeline run did: success, timings, checks and the rows in each layer.

    ``run_id`` is the Dagster run that built the outputs (the ingest run when nothing was
    rebuilt); ``run_ids`` lists every Dagster run of this pipeline run, ingest first.
    """

    run_id: str
    success: bool
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    tables: list[tuple[str, str, int]] = field(default_factory=list)
    ingestion: list[tuple] = field(default_factory=list)
    scorecard: list = field(default_factory=list)
    published: tuple | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    skipped_reason: str = ""
    run_ids: list[str] = field(default_factory=list)
    step_errors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    log_file: Path | None = None

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


def _instance(settings: Settings) -> dg.DagsterInstance:
    if settings.dagster_home is not None:
        settings.dagster_home.mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def intake_keys(graph) -> list:
    """Assets that take deliveries in: the ingest assets and the logs they feed."""
    keys = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        if node.tags.get("layer") == "raw" or key.path in (
            ["governance", "ingestion_log"],
            ["governance", "contracts"],
        ):
            keys.append(key)
    return keys


def code_fingerprint(state_dir: Path | None = None) -> str:
    """SHA-256 over everything that defines what the pipeline builds.

    The dbt manifest's node checksums, every contract, suite and sharing agreement, and the
    orchestration package's Python source: a change to any of them means a rebuild. Each
    source file's digest is remembered by its stat in ``<state dir>/code_digests.json``
    (:class:`~orchestration.state.DigestCache`), so an unchanged file is not read again.

    Args:
        state_dir: Where the digests are remembered (default: ``<data dir>/state``).
    """
    state_dir = state_dir or get_settings().data_dir / "state"
    files = DigestCache(state_dir / CODE_DIGESTS_FILE, REPO_ROOT)
    digest = hashlib.sha256()
    manifest = read_manifest()
    for unique_id in sorted(manifest.get("nodes", {})):
        node = manifest["nodes"][unique_id]
        digest.update(unique_id.encode())
        digest.update(str((node.get("checksum") or {}).get("checksum")).encode())
    for folder, pattern in (("expectations", "**/*"), ("orchestration", "**/*.py")):
        for path in sorted((REPO_ROOT / folder).glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
                digest.update(files.sha256(path).encode())
    files.save()
    return digest.hexdigest()


def _input_fingerprint(warehouse: Path, code: str) -> str:
    """SHA-256 over the code fingerprint and every delivery loaded so far."""
    digest = hashlib.sha256(code.encode())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (sha,) in con.execute(
            "select distinct file_sha256 from governance.ingestion_log "
            "where status = 'loaded' order by 1"
        ).fetchall():
            digest.update(sha.encode())
    return digest.hexdigest()


def _state_path(settings: Settings) -> Path:
    return settings.data_dir / "state" / "last_build.json"


def load_last_build(path: Path) -> dict:
    """The fingerprint record of the last complete build; empty when there is none.

    A missing, truncated or otherwise damaged record counts as none (with a warning naming
    the file): the next run rebuilds everything, which is always safe.
    """
    return read_json_state(path)


def _error_chain(error) -> list[tuple[str, str]]:
    """``(class name, message)`` of a step's error and of every error behind it."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append((error.cls_name or "", error.message or ""))
        error = error.cause or error.context
    return chain


def planned_steps(graph, keys) -> list[str]:
    """The steps (op names) a run of ``keys`` executes: their assets' and checks' ops."""
    wanted = set(keys)
    steps = {graph.get(k).assets_def.op.name for k in wanted}
    steps |= {
        graph.assets_def_for_key(check).op.name
        for check in graph.asset_check_keys
        if check.asset_key in wanted
    }
    return sorted(steps)


def _execute(job, instance, keys, log_level: str, on_step: StepCallback | None = None):
    loggers = {"console": {"config": {"log_level": log_level}}}
    if on_step is not None:
        job = job.with_logger_defs({**job.loggers, "progress": progress_logger(on_step)})
        loggers["progress"] = {}
    return job.execute_in_process(
        instance=instance,
        asset_selection=keys,
        raise_on_error=False,
        run_config={"loggers": loggers},
    )


def _collect(summary: RunSummary, result) -> None:
    summary.success = summary.success and result.success
    summary.failed_steps += sorted(
        e.step_key for e in result.all_events if e.is_step_failure and e.step_key
    )
    for event in result.all_events:
        if event.is_step_failure and event.step_key:
            error = getattr(event.event_specific_data, "error", None)
            summary.step_errors[event.step_key] = _error_chain(error)
        if event.event_type_value == "STEP_SUCCESS" and event.step_key:
            summary.step_seconds[event.step_key] = event.event_specific_data.duration_ms / 1000
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            CheckOutcome(
                asset="/".join(evaluation.asset_key.path),
                name=evaluation.check_name,
                passed=evaluation.passed,
                severity="ERROR" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "WARN",
                description=evaluation.description or "",
            )
        )


def run_everything(
    log_level: str = "WARNING",
    force: bool = False,
    wait_seconds: float | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
    on_step: StepCallback | None = None,
    quiet: bool = False,
    full_refresh: bool = False,
) -> RunSummary:
    """Ingests new deliveries, then rebuilds everything downstream if anything changed.

    The run has two parts. First the ingest assets take in the landing zone (with their
    checks). Then, unless nothing has changed since the last complete build (no new delivery
    loaded and the same code, contracts and suites), every other asset is materialized:
    staging, linkage, conformed, marts, quality, governance and publishing. A no-change run
    therefore rebuilds nothing and leaves the published snapshot as it was; it reads no
    unchanged landing or source file either (their digests are remembered by their stat) and
    its raw checks report the outcomes of the run that judged the same batches (see
    :mod:`orchestration.quality.reuse`). If the first part fails (e.g. a blocking check on a
    delivery), the second does not run.

    Runs are recorded in the Dagster instance named by ``DAGSTER_HOME`` (so they appear in
    ``make ui``), or in an ephemeral instance when that is not set. The whole pipeline run
    holds the warehouse writer lease: while another run writes the warehouse (a Dagster run
    from the UI, a schedule or a sensor, or another ``commonground run``) it waits.

    Args:
        log_level: Dagster console log level.
        force: Rebuild downstream even when nothing changed.
        wait_seconds: How long to wait for the warehouse (default: the settings').
        on_wait: Called once with the holder if the warehouse is busy.
        on_step: Called with ``(event type, step key)`` as steps start and end, and with
            ``("STEP_PLANNED", step key)`` for each step of a part before it starts.
        full_refresh: Rebuild every incremental model and the person index from scratch
            (implies ``force``), rather than continuing from what earlier runs built.
        quiet: Send what the run writes (dbt's log lines, log records) to
            ``<data dir>/logs/pipeline.log`` instead of the console (``summary.log_file``).

    Raises:
        WarehouseBusyError: The warehouse was still being written after ``wait_seconds``.
    """
    settings = get_settings()
    check_data_dir(settings.data_dir)
    with warehouse_lease(
        settings.data_dir,
        wait_seconds=settings.writer_wait_seconds if wait_seconds is None else wait_seconds,
        purpose="commonground run",
        on_wait=on_wait,
    ):
        if full_refresh:
            incremental.forget_everything(settings.data_dir)
            force = True
        if not quiet:
            return _run_everything(settings, log_level, force, on_step)
        # The file gets Dagster's whole INFO log: it is what is read when a run fails.
        with captured_output(log_path(settings.data_dir)):
            summary = _run_everything(settings, "INFO", force, on_step)
        summary.log_file = log_path(settings.data_dir)
        return summary


def _announce(on_step: StepCallback | None, steps: list[str]) -> None:
    for step in steps if on_step is not None else ():
        on_step("STEP_PLANNED", step)


def _run_everything(
    settings: Settings, log_level: str, force: bool, on_step: StepCallback | None
) -> RunSummary:
    remove_dead_publish_temps(settings.published_dir, started_before=time.time())
    ensure_manifest()
    definitions = defs()
    job = definitions.resolve_job_def(JOB_NAME)
    graph = definitions.resolve_asset_graph()
    intake = intake_keys(graph)
    rest = [
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and k not in set(intake)
    ]
    started = time.perf_counter()
    summary = RunSummary(run_id="", success=True, seconds=0.0)
    with _instance(settings) as instance:
        _announce(on_step, planned_steps(graph, intake))
        first = _execute(job, instance, intake, log_level, on_step)
        summary.run_id = first.run_id
        summary.run_ids.append(first.run_id)
        _collect(summary, first)
        emit_run(instance, first.run_id, graph, settings)
        code = code_fingerprint()
        fingerprint = _input_fingerprint(settings.warehouse_path, code) if first.success else ""
        state_path = _state_path(settings)
        previous = load_last_build(state_path)
        if not first.success:
            summary.skipped_reason = "ingest failed or a delivery was blocked; nothing rebuilt"
        elif not force and previous.get("fingerprint") == fingerprint:
            summary.skipped_reason = (
                f"no new delivery and no code change since run {previous.get('run_id')}; "
                "nothing rebuilt, the published snapshot is unchanged"
            )
        else:
            _announce(on_step, planned_steps(graph, rest))
            second = _execute(job, instance, rest, log_level, on_step)
            summary.run_id = second.run_id
            summary.run_ids.append(second.run_id)
            _collect(summary, second)
            emit_run(instance, second.run_id, graph, settings)
            if summary.success and not summary.blocking_failures:
                write_atomically(
                    state_path,
                    json.dumps(
                        {
                            "fingerprint": fingerprint,
                            "run_id": second.run_id,
                            "finished_at": datetime.now(UTC).isoformat(),
                        }
                    ),
                )
    summary.seconds = time.perf_counter() - started
    try:
        _read_outcomes(summary, settings, first.run_id)
    except duckdb.Error:
        # A failed run may have failed because the warehouse cannot be read (locked by
        # another process, disk full): the failed step already says so.
        if summary.success:
            raise
        logger.info("the outcome of failed run %s cannot be read", summary.run_id, exc_info=True)
    return summary


def _read_outcomes(summary: RunSummary, settings: Settings, ingest_run_id: str) -> None:
    """Fills in the tables, deliveries, scorecard and publication the run left behind."""
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            summary.tables = warehouse_tables(con)
            summary.ingestion = con.execute(
                "select department, dataset, status, count(*), sum(rows_in), sum(rows_loaded), "
                "sum(rows_quarantined) from governance.ingestion_log where run_id = ? "
                "group by all order by all",
                [ingest_run_id],
            ).fetchall()
            summary.scorecard = read_scorecard(con)
    summary.published = read_publication(settings.published_dir)


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
