"""Readers of the four delivery formats (CSV, NDJSON, Parquet, xlsx) into temporary relations.

Each reader checks the file against its contract's file rules and stages its rows, with
each row's number in the file, as a :class:`StagedFile` ready to load."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np

from orchestration.contracts import Contract
from orchestration.ingest import landing as lz
from orchestration.ingest.file_rules import FileRejected, check_columns, header_names
from orchestration.ingest.tables import (
    Batch,
    insertion_order,
    int64_array,
    temp_name,
    temporaries,
)
from orchestration.sql import quote_identifier, quote_literal

T = TypeVar("T")
U = TypeVar("U")
# The thread for the landing checks that run alongside DuckDB's readers.
_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing-checks")


@dataclass(frozen=True)
class StagedFile:
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
    record_set_aside: Callable[[duckdb.DuckDBPyConnection, Batch], None] | None = None
    sha256: str | None = None
    project: str = ""

    def rows(self, relation: str | None = None) -> str:
        """``relation`` (by default the file's rows) with the ``project`` values added."""
        relation = relation or self.relation
        return f"(select *, {self.project} from {relation})" if self.project else relation


def stage(con, contract: Contract, path: Path, hashing: bool) -> StagedFile:
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


def _stage_csv(con, contract: Contract, path: Path, hashing: bool) -> StagedFile:
    header = lz.first_record(path, b'"')
    rows, rejects = temp_name("rows"), temp_name("rejects")
    temporaries().append(rejects + "_scan")

    def read() -> tuple[list[str], list[str], list[tuple]]:
        if not header:
            raise FileRejected("the file holds no header and no rows", "empty")
        delivered = header_names(contract, header)
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
        with insertion_order(con, preserve=True):
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
    return StagedFile(
        rows_in,
        f"(select rowid + 1 as _ord, * from temp.{rows})",
        _column_exprs(contract, delivered, names=names),
        len(malformed),
        (lambda c, b: _quarantine_malformed(c, b, scan, malformed)) if malformed else None,
        sha,
    )


def _quarantine_malformed(con, batch: Batch, scan: lz.TextScan, malformed: list[tuple]) -> None:
    """Records structurally broken CSV rows and renumbers this file's rows to file order.

    DuckDB numbers only the rows it parsed; a row it rejected shifts the rows after it.
    ``_row_number`` is made the record's position among the file's data rows.
    """
    positions = np.array([m[0] for m in malformed], dtype=np.int64)
    ordinals = np.searchsorted(scan.record_starts, positions, side="right") - 1
    shift = temp_name("shift")
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


def _stage_ndjson(con, contract: Contract, path: Path, hashing: bool) -> StagedFile:
    lines = temp_name("lines")

    def read() -> list[str]:
        # In file order, a temporary table's row id is the line's position in the file.
        with insertion_order(con, preserve=True):
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

    def record_malformed(con, batch: Batch) -> None:
        con.execute(
            f"insert into {batch.quarantine} select {', '.join(batch.lineage('rowid + 1'))}, "
            "null, 'malformed_json', 'not a JSON object', null, json "
            f"from temp.{lines} where not _ok and json is not null"
        )

    return StagedFile(
        rows_in,
        f"(select rowid + 1 as _ord, json from temp.{lines} where _ok)",
        exprs,
        0,
        record_malformed,
        sha,
        f"json_extract_string(json, [{paths}]) as _v",
    )


def _stage_parquet(con, contract: Contract, path: Path, hashing: bool) -> StagedFile:
    rows_in, delivered = lz.check_parquet(path)
    check_columns(contract, delivered)
    if rows_in == 0:
        raise FileRejected("the file holds no rows", "empty")
    relation = (
        f"(select file_row_number + 1 as _ord, * exclude (file_row_number) "
        f"from read_parquet({quote_literal(str(path))}, file_row_number = true))"
    )
    return StagedFile(rows_in, relation, _column_exprs(contract, delivered))


def _stage_xlsx(con, contract: Contract, path: Path, hashing: bool) -> StagedFile:
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
    ordinals = int64_array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    table = table.rename_columns(names).append_column("_ord", ordinals)
    sheet = temp_name("arrow_sheet")
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
    return StagedFile(rows_in, relation, exprs, sha256=sha)


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
