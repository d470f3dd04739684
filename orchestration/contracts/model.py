"""Data contracts: ODCS v3 YAML files parsed, validated and turned into plain objects.

Each delivered dataset has one contract at ``expectations/contracts/<department>/<dataset>.yaml``.
A contract is validated twice: against the official ODCS JSON Schema shipped with the
``open-data-contract-standard`` package, then against Common Ground's own rules (known
standard attributes, a primary key, a classification, well-formed quality rules, a landing
server and a delivery SLA). Any failure raises :class:`ContractError` naming the file and the
field.

The parts of a contract are parsed by sibling modules: :mod:`.columns` (properties and their
custom properties ``standardAttribute``, ``stagingName``, ``codeSystem``, ``allowedValues``),
:mod:`.quality` (quality rules and targets) and :mod:`.delivery` (landing server and SLA).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from open_data_contract_standard.model import OpenDataContractStandard

from orchestration.contracts.columns import DATE_FORMATS, LOGICAL_TYPES, Column, parse_columns
from orchestration.contracts.delivery import FORMATS, Landing, parse_landing, sla_days
from orchestration.contracts.errors import (
    IDENTIFIER,
    ContractError,
    check_name,
    custom_properties,
    json_path,
    require,
)
from orchestration.contracts.quality import (
    LIBRARY_METRICS,
    OPERATORS,
    QualityRule,
    check_rule_names,
    parse_quality_rule,
    parse_quality_targets,
)
from orchestration.contracts.safe_yaml import (
    check_contract_location,
    parse_yaml,
    read_contract_text,
)
from orchestration.project import CONTRACTS_DIR
from orchestration.standards import CLASSIFICATIONS, COUNTRY_CODES

__all__ = [
    "DATE_FORMATS",
    "DRIFT_POLICIES",
    "FORMATS",
    "IDENTIFIER",
    "LIBRARY_METRICS",
    "LOGICAL_TYPES",
    "OPERATORS",
    "Column",
    "Contract",
    "ContractError",
    "QualityRule",
    "check_contract_location",
    "contract_paths",
    "load_contract",
    "load_contracts",
    "odcs_json_schema",
]

DRIFT_POLICIES = {"reject", "accept"}


@dataclass(frozen=True)
class Contract:
    """A parsed and validated data contract for one delivered dataset.

    ``title`` is the contract's ``name``; ``business_name`` is the dataset's
    ``businessName`` (the title when the schema gives none). ``country`` is the contract's
    ``customProperties.country`` (ISO 3166 alpha-2, upper case; empty when not given) and
    ``expected_link_rate`` its ``customProperties.expectedLinkRate`` (the share of records
    expected to link to a person, in (0, 1]; None when not given).
    """

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
    business_name: str = ""
    country: str = ""
    expected_link_rate: float | None = None
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
    if check_location and (".." in path.parts or path.is_symlink() or path.parent.is_symlink()):
        raise ContractError(path, "(file)", "a contract path may not hold '..' or a symlink")
    return _load_contract(path, read_contract_text(path), check_location)


# A code-location load reads every contract from several modules: each text is parsed and
# validated once per process (the cache key is the file's path and its whole text).
@functools.lru_cache(maxsize=256)
def _load_contract(path: Path, text: str, check_location: bool) -> Contract:
    document = parse_yaml(path, text)
    if not isinstance(document, dict):
        raise ContractError(path, "(root)", "a contract must be a YAML mapping")
    _check_odcs(path, document)
    return _build(path, document, check_location)


def _check_odcs(path: Path, document: dict[str, Any]) -> None:
    """The official ODCS v3 JSON Schema, then the ODCS pydantic model."""
    validator = jsonschema.Draft202012Validator(odcs_json_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ContractError(
            path, json_path(first.absolute_path), f"breaks the ODCS v3 schema: {first.message}"
        )
    try:
        OpenDataContractStandard(**document)
    except Exception as exc:  # pydantic's ValidationError names the field itself
        raise ContractError(path, "(root)", f"breaks the ODCS v3 model: {exc}") from exc


@dataclass(frozen=True)
class _Identity:
    department: str
    classification: str
    drift_policy: str


def _identity(path: Path, custom: dict[str, Any], check_location: bool) -> _Identity:
    """The contract-level custom properties: department, classification, drift policy."""
    department = require(
        path, "customProperties.department", custom.get("department"), "a department"
    )
    check_name(path, "customProperties.department", department)
    if not IDENTIFIER.match(department):
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
    return _Identity(department, classification, drift)


def _dataset(
    path: Path, doc: dict[str, Any], department: str, check_location: bool
) -> tuple[dict[str, Any], str]:
    """The single schema object of the contract and its dataset name."""
    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractError(path, "schema", "a contract describes exactly one dataset")
    obj = schema[0]
    dataset = require(path, "schema[0].name", obj.get("name"), "a dataset name")
    check_name(path, "schema[0].name", dataset)
    if not IDENTIFIER.match(dataset):
        raise ContractError(
            path, "schema[0].name", f"{dataset!r} is not a safe lower_snake_case name"
        )
    if check_location and path.stem != dataset:
        raise ContractError(path, "schema[0].name", f"{dataset!r} does not match the file name")
    raw_table = f"{department}__{dataset}"
    check_name(path, "schema[0].physicalName", obj.get("physicalName") or "")
    if obj.get("physicalName") != raw_table:
        raise ContractError(path, "schema[0].physicalName", f"must be {raw_table!r}")
    return obj, dataset


def _quality(
    path: Path, obj: dict[str, Any], column_rules: list[QualityRule]
) -> tuple[QualityRule, ...]:
    """The rules written on properties, then the dataset-level rules."""
    known = {p.get("name") for p in obj.get("properties") or []}
    rules = list(column_rules)
    for j, raw_rule in enumerate(obj.get("quality") or []):
        rules.append(parse_quality_rule(path, f"schema[0].quality[{j}]", raw_rule, None, known))
    check_rule_names(path, rules)
    return tuple(rules)


def _country(path: Path, custom: dict[str, Any]) -> str:
    value = custom.get("country")
    if value is None:
        return ""
    if not isinstance(value, str) or value.upper() not in COUNTRY_CODES:
        raise ContractError(
            path, "customProperties.country", f"{value!r} is not an ISO 3166 alpha-2 country code"
        )
    return value.upper()


def _expected_link_rate(path: Path, custom: dict[str, Any]) -> float | None:
    value = custom.get("expectedLinkRate")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ContractError(
            path, "customProperties.expectedLinkRate", f"{value!r} is not a number in (0, 1]"
        )
    return float(value)


@dataclass(frozen=True)
class _Ownership:
    team: str
    owner: str
    legal_basis: str
    purpose: str
    limitations: str


def _ownership(path: Path, doc: dict[str, Any], custom: dict[str, Any]) -> _Ownership:
    """Team, owner, legal basis, purpose and limitations; all but limitations required."""
    team = doc.get("team") or {}
    members = team.get("members") if isinstance(team, dict) else team
    owners = [m.get("username") for m in members or [] if m.get("role") == "owner"]
    owner = require(path, "team.members", owners[0] if owners else None, "an owner member")
    description = doc.get("description") or {}
    desc_custom = custom_properties(description.get("customProperties"))
    legal_basis = custom.get("legalBasis") or desc_custom.get("legalBasis")
    require(path, "description.customProperties.legalBasis", legal_basis, "a legal basis")
    require(path, "description.purpose", description.get("purpose"), "a purpose")
    return _Ownership(
        team=(team.get("name") if isinstance(team, dict) else None) or "",
        owner=owner,
        legal_basis=str(legal_basis),
        purpose=" ".join(str(description.get("purpose")).split()),
        limitations=" ".join(str(description.get("limitations") or "").split()),
    )


def _build(path: Path, doc: dict[str, Any], check_location: bool = True) -> Contract:
    custom = custom_properties(doc.get("customProperties"))
    identity = _identity(path, custom, check_location)
    obj, dataset = _dataset(path, doc, identity.department, check_location)
    raw_table = f"{identity.department}__{dataset}"
    columns, column_rules = parse_columns(path, obj)
    rules = _quality(path, obj, column_rules)
    quality_targets = parse_quality_targets(path, custom_properties(obj.get("customProperties")))
    landing: Landing = parse_landing(path, doc, identity.department, dataset)
    frequency = sla_days(path, doc, "frequency")
    latency = sla_days(path, doc, "latency")
    ownership = _ownership(path, doc, custom)
    return Contract(
        path=path,
        id=check_name(path, "id", doc["id"]),
        version=str(doc["version"]),
        status=str(doc.get("status") or "draft"),
        title=doc.get("name") or raw_table,
        department=identity.department,
        dataset=dataset,
        raw_table=raw_table,
        description=obj.get("description") or "",
        purpose=ownership.purpose,
        limitations=ownership.limitations,
        legal_basis=ownership.legal_basis,
        team=ownership.team or identity.department,
        owner=ownership.owner,
        classification=identity.classification,
        format=landing.format,
        landing_path=landing.path,
        encoding=landing.encoding,
        delimiter=landing.delimiter,
        drift_policy=identity.drift_policy,
        frequency_days=frequency,
        latency_days=latency,
        columns=tuple(columns),
        quality=rules,
        quality_targets=quality_targets,
        business_name=obj.get("businessName") or doc.get("name") or raw_table,
        country=_country(path, custom),
        expected_link_rate=_expected_link_rate(path, custom),
        document=doc,
    )


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
    contracts = [
        load_contract(check_contract_location(p, directory)) for p in contract_paths(directory)
    ]
    seen: dict[str, Path] = {}
    for c in contracts:
        if c.id in seen:
            raise ContractError(c.path, "id", f"{c.id!r} is also used by {seen[c.id]}")
        seen[c.id] = c.path
    return contracts
