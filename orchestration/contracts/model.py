"""Data contracts: ODCS v3 YAML files parsed, validated and turned into plain objects.

Each delivered dataset has one contract at ``expectations/contracts/<department>/<dataset>.yaml``.
A contract is validated twice: against the official ODCS JSON Schema shipped with the
``open-data-contract-standard`` package, then against Common Ground's own rules (known
standard attributes, a primary key, a classification, well-formed quality rules, a landing
server and a delivery SLA). Any failure raises :class:`ContractError` naming the file and the
field.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from orchestration.project import CONTRACTS_DIR
from orchestration.sql import is_safe_identifier
from orchestration.standards import (
    CLASSIFICATIONS,
    GDQF_DIMENSIONS,
    ODCS_TO_GDQF,
    SEVERITIES,
    STANDARD_ATTRIBUTES,
)

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORMATS = {
    "csv": (".csv",),
    "json": (".ndjson", ".jsonl", ".json"),
    "parquet": (".parquet",),
    "xlsx": (".xlsx",),
}
LOGICAL_TYPES = {"string", "date", "timestamp", "number", "integer", "boolean"}
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
DRIFT_POLICIES = {"reject", "accept"}


class ContractError(ValueError):
    """A contract file is invalid. The message names the file and the field."""

    def __init__(self, path: Path | str, field_path: str, message: str):
        self.path = str(path)
        self.field_path = field_path
        super().__init__(f"{path}: {field_path}: {message}")


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


@dataclass(frozen=True)
class Column:
    """A delivered column as the contract describes it.

    Attributes:
        name: Standard column name used from the raw layer on.
        physical_name: Header or key as the department delivers it.
        logical_type: ODCS logical type.
        description: What the column holds.
        required: Whether a value must be present.
        unique: Whether values must be unique.
        primary_key: Whether the column is (part of) the primary key.
        classification: public, official, personal or special_category.
        standard_attribute: Shared-standard attribute the column maps to.
        options: Logical type options and other custom properties (e.g. date ``format``).
    """

    name: str
    physical_name: str
    logical_type: str
    description: str
    required: bool
    unique: bool
    primary_key: bool
    classification: str
    standard_attribute: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contract:
    """A parsed and validated data contract for one delivered dataset."""

    path: Path
    id: str
    version: str
    status: str
    title: str
    department: str
    dataset: str
    raw_table: str
    description: str
    purpose: str
    limitations: str
    legal_basis: str
    team: str
    owner: str
    classification: str
    format: str
    landing_path: str
    encoding: str
    delimiter: str
    drift_policy: str
    frequency_days: float
    latency_days: float
    columns: tuple[Column, ...]
    quality: tuple[QualityRule, ...]
    quality_targets: dict[str, float] = field(default_factory=dict)
    document: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Names of the primary-key columns in key order."""
        return tuple(c.name for c in self.columns if c.primary_key)

    @property
    def extensions(self) -> tuple[str, ...]:
        """File name endings accepted for this dataset's format."""
        return FORMATS[self.format]

    def column(self, name: str) -> Column:
        """Returns the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.id} has no column {name!r}")


@cache
def odcs_json_schema() -> dict[str, Any]:
    """The official ODCS v3 JSON Schema shipped with ``open-data-contract-standard``."""
    return json.loads(OpenDataContractStandard.json_schema())


def _json_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _custom(props: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {p["property"]: p.get("value") for p in props or [] if "property" in p}


def load_contract(path: Path | str, check_location: bool = True) -> Contract:
    """Parses and validates one contract file.

    Args:
        path: Path of an ODCS v3 YAML file.
        check_location: Whether the file must sit at ``<department>/<dataset>.yaml`` (off to
            compare an old version taken out of version control).

    Returns:
        The validated contract.

    Raises:
        ContractError: The file is not valid YAML, breaks the ODCS schema or one of Common
            Ground's rules. The message names the file and the field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(path, "(file)", f"cannot be read: {exc}") from exc
    return _load_contract(path, text, check_location)


