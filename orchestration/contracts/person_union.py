"""``int_person_records_unioned``: every person-bearing staging model, one row per person."""

from __future__ import annotations

import re
from pathlib import Path

from orchestration.contracts.model import Contract, ContractError
from orchestration.contracts.staging import (
    MARKER,
    PSEUDONYM_DOMAINS,
    attribute_columns,
    staging_names,
)
from orchestration.standards import STANDARD_ATTRIBUTES

# Output of int_person_records_unioned after the identifying columns: (name, type, attribute).
PERSON_COLUMNS = (
    ("given_name", "varchar", "person.given_name"),
    ("family_name", "varchar", "person.family_name"),
    ("date_of_birth", "date", "person.date_of_birth"),
    ("sex", "varchar", "person.sex"),
    ("postcode", "varchar", "address.postcode"),
    ("uprn", "bigint", "property.uprn"),
    ("nino", "varchar", "person.nino"),
    ("nhs_number", "varchar", "person.nhs_number"),
    ("nino_pseudonym", "varchar", "pseudonym:person.nino"),
    ("nhs_number_pseudonym", "varchar", "pseudonym:person.nhs_number"),
    ("upn_pseudonym", "varchar", "pseudonym:person.pupil_number"),
)
# Address parts the union carries after PERSON_COLUMNS, each only when a contract supplies
# it (so a union of datasets without them is unchanged): (name, type, attribute).
ADDRESS_COLUMNS = (
    ("postal_code", "varchar", "address.postal_code"),
    ("house_number", "varchar", "address.house_number"),
    ("street", "varchar", "address.street"),
    ("locality", "varchar", "address.locality"),
    ("region", "varchar", "address.region"),
)
PARENT_COLUMNS = {
    "given_name": "related_person.given_name",
    "family_name": "related_person.family_name",
    "postcode": "address.postcode",
    "uprn": "property.uprn",
    **{name: attribute for name, _, attribute in ADDRESS_COLUMNS},
}
IDENTIFIER_ATTRIBUTE = "person.identifier"
IDENTIFIER_SCHEME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
"""Allowed spelling of an ``identifierScheme`` (it becomes part of a column name)."""


def identifier_column(scheme: str) -> str:
    """The pseudonym column of a ``person.identifier`` scheme: ``xx.social_security`` ->
    ``identifier_xx_social_security_pseudonym`` (the identifier itself stays in staging)."""
    return f"identifier_{scheme.replace('.', '_')}_pseudonym"


def identifier_schemes(contract: Contract) -> list[str]:
    """The ``identifierScheme`` of each ``person.identifier`` column of a contract.

    Raises:
        ContractError: A scheme is missing or not lower-case dotted words.
    """
    schemes = []
    for i, c in enumerate(contract.columns):
        if c.standard_attribute != IDENTIFIER_ATTRIBUTE:
            continue
        scheme = str(getattr(c, "identifier_scheme", "") or c.options.get("identifierScheme") or "")
        if not IDENTIFIER_SCHEME.fullmatch(scheme):
            raise ContractError(
                contract.path,
                f"schema[0].properties[{i}].customProperties.identifierScheme",
                f"a person.identifier needs an identifierScheme of lower-case dotted words "
                f"(e.g. xx.social_security), not {scheme!r}",
            )
        schemes.append(scheme)
    return schemes


def person_columns(contracts: list[Contract]) -> tuple[tuple[str, str, str], ...]:
    """The union's person columns: :data:`PERSON_COLUMNS`, then each address part and each
    identifier scheme that at least one of the person-bearing contracts supplies."""
    supplied = {c.standard_attribute for contract in contracts for c in contract.columns}
    schemes = sorted({s for contract in contracts for s in identifier_schemes(contract)})
    return (
        *PERSON_COLUMNS,
        *(column for column in ADDRESS_COLUMNS if column[2] in supplied),
        *((identifier_column(s), "varchar", f"identifier:{s}") for s in schemes),
    )


def is_person_source(contract: Contract) -> bool:
    """Whether a dataset's records describe people: a column maps to a ``person.*`` attribute
    that feeds person linkage (addresses and UPRNs alone describe properties, not people)."""
    return any(
        c.standard_attribute.startswith("person.")
        and c.standard_attribute in STANDARD_ATTRIBUTES
        and STANDARD_ATTRIBUTES[c.standard_attribute].person_attribute
        for c in contract.columns
    )


def _record_id(contract: Contract, names: dict[str, str]) -> tuple[str, str | None]:
    """SQL of a record's id in the person union, and a comment when it is a pseudonym."""
    key = [c for c in contract.columns if c.primary_key]
    parts = []
    comment = None
    for c in key:
        domain = PSEUDONYM_DOMAINS.get(c.standard_attribute)
        if domain:
            parts.append(f"{domain}_pseudonym")
            comment = f"the key {c.name} is a direct identifier, so its pseudonym is the record id"
        else:
            parts.append(f"cast({names[c.name]} as varchar)" if len(key) > 1 else names[c.name])
    return (" || ':' || ".join(parts), comment)


