"""``int_person_records_unioned``: every person-bearing staging model, one row per person."""

from __future__ import annotations

from pathlib import Path

from orchestration.contracts.model import Contract
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
PARENT_COLUMNS = {
    "given_name": "related_person.given_name",
    "family_name": "related_person.family_name",
    "postcode": "address.postcode",
    "uprn": "property.uprn",
}


def is_person_source(contract: Contract) -> bool:
    """Whether a dataset's records describe people: a column maps to a ``person.*`` attribute
    that feeds person linkage (addresses and UPRNs alone describe properties, not people)."""
    return any(
        c.standard_attribute.startswith("person.")
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


def _branch(contract: Contract, role: str) -> list[str]:
    names = staging_names(contract)
    attrs = {a: names[c.name] for a, c in attribute_columns(contract).items()}
    record_id, comment = _record_id(contract, names)
    lines = [f"    -- {comment}"] if comment else []
    lines += [
        "    select",
        f"        '{contract.department}' as department,",
        f"        '{contract.dataset}' as dataset,",
        f"        {record_id} as source_record_id,",
        f"        '{role}' as person_role,",
    ]
    for i, (name, kind, attribute) in enumerate(PERSON_COLUMNS):
        comma = "," if i < len(PERSON_COLUMNS) - 1 else ""
        if role == "parent":
            attribute = PARENT_COLUMNS.get(name, "")
        if attribute.startswith("pseudonym:"):
            source = attribute.split(":", 1)[1]
            column = f"{PSEUDONYM_DOMAINS[source]}_pseudonym" if source in attrs else None
        else:
            column = attrs.get(attribute)
        if column is None:
            lines.append(f"        cast(null as {kind}) as {name}{comma}")
        elif column == name:
            lines.append(f"        {name}{comma}")
        else:
            lines.append(f"        {column} as {name}{comma}")
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
    where the related person is named. Attributes a dataset lacks are typed NULLs.
    """
    sources = sorted((c for c in contracts if is_person_source(c)), key=lambda c: c.raw_table)
    lines = [f"-- {MARKER}", "-- (every contract under expectations/contracts)"]
    for contract in sources:
        lines += [
            f"with {contract.raw_table} as ("
            if contract is sources[0]
            else f"{contract.raw_table} as (",
            "",
            f"    select * from {{{{ ref('stg_{contract.raw_table}') }}}}",
            "",
            "),",
            "",
        ]
    branches: list[list[str]] = []
    for contract in sources:
        branches.append(_branch(contract, "subject"))
        if any(c.standard_attribute.startswith("related_person.") for c in contract.columns):
            branches.append(_branch(contract, "parent"))
    lines += ["unioned as (", ""]
    for i, branch in enumerate(branches):
        if i:
            lines += ["", "    union all", ""]
        lines += branch
    lines += [
        "",
        "),",
        "",
        "final as (",
        "",
        "    select",
        "        department || ':' || dataset || ':' || source_record_id",
        "        || case when person_role = 'parent' then ':parent' else '' end"
        " as person_record_id,",
        "        department,",
        "        dataset,",
        "        source_record_id,",
        "        person_role,",
        *[
            f"        {name}{',' if i < len(PERSON_COLUMNS) - 1 else ''}"
            for i, (name, _, _) in enumerate(PERSON_COLUMNS)
        ],
        "    from unioned",
        "    where source_record_id is not null",
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
