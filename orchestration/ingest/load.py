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
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import hashlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np

from orchestration import governance
from orchestration.contracts import Contract
from orchestration.ingest import landing as lz
from orchestration.ingest import row_rules
from orchestration.sql import quote_identifier, quote_literal
from orchestration.standards import STANDARD_ATTRIBUTES

log = logging.getLogger(__name__)

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


# Reasons whose file is tried again on the next run even if its bytes are unchanged.
RETRYABLE_REASONS = frozenset({"changed_while_reading", "internal"})
OTHER_DELIMITERS = (";", "\t", "|", ",")
T = TypeVar("T")
U = TypeVar("U")
# The thread for the landing checks that run alongside DuckDB's readers.
_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing-checks")
_counter = itertools.count()


class FileRejected(Exception):
    """A delivered file cannot be loaded; the message says why in a department's terms."""

    def __init__(self, message: str, reason: str = "unreadable"):
        self.reason = reason
        super().__init__(message)


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
    """

    file_path: str
    file_sha256: str
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    message: str
    reason: str = ""


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Creates the raw, quarantine and governance schemas, the ingestion log and the tables."""
    for schema in ("raw", "quarantine", "governance"):
        con.execute(f"create schema if not exists {schema}")
    governance.ensure(con, "ingestion_log")
    con.execute("alter table governance.ingestion_log add column if not exists reason varchar")
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
) -> FileOutcome | None:
    """Loads one landing file into its raw and quarantine tables and logs it.

    Args:
        con: An open connection to the warehouse.
        contract: The dataset's contract.
        path: The landing file.
        landing_dir: Root of the landing zone (file paths are logged relative to it).
        run_id: The Dagster run id (also the batch id of the rows loaded).

    Returns:
        What happened to the file, or None when the same path with the same bytes was
        already dealt with by an earlier run.
    """
    rel = str(path.relative_to(landing_dir))
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        lz.check_path(path, landing_dir)
    except lz.FileProblem as exc:
        sha = _link_sha(path)
        if _seen(con, rel, sha):
            return None
        return _reject(con, contract, rel, sha, run_id, loaded_at, exc.reason, str(exc))
    stamp = lz.FileStamp.of(path)
    # A path seen before is hashed first: its bytes may have been dealt with already. A new
    # path is hashed alongside reading it (another thread), before anything is loaded.
    sha = lz.file_sha256(path) if _path_logged(con, rel) else None
    if sha is not None:
        if _seen(con, rel, sha):
            return None
        duplicate = _duplicate(con, contract, rel, sha, run_id, loaded_at)
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
            staged = _stage(con, contract, path, hashing=sha is None)
            if sha is None:
                sha = staged.sha256
                duplicate = _duplicate(con, contract, rel, sha, run_id, loaded_at)
                if duplicate is not None:
                    return duplicate
            batch = _Batch(contract, rel, sha, run_id, loaded_at)
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
                outcome = FileOutcome(rel, sha, "loaded", rows_in, loaded, quarantined, message)
                _log(con, contract, outcome, run_id, loaded_at)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            _drop_temporaries(con)
    except (FileRejected, lz.FileProblem, duckdb.Error) as exc:
        reason, message = (
            ("unreadable", _duckdb_message(exc))
            if isinstance(exc, duckdb.Error)
            else (exc.reason, str(exc))
        )
        # A file rejected before it was read has not been hashed yet.
        sha = sha or lz.file_sha256(path)
        return _reject(con, contract, rel, sha, run_id, loaded_at, reason, message)
    return outcome


def ingest_dataset(
    con: duckdb.DuckDBPyConnection, contract: Contract, landing_dir: Path, run_id: str
) -> list[FileOutcome]:
    """Loads every new landing file of one dataset; returns one outcome per file dealt with."""
    ensure_warehouse(con, [contract])
    return _ingest_files(con, contract, landing_dir, run_id)


def _ingest_files(
    con: duckdb.DuckDBPyConnection, contract: Contract, landing_dir: Path, run_id: str
) -> list[FileOutcome]:
    outcomes = []
    for path in landing_files(contract, landing_dir):
        outcome = ingest_file(con, contract, path, landing_dir, run_id)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


