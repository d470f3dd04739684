"""Loading landing files into the raw layer, one contract at a time.

Every file in ``landing/<department>/<dataset>/`` is read with DuckDB's own readers (CSV,
newline-delimited JSON, Parquet) or, for Excel, fastexcel into Arrow, and appended to
``raw.<department>__<dataset>`` with its values as delivered (text) plus lineage columns.
Each file gets one row in ``governance.ingestion_log``; the rows and the log entry commit in
one transaction, so a file is either loaded and logged or neither. A file that cannot be read
is logged as ``rejected`` with a message and the run goes on with the next file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.contracts import Contract
from orchestration.lib.sql import quote_identifier, quote_literal

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_batch_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)

INGESTION_LOG_DDL = """
create table if not exists governance.ingestion_log (
    file_path varchar not null,
    file_sha256 varchar not null,
    department varchar not null,
    dataset varchar not null,
    status varchar not null,
    rows_in bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    run_id varchar not null,
    loaded_at timestamp not null,
    message varchar
)
"""


class FileRejected(Exception):
    """A delivered file cannot be loaded; the message says why in a department's terms."""


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landing file."""

    file_path: str
    file_sha256: str
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    message: str


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Creates the raw and governance schemas, the ingestion log and every raw table."""
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists governance")
    con.execute(INGESTION_LOG_DDL)
    for contract in contracts:
        con.execute(raw_table_ddl(contract))


def raw_table_ddl(contract: Contract) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a contract's raw table: text columns plus lineage."""
    cols = [f"{quote_identifier(c.name)} varchar" for c in contract.columns]
    cols += [f"{name} {kind}" for name, kind in LINEAGE_COLUMNS]
    return (
        f"create table if not exists raw.{quote_identifier(contract.raw_table)} ({', '.join(cols)})"
    )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_files(contract: Contract, landing_dir: Path) -> list[Path]:
    """Files delivered for a contract's dataset, oldest name first; hidden files are skipped."""
    folder = landing_dir / contract.department / contract.dataset
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _relation_sql(contract: Contract, path: Path) -> tuple[str, list[str], object | None]:
    """SQL reading ``path`` as text columns named by physical name, and the columns present.

    Returns the FROM clause, the delivered column names, and an Arrow table to register
    (Excel only).
    """
    p = quote_literal(str(path))
    if contract.format == "csv":
        source = (
            f"read_csv({p}, header = true, all_varchar = true, delim = "
            f"{quote_literal(contract.delimiter)}, quote = '\"', escape = '\"', "
            "strict_mode = true, null_padding = false, parallel = true)"
        )
        return source, [], None
    if contract.format == "parquet":
        return f"read_parquet({p})", [], None
    if contract.format == "json":
        return f"read_ndjson_objects({p})", [], None
    if contract.format == "xlsx":
        import fastexcel

        try:
            reader = fastexcel.read_excel(str(path))
            sheet = reader.load_sheet(0, dtypes="string")
            table = sheet.to_arrow()
        except Exception as exc:
            raise FileRejected(f"the workbook cannot be read: {exc}") from exc
        return "xlsx_sheet", list(table.column_names), table
    raise FileRejected(f"format {contract.format!r} is not supported")


def _select_list(contract: Contract, delivered: list[str]) -> list[str]:
    """Expressions turning delivered columns into the contract's text columns."""
    present = set(delivered)
    exprs = []
    for c in contract.columns:
        if contract.format == "json":
            path = quote_literal("$." + '"' + c.physical_name.replace('"', '\\"') + '"')
            expr = f"json_extract_string(json, {path})"
        elif c.physical_name in present:
            expr = f"cast({quote_identifier(c.physical_name)} as varchar)"
            if contract.format == "xlsx":
                # Excel date cells come through as 'yyyy-mm-dd 00:00:00'; keep the date.
                expr = f"regexp_replace({expr}, '^(\\d{{4}}-\\d{{2}}-\\d{{2}}) 00:00:00$', '\\1')"
        else:
            expr = "cast(null as varchar)"
        exprs.append(f"{expr} as {quote_identifier(c.name)}")
    return exprs


def _delivered_columns(
    con: duckdb.DuckDBPyConnection, contract: Contract, source: str
) -> list[str]:
    if contract.format == "json":
        rows = con.execute(
            f"select distinct unnest(json_keys(json)) from {source} limit 1000"
        ).fetchall()
        return [r[0] for r in rows]
    return [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]


