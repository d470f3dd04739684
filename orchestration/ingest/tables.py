"""The warehouse tables a load writes: raw and quarantine DDL and comments, one file's batch of
rows, and the temporary tables and Arrow registrations of the file being loaded."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np

from orchestration import governance
from orchestration.contracts import Contract
from orchestration.sql import quote_identifier, quote_literal
from orchestration.standards import STANDARD_ATTRIBUTES

LINEAGE_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_batch_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)

QUARANTINE_COLUMNS = (
    *LINEAGE_COLUMNS,
    ("column_name", "VARCHAR"),
    ("rule", "VARCHAR"),
    ("message", "VARCHAR"),
    ("raw_value", "VARCHAR"),
    ("raw_text", "VARCHAR"),
)

LINEAGE_DESCRIPTIONS = {
    "_source_file": "Landing file the row came from, relative to the landing zone "
    "(<department>/<dataset>/<file>).",
    "_file_sha256": "SHA-256 of the landing file's bytes: the delivery's identity (the same "
    "bytes delivered again are a duplicate, not loaded twice).",
    "_row_number": "Position of the row among the landing file's data rows (1 is the first).",
    "_batch_id": "Ingest batch that loaded the row: the Dagster run id.",
    "_loaded_at": "When the row was loaded (UTC).",
}
"""What each lineage column (:data:`LINEAGE_COLUMNS`) of a raw or quarantine table holds."""

QUARANTINE_DESCRIPTIONS = {
    **LINEAGE_DESCRIPTIONS,
    "column_name": "Contract column whose value broke the rule; null when the row itself was "
    "unreadable (a malformed CSV row or JSON line).",
    "rule": "Code of the rule broken: a contract row rule (required, type, format, pattern, "
    "allowed_values, ...), or malformed_row / malformed_json for an unreadable row.",
    "message": "What is wrong, in the department's terms.",
    "raw_value": "The value that broke the rule, as delivered; null for an unreadable row.",
    "raw_text": "The row as delivered: the delivered line, or the row's values as JSON keyed "
    "by delivered header.",
}
"""What each column of a quarantine table (:data:`QUARANTINE_COLUMNS`) holds."""

_counter = itertools.count()


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Creates the raw, quarantine and governance schemas, the ingestion log and the tables,
    each raw and quarantine table commented from its contract (:func:`describe_tables`).

    The ingestion log is created, given missing columns and commented only when it differs
    from its definition: every ingest step of every run calls this, and comments are
    catalog writes."""
    for schema in ("raw", "quarantine", "governance"):
        con.execute(f"create schema if not exists {schema}")
    if not _ingestion_log_is_current(con):
        governance.ensure(con, "ingestion_log")
        governance.add_missing_columns(con, "ingestion_log")
    for contract in contracts:
        con.execute(raw_table_ddl(contract))
        con.execute(quarantine_table_ddl(contract))
        describe_tables(con, contract)


def _ingestion_log_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``governance.ingestion_log`` has every column of its definition, and the
    table and its columns the comments the definition gives them."""
    definition = governance.table("ingestion_log")
    schema, name = definition.qualified_name.split(".")
    found = dict(
        con.execute(
            "select null, comment from duckdb_tables() where database_name = "
            "current_database() and schema_name = ? and table_name = ? union all "
            "select column_name, comment from duckdb_columns() where database_name = "
            "current_database() and schema_name = ? and table_name = ?",
            [schema, name, schema, name],
        ).fetchall()
    )
    wanted = {None: definition.description} | {c.name: c.description for c in definition.columns}
    return all(
        column in found and (not text or found[column] == text) for column, text in wanted.items()
    )


def _text(value: str) -> str:
    return " ".join((value or "").split())


def raw_column_descriptions(contract: Contract) -> dict[str, str]:
    """What each column of a contract's raw table holds: the contract's description of each
    delivered column (with its delivered name, standard attribute and classification), then
    the lineage columns."""
    columns = {
        c.name: _text(
            f"{c.description or c.name} Delivered as {c.physical_name!r}; standard attribute "
            f"{c.standard_attribute}; classification {c.classification}."
        )
        for c in contract.columns
    }
    return columns | LINEAGE_DESCRIPTIONS


def table_descriptions(contract: Contract) -> dict[str, tuple[str, dict[str, str]]]:
    """The comments of a contract's tables: schema (``raw``, ``quarantine``) -> the table's
    description and each column's, from the contract's title and descriptions."""
    about = _text(f"{contract.title}: {contract.description}")
    raw = _text(
        f"{about} Values as delivered ({contract.format}, from {contract.landing_path}/), one "
        f"row per delivered row that broke no row rule, plus lineage columns. Contract "
        f"{contract.id} version {contract.version}; owner {contract.owner}."
    )
    quarantine = _text(
        f"Quarantine of {contract.title}: the delivered rows that broke a row rule of contract "
        f"{contract.id}, one row per rule broken, with the rule, a message, the value and the "
        f"row as delivered. Owner {contract.owner}."
    )
    return {
        "raw": (raw, raw_column_descriptions(contract)),
        "quarantine": (quarantine, dict(QUARANTINE_DESCRIPTIONS)),
    }


def describe_tables(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Comments a contract's raw and quarantine tables and their columns
    (:func:`table_descriptions`). Only comments that differ are written, so a load whose
    contract is unchanged writes no catalog entry. Contract text is quoted as a literal."""
    for schema, (description, columns) in table_descriptions(contract).items():
        current = dict(
            con.execute(
                "select null, comment from duckdb_tables() where database_name = "
                "current_database() and schema_name = ? and table_name = ? union all "
                "select column_name, comment from duckdb_columns() where database_name = "
                "current_database() and schema_name = ? and table_name = ?",
                [schema, contract.raw_table, schema, contract.raw_table],
            ).fetchall()
        )
        changed = {c: text for c, text in columns.items() if current.get(c) != text}
        table = description if current.get(None) != description else ""
        if table or changed:
            governance.comment_on(con, schema, contract.raw_table, table, changed)


