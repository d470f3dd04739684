"""OpenLineage events of a finished Dagster run, built from its event log.

See :mod:`orchestration.openlineage` for what the events say.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from openlineage.client.constants import __version__ as OPENLINEAGE_CLIENT_VERSION
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    error_message_run,
    job_type_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.uuid import generate_static_uuid

from orchestration.faults import explain_chain
from orchestration.settings import Settings

NAMESPACE = "commonground"
"""The OpenLineage namespace of every job: one per asset, and the Dagster jobs (parents)."""

PRODUCER = "urn:commonground:orchestration"
"""Who produced the events and facets (an OpenLineage ``producer`` URI)."""

MAX_ERROR_CHARS = 500

SAFE_TEXT_METADATA = ("gdqf_dimension", "dimension", "severity")
"""Check metadata copied to an assertion's ``params`` as text; other text (sample values,
platform errors) may hold data and stays out. Numbers and booleans are always copied."""


@dataclass(frozen=True)
class AssetLineage:
    """What the events need to know of an asset beyond its run.

    Attributes:
        upstream: The assets it reads (its inputs).
        metadata: Its definition metadata: ``dagster/table_name``, ``dagster/column_schema``
            and ``dagster/column_lineage`` are used when its materialization lacks them.
    """

    upstream: tuple[dg.AssetKey, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


def describe_assets(assets: Any) -> dict[dg.AssetKey, AssetLineage]:
    """Every asset's upstream assets and metadata, from what the caller has at hand.

    Args:
        assets: A Dagster asset graph (``Definitions.resolve_asset_graph()`` or a repository's
            ``asset_graph``); or a mapping of asset key to its upstream keys; or a mapping of
            asset key to :class:`AssetLineage`. Keys may be ``AssetKey``\\ s or ``a/b`` strings.
    """
    if assets is None:
        return {}
    if hasattr(assets, "get_all_asset_keys"):
        described = {}
        for key in assets.get_all_asset_keys():
            node = assets.get(key)
            described[key] = AssetLineage(tuple(node.parent_keys), dict(node.metadata or {}))
        return described
    described = {}
    for key, value in assets.items():
        if isinstance(value, AssetLineage):
            described[_key(key)] = value
        else:
            described[_key(key)] = AssetLineage(tuple(_key(k) for k in value))
    return described


def openlineage_run_id(dagster_run_id: str, asset_key: dg.AssetKey, created: datetime) -> str:
    """The OpenLineage run id of one asset in one Dagster run: a UUID (v7, ordered by the
    Dagster run's creation time) that is the same every time it is derived."""
    data = f"{dagster_run_id}\x1f{asset_key.to_user_string()}".encode()
    return str(generate_static_uuid(created, data))


def dataset_namespace(settings: Settings) -> str:
    """The OpenLineage namespace of the warehouse's tables (DuckDB's convention)."""
    return f"duckdb://{settings.warehouse_path}"


@dataclass
class _Step:
    started: float | None = None
    ended: float | None = None
    failed: bool = False
    error: Any = None


@dataclass
class _RunLog:
    """What a run's event log says, per step and per asset."""

    planned: dict[dg.AssetKey, str] = field(default_factory=dict)
    steps: dict[str, _Step] = field(default_factory=dict)
    materialized: dict[dg.AssetKey, tuple[float, Mapping[str, Any]]] = field(default_factory=dict)
    checks: dict[dg.AssetKey, list[Any]] = field(default_factory=dict)
    last: float = 0.0


def _read_log(instance: dg.DagsterInstance, run_id: str) -> _RunLog:
    log = _RunLog()
    kinds = dg.DagsterEventType
    for record in instance.all_logs(run_id):
        log.last = max(log.last, record.timestamp)
        event = record.dagster_event
        if event is None:
            continue
        kind, step_key = event.event_type, event.step_key
        if kind == kinds.ASSET_MATERIALIZATION_PLANNED and step_key:
            log.planned.setdefault(event.asset_key, step_key)
        elif kind == kinds.STEP_START and step_key:
            step = log.steps.setdefault(step_key, _Step())
            step.started = step.started or record.timestamp
        elif kind in (kinds.STEP_SUCCESS, kinds.STEP_FAILURE) and step_key:
            step = log.steps.setdefault(step_key, _Step())
            step.ended, step.failed = record.timestamp, kind == kinds.STEP_FAILURE
            step.error = getattr(event.event_specific_data, "error", None)
        elif kind == kinds.ASSET_MATERIALIZATION and step_key:
            materialization = event.event_specific_data.materialization
            log.planned.setdefault(materialization.asset_key, step_key)
            log.materialized[materialization.asset_key] = (
                record.timestamp,
                materialization.metadata,
            )
        elif kind == kinds.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            log.checks.setdefault(evaluation.asset_key, []).append(evaluation)
    return log


def run_events(
    instance: dg.DagsterInstance, run_id: str, assets: Any, settings: Settings
) -> list[RunEvent]:
    """The OpenLineage events of every asset run ``run_id`` set out to materialize, in time
    order (see the module's description). Assets whose step never started have none.

    Args:
        instance: The Dagster instance that recorded the run.
        run_id: The Dagster run.
        assets: The code location's assets (:func:`describe_assets` takes it).
        settings: Where the warehouse is (the datasets' namespace).

    Raises:
        ValueError: The instance has no run ``run_id``.
    """
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        raise ValueError(f"the Dagster instance has no run {run_id}")
    graph = describe_assets(assets)
    log = _read_log(instance, run_id)
    builder = _Builder(record, graph, log, settings)
    events = []
    for key in sorted(log.planned, key=lambda k: k.to_user_string()):
        events += builder.asset_events(key)
    return sorted(
        events,
        key=lambda e: (datetime.fromisoformat(e.eventTime), e.eventType != RunState.START),
    )


class _Builder:
    """Builds one Dagster run's events with the openlineage-python facet classes."""

    def __init__(self, record, graph: dict[dg.AssetKey, AssetLineage], log: _RunLog, settings):
        self.run = record.dagster_run
        self.created = record.create_timestamp
        self.graph = graph
        self.log = log
        self.namespace = dataset_namespace(settings)
        self.parent = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run.run_id),
            job=parent_run.Job(namespace=NAMESPACE, name=self.run.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.run.run_id),
                job=parent_run.RootJob(namespace=NAMESPACE, name=self.run.job_name),
            ),
            producer=PRODUCER,
        )
        self.engine = processing_engine_run.ProcessingEngineRunFacet(
            version=dg.__version__,
            name="Dagster",
            openlineageAdapterVersion=OPENLINEAGE_CLIENT_VERSION,
            producer=PRODUCER,
        )
        self.job_type = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType="ASSET", producer=PRODUCER
        )

    def metadata(self, key: dg.AssetKey, name: str) -> Any:
        """A metadata value of the asset: its materialization's in this run, else its
        definition's."""
        runtime = self.log.materialized.get(key, (0.0, {}))[1]
        value = runtime.get(name)
        if value is None:
            value = self.graph.get(key, AssetLineage()).metadata.get(name)
        return getattr(value, "value", value)

    def dataset_name(self, key: dg.AssetKey) -> str:
        """``schema.table`` of the asset's table (a database prefix dropped), else the key's
        parts joined with dots."""
        table = self.metadata(key, "dagster/table_name")
        if isinstance(table, str) and table.strip():
            return ".".join(table.strip().split(".")[-2:])
        return ".".join(key.path)

    def asset_events(self, key: dg.AssetKey) -> list[RunEvent]:
        step = self.log.steps.get(self.log.planned[key])
        if step is None or step.started is None:
            return []
        run_id = openlineage_run_id(self.run.run_id, key, self.created)
        start = self.event(key, run_id, RunState.START, step.started)
        if key in self.log.materialized:
            materialized_at = self.log.materialized[key][0]
            at = step.ended if step.ended and not step.failed else materialized_at
            end = self.event(key, run_id, RunState.COMPLETE, at, closing=True)
        elif step.failed:
            end = self.event(key, run_id, RunState.FAIL, step.ended, closing=True, error=step.error)
        else:
            end = self.event(key, run_id, RunState.ABORT, step.ended or self.log.last, closing=True)
        return [start, end]

    def event(
        self,
        key: dg.AssetKey,
        run_id: str,
        state: RunState,
        at: float,
        closing: bool = False,
        error: Any = None,
    ) -> RunEvent:
        run_facets: dict[str, Any] = {"parent": self.parent, "processing_engine": self.engine}
        if state == RunState.FAIL:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error_line(error), programmingLanguage="python", producer=PRODUCER
            )
        upstream = self.graph.get(key, AssetLineage()).upstream
        return RunEvent(
            eventType=state,
            eventTime=datetime.fromtimestamp(at, UTC).isoformat(),
            run=Run(runId=run_id, facets=run_facets),
            job=Job(
                namespace=NAMESPACE, name=key.to_user_string(), facets={"jobType": self.job_type}
            ),
            inputs=[
                InputDataset(namespace=self.namespace, name=self.dataset_name(k))
                for k in sorted(upstream, key=lambda k: k.to_user_string())
            ],
            outputs=[
                OutputDataset(
                    namespace=self.namespace,
                    name=self.dataset_name(key),
                    facets=self.output_facets(key, closing),
                )
            ],
            producer=PRODUCER,
        )

    def output_facets(self, key: dg.AssetKey, closing: bool) -> dict[str, Any]:
        facets: dict[str, Any] = {}
        schema = self.metadata(key, "dagster/column_schema")
        if isinstance(schema, dg.TableSchema) and schema.columns:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(
                        name=column.name,
                        type=column.type or None,
                        description=column.description or None,
                        ordinal_position=position,
                    )
                    for position, column in enumerate(schema.columns, start=1)
                ],
                producer=PRODUCER,
            )
        lineage = self.metadata(key, "dagster/column_lineage")
        if isinstance(lineage, dg.TableColumnLineage) and lineage.deps_by_column:
            facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    column: column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(
                                namespace=self.namespace,
                                name=self.dataset_name(dep.asset_key),
                                field=dep.column_name,
                            )
                            for dep in deps
                        ]
                    )
                    for column, deps in sorted(lineage.deps_by_column.items())
                },
                producer=PRODUCER,
            )
        evaluations = self.log.checks.get(key, [])
        if closing and evaluations:
            facets["dataQualityAssertions"] = (
                data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                    assertions=[check_assertion(e) for e in evaluations], producer=PRODUCER
                )
            )
        return facets


