"""Ingest benchmark: contract-enforced ingest against DuckDB's own readers on the same files.

For each dataset with landing files, the benchmark times :func:`ingest_dataset` (hashing,
independent row counting, schema and row rules, quarantine, ingestion log, one transaction
per file) into a fresh warehouse, and DuckDB loading the same files into a table with its own
reader and type detection (``read_csv``, ``read_json``, ``read_parquet``; Excel through
fastexcel into Arrow, as DuckDB has no Excel reader here). ``with_bad_rows`` first writes a
copy of the landing zone in which a share of the rows of every CSV, NDJSON and Parquet file
breaks a type rule of the contract.

``make bench`` runs it at every size, clean and with 1% bad rows; also callable directly::

    from orchestration.bench.ingest import bench_ingest
    result = bench_ingest(Path("/tmp/issue3-bench/landing"), Path("/tmp/issue3-bench/work"))
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contracts import Contract, load_contracts
from orchestration.ingest import ingest_dataset, landing_files
from orchestration.sql import quote_identifier, quote_literal


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


def bench_ingest(landing_dir: Path, work_dir: Path, repeats: int = 1) -> IngestBenchResult:
    """Times contract-enforced ingest and DuckDB's own readers on every dataset's files.

    Each dataset is loaded by :func:`ingest_dataset` into one fresh warehouse and by DuckDB's
    readers into another, ``repeats`` times over; each side's time per dataset is the median
    of the repeats.

    Args:
        landing_dir: A landing zone (``<department>/<dataset>/`` folders).
        work_dir: Scratch folder for the warehouses (emptied first).
        repeats: How many times to load everything.
    """
    # Both sides use these readers and DuckDB's Arrow scans; load them before timing so that
    # neither side pays the one-off imports for the other.
    import fastexcel  # noqa: F401
    import pyarrow as pa
    import pyarrow.parquet  # noqa: F401

    with duckdb.connect() as scratch:
        scratch.register("warm", pa.table({"x": ["1"]}))
        scratch.execute("select * from warm").fetchall()

    contracts = [c for c in load_contracts() if landing_files(c, landing_dir)]
    ours: dict[str, list[float]] = {c.raw_table: [] for c in contracts}
    theirs: dict[str, list[float]] = {c.raw_table: [] for c in contracts}
    counts: dict[str, tuple[int, int]] = {}
    for attempt in range(max(repeats, 1)):
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        ours_db = duckdb.connect(str(work_dir / f"ours_{attempt}.duckdb"))
        theirs_db = duckdb.connect(str(work_dir / f"duckdb_{attempt}.duckdb"))
        try:
            for n, contract in enumerate(contracts):
                started = time.perf_counter()
                outcomes = ingest_dataset(ours_db, contract, landing_dir, "bench")
                ours[contract.raw_table].append(time.perf_counter() - started)
                started = time.perf_counter()
                for i, path in enumerate(landing_files(contract, landing_dir)):
                    read_into_table(theirs_db, contract, path, f"t{n * 1000 + i}")
                theirs[contract.raw_table].append(time.perf_counter() - started)
                counts[contract.raw_table] = (
                    sum(o.rows_in for o in outcomes),
                    sum(o.rows_quarantined for o in outcomes),
                )
        finally:
            ours_db.close()
            theirs_db.close()
    return IngestBenchResult(
        [
            IngestTiming(
                dataset=c.raw_table,
                rows=counts[c.raw_table][0],
                ours_seconds=statistics.median(ours[c.raw_table]),
                duckdb_seconds=statistics.median(theirs[c.raw_table]),
                rows_quarantined=counts[c.raw_table][1],
            )
            for c in contracts
        ]
    )