def _check_columns(contract: Contract, delivered: list[str]) -> None:
    missing = [
        c.physical_name
        for c in contract.columns
        if c.required and c.physical_name not in set(delivered)
    ]
    if missing:
        raise FileRejected(
            "required column(s) missing: "
            + ", ".join(repr(m) for m in missing)
            + f"; the file has {', '.join(repr(d) for d in delivered) or 'no columns'}"
        )
    expected = {c.physical_name for c in contract.columns}
    extra = [d for d in delivered if d not in expected]
    if extra and contract.drift_policy == "reject":
        raise FileRejected(
            "unexpected column(s) "
            + ", ".join(repr(e) for e in extra)
            + " (the contract's schemaDriftPolicy is 'reject')"
        )


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    path: Path,
    landing_dir: Path,
    run_id: str,
) -> FileOutcome:
    """Loads one landing file into its raw table and records it in the ingestion log.

    A file whose bytes were already loaded for this dataset is recorded as ``duplicate``; a
    file that cannot be read or breaks the contract's schema is recorded as ``rejected``.

    Args:
        con: An open connection to the warehouse.
        contract: The dataset's contract.
        path: The landing file.
        landing_dir: Root of the landing zone (file paths are logged relative to it).
        run_id: The Dagster run id (also the batch id of the rows loaded).

    Returns:
        What happened to the file.
    """
    rel = str(path.relative_to(landing_dir))
    sha = file_sha256(path)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    already = con.execute(
        "select file_path from governance.ingestion_log where file_sha256 = ? and department = ? "
        "and dataset = ? and status = 'loaded' limit 1",
        [sha, contract.department, contract.dataset],
    ).fetchone()
    if already:
        outcome = FileOutcome(
            rel, sha, "duplicate", 0, 0, 0, f"same bytes already loaded from {already[0]}"
        )
        _log(con, contract, outcome, run_id, loaded_at)
        return outcome

    table = f"raw.{quote_identifier(contract.raw_table)}"
    try:
        if path.suffix.lower() not in contract.extensions:
            raise FileRejected(
                f"expected a {contract.format} file ({', '.join(contract.extensions)}), "
                f"got {path.suffix or 'no extension'}"
            )
        source, delivered, arrow_table = _relation_sql(contract, path)
        if arrow_table is not None:
            con.register("xlsx_sheet", arrow_table)
        try:
            if not delivered:
                delivered = _delivered_columns(con, contract, source)
            _check_columns(contract, delivered)
            exprs = _select_list(contract, delivered)
            lineage = [
                f"{quote_literal(rel)} as _source_file",
                f"{quote_literal(sha)} as _file_sha256",
                "row_number() over () as _row_number",
                f"{quote_literal(run_id)} as _batch_id",
                f"{quote_literal(loaded_at.isoformat(sep=' '))}::timestamp as _loaded_at",
            ]
            con.execute("begin transaction")
            try:
                inserted = con.execute(
                    f"insert into {table} select {', '.join(exprs + lineage)} from {source}"
                ).fetchone()[0]
                outcome = FileOutcome(rel, sha, "loaded", inserted, inserted, 0, "")
                if inserted == 0:
                    raise FileRejected("the file holds no data rows")
                _log(con, contract, outcome, run_id, loaded_at)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            if arrow_table is not None:
                con.unregister("xlsx_sheet")
    except (FileRejected, duckdb.Error) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        outcome = FileOutcome(rel, sha, "rejected", 0, 0, 0, message)
        log.warning("rejected %s: %s", rel, message)
        _log(con, contract, outcome, run_id, loaded_at)
    return outcome


def _log(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    outcome: FileOutcome,
    run_id: str,
    loaded_at: datetime,
) -> None:
    con.execute(
        "insert into governance.ingestion_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            outcome.file_path,
            outcome.file_sha256,
            contract.department,
            contract.dataset,
            outcome.status,
            outcome.rows_in,
            outcome.rows_loaded,
            outcome.rows_quarantined,
            run_id,
            loaded_at,
            outcome.message or None,
        ],
    )


def ingest_dataset(
    con: duckdb.DuckDBPyConnection, contract: Contract, landing_dir: Path, run_id: str
) -> list[FileOutcome]:
    """Loads every landing file of one dataset; returns one outcome per file."""
    ensure_warehouse(con, [contract])
    return [
        ingest_file(con, contract, p, landing_dir, run_id)
        for p in landing_files(contract, landing_dir)
    ]