# --- internals -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
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


def _link_sha(path: Path) -> str:
    try:
        target = str(path.readlink()) if path.is_symlink() else str(path)
    except OSError:
        target = str(path)
    return hashlib.sha256(("path:" + target).encode("utf-8", "replace")).hexdigest()


def _seen(con: duckdb.DuckDBPyConnection, rel: str, sha: str) -> bool:
    row = con.execute(
        "select count(*) from governance.ingestion_log where file_path = ? and file_sha256 = ? "
        "and coalesce(reason, '') not in (select unnest(?::varchar[]))",
        [rel, sha, sorted(RETRYABLE_REASONS)],
    ).fetchall()
    return bool(row[0][0])


def _path_logged(con: duckdb.DuckDBPyConnection, rel: str) -> bool:
    # fetchall: a result left unfinished would block registering an Arrow table next.
    rows = con.execute(
        "select count(*) from governance.ingestion_log where file_path = ?", [rel]
    ).fetchall()
    return bool(rows[0][0])


def _duplicate(con, contract: Contract, rel, sha, run_id, loaded_at) -> FileOutcome | None:
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
    _log(con, contract, outcome, run_id, loaded_at)
    return outcome


def _reject(con, contract, rel, sha, run_id, loaded_at, reason, message) -> FileOutcome:
    outcome = FileOutcome(rel, sha, "rejected", 0, 0, 0, message, reason)
    log.warning("rejected %s (%s): %s", rel, reason, message)
    _log(con, contract, outcome, run_id, loaded_at)
    return outcome


def _duckdb_message(exc: duckdb.Error) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"the file cannot be read: {first}"


def _log(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    outcome: FileOutcome,
    run_id: str,
    loaded_at: datetime,
) -> None:
    con.execute(
        "insert into governance.ingestion_log (file_path, file_sha256, department, dataset, "
        "status, rows_in, rows_loaded, rows_quarantined, run_id, loaded_at, message, reason) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        ],
    )


# Temporary tables and Arrow registrations of the file being loaded on this thread.
_thread = threading.local()


def _temporaries() -> list[str]:
    if not hasattr(_thread, "temporaries"):
        _thread.temporaries = []
    return _thread.temporaries


def _temp_name(kind: str) -> str:
    name = f"_cg_{kind}_{next(_counter)}"
    _temporaries().append(name)
    return name


def _drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    names = _temporaries()
    while names:
        name = names.pop()
        if name.startswith("_cg_arrow_"):
            with contextlib.suppress(duckdb.Error, KeyError):
                con.unregister(name)
        else:
            con.execute(f"drop table if exists temp.{name}")


def check_columns(contract: Contract, delivered: list[str]) -> str:
    """Checks delivered column names against the contract (schema drift).

    Returns:
        A note for the log when extra columns were accepted, else an empty string.

    Raises:
        FileRejected: Duplicate or empty names, a missing required column (named as renamed
            when a delivered column looks like it), or extra columns under policy ``reject``.
    """
    blanks = [i + 1 for i, d in enumerate(delivered) if not str(d).strip()]
    if blanks:
        raise FileRejected(f"column(s) {blanks} of the header have no name", "schema_drift")
    repeated = sorted({d for d in delivered if delivered.count(d) > 1})
    if repeated:
        raise FileRejected(f"column(s) {repeated} appear more than once", "schema_drift")
    present = set(delivered)
    expected = {c.physical_name for c in contract.columns}
    extra = [d for d in delivered if d not in expected]
    missing = [
        c.physical_name for c in contract.columns if c.required and c.physical_name not in present
    ]
    if missing:
        renamed = []
        for m in missing:
            close = difflib.get_close_matches(m.lower(), [e.lower() for e in extra], 1, 0.6)
            if close:
                original = next(e for e in extra if e.lower() == close[0])
                renamed.append(f"{m!r} (renamed to {original!r}?)")
            else:
                renamed.append(repr(m))
        raise FileRejected(
            "required column(s) missing: "
            + ", ".join(renamed)
            + f"; the file has {', '.join(repr(d) for d in delivered) or 'no columns'}",
            "schema_drift",
        )
    if extra and contract.drift_policy == "reject":
        raise FileRejected(
            "unexpected column(s) "
            + ", ".join(repr(e) for e in extra)
            + " (the contract's schemaDriftPolicy is 'reject'; agree a new contract version)",
            "schema_drift",
        )
    return ""


