"""Quality rules of a contract (ODCS ``quality``) and its per-dimension quality targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.contracts.errors import IDENTIFIER, ContractError, require
from orchestration.contracts.sql_rules import check_rule_query
from orchestration.standards import GDQF_DIMENSIONS, ODCS_TO_GDQF, SEVERITIES

LIBRARY_METRICS = {"nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"}
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


@dataclass(frozen=True)
class QualityRule:
    """One quality rule of a contract, with its GDQF dimension and severity.

    Attributes:
        name: Rule name, unique within the contract.
        dimension: GDQF dimension (ODCS ``conformity`` is read as ``validity``, ``coverage``
            as ``completeness``).
        severity: ``ERROR`` (blocks downstream and publishing) or ``WARN`` (recorded).
        column: The column the rule applies to, or None for a dataset-level rule.
        kind: ``library`` (an ODCS metric) or ``sql``.
        metric: ODCS metric for library rules (nullValues, invalidValues, ...).
        query: SQL for ``sql`` rules; ``${table}`` stands for the table validated.
        operator: ODCS comparison operator (mustBe, mustBeLessOrEqualTo, ...).
        threshold: Operand of the operator (a number or a pair for *Between).
        unit: ``rows`` or ``percent``.
        arguments: Extra arguments (validValues, properties, ...).
        description: What the rule checks, in words.
    """

    name: str
    dimension: str
    severity: str
    column: str | None
    kind: str
    metric: str | None
    query: str | None
    operator: str
    threshold: Any
    unit: str
    arguments: dict[str, Any]
    description: str


def _check_library_rule(
    path: Path, where: str, raw: dict[str, Any], metric: Any, column: str | None, known: set[str]
) -> None:
    if metric not in LIBRARY_METRICS:
        raise ContractError(path, f"{where}.metric", f"unknown metric {metric!r}")
    if metric in {"nullValues", "missingValues", "invalidValues"} and column is None:
        raise ContractError(path, f"{where}.metric", f"{metric} belongs on a property")
    if metric == "invalidValues":
        args = raw.get("arguments") or {}
        if not (args.get("validValues") or args.get("pattern")):
            raise ContractError(
                path, f"{where}.arguments", "invalidValues needs validValues or pattern"
            )
    if metric == "duplicateValues" and column is None:
        props = (raw.get("arguments") or {}).get("properties") or []
        unknown = [p for p in props if p not in known]
        if not props or unknown:
            raise ContractError(
                path,
                f"{where}.arguments.properties",
                f"duplicateValues needs existing properties, unknown: {unknown}",
            )


def _rule_header(path: Path, where: str, raw: dict[str, Any]) -> tuple[str, str, str]:
    """The rule's name, GDQF dimension and severity, each checked."""
    name = require(path, f"{where}.name", raw.get("name"), "a rule name")
    if not IDENTIFIER.match(name):
        raise ContractError(path, f"{where}.name", f"{name!r} is not a lower_snake_case name")
    dimension = require(path, f"{where}.dimension", raw.get("dimension"), "a GDQF dimension")
    if dimension not in ODCS_TO_GDQF:
        raise ContractError(path, f"{where}.dimension", f"unknown dimension {dimension!r}")
    severity = require(path, f"{where}.severity", raw.get("severity"), "a severity")
    if str(severity).lower() not in SEVERITIES:
        raise ContractError(
            path, f"{where}.severity", f"{severity!r} is not one of error, warning, info"
        )
    return name, ODCS_TO_GDQF[dimension], SEVERITIES[str(severity).lower()]


def parse_quality_rule(
    path: Path, where: str, raw: dict[str, Any], column: str | None, known: set[str]
) -> QualityRule:
    """Checks one ODCS quality rule and returns it as a :class:`QualityRule`.

    Args:
        path: The contract file (named in errors).
        where: The rule's field path, e.g. ``schema[0].quality[1]``.
        raw: The rule as written.
        column: The property the rule sits on, or None for a dataset-level rule.
        known: Every property name of the dataset.
    """
    name, dimension, severity = _rule_header(path, where, raw)
    kind = raw.get("type") or "library"
    metric = raw.get("metric") or raw.get("rule")
    query = raw.get("query")
    if kind == "library":
        _check_library_rule(path, where, raw, metric, column, known)
    elif kind == "sql":
        query = check_rule_query(path, f"{where}.query", query)
    else:
        raise ContractError(path, f"{where}.type", f"rule type {kind!r} is not supported")
    operators = [op for op in OPERATORS if raw.get(op) is not None]
    if len(operators) != 1:
        raise ContractError(
            path, where, f"a rule needs exactly one operator ({', '.join(OPERATORS)})"
        )
    return QualityRule(
        name=name,
        dimension=dimension,
        severity=severity,
        column=column,
        kind=kind,
        metric=metric if kind == "library" else None,
        query=query,
        operator=operators[0],
        threshold=raw[operators[0]],
        unit=raw.get("unit") or "rows",
        arguments=dict(raw.get("arguments") or {}),
        description=raw.get("description") or "",
    )


def check_rule_names(path: Path, rules: list[QualityRule]) -> None:
    """Rule names must be unique within a contract."""
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ContractError(path, "quality", f"rule names repeat: {duplicates}")


def parse_quality_targets(path: Path, custom: dict[str, Any]) -> dict[str, float]:
    """The schema's ``qualityTargets`` custom property: GDQF dimension → target percent."""
    where = "schema[0].customProperties.qualityTargets"
    raw = custom.get("qualityTargets")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ContractError(path, where, "must map GDQF dimensions to target percentages")
    targets: dict[str, float] = {}
    for dimension, value in raw.items():
        if dimension not in GDQF_DIMENSIONS:
            raise ContractError(path, f"{where}.{dimension}", "is not a GDQF dimension")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ContractError(path, f"{where}.{dimension}", "must be a percentage 0-100")
        targets[dimension] = float(value)
    return targets