def check_assertion(evaluation: Any) -> data_quality_assertions_dataset.Assertion:
    """An asset check's evaluation as an OpenLineage assertion: classified by its quality
    dimension where it has one, with its observed value and its numeric metadata."""
    metadata = {name: getattr(v, "value", v) for name, v in (evaluation.metadata or {}).items()}
    params = {name: value for name, value in sorted(metadata.items()) if _shareable(name, value)}
    dimension = metadata.get("gdqf_dimension") or metadata.get("dimension")
    observed = metadata.get("observed_value")
    column = metadata.get("column")
    severity = "error" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "warn"
    return data_quality_assertions_dataset.Assertion(
        assertion=str(dimension or evaluation.check_name),
        success=bool(evaluation.passed),
        column=column if isinstance(column, str) else None,
        severity=severity,
        name=evaluation.check_name,
        description=evaluation.description or None,
        actual=None if observed is None else str(observed),
        params=params or None,
    )


def _shareable(name: str, value: Any) -> bool:
    """Whether a check's metadata value may leave in an event: numbers, booleans and the
    text of :data:`SAFE_TEXT_METADATA`."""
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return True
    return name in SAFE_TEXT_METADATA and isinstance(value, str)


def error_line(error: Any) -> str:
    """One line for a failed step's recorded error: an operational fault explained
    (:func:`orchestration.faults.explain_chain`), else the innermost error's first line."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append((error.cls_name or "", error.message or ""))
        error = error.cause or error.context
    line = explain_chain(chain) or ""
    for cls_name, message in reversed(chain):
        text = next((t.strip() for t in message.splitlines() if t.strip()), "")
        if text and not line:
            line = f"{cls_name}: {text}" if cls_name and not text.startswith(cls_name) else text
    line = line or "the step failed without an error message"
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def _key(key: dg.AssetKey | str | Iterable[str]) -> dg.AssetKey:
    if isinstance(key, dg.AssetKey):
        return key
    if isinstance(key, str):
        return dg.AssetKey.from_user_string(key)
    return dg.AssetKey(list(key))