def raw_table_ddl(contract: Contract) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a contract's raw table: text columns plus lineage.

    Columns whose values seldom repeat (unique in the contract, or a standard attribute that
    :attr:`~orchestration.standards.StandardAttribute.repeats_rarely`) are stored with
    zstd rather than DuckDB's dictionary compression, which is slow to analyse for them.
    """
    cols = []
    for c in contract.columns:
        attribute = STANDARD_ATTRIBUTES.get(c.standard_attribute)
        rare = c.unique or (attribute is not None and attribute.repeats_rarely)
        compression = " using compression zstd" if rare else ""
        cols.append(f"{quote_identifier(c.name)} varchar{compression}")
    cols += [f"{name} {kind}" for name, kind in LINEAGE_COLUMNS]
    return (
        f"create table if not exists raw.{quote_identifier(contract.raw_table)} ({', '.join(cols)})"
    )


def quarantine_table_ddl(contract: Contract) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a contract's quarantine table.

    One row per rule a row broke: lineage, the column, the rule, a message, the value and the
    row's raw text (the delivered line, or the row's values as JSON).
    """
    cols = ", ".join(f"{name} {kind}" for name, kind in QUARANTINE_COLUMNS)
    return f"create table if not exists quarantine.{quote_identifier(contract.raw_table)} ({cols})"


@dataclass(frozen=True)
class Batch:
    contract: Contract
    rel: str
    sha: str
    run_id: str
    loaded_at: datetime

    def lineage(self, ordinal: str) -> list[str]:
        return [
            f"{quote_literal(self.rel)} as _source_file",
            f"{quote_literal(self.sha)} as _file_sha256",
            f"{ordinal} as _row_number",
            f"{quote_literal(self.run_id)} as _batch_id",
            f"{quote_literal(self.loaded_at.isoformat(sep=' '))}::timestamp as _loaded_at",
        ]

    @property
    def raw(self) -> str:
        return f"raw.{quote_identifier(self.contract.raw_table)}"

    @property
    def quarantine(self) -> str:
        return f"quarantine.{quote_identifier(self.contract.raw_table)}"

    @property
    def where(self) -> str:
        return (
            f"_source_file = {quote_literal(self.rel)} and _batch_id = {quote_literal(self.run_id)}"
        )


# Temporary tables and Arrow registrations of the file being loaded on this thread.
_thread = threading.local()


def temporaries() -> list[str]:
    if not hasattr(_thread, "temporaries"):
        _thread.temporaries = []
    return _thread.temporaries


def temp_name(kind: str) -> str:
    name = f"_cg_{kind}_{next(_counter)}"
    temporaries().append(name)
    return name


def drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    names = temporaries()
    while names:
        name = names.pop()
        if name.startswith("_cg_arrow_"):
            with contextlib.suppress(duckdb.Error, KeyError):
                con.unregister(name)
        else:
            con.execute(f"drop table if exists temp.{name}")


@contextlib.contextmanager
def insertion_order(con: duckdb.DuckDBPyConnection, preserve: bool):
    """Sets DuckDB's ``preserve_insertion_order`` for this connection only (session scope,
    so loads on other connections are unaffected), restoring it afterwards."""
    before = con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute(f"set session preserve_insertion_order = {str(bool(preserve)).lower()}")
    try:
        yield
    finally:
        con.execute(f"set session preserve_insertion_order = {str(bool(before)).lower()}")


def int64_array(values: np.ndarray):
    """An Arrow int64 array over a NumPy int64 array's buffer (no copy).

    ``pa.array(ndarray)`` would do, but its first call costs a one-off 0.2 s import.
    """
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])