@dataclass(frozen=True)
class _Staged:
    """A delivered file, read and checked, ready to load.

    Attributes:
        rows_in: Data rows, counted independently of the reader.
        relation: SQL yielding ``_ord`` (the row's number in the file) and the delivered values.
        exprs: Text expression over ``relation`` (and ``project``) for each contract column.
        set_aside: Rows the reader could not parse at all (malformed CSV rows).
        record_set_aside: Writes rows the reader set aside to the quarantine table (inside
            the transaction, after the inserts), or None.
        sha256: The file's SHA-256 when it was hashed while being read.
        project: Values computed once per row of ``relation`` for ``exprs`` to use (the
            parsed NDJSON record), kept apart so that rows can be picked before they are
            computed.
    """

    rows_in: int
    relation: str
    exprs: dict[str, str]
    set_aside: int = 0
    record_set_aside: Callable[[duckdb.DuckDBPyConnection, _Batch], None] | None = None
    sha256: str | None = None
    project: str = ""

    def rows(self, relation: str | None = None) -> str:
        """``relation`` (by default the file's rows) with the ``project`` values added."""
        relation = relation or self.relation
        return f"(select *, {self.project} from {relation})" if self.project else relation


@contextlib.contextmanager
def _insertion_order(con: duckdb.DuckDBPyConnection, preserve: bool):
    """Sets DuckDB's ``preserve_insertion_order`` for this connection only (session scope,
    so loads on other connections are unaffected), restoring it afterwards."""
    before = con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute(f"set session preserve_insertion_order = {str(bool(preserve)).lower()}")
    try:
        yield
    finally:
        con.execute(f"set session preserve_insertion_order = {str(bool(before)).lower()}")


def _stage(con, contract: Contract, path: Path, hashing: bool) -> _Staged:
    """Reads and checks a file into temporary relations; hashes it too when ``hashing``."""
    stager = {
        "csv": _stage_csv,
        "json": _stage_ndjson,
        "parquet": _stage_parquet,
        "xlsx": _stage_xlsx,
    }
    staged = stager[contract.format](con, contract, path, hashing)
    if hashing and staged.sha256 is None:
        staged = replace(staged, sha256=lz.file_sha256(path))
    return staged


def _load(con, batch: _Batch, staged: _Staged) -> tuple[int, int, int]:
    """Appends the staged rows that break no rule to the raw table and quarantines the rest.

    Every row carries its own number (``_ord``), so the inserts need not keep the file's order
    and DuckDB writes them on all its threads.
    """
    with _insertion_order(con, preserve=False):
        loaded, rules = _insert_rows(con, batch, staged)
        if loaded + staged.set_aside < staged.rows_in:
            _quarantine_broken(con, batch, staged, rules)
    if staged.record_set_aside is not None:
        staged.record_set_aside(con, batch)
    return staged.rows_in, loaded, _quarantined_rows(con, batch)


def _insert_rows(con, batch: _Batch, staged: _Staged) -> tuple[int, list]:
    """Inserts the staged rows that break no row rule into the raw table.

    Returns the rows loaded and the contract's row rules.
    """
    contract = batch.contract
    rules = row_rules.contract_rules(contract)
    typed = ", ".join(f"{e} as {quote_identifier(n)}" for n, e in staged.exprs.items())
    checked = f"(select _ord, {typed} from {staged.rows()})"
    cols = ", ".join(quote_identifier(c.name) for c in contract.columns)
    loaded = con.execute(
        f"insert into {batch.raw} select {cols}, {', '.join(batch.lineage('_ord'))} "
        f"from {checked} where not ({row_rules.any_broken(rules)})"
    ).fetchone()[0]
    return loaded, rules


