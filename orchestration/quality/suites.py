"""Expectation suites: generated from contracts for the raw layer, hand-written for the rest.

A contract's ODCS ``quality`` rules become one GX expectation each, validating the latest
delivery batch of the raw table. Conformed tables and marts are validated by hand-written
suites, one module per asset: ``expectations/suites/<layer>__<table>.py`` defining
``build_suite() -> gx.ExpectationSuite``. Every expectation carries one GDQF dimension and a
severity in its ``meta`` (see :func:`~orchestration.quality.gx_bridge.expectation_meta`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.contracts import Contract, QualityRule
from orchestration.ingest.row_rules import contract_rules, nulled_columns
from orchestration.project import SUITES_DIR
from orchestration.sql import quote_identifier, quote_literal
from orchestration.standards import STANDARD_ATTRIBUTES

SUITE_LAYERS = ("staging", "conformed", "marts")


@dataclass(frozen=True)
class SuiteSource:
    """A suite and what it validates.

    Attributes:
        layer: Warehouse layer of the asset (``raw``, ``conformed``, ``marts`` ...).
        table: Table name; with ``layer`` it makes the asset key ``[layer, table]``.
        suite: The GX expectation suite.
        targets: Quality targets by GDQF dimension (percent), from the contract or suite meta.
        origin: The contract or suite file the checks come from.
    """

    layer: str
    table: str
    suite: Any
    targets: dict[str, float] = field(default_factory=dict)
    origin: Path | None = None

    @property
    def dataset(self) -> str:
        """``<layer>.<table>``: the name its checks give their dataset. Results are recorded
        under the table's warehouse ``<schema>.<table>``
        (:func:`~orchestration.quality.results.warehouse_datasets`), which differs for marts
        (schema ``marts_<mission>``)."""
        return f"{self.layer}.{self.table}"


def _mostly(rule: QualityRule) -> float | None:
    """``mostly`` for a rule counting bad rows, or None when GX's mostly cannot express it."""
    threshold = rule.threshold
    if rule.operator not in {"mustBe", "mustBeLessThan", "mustBeLessOrEqualTo"}:
        return None
    if not isinstance(threshold, int | float):
        return None
    if rule.operator == "mustBe" and threshold != 0:
        return None
    if rule.unit == "percent":
        return max(0.0, 1.0 - float(threshold) / 100.0)
    return 1.0 if threshold == 0 and rule.operator != "mustBeLessThan" else None


def _bad_rows_condition(rule: QualityRule) -> str:
    column = quote_identifier(rule.column) if rule.column else None
    if rule.metric == "nullValues":
        return f"{column} is null"
    if rule.metric == "missingValues":
        return f"{column} is null or trim({column}) = ''"
    if rule.metric == "invalidValues":
        valid = rule.arguments.get("validValues")
        if valid:
            values = ", ".join(quote_literal(str(v)) for v in valid)
            return f"{column} is not null and {column} not in ({values})"
        pattern = quote_literal(str(rule.arguments["pattern"]))
        return f"{column} is not null and not regexp_full_match({column}, {pattern})"
    raise ValueError(f"{rule.metric} has no row condition")


def _metric_query(rule: QualityRule) -> str:
    """The rule's metric as one scalar over ``batch_rows``, in its unit."""
    if rule.metric == "rowCount":
        return "select count(*) from batch_rows"
    if rule.metric == "duplicateValues":
        columns = [rule.column] if rule.column else list(rule.arguments["properties"])
        key = ", ".join(quote_identifier(c) for c in columns)
        bad = f"count(*) - count(distinct ({key}))"
    else:
        bad = f"count(*) filter (where {_bad_rows_condition(rule)})"
    if rule.unit == "percent":
        return f"select 100.0 * ({bad}) / greatest(count(*), 1) from batch_rows"
    return f"select {bad} from batch_rows"


def _row_count_bounds(rule: QualityRule) -> tuple[int | None, int | None] | None:
    t = rule.threshold
    return {
        "mustBe": (t, t),
        "mustBeGreaterThan": (t + 1, None) if isinstance(t, int) else None,
        "mustBeGreaterOrEqualTo": (t, None),
        "mustBeLessThan": (None, t - 1) if isinstance(t, int) else None,
        "mustBeLessOrEqualTo": (None, t),
        "mustBeBetween": tuple(t) if isinstance(t, list | tuple) else None,
    }.get(rule.operator)


def rule_expectation(rule: QualityRule, masked_columns: set[str]):
    """The GX expectation that checks one contract quality rule.

    Native GX expectations are used where they express the rule (not null, in set, unique,
    row count); patterns and SQL rules run as SQL in DuckDB through the bridge's expectations.
    """
    # deferred: Great Expectations takes seconds to import.
    import great_expectations.expectations as gxe

    from orchestration.quality.expectations import (
        ExpectQueryValueToMeetThreshold,
        ExpectRowsToSatisfyCondition,
    )
    from orchestration.quality.gx_bridge import expectation_meta  # deferred (as above)

    meta = expectation_meta(
        rule.name,
        rule.dimension,
        rule.severity,
        mask_samples=rule.column in masked_columns,
    )
    common = {"meta": meta, "description": rule.description or None}
    if rule.kind == "sql":
        return ExpectQueryValueToMeetThreshold(
            metric_query=rule.query.replace("${table}", "batch_rows"),
            operator=rule.operator,
            threshold=rule.threshold,
            unit=rule.unit,
            **common,
        )
    if rule.metric == "rowCount":
        bounds = _row_count_bounds(rule)
        if bounds is not None:
            return gxe.ExpectTableRowCountToBeBetween(
                min_value=bounds[0], max_value=bounds[1], **common
            )
    mostly = _mostly(rule)
    if mostly is not None:
        column = rule.column
        if rule.metric == "nullValues":
            return gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly, **common)
        if rule.metric == "invalidValues" and rule.arguments.get("validValues"):
            return gxe.ExpectColumnValuesToBeInSet(
                column=column,
                value_set=[str(v) for v in rule.arguments["validValues"]],
                mostly=mostly,
                **common,
            )
        if rule.metric == "duplicateValues":
            columns = [column] if column else list(rule.arguments["properties"])
            if len(columns) == 1:
                return gxe.ExpectColumnValuesToBeUnique(column=columns[0], mostly=mostly, **common)
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=columns, mostly=mostly, **common)
        if rule.metric in {"missingValues", "invalidValues"}:
            return ExpectRowsToSatisfyCondition(
                condition=f"not ({_bad_rows_condition(rule)})",
                mostly=mostly,
                sample_column=quote_identifier(column),
                **common,
            )
    return ExpectQueryValueToMeetThreshold(
        metric_query=_metric_query(rule),
        operator=rule.operator,
        threshold=rule.threshold,
        unit=rule.unit,
        **common,
    )


