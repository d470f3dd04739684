"""The warehouse tables a load writes: raw and quarantine DDL, one file's batch of rows, and
the temporary tables and Arrow registrations of the file being loaded."""

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

_counter = itertools.count()


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Creates the raw, quarantine and governance schemas, the ingestion log and the tables."""
    for schema in ("raw", "quarantine", "governance"):
        con.execute(f"create schema if not exists {schema}")
    governance.ensure(con, "ingestion_log")
    governance.add_missing_columns(con, "ingestion_log")
    for contract in contracts:
        con.execute(raw_table_ddl(contract))
        con.execute(quarantine_table_ddl(contract))


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