def _quarantine_broken(con, batch: _Batch, staged: _Staged, rules) -> int:
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

    ords = _temp_name("arrow_ords")
    con.register(ords, pa.table({"k": _int64_array(left_out)}))
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


def _int64_array(values: np.ndarray):
    """An Arrow int64 array over a NumPy int64 array's buffer (no copy).

    ``pa.array(ndarray)`` would do, but its first call costs a one-off 0.2 s import.
    """
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _quarantined_rows(con, batch: _Batch) -> int:
    return con.execute(
        f"select count(distinct _row_number) from {batch.quarantine} where {batch.where}"
    ).fetchone()[0]


def _header(contract: Contract, header: bytes) -> list[str]:
    text = header.decode("utf-8")
    names = next(csv.reader([text], delimiter=contract.delimiter, quotechar='"'), [])
    expected = {c.physical_name for c in contract.columns}
    if len(names) <= 1 and len(contract.columns) > 1:
        for other in OTHER_DELIMITERS:
            if other == contract.delimiter:
                continue
            split = next(csv.reader([text], delimiter=other, quotechar='"'), [])
            if len(split) > 1 and expected & set(split):
                shown = {"\t": "tab"}.get(other, repr(other))
                raise FileRejected(
                    f"the file is delimited by {shown} but the contract says "
                    f"{contract.delimiter!r}",
                    "delimiter",
                )
    return names


def _column_exprs(
    contract: Contract, delivered: list[str], transform=None, names: list[str] | None = None
) -> dict[str, str]:
    """Text expression for each contract column over the delivered columns.

    ``names`` are the SQL names of the delivered columns when the reader renamed them (by
    position); by default the delivered names themselves.
    """
    sql_names = dict(zip(delivered, names or delivered, strict=True))
    exprs = {}
    for c in contract.columns:
        if c.physical_name in sql_names:
            expr = f"cast({quote_identifier(sql_names[c.physical_name])} as varchar)"
            exprs[c.name] = transform(expr) if transform else expr
        else:
            exprs[c.name] = "cast(null as varchar)"
    return exprs


def _positional(delivered: list[str]) -> list[str]:
    """SQL names for delivered columns by position, so no delivered name (``rowid``, say)
    can shadow a name the loader uses."""
    return [f"_c{i}" for i in range(1, len(delivered) + 1)]


def _alongside(
    path: Path, hashing: bool, check: Callable[[], T], work: Callable[[], U]
) -> tuple[str | None, T, U]:
    """Hashes the file (when ``hashing``) and runs an independent check on another thread
    while ``work`` runs on this one; returns the hash, the check's and the work's results.

    The landing checks (hashing, counting rows, encoding) need no database and DuckDB's
    readers leave a core idle for part of their work, so the two overlap. A problem the check
    finds is raised first, even when ``work`` failed too: it explains the failure in a
    department's terms.
    """

    def checks() -> tuple[str | None, T]:
        return (lz.file_sha256(path) if hashing else None), check()

    future = _CHECKS.submit(checks)
    try:
        result = work()
    except BaseException:
        future.result()
        raise
    sha, checked = future.result()
    return sha, checked, result