# A code-location load reads every contract from several modules: each text is parsed and
# validated once per process (the cache key is the file's path and its whole text).
@functools.lru_cache(maxsize=256)
def _load_contract(path: Path, text: str, check_location: bool) -> Contract:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractError(path, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(path, "(root)", "a contract must be a YAML mapping")

    validator = jsonschema.Draft202012Validator(odcs_json_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ContractError(
            path, _json_path(first.absolute_path), f"breaks the ODCS v3 schema: {first.message}"
        )
    try:
        OpenDataContractStandard(**document)
    except Exception as exc:  # pydantic's ValidationError names the field itself
        raise ContractError(path, "(root)", f"breaks the ODCS v3 model: {exc}") from exc
    return _build(path, document, check_location)


def _require(path: Path, where: str, value: Any, what: str) -> Any:
    if value in (None, "", [], {}):
        raise ContractError(path, where, f"{what} is required")
    return value


def _quality_rule(
    path: Path, where: str, raw: dict[str, Any], column: str | None, known: set[str]
) -> QualityRule:
    name = _require(path, f"{where}.name", raw.get("name"), "a rule name")
    if not IDENTIFIER.match(name):
        raise ContractError(path, f"{where}.name", f"{name!r} is not a lower_snake_case name")
    dimension = _require(path, f"{where}.dimension", raw.get("dimension"), "a GDQF dimension")
    if dimension not in ODCS_TO_GDQF:
        raise ContractError(path, f"{where}.dimension", f"unknown dimension {dimension!r}")
    severity = _require(path, f"{where}.severity", raw.get("severity"), "a severity")
    if str(severity).lower() not in SEVERITIES:
        raise ContractError(
            path, f"{where}.severity", f"{severity!r} is not one of error, warning, info"
        )
    kind = raw.get("type") or "library"
    metric = raw.get("metric") or raw.get("rule")
    query = raw.get("query")
    if kind == "library":
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
    elif kind == "sql":
        if not query or "${table}" not in query:
            raise ContractError(path, f"{where}.query", "a sql rule needs a query over ${table}")
    else:
        raise ContractError(path, f"{where}.type", f"rule type {kind!r} is not supported")
    operators = [op for op in OPERATORS if raw.get(op) is not None]
    if len(operators) != 1:
        raise ContractError(
            path, where, f"a rule needs exactly one operator ({', '.join(OPERATORS)})"
        )
    return QualityRule(
        name=name,
        dimension=ODCS_TO_GDQF[dimension],
        severity=SEVERITIES[str(severity).lower()],
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


DATE_FORMATS = ("dd/mm/yyyy", "yyyy-mm-dd", "excel", "any")


def _check_options(path: Path, where: str, logical: str, options: dict[str, Any]) -> None:
    """Checks the row-rule options of a property: format, lengths, pattern, allowed values."""
    if logical == "date" and str(options.get("format", "any")) not in DATE_FORMATS:
        raise ContractError(
            path,
            f"{where}.logicalTypeOptions.format",
            f"{options['format']!r} is not one of {', '.join(DATE_FORMATS)}",
        )
    for key in ("maxLength", "minLength"):
        value = options.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ContractError(
                path, f"{where}.logicalTypeOptions.{key}", f"{value!r} is not a whole number"
            )
    pattern = options.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise ContractError(
                path, f"{where}.logicalTypeOptions.pattern", f"not a valid pattern: {exc}"
            ) from exc
    allowed = options.get("allowedValues")
    if allowed is not None and (
        not isinstance(allowed, list)
        or not allowed
        or any(isinstance(a, dict | list) for a in allowed)
    ):
        raise ContractError(
            path, f"{where}.customProperties.allowedValues", "must be a list of values"
        )


def _build(path: Path, doc: dict[str, Any], check_location: bool = True) -> Contract:
    custom = _custom(doc.get("customProperties"))
    department = _require(
        path, "customProperties.department", custom.get("department"), "a department"
    )
    if not IDENTIFIER.match(str(department)):
        raise ContractError(
            path, "customProperties.department", f"{department!r} is not a safe name"
        )
    if check_location and path.parent.name != department:
        raise ContractError(
            path,
            "customProperties.department",
            f"{department!r} does not match the folder {path.parent.name!r}",
        )
    classification = custom.get("classification")
    if classification not in CLASSIFICATIONS:
        raise ContractError(
            path,
            "customProperties.classification",
            f"{classification!r} is not one of {', '.join(CLASSIFICATIONS)}",
        )
    drift = custom.get("schemaDriftPolicy", "reject")
    if drift not in DRIFT_POLICIES:
        raise ContractError(path, "customProperties.schemaDriftPolicy", f"unknown policy {drift!r}")

    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractError(path, "schema", "a contract describes exactly one dataset")
    obj = schema[0]
    dataset = _require(path, "schema[0].name", obj.get("name"), "a dataset name")
    if not IDENTIFIER.match(dataset):
        raise ContractError(
            path, "schema[0].name", f"{dataset!r} is not a safe lower_snake_case name"
        )
    if check_location and path.stem != dataset:
        raise ContractError(path, "schema[0].name", f"{dataset!r} does not match the file name")
    raw_table = f"{department}__{dataset}"
    if obj.get("physicalName") != raw_table:
        raise ContractError(path, "schema[0].physicalName", f"must be {raw_table!r}")

    columns: list[Column] = []
    rules: list[QualityRule] = []
    seen_names: set[str] = set()
    seen_physical: set[str] = set()
    props = _require(path, "schema[0].properties", obj.get("properties"), "at least one property")
    known = {p.get("name") for p in props}
    for i, prop in enumerate(props):
        where = f"schema[0].properties[{i}]"
        name = _require(path, f"{where}.name", prop.get("name"), "a property name")
        if not IDENTIFIER.match(name):
            raise ContractError(
                path, f"{where}.name", f"{name!r} is not a safe lower_snake_case name"
            )
        if name in seen_names:
            raise ContractError(path, f"{where}.name", f"{name!r} appears twice")
        seen_names.add(name)
        physical = prop.get("physicalName") or name
        if not is_safe_identifier(physical):
            raise ContractError(
                path,
                f"{where}.physicalName",
                f"{physical!r} holds characters a delivered column name may not hold "
                "(quotes, semicolons, comment markers, control characters)",
            )
        if physical in seen_physical:
            raise ContractError(path, f"{where}.physicalName", f"{physical!r} appears twice")
        seen_physical.add(physical)
        logical = _require(path, f"{where}.logicalType", prop.get("logicalType"), "a logicalType")
        if logical not in LOGICAL_TYPES:
            raise ContractError(path, f"{where}.logicalType", f"{logical!r} is not supported")
        col_class = prop.get("classification")
        if col_class not in CLASSIFICATIONS:
            raise ContractError(
                path,
                f"{where}.classification",
                f"{col_class!r} is not one of {', '.join(CLASSIFICATIONS)}",
            )
        col_custom = _custom(prop.get("customProperties"))
        attribute = col_custom.pop("standardAttribute", None)
        if attribute not in STANDARD_ATTRIBUTES:
            raise ContractError(
                path,
                f"{where}.customProperties.standardAttribute",
                f"{attribute!r} is not a known standard attribute",
            )
        options = {**(prop.get("logicalTypeOptions") or {}), **col_custom}
        _check_options(path, where, logical, options)
        columns.append(
            Column(
                name=name,
                physical_name=physical,
                logical_type=logical,
                description=prop.get("description") or "",
                required=bool(prop.get("required")),
                unique=bool(prop.get("unique")),
                primary_key=bool(prop.get("primaryKey")),
                classification=col_class,
                standard_attribute=attribute,
                options=options,
            )
        )
        for j, raw_rule in enumerate(prop.get("quality") or []):
            rules.append(_quality_rule(path, f"{where}.quality[{j}]", raw_rule, name, known))
    if not any(c.primary_key for c in columns):
        raise ContractError(path, "schema[0].properties", "no property is marked primaryKey")
    for j, raw_rule in enumerate(obj.get("quality") or []):
        rules.append(_quality_rule(path, f"schema[0].quality[{j}]", raw_rule, None, known))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ContractError(path, "quality", f"rule names repeat: {duplicates}")
    quality_targets = _quality_targets(path, _custom(obj.get("customProperties")))

    servers = [s for s in doc.get("servers") or [] if s.get("server") == "landing"]
    if len(servers) != 1:
        raise ContractError(path, "servers", "exactly one server named 'landing' is required")
    server = servers[0]
    fmt = server.get("format")
    if fmt not in FORMATS:
        raise ContractError(
            path, "servers[landing].format", f"{fmt!r} is not one of {sorted(FORMATS)}"
        )
    expected_path = f"landing/{department}/{dataset}"
    if server.get("path", "").rstrip("/") != expected_path:
        raise ContractError(path, "servers[landing].path", f"must be {expected_path!r}")
    server_custom = _custom(server.get("customProperties"))

    sla = {p.get("property"): p for p in doc.get("slaProperties") or []}
    frequency = _sla_days(path, sla, "frequency")
    latency = _sla_days(path, sla, "latency")

    team = doc.get("team") or {}
    members = team.get("members") if isinstance(team, dict) else team
    owners = [m.get("username") for m in members or [] if m.get("role") == "owner"]
    owner = _require(path, "team.members", owners[0] if owners else None, "an owner member")
    description = doc.get("description") or {}
    desc_custom = _custom(description.get("customProperties"))
    legal_basis = custom.get("legalBasis") or desc_custom.get("legalBasis")
    _require(path, "description.customProperties.legalBasis", legal_basis, "a legal basis")
    _require(path, "description.purpose", description.get("purpose"), "a purpose")

    return Contract(
        path=path,
        id=doc["id"],
        version=str(doc["version"]),
        status=str(doc.get("status") or "draft"),
        title=doc.get("name") or raw_table,
        department=department,
        dataset=dataset,
        raw_table=raw_table,
        description=obj.get("description") or "",
        purpose=" ".join(str(description.get("purpose")).split()),
        limitations=" ".join(str(description.get("limitations") or "").split()),
        legal_basis=str(legal_basis),
        team=(team.get("name") if isinstance(team, dict) else None) or department,
        owner=owner,
        classification=classification,
        format=fmt,
        landing_path=expected_path,
        encoding=str(server.get("encoding") or "utf-8"),
        delimiter=str(server_custom.get("delimiter") or ","),
        drift_policy=drift,
        frequency_days=frequency,
        latency_days=latency,
        columns=tuple(columns),
        quality=tuple(rules),
        quality_targets=quality_targets,
        document=doc,
    )


def _quality_targets(path: Path, custom: dict[str, Any]) -> dict[str, float]:
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


_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24}


def _sla_days(path: Path, sla: dict[str, dict[str, Any]], prop: str) -> float:
    entry = sla.get(prop)
    where = f"slaProperties[{prop}]"
    if entry is None:
        raise ContractError(path, where, f"a delivery {prop} is required")
    unit = str(entry.get("unit") or "d").lower()
    if unit not in _UNIT_DAYS:
        raise ContractError(path, f"{where}.unit", f"unit {unit!r} is not d or h")
    try:
        return float(entry["value"]) * _UNIT_DAYS[unit]
    except (TypeError, ValueError) as exc:
        raise ContractError(path, f"{where}.value", "must be a number") from exc


def contract_paths(contracts_dir: Path) -> list[Path]:
    """Every contract file under ``contracts_dir``, in a stable order."""
    return sorted(p for p in contracts_dir.glob("*/*.yaml") if p.is_file())


def load_contracts(contracts_dir: Path | None = None) -> list[Contract]:
    """Loads and validates every contract; raises on the first invalid one.

    Args:
        contracts_dir: Folder holding ``<department>/<dataset>.yaml`` files; defaults to the
            repository's ``expectations/contracts``.
    """
    directory = Path(contracts_dir or CONTRACTS_DIR)
    contracts = [load_contract(p) for p in contract_paths(directory)]
    seen: dict[str, Path] = {}
    for c in contracts:
        if c.id in seen:
            raise ContractError(c.path, "id", f"{c.id!r} is also used by {seen[c.id]}")
        seen[c.id] = c.path
    return contracts
