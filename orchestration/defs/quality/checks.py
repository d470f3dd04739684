"""Quality checks: every expectation of every suite is a Dagster asset check.

- Raw tables: one check per contract quality rule, validating the latest delivery.
- Conformed tables and marts: one check per expectation of their hand-written suite.
- Every raw table: a ``timeliness`` check of its latest delivery against the contract's SLA.
- Every raw table with typed columns: a blocking ``format_drift`` check (at least half of
  each typed column's values in the latest delivery parse with the contract's format).

A raw table whose dataset has never had a delivery is not judged (its checks pass, saying
so) until its contract's SLA says the first delivery is overdue.

ERROR checks are blocking: when one fails, the assets downstream of the asset it checks are
not materialized in that run, so nothing reaches the published snapshot. WARN checks are
recorded. Every result is also appended to ``governance.quality_results``.

A run that loaded nothing new for a dataset still evaluates its raw checks (Dagster shows
each materialization's checks), but a contract or drift check whose batch, contract and code
are unchanged reports the outcome of the run that judged them, saying which
(``reused_from_run``), instead of judging the same rows again
(:mod:`orchestration.quality.reuse`). Timeliness checks read the clock and always run.

The hand-written suites' checks come from their outlines
(:mod:`orchestration.quality.outlines`): loading the code location builds no suite and does
not import Great Expectations; a step that validates does.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from orchestration.contracts import Contract, load_contracts
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.project import ensure_manifest, read_manifest
from orchestration.quality import (
    CHECK_NAME,
    GreatExpectationsResource,
    JudgedInputs,
    SuiteOutline,
    allowed_age_days,
    contract_suite,
    delivery_freshness,
    input_key,
    raw_relation_sql,
    record_outcomes,
    relation_sql,
    state_dir_of,
    suite_outlines,
)
from orchestration.quality.deliveries import (
    DRIFT_CHECK,
    DRIFT_DESCRIPTION,
    NO_DELIVERY,
    delivery_expected,
    format_drift,
    latest_batch_identity,
    typed_columns,
)
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.quality.suites import contract_checks

LAYERS_BY_CHECKS = ("raw", "staging", "conformed", "marts")


@dataclass(frozen=True)
class ValidatedAsset:
    """An asset validated by a suite: its key, dataset name and the checks it gets.

    Attributes:
        layer: Asset layer (first part of the key).
        table: Table name (last part of the key).
        checks: ``(check_name, dimension, severity, description)`` of each expectation.
        contract: The contract its suite is generated from (raw tables), else None.
        suite: The hand-written suite's outline (other layers), else None; the step that
            validates builds the suite from it.
        schema: The warehouse schema of the table (``raw``, ``conformed``,
            ``marts_<mission>``); empty when unknown, then the layer stands for it.
    """

    layer: str
    table: str
    checks: tuple[tuple[str, str, str, str], ...]
    contract: Contract | None = None
    suite: SuiteOutline | None = None
    schema: str = ""

    @property
    def key(self) -> dg.AssetKey:
        """The asset key of the validated asset."""
        return dg.AssetKey([self.layer, self.table])

    @property
    def dataset(self) -> str:
        """``<schema>.<table>``: the table in the warehouse, the name results are recorded
        under. Without a known schema, ``<layer>.<table>``, which
        :func:`~orchestration.quality.results.warehouse_datasets` resolves when recording."""
        return f"{self.schema or self.layer}.{self.table}"


def contract_assets(contracts: Iterable[Contract]) -> list[ValidatedAsset]:
    """The raw tables and the checks their contracts' quality rules (and ``onInvalid: null``
    columns) define."""
    assets = []
    for c in contracts:
        checks = tuple(contract_checks(c))
        if checks:
            assets.append(
                ValidatedAsset(
                    layer="raw", table=c.raw_table, checks=checks, contract=c, schema="raw"
                )
            )
    return assets


def suite_assets(
    sources: Iterable[SuiteOutline], schemas: Mapping[tuple[str, str], str] | None = None
) -> list[ValidatedAsset]:
    """The assets with a hand-written suite, and the checks their expectations define.

    Args:
        sources: The hand-written suites' outlines (:func:`~orchestration.quality.suite_outlines`).
        schemas: Warehouse schema by ``(layer, table)`` (:func:`model_schemas`); a table not
            in it is named by its layer.
    """
    return [
        ValidatedAsset(
            layer=s.layer,
            table=s.table,
            checks=s.checks,
            suite=s,
            schema=(schemas or {}).get((s.layer, s.table), ""),
        )
        for s in sources
    ]


def model_schemas(manifest_path: Path) -> dict[tuple[str, str], str]:
    """The warehouse schema of each dbt model and seed by ``(layer, name)``, the layer as its
    asset key has it (schemas ``marts_<mission>`` are layer ``marts``, seeds ``reference``)."""
    manifest = read_manifest(Path(manifest_path))
    schemas = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in {"model", "seed"} or not node.get("schema"):
            continue
        schema = node["schema"]
        layer = "reference" if node["resource_type"] == "seed" else schema
        layer = "marts" if layer.startswith("marts") else layer
        schemas[(layer, node.get("alias") or node["name"])] = schema
    return schemas


def _severity(value: str) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if value == "ERROR" else dg.AssetCheckSeverity.WARN


def check_result(asset_key: dg.AssetKey, outcome: Any, extra: dict | None = None):
    """One outcome as a Dagster ``AssetCheckResult`` with the quality metadata."""
    metadata: dict[str, Any] = {
        "dimension": outcome.dimension,
        "severity": outcome.severity,
        "element_count": outcome.element_count,
        "unexpected_count": outcome.unexpected_count,
        "unexpected_percent": outcome.unexpected_percent,
        "observed_value": outcome.observed_value,
        "sample_values": ", ".join(outcome.samples) if outcome.samples else None,
        **(extra or {}),
    }
    if outcome.error:
        metadata["platform_error"] = dg.MetadataValue.text(outcome.error)
    description = outcome.description or outcome.check_name
    if outcome.error:
        description = f"Great Expectations could not evaluate this check: {outcome.error}"
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.check_name,
        passed=outcome.success,
        severity=_severity(outcome.severity),
        description=description,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def _check_metadata(dimension: str, severity: str) -> dict[str, str]:
    """Metadata of a check spec: its GDQF dimension (``gdqf_dimension``, as the dbt and
    governance checks carry it; ``dimension`` kept for what reads it) and severity."""
    return {"gdqf_dimension": dimension, "dimension": dimension, "severity": severity}


def _spec(asset: ValidatedAsset, check: tuple[str, str, str, str]) -> dg.AssetCheckSpec:
    name, dimension, severity, description = check
    text = " ".join((description or "").split()) or name.replace("_", " ").capitalize() + "."
    return dg.AssetCheckSpec(
        name=name,
        asset=asset.key,
        description=f"[{dimension} · {severity}] {text}",
        blocking=severity == "ERROR",
        metadata=_check_metadata(dimension, severity),
    )


def _relation(con, asset: ValidatedAsset) -> tuple[str, dict[str, Any]]:
    """The SQL of the rows to validate, and metadata saying what they are."""
    if asset.layer == "raw":
        sql = raw_relation_sql(asset.table)
        batch = con.execute(
            f"select _batch_id, count(*) from ({sql}) group by _batch_id"
        ).fetchone()
        info = {"validated": "latest delivery batch"}
        if batch:
            info.update({"batch_id": batch[0], "batch_rows": batch[1]})
        return sql, info
    if asset.schema:
        return relation_sql(asset.schema, asset.table), {"validated": asset.dataset}
    pattern = "marts%" if asset.layer == "marts" else asset.layer
    row = con.execute(
        "select table_schema from information_schema.tables "
        "where table_name = ? and table_schema like ? order by table_schema limit 1",
        [asset.table, pattern],
    ).fetchone()
    schema = row[0] if row else asset.layer
    return relation_sql(schema, asset.table), {"validated": f"{schema}.{asset.table}"}


def build_suite_checks(name: str, assets: Sequence[ValidatedAsset]) -> dg.AssetChecksDefinition:
    """One multi-asset check running the GX suites of ``assets``, one check per expectation.

    A raw table's suite judges its latest delivery batch: while the batch, the contract and
    the code are those an earlier run judged, the checks report that run's outcomes again
    (metadata ``reused_from_run``) instead of validating (:mod:`orchestration.quality.reuse`).
    """
    specs = [_spec(a, c) for a in assets for c in a.checks]

    @dg.multi_asset_check(
        pool=WAREHOUSE_POOL,
        specs=specs,
        name=name,
        can_subset=True,
        description="Great Expectations suites run in the warehouse, one check per expectation.",
    )
    @retry_transient
    def _checks(
        context: dg.AssetCheckExecutionContext,
        warehouse: DuckDBResource,
        great_expectations: GreatExpectationsResource,
    ):
        selected = context.selected_asset_check_keys
        run_id = context.run.run_id
        judged = JudgedInputs(state_dir_of(warehouse.database), name)
        wanted = [
            (asset, {c[0] for c in asset.checks if dg.AssetCheckKey(asset.key, c[0]) in selected})
            for asset in assets
        ]
        try:
            # One connection decides for every asset; none is open while GX validates (its
            # sandbox locks the database instance's configuration).
            with warehouse.get_connection() as con:
                plans = [(_plan(con, asset, judged), names) for asset, names in wanted if names]
            for plan, names in plans:
                outcomes, info = plan.reused or _judge(
                    plan, run_id, judged, warehouse, great_expectations
                )
                for outcome in outcomes:
                    if outcome.check_name in names:
                        yield check_result(plan.asset.key, outcome, info)
        finally:
            judged.save()

    return _checks


@dataclass(frozen=True)
class _Plan:
    """How one asset's suite is judged in a run: what it validates, and an earlier run's
    outcomes when they still hold."""

    asset: ValidatedAsset
    relation: str
    info: dict[str, Any]
    waiting: bool
    key: str | None
    reused: tuple[list[ExpectationOutcome], dict[str, Any]] | None


def _plan(con: duckdb.DuckDBPyConnection, asset: ValidatedAsset, judged: JudgedInputs) -> _Plan:
    relation, info = _relation(con, asset)
    waiting = asset.contract is not None and not delivery_expected(con, asset.contract)
    key = reused = None
    if asset.contract is not None and not waiting and "batch_id" in info:
        batch = (info["batch_id"], info["batch_rows"])
        key = input_key(judged.check_set, asset.dataset, batch, asset.contract)
        earlier = judged.reusable(con, asset.dataset, key, asset.checks)
        if earlier is not None:
            run, outcomes = earlier
            reused = (outcomes, {**info, "validated": _unchanged(run), "reused_from_run": run})
    return _Plan(asset, relation, info, waiting, key, reused)


def _judge(
    plan: _Plan,
    run_id: str,
    judged: JudgedInputs,
    warehouse: DuckDBResource,
    great_expectations: GreatExpectationsResource,
) -> tuple[list[ExpectationOutcome], dict[str, Any]]:
    """Validates one asset now (or passes it before its first delivery is due) and records
    the outcomes in the quality results."""
    asset = plan.asset
    if plan.waiting:
        outcomes = _not_judged(asset)
    else:
        suite = asset.suite.load() if asset.contract is None else contract_suite(asset.contract)
        outcomes = great_expectations.validate(asset.dataset, plan.relation, suite.suite, run_id)
    with warehouse.get_connection() as con:
        record_outcomes(con, run_id, asset.dataset, outcomes)
    if plan.key is not None:
        judged.record(asset.dataset, plan.key, run_id)
    return outcomes, plan.info


def _unchanged(run_id: str) -> str:
    return (
        f"latest delivery batch, unchanged since run {run_id} judged it: its outcome is "
        "reported again, not validated again"
    )


def _not_judged(asset: ValidatedAsset) -> list[ExpectationOutcome]:
    """Passing outcomes for a dataset that has never had a delivery (nothing to judge)."""
    return [
        ExpectationOutcome(name, dimension, severity, description, True, observed_value=NO_DELIVERY)
        for name, dimension, severity, description in asset.checks
    ]


def build_drift_checks(contracts: Sequence[Contract]) -> dg.AssetChecksDefinition | None:
    """A blocking ``format_drift`` check per raw table with typed columns: in the latest
    delivery at least half of each typed column's non-empty values parse."""
    by_key = {dg.AssetKey(["raw", c.raw_table]): c for c in contracts if typed_columns(c)}
    if not by_key:
        return None
    specs = [
        dg.AssetCheckSpec(
            name=DRIFT_CHECK,
            asset=key,
            description=(
                "[validity · ERROR] In the latest delivery, at least half of the non-empty "
                f"values of each typed column ({', '.join(typed_columns(c))}) parse with the "
                "contract's format."
            ),
            blocking=True,
            metadata=_check_metadata("validity", "ERROR"),
        )
        for key, c in by_key.items()
    ]

    return _per_contract_checks(
        "format_drift_checks",
        "Each dataset's latest delivery: typed columns still parse with the contract's format.",
        specs,
        by_key,
        format_drift,
        judges=latest_batch_identity,
        outcome_description=DRIFT_DESCRIPTION,
    )