def _stage_csv(con, contract: Contract, path: Path, hashing: bool) -> _Staged:
    header = lz.first_record(path, b'"')
    rows, rejects = _temp_name("rows"), _temp_name("rejects")
    _temporaries().append(rejects + "_scan")

    def read() -> tuple[list[str], list[str], list[tuple]]:
        if not header:
            raise FileRejected("the file holds no header and no rows", "empty")
        delivered = _header(contract, header)
        check_columns(contract, delivered)
        names = _positional(delivered)
        columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
        source = (
            f"read_csv({quote_literal(str(path))}, header = true, auto_detect = false, "
            f"columns = {{{columns}}}, delim = {quote_literal(contract.delimiter)}, "
            "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
            "parallel = true, encoding = 'utf-8', max_line_size = 4194304, "
            f"store_rejects = true, rejects_table = '{rejects}', "
            f"rejects_scan = '{rejects}_scan')"
        )
        # In file order, a temporary table's row id is the row's position among the rows
        # parsed.
        with _insertion_order(con, preserve=True):
            con.execute(f"create temp table {rows} as select * from {source}")
        malformed = con.execute(
            f"select line_byte_position, first(error_type::varchar), first(column_name), "
            f"first(error_message), first(csv_line) from temp.{rejects} "
            "group by line_byte_position order by line_byte_position"
        ).fetchall()
        return delivered, names, malformed

    sha, scan, (delivered, names, malformed) = _alongside(
        path, hashing, lambda: lz.scan_text(path, b'"'), read
    )
    if scan.header != header:
        raise FileRejected("the header is longer than 4 MiB", "unreadable")
    rows_in = scan.records - 1
    if rows_in == 0:
        raise FileRejected("the file holds a header but no data rows", "empty")
    if malformed and not scan.ends_with_newline and malformed[-1][0] >= scan.record_starts[-1]:
        raise FileRejected(
            f"the last row is cut short ({malformed[-1][3]}); the file looks truncated",
            "truncated",
        )
    delivered_name = dict(zip(names, delivered, strict=True))
    malformed = [(m[0], m[1], delivered_name.get(m[2], m[2]), m[3], m[4]) for m in malformed]
    return _Staged(
        rows_in,
        f"(select rowid + 1 as _ord, * from temp.{rows})",
        _column_exprs(contract, delivered, names=names),
        len(malformed),
        (lambda c, b: _quarantine_malformed(c, b, scan, malformed)) if malformed else None,
        sha,
    )


def _quarantine_malformed(con, batch: _Batch, scan: lz.TextScan, malformed: list[tuple]) -> None:
    """Records structurally broken CSV rows and renumbers this file's rows to file order.

    DuckDB numbers only the rows it parsed; a row it rejected shifts the rows after it.
    ``_row_number`` is made the record's position among the file's data rows.
    """
    positions = np.array([m[0] for m in malformed], dtype=np.int64)
    ordinals = np.searchsorted(scan.record_starts, positions, side="right") - 1
    shift = _temp_name("shift")
    j = np.arange(1, len(ordinals) + 1)
    con.execute(f"create temp table {shift} (s bigint, j bigint)")
    con.executemany(
        f"insert into temp.{shift} values (?, ?)",
        list(zip((ordinals - j).tolist(), j.tolist(), strict=True)),
    )
    for table in (batch.raw, batch.quarantine):
        con.execute(
            f"update {table} as t set _row_number = t._row_number + m.j from ("
            f"select r.k, m.j from (select distinct _row_number as k from {table} "
            f"where {batch.where}) r asof join temp.{shift} m on r.k > m.s) m "
            f"where t._row_number = m.k and t._source_file = {quote_literal(batch.rel)} "
            f"and t._batch_id = {quote_literal(batch.run_id)}"
        )
    rows = [
        [int(o), str(m[2] or ""), "malformed_row", f"{m[1].lower()}: {m[3]}", m[4]]
        for o, m in zip(ordinals.tolist(), malformed, strict=True)
    ]
    lineage = batch.lineage("?")
    con.executemany(
        f"insert into {batch.quarantine} select {', '.join(lineage)}, nullif(?, ''), ?, ?, null, ?",
        rows,
    )


