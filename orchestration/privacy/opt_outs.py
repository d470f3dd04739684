"""Privacy by design: consent (the national data opt-out) and the consent exclusion log.

The national data opt-out list, delivered by the NHS as ``nhs/data_opt_outs``, names the
patients (by NHS number) whose confidential health information must not be used beyond
their care. Health datasets are those whose contract is classified ``special_category``
and that identify patients by NHS number. Every output derived from health data leaves
opted-out patients out, and records how many it left out in
``governance.consent_exclusions``.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from orchestration import governance
from orchestration.contracts import Contract
from orchestration.sql import quote_identifier, quote_literal

OPT_OUT_LIST = ("nhs", "data_opt_outs")
"""``(department, dataset)`` of the national data opt-out list."""

OPT_OUT_TABLE = "staging.stg_nhs__data_opt_outs"
"""The staged opt-out list (normalised NHS numbers)."""

HEALTH_CLASSIFICATION = "special_category"
"""Contract classification of health data (UK GDPR special category)."""


def health_datasets(contracts: Iterable[Contract]) -> list[tuple[str, str]]:
    """``(department, dataset)`` of every health dataset the opt-out applies to: contracts
    classified as special category that identify patients by NHS number."""
    return sorted(
        (c.department, c.dataset)
        for c in contracts
        if c.classification == HEALTH_CLASSIFICATION
        and any(col.standard_attribute == "person.nhs_number" for col in c.columns)
    )


def _pair_literal(department: str, dataset: str) -> str:
    return f"({quote_literal(department)}, {quote_literal(dataset)})"


def excluded_person_records_sql(
    health: Iterable[tuple[str, str]], opt_out_table: str, alias: str = "r"
) -> str:
    """SQL condition true for person records that consent excludes from the person index.

    Excluded are the opt-out list's own records (it is a consent instrument, not a record
    of a service) and the records of health datasets whose NHS number is on the list.

    Args:
        health: ``(department, dataset)`` of the health datasets.
        opt_out_table: Qualified name of the staged opt-out list.
        alias: Alias of the person records in the query.
    """
    pairs = [_pair_literal(*pair) for pair in health]
    opt_out = f"({alias}.department, {alias}.dataset) = {_pair_literal(*OPT_OUT_LIST)}"
    if not pairs:
        return opt_out
    return (
        f"{opt_out} or coalesce(({alias}.department, {alias}.dataset) in ({', '.join(pairs)}) "
        f"and {alias}.nhs_number in (select nhs_number from {opt_out_table} "
        "where nhs_number is not null), false)"
    )


def record_exclusions(
    con: duckdb.DuckDBPyConnection, run_id: str, output: str, excluded: int, reason: str
) -> None:
    """Appends one row to ``governance.consent_exclusions`` (created when missing)."""
    governance.ensure(con, "consent_exclusions")
    con.execute(
        "insert into governance.consent_exclusions (run_id, output, excluded_records, reason) "
        "values (?, ?, ?, ?)",
        [run_id, output, excluded, reason],
    ).complete()


def count_opted_out_rows(con: duckdb.DuckDBPyConnection, staged_table: str) -> int:
    """Rows of a staged health table whose NHS number is on the opt-out list."""
    schema, table = staged_table.split(".")
    return con.execute(
        f"select count(*) from {quote_identifier(schema)}.{quote_identifier(table)} as s "
        f"where s.nhs_number in (select nhs_number from {OPT_OUT_TABLE} "
        "where nhs_number is not null)"
    ).fetchall()[0][0]


IDENTIFIER_PATTERNS: dict[str, str] = {
    "nino": r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]$",
    "nhs_number": r"^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$",
    "address": r"^(FLAT [0-9]+,? )?[0-9]+[A-Z]?,? [A-Z][A-Z' -]* (ROAD|STREET|LANE|AVENUE|CLOSE|"
    r"DRIVE|WAY|CRESCENT|GROVE|GARDENS|TERRACE|PLACE|COURT|VIEW|WALK|MEWS)\b",
}
"""Patterns of direct identifiers (on upper-cased, trimmed text) no table beyond staging may
hold: NINO, NHS number and a street address (house number and street). A postcode alone is
not a full address: ``conformed.properties`` keeps each property's postcode."""


def scan_for_identifiers(
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[tuple[str, str]],
    names: Iterable[str] = (),
) -> list[str]:
    """Finds direct identifiers in tables: ``schema.table.column: kind`` for each hit.

    Checks every text column's values against :data:`IDENTIFIER_PATTERNS` and against
    ``names`` (people's names, e.g. from a ground truth), and flags date columns named like
    a date of birth (only a year or an age band may leave staging).

    Args:
        con: Connection holding the tables.
        tables: ``(schema, table)`` pairs to scan.
        names: Upper-case given and family names that must not appear as values.
    """
    name_list = sorted(set(names))
    con.execute("create or replace temp table _scan_names (name varchar)").complete()
    if name_list:
        con.executemany("insert into _scan_names values (?)", [[n] for n in name_list]).complete()
    hits = []
    for schema, table in tables:
        source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? and table_catalog = current_database()",
            [schema, table],
        ).fetchall()
        for column, data_type in columns:
            where = f"{schema}.{table}.{column}"
            if data_type.upper() in {"DATE", "TIMESTAMP"} and "birth" in column.lower():
                hits.append(f"{where}: full date of birth")
                continue
            if data_type.upper() != "VARCHAR":
                continue
            value = f"upper(trim({quote_identifier(column)}))"
            for kind, pattern in IDENTIFIER_PATTERNS.items():
                found = con.execute(
                    f"select count(*) from {source} where regexp_matches({value}, ?)", [pattern]
                ).fetchall()[0][0]
                if found:
                    hits.append(f"{where}: {kind} ({found} values)")
            if name_list:
                found = con.execute(
                    f"select count(*) from {source} where {value} in (select name from _scan_names)"
                ).fetchall()[0][0]
                if found:
                    hits.append(f"{where}: person name ({found} values)")
    return hits
