"""The properties of a contract's dataset, parsed into :class:`Column` objects.

Besides the ODCS fields, a property carries Common Ground custom properties:

- ``standardAttribute`` (required): the shared-standard attribute the column maps to; it
  picks the cleaning rule of the staging model.
- ``stagingName`` (optional): the column's name in the staging model when it differs from
  the contract name, e.g. ``address_text`` for a delivered ``property_address``. A safe
  lower_snake_case name, unique within the dataset (no other property's name or staging
  name).
- ``onInvalid`` (optional): ``quarantine`` (default) or ``null`` for a value that breaks the
  column's type or validation rules.
- ``identifierScheme`` (required for ``person.identifier``): the identifier's scheme, a
  lower-case dotted name such as ``au.social_security``.
- ``codeSystem``, ``allowedValues`` and other row-rule options, kept in ``Column.options``
  together with the ``logicalTypeOptions`` (date ``format``, ``maxLength``, ``pattern``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.contracts.dates import NAMED_DATE_FORMATS, check_date_format
from orchestration.contracts.errors import (
    IDENTIFIER,
    ContractError,
    check_name,
    custom_properties,
    require,
)
from orchestration.contracts.quality import QualityRule, parse_quality_rule
from orchestration.sql import is_safe_identifier
from orchestration.standards import CLASSIFICATIONS, STANDARD_ATTRIBUTES

LOGICAL_TYPES = {"string", "date", "timestamp", "number", "integer", "boolean"}
DATE_FORMATS = NAMED_DATE_FORMATS
ON_INVALID = ("quarantine", "null")
NOT_CONFORMED = "none"
# A lower-case dotted scheme name: a country or authority, then the scheme (uk.driving_licence).
IDENTIFIER_SCHEME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


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
        staging_name: The column's name in the staging model when the contract sets one
            (custom property ``stagingName``), else empty: onboarding then uses the standard
            name of the attribute or the contract name.
        on_invalid: What happens to a row whose value breaks the column's type or
            validation rules (custom property ``onInvalid``): ``quarantine`` (the default) or
            ``null`` (the row loads, the staging value is null and the count is logged).
        identifier_scheme: For ``person.identifier``, the scheme of the identifier (custom
            property ``identifierScheme``, e.g. ``au.social_security``), else empty.
        on_invalid_declared: Whether the contract sets ``onInvalid``: only then is an
            identifier's format (NINO, NHS number, UPN, UPRN, UK postcode) a row rule.
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
    staging_name: str = ""
    on_invalid: str = "quarantine"
    identifier_scheme: str = ""
    on_invalid_declared: bool = False

    @property
    def conformed(self) -> bool:
        """False for ``standardAttribute: none``: kept in raw, left out of staging."""
        return self.standard_attribute != NOT_CONFORMED


def check_options(path: Path, where: str, logical: str, options: dict[str, Any]) -> None:
    """Checks the row-rule options of a property: format, lengths, pattern, allowed values."""
    if logical == "date":
        problem = check_date_format(str(options.get("format", "any")))
        if problem:
            raise ContractError(
                path,
                f"{where}.logicalTypeOptions.format",
                f"{problem}; use {', '.join(DATE_FORMATS)} or a pattern of yyyy, yy, mm, m, "
                "dd, d, MMM and separators (yyyymmdd, dd.mm.yyyy, d MMM yyyy)",
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


def _names(path: Path, where: str, prop: dict[str, Any]) -> tuple[str, str]:
    """The property's contract name and delivered (physical) name, each checked."""
    name = check_name(
        path, f"{where}.name", require(path, f"{where}.name", prop.get("name"), "a property name")
    )
    if not IDENTIFIER.match(name):
        raise ContractError(path, f"{where}.name", f"{name!r} is not a safe lower_snake_case name")
    physical = check_name(path, f"{where}.physicalName", prop.get("physicalName") or name)
    if not is_safe_identifier(physical):
        raise ContractError(
            path,
            f"{where}.physicalName",
            f"{physical!r} holds characters a delivered column name may not hold "
            "(quotes, semicolons, comment markers, control characters)",
        )
    return name, physical