def _branch(contract: Contract, role: str, columns: tuple[tuple[str, str, str], ...]) -> list[str]:
    names = staging_names(contract)
    attrs = {a: names[c.name] for a, c in attribute_columns(contract).items() if c.name in names}
    schemes = set(identifier_schemes(contract))
    record_id, comment = _record_id(contract, names)
    lines = [f"    -- {comment}"] if comment else []
    lines += [
        "    select",
        f"        '{contract.department}' as department,",
        f"        '{contract.dataset}' as dataset,",
        f"        {record_id} as source_record_id,",
        f"        '{role}' as person_role,",
    ]
    for name, kind, attribute in columns:
        if role == "parent":
            attribute = PARENT_COLUMNS.get(name, "")
        if attribute.startswith("identifier:"):
            column = name if attribute.split(":", 1)[1] in schemes else None
        elif attribute.startswith("pseudonym:"):
            source = attribute.split(":", 1)[1]
            column = f"{PSEUDONYM_DOMAINS[source]}_pseudonym" if source in attrs else None
        else:
            column = attrs.get(attribute)
        if column is None:
            lines.append(f"        cast(null as {kind}) as {name},")
        elif column == name:
            lines.append(f"        {name},")
        else:
            lines.append(f"        {column} as {name},")
    lines.append("        _loaded_at")
    lines.append(f"    from {contract.raw_table}")
    if role == "parent":
        given, family = (
            attrs.get("related_person.given_name"),
            attrs.get("related_person.family_name"),
        )
        present = " or ".join(f"{c} is not null" for c in (given, family) if c)
        lines.append(f"    where {present}")
    return lines


def render_person_union(contracts: list[Contract]) -> str:
    """``int_person_records_unioned``: every person-bearing staging model, one row per person.

    Each dataset whose contract maps a column to a ``person.*`` attribute gives a ``subject``
    row per record; one with ``related_person.*`` attributes also gives a ``parent`` row
    where the related person is named (sharing the record's address). The columns are
    :func:`person_columns`: the standard ones, then the address parts and identifier
    schemes (as pseudonyms only) that some contract supplies. Attributes a dataset lacks
    are typed NULLs.
    """
    sources = sorted((c for c in contracts if is_person_source(c)), key=lambda c: c.raw_table)
    columns = person_columns(sources)
    lines = [
        f"-- {MARKER}",
        "-- (every contract under expectations/contracts)",
        "{{",
        "    config(",
        "        materialized='incremental',",
        "        incremental_strategy='delete+insert',",
        "        unique_key=['department', 'dataset', 'source_record_id'],",
        "    )",
        "}}",
        "",
    ]
    for contract in sources:
        lines += [
            f"with {contract.raw_table} as ("
            if contract is sources[0]
            else f"{contract.raw_table} as (",
            "",
            f"    select * from {{{{ ref('stg_{contract.raw_table}') }}}} as staged",
            "    {% if is_incremental() %}",
            "        -- the staged rows loaded since the last build: each replaces its record",
            "        where",
            "            staged._loaded_at > (  -- noqa: RF03",
            "                select coalesce(max(unioned._loaded_at), cast('-infinity' as"
            " timestamp))",
            "                from {{ this }} as unioned",
            "            )",
            "    {% endif %}",
            "",
            "),",
            "",
        ]
    branches: list[list[str]] = []
    for contract in sources:
        branches.append(_branch(contract, "subject", columns))
        if any(c.standard_attribute.startswith("related_person.") for c in contract.columns):
            branches.append(_branch(contract, "parent", columns))
    lines += ["unioned as (", ""]
    for i, branch in enumerate(branches):
        if i:
            lines += ["", "    union all", ""]
        lines += branch
    lines += [
        "",
        "),",
        "",
        "identified as (",
        "",
        "    select",
        "        department || ':' || dataset || ':' || source_record_id",
        "        || case when person_role = 'parent' then ':parent' else '' end"
        " as person_record_id,",
        "        department,",
        "        dataset,",
        "        source_record_id,",
        "        person_role,",
        *[f"        {name}," for name, _, _ in columns],
        "        _loaded_at",
        "    from unioned",
        "    where source_record_id is not null",
        "",
        "),",
        "",
        "final as (",
        "",
        "    select",
        "        person_record_id,",
        "        department,",
        "        dataset,",
        "        source_record_id,",
        "        person_role,",
        *[f"        {name}," for name, _, _ in columns],
        "        {{ pseudonymise('person_record_id', 'person_record_id') }} as person_record_key,",
        "        _loaded_at",
        "    from identified",
        "",
        ")",
        "",
        "select * from final",
        "",
    ]
    return "\n".join(lines)


def person_union_path(dbt_dir: Path) -> Path:
    """Where ``int_person_records_unioned.sql`` lives."""
    return dbt_dir / "models" / "intermediate" / "person" / "int_person_records_unioned.sql"