def _stage_ndjson(con, contract: Contract, path: Path, hashing: bool) -> _Staged:
    lines = _temp_name("lines")

    def read() -> list[str]:
        # In file order, a temporary table's row id is the line's position in the file.
        with _insertion_order(con, preserve=True):
            con.execute(
                f"create temp table {lines} as select json, "
                # A line is a record when it is valid JSON starting with '{' (an object):
                # cheaper than parsing it a second time for its type.
                "coalesce(json_valid(json) and regexp_matches(json, '^\\s*\\{'), false) as _ok "
                f"from read_csv({quote_literal(str(path))}, columns = {{'json': 'VARCHAR'}}, "
                "header = false, delim = '\x1f', quote = '', escape = '', auto_detect = false, "
                "strict_mode = false, max_line_size = 4194304)"
            )
        keys = [
            r[0]
            for r in con.execute(
                "select distinct unnest(case when _ok then json_keys(json) end) "
                f"from temp.{lines} order by 1"
            ).fetchall()
        ]
        if not keys:
            lines_read = con.execute(f"select count(json) from temp.{lines}").fetchone()[0]
            if not lines_read:
                raise FileRejected("the file holds no records", "empty")
            raise FileRejected("no line of the file is a JSON object", "unreadable")
        return keys

    sha, scan, keys = _alongside(path, hashing, lambda: lz.scan_text(path, None), read)
    rows_in = scan.records
    check_columns(contract, keys)
    present = set(keys)
    wanted = [c for c in contract.columns if c.physical_name in present]
    if not wanted:
        raise FileRejected("no key of the file is a column of the contract", "schema_drift")
    # One JSON parse per line extracts every wanted key at once.
    paths = ", ".join(
        quote_literal("$." + '"' + c.physical_name.replace('"', '\\"') + '"') for c in wanted
    )
    position = {c.name: i for i, c in enumerate(wanted, start=1)}
    exprs = {
        c.name: f"_v[{position[c.name]}]" if c.name in position else "cast(null as varchar)"
        for c in contract.columns
    }

    def record_malformed(con, batch: _Batch) -> None:
        con.execute(
            f"insert into {batch.quarantine} select {', '.join(batch.lineage('rowid + 1'))}, "
            "null, 'malformed_json', 'not a JSON object', null, json "
            f"from temp.{lines} where not _ok and json is not null"
        )

    return _Staged(
        rows_in,
        f"(select rowid + 1 as _ord, json from temp.{lines} where _ok)",
        exprs,
        0,
        record_malformed,
        sha,
        f"json_extract_string(json, [{paths}]) as _v",
    )


def _stage_parquet(con, contract: Contract, path: Path, hashing: bool) -> _Staged:
    rows_in, delivered = lz.check_parquet(path)
    check_columns(contract, delivered)
    if rows_in == 0:
        raise FileRejected("the file holds no rows", "empty")
    relation = (
        f"(select file_row_number + 1 as _ord, * exclude (file_row_number) "
        f"from read_parquet({quote_literal(str(path))}, file_row_number = true))"
    )
    return _Staged(rows_in, relation, _column_exprs(contract, delivered))


def _stage_xlsx(con, contract: Contract, path: Path, hashing: bool) -> _Staged:
    import fastexcel

    lz.check_xlsx_bounds(path)

    def read():
        try:
            return fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string").to_arrow()
        except Exception as exc:
            raise FileRejected(f"the workbook cannot be read: {exc}", "corrupt") from exc

    sha, sheet_rows, table = _alongside(path, hashing, lambda: lz.check_xlsx(path), read)
    rows_in = sheet_rows - 1
    delivered = list(table.column_names)
    check_columns(contract, delivered)
    if rows_in <= 0:
        raise FileRejected("the sheet holds a header but no data rows", "empty")
    names = _positional(delivered)
    ordinals = _int64_array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    table = table.rename_columns(names).append_column("_ord", ordinals)
    sheet = _temp_name("arrow_sheet")
    con.register(sheet, table)
    # Blank rows inside a sheet are not records (the XML count skips them too).
    relation = f"(select * from {sheet} where coalesce({', '.join(names)}) is not null)"

    def keep_date(expr: str) -> str:
        # Excel date cells come through as 'yyyy-mm-dd 00:00:00'; keep the date. The length
        # and suffix tests are cheap and leave the regular expression to those few values.
        return (
            f"case when length({expr}) = 19 and suffix({expr}, ' 00:00:00') "
            f"and regexp_full_match(left({expr}, 10), '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
            f"then left({expr}, 10) else {expr} end"
        )

    exprs = _column_exprs(contract, delivered, keep_date, names)
    return _Staged(rows_in, relation, exprs, sha256=sha)