def nulled_checks(contract: Contract) -> list[tuple[str, str, str, str]]:
    """``(check_name, dimension, severity, description)`` of the WARN check of each column
    with ``onInvalid: null``: its values that break the column's rules were nulled."""
    names = {r.name for r in contract.quality}
    out = []
    for column in nulled_columns(contract_rules(contract)):
        name = f"{column}_values_nulled"
        if name in names:
            name = f"{column}_values_nulled_on_invalid"
        out.append(
            (
                name,
                "validity",
                "WARN",
                f"Values of {column} that break its type or validation rules (onInvalid: "
                "null): the rows loaded and staging holds null for these values.",
            )
        )
    return out


def contract_checks(contract: Contract) -> list[tuple[str, str, str, str]]:
    """Every check of a contract's suite: its quality rules, then the generated ones."""
    rules = [(r.name, r.dimension, r.severity, r.description) for r in contract.quality]
    return rules + nulled_checks(contract)


def _nulled_expectations(contract: Contract, masked: set[str]) -> list:
    # deferred: Great Expectations takes seconds to import.
    from orchestration.quality.expectations import ExpectRowsToSatisfyCondition
    from orchestration.quality.gx_bridge import expectation_meta  # deferred (as above)

    broken = nulled_columns(contract_rules(contract))
    return [
        ExpectRowsToSatisfyCondition(
            condition=f"not ({broken[column]})",
            mostly=1.0,
            sample_column=quote_identifier(column),
            meta=expectation_meta(name, dimension, severity, mask_samples=column in masked),
            description=description,
        )
        for column, (name, dimension, severity, description) in zip(
            broken, nulled_checks(contract), strict=True
        )
    ]


def contract_suite(contract: Contract) -> SuiteSource:
    """The suite generated from a contract's quality rules, for its raw table, and a WARN
    check per ``onInvalid: null`` column counting the values staging nulls."""
    import great_expectations as gx

    masked = {
        c.name
        for c in contract.columns
        if STANDARD_ATTRIBUTES[c.standard_attribute].direct_identifier
    }
    suite = gx.ExpectationSuite(
        name=f"raw.{contract.raw_table}",
        expectations=[rule_expectation(r, masked) for r in contract.quality]
        + _nulled_expectations(contract, masked),
        meta={"contract_id": contract.id, "contract_version": contract.version},
    )
    return SuiteSource(
        layer="raw",
        table=contract.raw_table,
        suite=suite,
        targets=dict(getattr(contract, "quality_targets", {}) or {}),
        origin=contract.path,
    )


def raw_relation_sql(table: str) -> str:
    """The latest delivery batch of a raw table: contract rules apply to each delivery."""
    name = f"raw.{quote_identifier(table)}"
    return (
        f"select * from {name} where _batch_id = (select _batch_id from {name} "
        "order by _loaded_at desc, _batch_id desc limit 1)"
    )


def suite_paths(suites_dir: Path) -> list[Path]:
    """Hand-written suite modules: ``<layer>__<table>.py`` in a stable order."""
    return sorted(
        p
        for p in suites_dir.glob("*.py")
        if "__" in p.stem and p.stem.split("__", 1)[0] in SUITE_LAYERS
    )


def load_suite(path: Path) -> SuiteSource:
    """Imports one suite module and builds its suite.

    Raises:
        ValueError: The module has no ``build_suite`` or it does not return a suite.
    """
    # deferred: Great Expectations takes seconds to import.
    import great_expectations as gx

    from orchestration.quality.gx_bridge import check_specs, suite_targets

    layer, table = path.stem.split("__", 1)
    spec = importlib.util.spec_from_file_location(f"commonground_suites.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build = getattr(module, "build_suite", None)
    if build is None:
        raise ValueError(f"{path}: defines no build_suite()")
    suite = build()
    if not isinstance(suite, gx.ExpectationSuite):
        raise ValueError(f"{path}: build_suite() must return a gx.ExpectationSuite")
    check_specs(suite)
    return SuiteSource(
        layer=layer, table=table, suite=suite, targets=suite_targets(suite), origin=path
    )


def load_suites(suites_dir: Path | None = None) -> list[SuiteSource]:
    """Every hand-written suite under ``expectations/suites`` (or ``suites_dir``)."""

    return [load_suite(p) for p in suite_paths(Path(suites_dir or SUITES_DIR))]


def relation_sql(schema: str, table: str) -> str:
    """``select *`` from a warehouse table, identifiers quoted."""
    return f"select * from {quote_identifier(schema)}.{quote_identifier(table)}"
