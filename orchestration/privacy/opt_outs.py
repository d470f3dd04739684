"""Privacy by design: consent (the national data opt-out) and the consent exclusion log.

The national data opt-out list, delivered by the NHS as ``nhs/data_opt_outs``, names the
patients (by NHS number) whose confidential health information must not be used beyond
their care. Health datasets are those whose contract is classified ``special_category``
and that identify patients by NHS number. Every output derived from health data leaves
opted-out patients out, and records how many it left out in
``governance.consent_exclusions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
hold: NINO, NHS number (flagged when its check digit is valid) and a street address (house
number and street). A postcode alone is not a full address: ``conformed.properties`` keeps
each property's postcode."""


_INTEGER_TYPES = {"SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UINTEGER", "UBIGINT"}


def nhs_check_digit_valid_sql(digits: str) -> str:
    """SQL true when ``digits`` (ten digits as text) pass the NHS modulus 11 check: the
    first nine weighted 10 down to 2, 11 minus the sum mod 11 (11 reads as 0, 10 is never
    valid) equals the tenth."""
    weighted = " + ".join(
        f"cast(substr({digits}, {i}, 1) as integer) * {11 - i}" for i in range(1, 10)
    )
    check = f"(11 - (({weighted}) % 11)) % 11"
    return f"({check} = cast(substr({digits}, 10, 1) as integer))"


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return con.execute(sql, params or []).fetchall()[0][0]


def scan_for_identifiers(
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[tuple[str, str]],
    names: Iterable[str] = (),
    values: Mapping[str, Iterable[str]] | None = None,
    public_columns: Iterable[str] = (),
) -> list[str]:
    """Finds direct identifiers in tables: ``schema.table.column: kind`` for each hit.

    Scans every column: text against :data:`IDENTIFIER_PATTERNS` (an NHS number only when
    its modulus 11 check digit is valid), against ``names`` (people's names, e.g. from a
    ground truth) and against ``values``; whole numbers for valid ten-digit NHS numbers and
    ``values``; date columns named like a date of birth (only a year or an age band may
    leave staging). A text value matches ``values`` whole, or as one ``:``-separated part
    (``nhs:gp_registrations:<id>`` holds the record id).

    Args:
        con: Connection holding the tables.
        tables: ``(schema, table)`` pairs to scan.
        names: Upper-case given and family names that must not appear as values.
        values: Identifying values delivered in the raw tables, by kind (e.g. ``record
            id``, ``address line``); upper-cased and trimmed before matching.
        public_columns: Column names classified public (e.g. ``uprn``), which may hold
            ten-digit numbers; their text is still scanned.
    """
    name_list = sorted(set(names))
    con.execute("create or replace temp table _scan_names (name varchar)").complete()
    if name_list:
        con.executemany("insert into _scan_names values (?)", [[n] for n in name_list]).complete()
    con.execute("create or replace temp table _scan_values (kind varchar, value varchar)")
    rows = sorted(
        {(kind, v.strip().upper()) for kind, vs in (values or {}).items() for v in vs if v}
    )
    if rows:
        con.executemany("insert into _scan_values values (?, ?)", [list(r) for r in rows])
    public = {c.lower() for c in public_columns}
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
            kind_of_type = data_type.upper()
            if kind_of_type in {"DATE", "TIMESTAMP"} and "birth" in column.lower():
                hits.append(f"{where}: full date of birth")
                continue
            if kind_of_type in _INTEGER_TYPES:
                if column.lower() in public:
                    continue
                text = f"cast({quote_identifier(column)} as varchar)"
            elif kind_of_type == "VARCHAR":
                text = f"upper(trim({quote_identifier(column)}))"
            else:
                continue
            hits += _scan_column(con, source, where, text, kind_of_type == "VARCHAR", name_list)
    return hits


def _scan_column(
    con: duckdb.DuckDBPyConnection,
    source: str,
    where: str,
    value: str,
    is_text: bool,
    name_list: list[str],
) -> list[str]:
    hits = []
    distinct = (
        f"(select distinct {value} as v from {source} where {value} is not null) as distinct_values"
    )
    digits = "replace(v, ' ', '')"
    nhs = _count(
        con,
        f"select count(*) from {distinct} where regexp_matches(v, ?) "
        f"and {nhs_check_digit_valid_sql(digits)}",
        [IDENTIFIER_PATTERNS["nhs_number"]],
    )
    if nhs:
        hits.append(f"{where}: nhs_number ({nhs} values)")
    if is_text:
        for kind, pattern in IDENTIFIER_PATTERNS.items():
            if kind == "nhs_number":
                continue
            found = _count(
                con, f"select count(*) from {distinct} where regexp_matches(v, ?)", [pattern]
            )
            if found:
                hits.append(f"{where}: {kind} ({found} values)")
        if name_list:
            found = _count(
                con, f"select count(*) from {distinct} where v in (select name from _scan_names)"
            )
            if found:
                hits.append(f"{where}: person name ({found} values)")
    parts = "list_append(string_split(v, ':'), v)" if is_text else "[v]"
    matched = con.execute(
        f"select s.kind, count(distinct p.v) from (select v, unnest({parts}) as part "
        f"from {distinct}) as p inner join _scan_values as s on p.part = s.value "
        "group by s.kind order by s.kind"
    ).fetchall()
    hits += [f"{where}: {kind} ({found} values)" for kind, found in matched]
    return hits