def _staging_name(path: Path, where: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ContractError(
            path,
            f"{where}.customProperties.stagingName",
            f"{value!r} is not a safe lower_snake_case name",
        )
    return value


def _identifier_scheme(path: Path, where: str, attribute: str, value: Any) -> str:
    """The ``identifierScheme`` of a ``person.identifier`` column, required and checked."""
    field_path = f"{where}.customProperties.identifierScheme"
    if attribute != "person.identifier":
        if value is not None:
            raise ContractError(path, field_path, "only a person.identifier column has a scheme")
        return ""
    if value is None:
        raise ContractError(
            path,
            field_path,
            "a person.identifier column needs its scheme (e.g. au.social_security)",
        )
    if not isinstance(value, str) or not IDENTIFIER_SCHEME.match(value) or len(value) > 60:
        raise ContractError(
            path,
            field_path,
            f"{value!r} is not a lower-case dotted scheme name (e.g. uk.driving_licence)",
        )
    return value


def parse_column(path: Path, where: str, prop: dict[str, Any]) -> Column:
    """Checks one ODCS property and returns it as a :class:`Column` (its rules aside)."""
    name, physical = _names(path, where, prop)
    logical = require(path, f"{where}.logicalType", prop.get("logicalType"), "a logicalType")
    if logical not in LOGICAL_TYPES:
        raise ContractError(path, f"{where}.logicalType", f"{logical!r} is not supported")
    col_class = prop.get("classification")
    if col_class not in CLASSIFICATIONS:
        raise ContractError(
            path,
            f"{where}.classification",
            f"{col_class!r} is not one of {', '.join(CLASSIFICATIONS)}",
        )
    col_custom = custom_properties(prop.get("customProperties"))
    attribute = col_custom.pop("standardAttribute", None)
    if attribute not in STANDARD_ATTRIBUTES:
        raise ContractError(
            path,
            f"{where}.customProperties.standardAttribute",
            f"{attribute!r} is not a known standard attribute; the vocabulary is: "
            f"{', '.join(sorted(STANDARD_ATTRIBUTES))}",
        )
    if attribute == NOT_CONFORMED and prop.get("primaryKey"):
        raise ContractError(
            path,
            f"{where}.customProperties.standardAttribute",
            "a primary-key column must be conformed (not standardAttribute: none)",
        )
    staging_name = _staging_name(path, where, col_custom.pop("stagingName", None))
    declared = "onInvalid" in col_custom
    on_invalid = col_custom.pop("onInvalid", "quarantine")
    if on_invalid not in ON_INVALID:
        raise ContractError(
            path,
            f"{where}.customProperties.onInvalid",
            f"{on_invalid!r} is not one of {', '.join(ON_INVALID)}",
        )
    scheme = _identifier_scheme(path, where, attribute, col_custom.pop("identifierScheme", None))
    options = {**(prop.get("logicalTypeOptions") or {}), **col_custom}
    check_options(path, where, logical, options)
    return Column(
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
        staging_name=staging_name,
        on_invalid=on_invalid,
        identifier_scheme=scheme,
        on_invalid_declared=declared,
    )


def _check_unique(path: Path, columns: list[Column]) -> None:
    """Names, delivered names and staging names each appear once in a dataset."""
    seen: dict[str, set[str]] = {"name": set(), "physicalName": set()}
    for i, c in enumerate(columns):
        where = f"schema[0].properties[{i}]"
        for key, value in (("name", c.name), ("physicalName", c.physical_name)):
            if value in seen[key]:
                raise ContractError(path, f"{where}.{key}", f"{value!r} appears twice")
            seen[key].add(value)
    staged: dict[str, str] = {}
    for i, c in enumerate(columns):
        if not c.staging_name:
            continue
        where = f"schema[0].properties[{i}].customProperties.stagingName"
        clash = staged.get(c.staging_name) or next(
            (o.name for o in columns if o.name == c.staging_name and o is not c), None
        )
        if clash:
            raise ContractError(
                path,
                where,
                f"{c.staging_name!r} is also the name or staging name of property {clash!r}",
            )
        staged[c.staging_name] = c.name


def parse_columns(path: Path, obj: dict[str, Any]) -> tuple[list[Column], list[QualityRule]]:
    """The dataset's columns and the quality rules written on them.

    Raises:
        ContractError: A property is invalid, a name repeats or no property is a key.
    """
    props = require(path, "schema[0].properties", obj.get("properties"), "at least one property")
    known = {p.get("name") for p in props}
    columns: list[Column] = []
    rules: list[QualityRule] = []
    for i, prop in enumerate(props):
        where = f"schema[0].properties[{i}]"
        columns.append(parse_column(path, where, prop))
        _check_unique(path, columns)
        for j, raw_rule in enumerate(prop.get("quality") or []):
            rules.append(
                parse_quality_rule(path, f"{where}.quality[{j}]", raw_rule, columns[-1].name, known)
            )
    if not any(c.primary_key for c in columns):
        raise ContractError(path, "schema[0].properties", "no property is marked primaryKey")
    return columns, rules
