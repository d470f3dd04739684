"""The ingestion log (``governance.ingestion_log``): what happened to each landing file.

A row is written for each file loaded, ``rejected`` or ``duplicate``; a file already logged
under the same path with the same bytes is not dealt with again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.contracts import Contract

# Reasons whose file is tried again on the next run even if its bytes are unchanged.
RETRYABLE_REASONS = frozenset({"changed_while_reading", "internal"})


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landing file.

    Attributes:
        file_path: Path relative to the landing zone.
        file_sha256: SHA-256 of the file's bytes.
        status: ``loaded``, ``rejected`` or ``duplicate``.
        rows_in: Data rows in the file, counted independently of the parser.
        rows_loaded: Rows appended to the raw table.
        rows_quarantined: Rows written to the quarantine table.
        message: Why a file was rejected or is a duplicate; empty otherwise.
        reason: Code of the rule a rejected file broke (``schema_drift``, ``encoding``, ...).
        values_nulled: Per ``onInvalid: null`` column, the values staging nulls; None when
            the contract has no such column.
    """

    file_path: str
    file_sha256: str
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    message: str
    reason: str = ""
    values_nulled: dict[str, int] | None = None


def link_sha(path: Path) -> str:
    try:
        target = str(path.readlink()) if path.is_symlink() else str(path)
    except OSError:
        target = str(path)
    return hashlib.sha256(("path:" + target).encode("utf-8", "replace")).hexdigest()


def seen(con: duckdb.DuckDBPyConnection, rel: str, sha: str) -> bool:
    row = con.execute(
        "select count(*) from governance.ingestion_log where file_path = ? and file_sha256 = ? "
        "and coalesce(reason, '') not in (select unnest(?::varchar[]))",
        [rel, sha, sorted(RETRYABLE_REASONS)],
    ).fetchall()
    return bool(row[0][0])


def known_deliveries(
    con: duckdb.DuckDBPyConnection, files: list[tuple[str, str, str, str]]
) -> set[str]:
    """The landing files whose bytes the ingestion log has already dealt with.

    A file is known when its path was logged with the same bytes (loaded, rejected for a
    lasting reason, or a duplicate), or the same bytes were loaded for its dataset from any
    path: ingesting it again would change nothing.

    Args:
        con: A warehouse connection (read-only is enough).
        files: ``(department, dataset, landing path, SHA-256)`` of each file.

    Returns:
        The landing paths of the known files.
    """
    if not files:
        return set()
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'ingestion_log'"
    ).fetchone()[0]
    if not exists:
        return set()
    rows = con.execute(
        "select f.file_path from (select unnest(?::varchar[]) as department, "
        "unnest(?::varchar[]) as dataset, unnest(?::varchar[]) as file_path, "
        "unnest(?::varchar[]) as file_sha256) as f "
        "where exists (select 1 from governance.ingestion_log as l "
        "where l.file_sha256 = f.file_sha256 and ((l.file_path = f.file_path "
        "and coalesce(l.reason, '') not in (select unnest(?::varchar[]))) "
        "or (l.status = 'loaded' and l.department = f.department and l.dataset = f.dataset)))",
        [
            [f[0] for f in files],
            [f[1] for f in files],
            [f[2] for f in files],
            [f[3] for f in files],
            sorted(RETRYABLE_REASONS),
        ],
    ).fetchall()
    return {r[0] for r in rows}


def path_logged(con: duckdb.DuckDBPyConnection, rel: str) -> bool:
    # fetchall: a result left unfinished would block registering an Arrow table next.
    rows = con.execute(
        "select count(*) from governance.ingestion_log where file_path = ?", [rel]
    ).fetchall()
    return bool(rows[0][0])


def log_duplicate(con, contract: Contract, rel, sha, run_id, loaded_at) -> FileOutcome | None:
    """Logs and returns a ``duplicate`` outcome when the same bytes were loaded already."""
    already = con.execute(
        "select file_path from governance.ingestion_log where file_sha256 = ? and department = ? "
        "and dataset = ? and status = 'loaded' limit 1",
        [sha, contract.department, contract.dataset],
    ).fetchone()
    if not already:
        return None
    outcome = FileOutcome(
        rel, sha, "duplicate", 0, 0, 0, f"same bytes already loaded from {already[0]}", "duplicate"
    )
    write_row(con, contract, outcome, run_id, loaded_at)
    return outcome


def log_rejected(con, contract, rel, sha, run_id, loaded_at, reason, message) -> FileOutcome:
    """Logs and returns a ``rejected`` outcome."""
    outcome = FileOutcome(rel, sha, "rejected", 0, 0, 0, message, reason)
    write_row(con, contract, outcome, run_id, loaded_at)
    return outcome


def write_row(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    outcome: FileOutcome,
    run_id: str,
    loaded_at: datetime,
) -> None:
    con.execute(
        "insert into governance.ingestion_log (file_path, file_sha256, department, dataset, "
        "status, rows_in, rows_loaded, rows_quarantined, run_id, loaded_at, message, reason, "
        "values_nulled) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            outcome.reason or None,
            None if outcome.values_nulled is None else json.dumps(outcome.values_nulled),
        ],
    )
