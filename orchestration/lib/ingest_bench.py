"""Ingest benchmark: contract-enforced ingest against DuckDB's own readers on the same files.

For each dataset with landing files, the benchmark times :func:`ingest_dataset` (hashing,
independent row counting, schema and row rules, quarantine, ingestion log, one transaction)
into a fresh warehouse, and DuckDB loading the same files into a table with its own reader
(``read_csv`` with ``all_varchar``, ``read_parquet``, ``read_json``; Excel through fastexcel
into Arrow). ``with_bad_rows`` first writes a copy of the landing zone in which a share of the
rows of every CSV, NDJSON and Parquet file breaks a type rule of the contract.

Used by ``make bench``; also callable directly::

    from orchestration.lib.ingest_bench import bench_ingest
    result = bench_ingest(Path("/tmp/issue3-bench/landing"), Path("/tmp/issue3-bench/work"))
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.contracts import Contract, load_contracts
from orchestration.lib.ingest import ingest_dataset, landing_files
from orchestration.lib.sql import quote_identifier, quote_literal


@dataclass(frozen=True)
class IngestTiming:
    """Seconds to load one dataset's files, ours against DuckDB's reader alone."""

    dataset: str
    rows: int
    ours_seconds: float
    duckdb_seconds: float
    rows_quarantined: int

    @property
    def ratio(self) -> float:
        """Our time over DuckDB's."""
        return self.ours_seconds / max(self.duckdb_seconds, 1e-9)


@dataclass(frozen=True)
class IngestBenchResult:
    """Timings per dataset and overall."""

    timings: list[IngestTiming]

    @property
    def ours_seconds(self) -> float:
        """Total seconds of contract-enforced ingest."""
        return sum(t.ours_seconds for t in self.timings)

    @property
    def duckdb_seconds(self) -> float:
        """Total seconds of DuckDB's readers."""
        return sum(t.duckdb_seconds for t in self.timings)

    @property
    def ratio(self) -> float:
        """Overall ratio, ours over DuckDB's."""
        return self.ours_seconds / max(self.duckdb_seconds, 1e-9)


def read_into_table(
    con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, table: str
) -> int:
    """The ingest floor: DuckDB's own reader loads one delivered file into a new table.

    CSV, NDJSON and Parquet go through ``read_csv`` / ``read_json`` / ``read_parquet`` with
    DuckDB's own type detection; Excel through fastexcel into Arrow (DuckDB has no Excel
    reader here). Returns the rows read.
    """
    p = quote_literal(str(path))
    if contract.format == "csv":
        source = f"read_csv({p}, delim = {quote_literal(contract.delimiter)})"
    elif contract.format == "parquet":
        source = f"read_parquet({p})"
    elif contract.format == "json":
        source = f"read_json({p}, format = 'newline_delimited')"
    else:
        import fastexcel

        con.register("sheet", fastexcel.read_excel(str(path)).load_sheet(0).to_arrow())
        source = "sheet"
    name = quote_identifier(table)
    con.execute(f"create or replace table {name} as select * from {source}")
    return con.execute(f"select count(*) from {name}").fetchone()[0]


def _break_rows(contract: Contract, source: Path, target: Path, share: float) -> None:
    """Writes a copy of a CSV, NDJSON or Parquet file where ``share`` of rows break a type
    rule (Excel files are copied unchanged)."""
    column = next(
        (c for c in contract.columns if c.logical_type in {"date", "number", "integer"}), None
    )
    if column is None or contract.format not in {"csv", "json", "parquet"}:
        shutil.copy2(source, target)
        return
    con = duckdb.connect()
    every = max(int(round(1 / share)), 1)
    name = quote_identifier(column.physical_name)
    p, t = quote_literal(str(source)), quote_literal(str(target))
    if contract.format == "csv":
        con.execute(
            f"copy (select * replace (case when row_number() over () % {every} = 0 "
            f"then 'not-valid' else {name} end as {name}) from read_csv({p}, all_varchar = true)"
            f") to {t} (header, delimiter {quote_literal(contract.delimiter)})"
        )
    else:
        reader = (
            f"read_json({p}, format = 'newline_delimited')"
            if contract.format == "json"
            else f"read_parquet({p})"
        )
        kind = "json" if contract.format == "json" else "parquet"
        con.execute(
            f"copy (select * replace (case when row_number() over () % {every} = 0 "
            f"then 'not-valid' else {name}::varchar end as {name}) "
            f"from {reader}) to {t} (format {kind})"
        )
    con.close()


def with_bad_rows(landing_dir: Path, target_dir: Path, share: float = 0.01) -> Path:
    """A copy of a landing zone in which ``share`` of CSV, NDJSON and Parquet rows break a
    type rule."""
    for contract in load_contracts():
        for path in landing_files(contract, landing_dir):
            out = target_dir / path.relative_to(landing_dir)
            out.parent.mkdir(parents=True, exist_ok=True)
            _break_rows(contract, path, out, share)
    return target_dir


def bench_ingest(landing_dir: Path, work_dir: Path) -> IngestBenchResult:
    """Times contract-enforced ingest and DuckDB's own readers on every dataset's files.

    Args:
        landing_dir: A landing zone (``<department>/<dataset>/`` folders).
        work_dir: Scratch folder for the two warehouses (emptied first).
    """
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    ours = duckdb.connect(str(work_dir / "ours.duckdb"))
    theirs = duckdb.connect(str(work_dir / "duckdb.duckdb"))
    timings = []
    try:
        for n, contract in enumerate(load_contracts()):
            files = landing_files(contract, landing_dir)
            if not files:
                continue
            started = time.perf_counter()
            outcomes = ingest_dataset(ours, contract, landing_dir, "bench")
            ours_seconds = time.perf_counter() - started
            started = time.perf_counter()
            for i, path in enumerate(files):
                read_into_table(theirs, contract, path, f"t{n * 1000 + i}")
            duckdb_seconds = time.perf_counter() - started
            timings.append(
                IngestTiming(
                    dataset=contract.raw_table,
                    rows=sum(o.rows_in for o in outcomes),
                    ours_seconds=ours_seconds,
                    duckdb_seconds=duckdb_seconds,
                    rows_quarantined=sum(o.rows_quarantined for o in outcomes),
                )
            )
    finally:
        ours.close()
        theirs.close()
    return IngestBenchResult(timings)