def build_freshness_checks(contracts: Sequence[Contract]) -> dg.AssetChecksDefinition:
    """A ``timeliness`` check per raw table: its latest delivery is within the contract's SLA."""
    by_key = {dg.AssetKey(["raw", c.raw_table]): c for c in contracts}
    specs = [
        dg.AssetCheckSpec(
            name=CHECK_NAME,
            asset=key,
            description=(
                f"[timeliness · WARN] The latest delivery is at most {allowed_age_days(c):g} "
                f"days old (every {c.frequency_days:g} days, up to {c.latency_days:g} days late)."
            ),
            metadata=_check_metadata("timeliness", "WARN"),
        )
        for key, c in by_key.items()
    ]

    return _per_contract_checks(
        "delivery_freshness_checks",
        "Each dataset's latest delivery against its contract's delivery SLA.",
        specs,
        by_key,
        delivery_freshness,
    )


def _per_contract_checks(
    name: str,
    description: str,
    specs: list[dg.AssetCheckSpec],
    by_key: dict[dg.AssetKey, Contract],
    measure: Callable[[duckdb.DuckDBPyConnection, Contract], ExpectationOutcome],
    judges: Callable[[duckdb.DuckDBPyConnection, Contract], Sequence | None] | None = None,
    outcome_description: str = "",
) -> dg.AssetChecksDefinition:
    """One check per raw table, each measured by ``measure`` on the table's contract and
    recorded in the quality results.

    ``judges``, when given, names what ``measure`` judges (the latest batch's identity, say;
    None when there is nothing yet): while that, the contract and the code are what an
    earlier run judged, that run's outcome (described by ``outcome_description``) is
    reported again instead of measuring (:mod:`orchestration.quality.reuse`). Without it
    every run measures (right for a check that depends on the time, such as timeliness).
    """
    specs_by_key = {spec.asset_key: spec for spec in specs}

    @dg.multi_asset_check(
        pool=WAREHOUSE_POOL, specs=specs, name=name, can_subset=True, description=description
    )
    @retry_transient
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
        run_id = context.run.run_id
        judged = JudgedInputs(state_dir_of(warehouse.database), name) if judges else None
        with warehouse.get_connection() as con:
            try:
                for check_key in sorted(context.selected_asset_check_keys, key=str):
                    contract = by_key[check_key.asset_key]
                    spec = specs_by_key[check_key.asset_key]
                    dataset = f"raw.{contract.raw_table}"
                    identity = judges(con, contract) if judged is not None else None
                    key = None if identity is None else input_key(name, dataset, identity, contract)
                    check = (
                        check_key.name,
                        spec.metadata["gdqf_dimension"],
                        spec.metadata["severity"],
                        outcome_description,
                    )
                    reused = None if key is None else judged.reusable(con, dataset, key, [check])
                    if reused is not None:
                        earlier, [outcome] = reused
                        info = {"validated": _unchanged(earlier), "reused_from_run": earlier}
                        yield check_result(check_key.asset_key, outcome, info)
                        continue
                    outcome = measure(con, contract)
                    record_outcomes(con, run_id, dataset, [outcome])
                    if key is not None:
                        judged.record(dataset, key, run_id)
                    yield check_result(check_key.asset_key, outcome)
            finally:
                if judged is not None:
                    judged.save()

    return _checks


def validated_assets() -> list[ValidatedAsset]:
    """Every asset validated by a suite: raw tables from contracts, then hand-written suites,
    each named by its warehouse table (the schemas of dbt's tables from its manifest)."""
    schemas = model_schemas(ensure_manifest())
    return contract_assets(load_contracts()) + suite_assets(suite_outlines(), schemas)


@dg.definitions
def defs() -> dg.Definitions:
    """The quality checks: contract suites, hand-written suites and delivery freshness."""
    contracts = load_contracts()
    assets = validated_assets()
    checks = [
        build_suite_checks(f"{layer}_quality_checks", [a for a in assets if a.layer == layer])
        for layer in LAYERS_BY_CHECKS
        if any(a.layer == layer for a in assets)
    ]
    drift = build_drift_checks(contracts)
    return dg.Definitions(
        asset_checks=[*checks, build_freshness_checks(contracts), *([drift] if drift else [])]
    )
