"""Loading landing files into the raw layer under their contract, exactly once.

Every file in ``landing/<department>/<dataset>/`` goes through three gates:

1. **Landing rules** (:mod:`orchestration.ingest.landing`): safe path and name, finished,
   bounded size, UTF-8 without BOM; rows counted independently of the parsers.
2. **File rules**: the format the contract names, readable (not corrupt or truncated), the
   contract's delimiter, a header that matches the contract (schema drift: missing required
   column, renamed column, extra columns per the contract's ``schemaDriftPolicy``), at least
   one data row.
3. **Row rules** (:mod:`orchestration.ingest.row_rules`): rows that break the contract go to
   ``quarantine.<department>__<dataset>`` with file, row number, raw text, column, rule and
   message; the others are appended to ``raw.<department>__<dataset>`` as delivered text.

A file that breaks a landing or file rule is logged ``rejected`` with a message and the run
goes on with the next file. A file whose bytes were already loaded (any name) is logged
``duplicate``. The rows, the quarantined rows and the file's ``governance.ingestion_log`` row
commit in one transaction, and the load is refused unless
``rows_in = rows_loaded + rows_quarantined``. A file already logged under the same path with
the same bytes is skipped without a new log row, so re-running is a no-op.

The file rules are in :mod:`~orchestration.ingest.file_rules`, the format readers in
:mod:`~orchestration.ingest.readers`, the tables in :mod:`~orchestration.ingest.tables` and
the ingestion log's rows in :mod:`~orchestration.ingest.log`.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

from orchestration.contracts import Contract
from orchestration.ingest import landing as lz
from orchestration.ingest import row_rules
from orchestration.ingest.file_rules import FileRejected
from orchestration.ingest.log import (
    FileOutcome,
    link_sha,
    log_duplicate,
    log_rejected,
    path_logged,
    seen,
    write_row,
)
from orchestration.ingest.readers import StagedFile, stage
from orchestration.ingest.tables import (
    Batch,
    drop_temporaries,
    ensure_warehouse,
    insertion_order,
    int64_array,
    temp_name,
)
from orchestration.sql import quote_identifier, quote_literal
from orchestration.state import DigestCache

log = logging.getLogger(__name__)


def landing_files(contract: Contract, landing_dir: Path) -> list[Path]:
    """Entries delivered for a contract's dataset (files and links), sorted by name.

    Hidden files (``.name``) and Excel lock files (``~$name``) are never deliveries.
    """
    folder = landing_dir / contract.department / contract.dataset
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if (p.is_symlink() or p.is_file()) and not p.name.startswith((".", "~$"))
    )


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    path: Path,
    landing_dir: Path,
    run_id: str,
    hashes: DigestCache | None = None,
) -> FileOutcome | None:
    """Loads one landing file into its raw and quarantine tables and logs it.

    Args:
        con: An open connection to the warehouse.
        contract: The dataset's contract.
        path: The landing file.
        landing_dir: Root of the landing zone (file paths are logged relative to it).
        run_id: The Dagster run id (also the batch id of the rows loaded).
        hashes: The landing files' remembered digests (:func:`~orchestration.ingest.landing.
            landing_hashes`): a file seen before is not read again unless it changed, and
            the digest of a file read now is remembered. None hashes every file.

    Returns:
        What happened to the file, or None when the same path with the same bytes was
        already dealt with by an earlier run.
    """
    rel = str(path.relative_to(landing_dir))
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        lz.check_path(path, landing_dir)
    except lz.FileProblem as exc:
        sha = link_sha(path)
        if seen(con, rel, sha):
            return None
        return _reject(con, contract, rel, sha, run_id, loaded_at, exc.reason, str(exc))
    before, hashed_at = os.stat(path), time.time_ns()
    stamp = lz.FileStamp.of(path)
    # A path seen before is hashed first: its bytes may have been dealt with already. A new
    # path is hashed alongside reading it (another thread), before anything is loaded.
    sha = _sha256(path, hashes) if path_logged(con, rel) else None
    if sha is not None:
        if seen(con, rel, sha):
            return None
        duplicate = log_duplicate(con, contract, rel, sha, run_id, loaded_at)
        if duplicate is not None:
            return duplicate
    try:
        if lz.is_in_progress(path):
            raise lz.FileProblem(
                "in_progress",
                "is still being written (a .part/.tmp name); it is loaded once renamed",
            )
        if path.suffix.lower() not in contract.extensions:
            raise FileRejected(
                f"expected a {contract.format} file ({', '.join(contract.extensions)}), "
                f"got {path.suffix or 'no extension'}",
                "format",
            )
        lz.check_size(path, stamp.size)
        log.info("loading %s", rel)
        try:
            # Read into temporary tables before the transaction begins: only there does a
            # temporary table number its rows 0..n-1 in file order.
            staged = stage(con, contract, path, hashing=sha is None)
            if sha is None:
                sha = staged.sha256
                if hashes is not None:
                    hashes.remember(path, before, sha, hashed_at)
                duplicate = log_duplicate(con, contract, rel, sha, run_id, loaded_at)
                if duplicate is not None:
                    return duplicate
            batch = Batch(contract, rel, sha, run_id, loaded_at)
            con.execute("begin transaction")
            try:
                rows_in, loaded, quarantined = _load(con, batch, staged)
                if rows_in != loaded + quarantined:
                    raise FileRejected(
                        f"counted {rows_in:,} rows in the file but the reader found "
                        f"{loaded + quarantined:,}; check quoting and line endings",
                        "row_count_mismatch",
                    )
                if lz.FileStamp.of(path) != stamp:
                    raise lz.FileProblem(
                        "changed_while_reading",
                        "changed while it was being loaded (still being written?); "
                        "retried next run",
                    )
                message = (
                    f"{quarantined:,} row(s) quarantined in quarantine.{contract.raw_table}"
                    if quarantined
                    else ""
                )
                outcome = FileOutcome(
                    rel,
                    sha,
                    "loaded",
                    rows_in,
                    loaded,
                    quarantined,
                    message,
                    values_nulled=values_nulled(con, batch),
                )
                write_row(con, contract, outcome, run_id, loaded_at)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            drop_temporaries(con)
    except (FileRejected, lz.FileProblem, duckdb.Error) as exc:
        reason, message = (
            ("unreadable", _duckdb_message(exc))
            if isinstance(exc, duckdb.Error)
            else (exc.reason, str(exc))
        )
        # A file rejected before it was read has not been hashed yet.
        sha = sha or _sha256(path, hashes)
        return _reject(con, contract, rel, sha, run_id, loaded_at, reason, message)
    return outcome


def ingest_dataset(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    landing_dir: Path,
    run_id: str,
    hashes: DigestCache | None = None,
) -> list[FileOutcome]:
    """Loads every new landing file of one dataset; returns one outcome per file dealt with.

    ``hashes``: the landing files' remembered digests (see :func:`ingest_file`); the caller
    saves them.
    """
    ensure_warehouse(con, [contract])
    return _ingest_files(con, contract, landing_dir, run_id, hashes)


def _ingest_files(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    landing_dir: Path,
    run_id: str,
    hashes: DigestCache | None = None,
) -> list[FileOutcome]:
    outcomes = []
    for path in landing_files(contract, landing_dir):
        outcome = ingest_file(con, contract, path, landing_dir, run_id, hashes)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


# --- internals -------------------------------------------------------------------------


def _sha256(path: Path, hashes: DigestCache | None) -> str:
    return lz.file_sha256(path) if hashes is None else hashes.sha256(path)


def _reject(con, contract, rel, sha, run_id, loaded_at, reason, message) -> FileOutcome:
    log.warning("rejected %s (%s): %s", rel, reason, message)
    return log_rejected(con, contract, rel, sha, run_id, loaded_at, reason, message)


def _duckdb_message(exc: duckdb.Error) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"the file cannot be read: {first}"


def _load(con, batch: Batch, staged: StagedFile) -> tuple[int, int, int]:
    """Appends the staged rows that break no rule to the raw table and quarantines the rest.

    Every row carries its own number (``_ord``), so the inserts need not keep the file's order
    and DuckDB writes them on all its threads.
    """
    with insertion_order(con, preserve=False):
        loaded, rules = _insert_rows(con, batch, staged)
        if loaded + staged.set_aside < staged.rows_in:
            _quarantine_broken(con, batch, staged, rules)
    if staged.record_set_aside is not None:
        staged.record_set_aside(con, batch)
    return staged.rows_in, loaded, _quarantined_rows(con, batch)


def values_nulled(con, batch: Batch) -> dict[str, int] | None:
    """Per ``onInvalid: null`` column, the values of the batch's loaded rows that staging
    nulls; None when the contract has no such column."""
    nulled = row_rules.nulled_columns(row_rules.contract_rules(batch.contract))
    if not nulled:
        return None
    counts = ", ".join(f"count(*) filter (where {sql})" for sql in nulled.values())
    row = con.execute(f"select {counts} from {batch.raw} where {batch.where}").fetchone()
    return dict(zip(nulled, (int(n) for n in row), strict=True))


def _insert_rows(con, batch: Batch, staged: StagedFile) -> tuple[int, list]:
    """Inserts the staged rows that break no row rule into the raw table.

    Returns the rows loaded and the contract's row rules.
    """
    contract = batch.contract
    rules = row_rules.quarantining(row_rules.contract_rules(contract))
    typed = ", ".join(f"{e} as {quote_identifier(n)}" for n, e in staged.exprs.items())
    checked = f"(select _ord, {typed} from {staged.rows()})"
    cols = ", ".join(quote_identifier(c.name) for c in contract.columns)
    loaded = con.execute(
        f"insert into {batch.raw} select {cols}, {', '.join(batch.lineage('_ord'))} "
        f"from {checked} where not ({row_rules.any_broken(rules)})"
    ).fetchone()[0]
    return loaded, rules


def _quarantine_broken(con, batch: Batch, staged: StagedFile, rules) -> int:
    """Writes the rule violations of the staged rows that were not loaded.

    The rows left out are found by row number: the numbers just appended to the raw table are
    marked in a bitmap and the unmarked ones picked from the staged rows (a semi-join on a
    small table), so the row rules run again only on those few rows.
    """
    contract = batch.contract
    loaded = con.execute(f"select _row_number from {batch.raw} where {batch.where}").fetchnumpy()[
        "_row_number"
    ]
    last = con.execute(f"select max(_ord) from {staged.relation}").fetchall()[0][0] or 0
    present = np.zeros(last + 1, dtype=bool)
    present[np.asarray(loaded, dtype=np.int64)] = True
    left_out = np.flatnonzero(~present[1:]).astype(np.int64) + 1
    if not left_out.size:
        return 0
    import pyarrow as pa

    ords = temp_name("arrow_ords")
    con.register(ords, pa.table({"k": int64_array(left_out)}))
    typed = ", ".join(f"{e} as {quote_identifier(n)}" for n, e in staged.exprs.items())
    record = ", ".join(
        f"{quote_literal(c.physical_name)}: {quote_identifier(c.name)}" for c in contract.columns
    )
    left = f"(select r.* from {staged.relation} r semi join {ords} l on r._ord = l.k)"
    # No ``where`` on the rules: a row that breaks none yields an empty list, so no violation.
    return con.execute(
        f"insert into {batch.quarantine} select {', '.join(batch.lineage('_ord'))}, "
        "v.column_name, v.rule, v.message, v.raw_value, raw_text from ("
        f"select _ord, to_json({{{record}}}) as raw_text, "
        f"unnest({row_rules.violations_list(rules)}) as v "
        f"from (select _ord, {typed} from {staged.rows(left)}))"
    ).fetchone()[0]


def _quarantined_rows(con, batch: Batch) -> int:
    return con.execute(
        f"select count(distinct _row_number) from {batch.quarantine} where {batch.where}"
    ).fetchone()[0]
