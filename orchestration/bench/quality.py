"""Benchmark of the validation stage: GX suites against a hand-written SQL floor.

For every validated relation (raw tables from contracts, conformed tables and marts from the
hand-written suites) the same metrics are computed twice on a materialized warehouse:

- through Great Expectations, exactly as the pipeline's checks run them;
- as one hand-written aggregate query per relation (the floor): one scan computing each
  expectation's unexpected count (``count(*) filter (where ...)``), with the derived-row and
  scalar metrics as subqueries.

Goals (``make bench``): GX at most 3× the floor, and validation at most 25% of a pipeline run.

Imports are deferred into the functions that use Great Expectations, as in the product code:
importing it takes seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.sql import quote_identifier, quote_literal


@dataclass(frozen=True)
class RelationTiming:
    """Timings of one relation: GX validation and the SQL floor, in seconds."""

    dataset: str
    rows: int
    expectations: int
    gx_seconds: float
    floor_seconds: float


@dataclass
class ValidationBench:
    """Validation of every suite against the floor, in seconds."""

    relations: list[RelationTiming] = field(default_factory=list)

    @property
    def gx_seconds(self) -> float:
        """Total GX validation time."""
        return sum(r.gx_seconds for r in self.relations)

    @property
    def floor_seconds(self) -> float:
        """Total time of the hand-written aggregate queries."""
        return sum(r.floor_seconds for r in self.relations)

    @property
    def ratio(self) -> float:
        """GX time over the floor (goal: at most 3)."""
        return self.gx_seconds / self.floor_seconds if self.floor_seconds else float("inf")


def _column(expectation: Any) -> str:
    return quote_identifier(expectation.column)


def _floor_expression(expectation: Any) -> str:
    """The hand-written SQL metric equivalent to one expectation, over ``batch_rows``."""
    from orchestration.quality import (
        ExpectQueryValueToMeetThreshold,
        ExpectRowsToSatisfyCondition,
    )

    kind = type(expectation).__name__
    if isinstance(expectation, ExpectRowsToSatisfyCondition):
        bad = f"not coalesce(({expectation.condition}), false)"
        if expectation.rows_query:
            return f"(select count(*) filter (where {bad}) from ({expectation.rows_query}))"
        return f"count(*) filter (where {bad})"
    if isinstance(expectation, ExpectQueryValueToMeetThreshold):
        return f"({expectation.metric_query})"
    if kind == "ExpectColumnValuesToNotBeNull":
        return f"count(*) filter (where {_column(expectation)} is null)"
    if kind == "ExpectColumnValuesToBeInSet":
        values = ", ".join(quote_literal(str(v)) for v in expectation.value_set)
        col = _column(expectation)
        return f"count(*) filter (where {col} is not null and {col} not in ({values}))"
    if kind == "ExpectColumnValuesToBeUnique":
        col = _column(expectation)
        return f"count({col}) - count(distinct {col})"
    if kind == "ExpectCompoundColumnsToBeUnique":
        key = ", ".join(quote_identifier(c) for c in expectation.column_list)
        return f"count(*) - count(distinct ({key}))"
    if kind == "ExpectTableRowCountToBeBetween":
        return "count(*)"
    raise ValueError(f"no SQL floor for {kind}")


def floor_query(relation_sql: str, suite: Any) -> str:
    """One aggregate query computing every metric of ``suite`` over ``relation_sql``."""
    metrics = ", ".join(f"{_floor_expression(e)} as m{i}" for i, e in enumerate(suite.expectations))
    return (
        f"with batch_rows as ({relation_sql}) "
        f"select count(*) as element_count, {metrics} from batch_rows"
    )


def _sources(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, Any]]:
    from orchestration.contracts import load_contracts
    from orchestration.quality import (
        contract_suite,
        load_suites,
        raw_relation_sql,
        relation_sql,
    )

    out = []
    for contract in load_contracts():
        if contract.quality:
            suite = contract_suite(contract).suite
            out.append((f"raw.{contract.raw_table}", raw_relation_sql(contract.raw_table), suite))
    for source in load_suites():
        pattern = "marts%" if source.layer == "marts" else source.layer
        row = con.execute(
            "select table_schema from information_schema.tables "
            "where table_name = ? and table_schema like ? limit 1",
            [source.table, pattern],
        ).fetchone()
        if row:
            out.append((source.dataset, relation_sql(row[0], source.table), source.suite))
    return out


def measure_validation(
    database: Path | str, connection_config: dict[str, Any] | None = None
) -> ValidationBench:
    """Times every suite through GX and as the hand-written floor, on a built warehouse.

    Args:
        database: A warehouse the pipeline has materialized (read, never written).
        connection_config: DuckDB settings for both measurements.

    Returns:
        Per-relation timings; GX results are not stored (no Data Docs), as in a bare run.
    """
    from orchestration.quality import validate

    config = dict(connection_config or {})
    # The progress bar is a session setting in DuckDB 2.0 (not a connect-time option), and
    # it only shows on a terminal.
    quiet = dict(config)
    bench = ValidationBench()
    with duckdb.connect(str(database), read_only=True, config=quiet) as con:
        sources = _sources(con)
        counts = {
            d: con.execute(f"select count(*) from ({sql})").fetchone()[0] for d, sql, _ in sources
        }
    for dataset, sql, suite in sources:
        started = time.perf_counter()
        validate(
            database=database,
            connection_config=config,
            dataset=dataset,
            relation_sql=sql,
            suite=suite,
            run_name="bench",
        )
        gx_seconds = time.perf_counter() - started
        with duckdb.connect(str(database), read_only=True, config=quiet) as con:
            started = time.perf_counter()
            con.execute(floor_query(sql, suite)).fetchall()
            floor_seconds = time.perf_counter() - started
        bench.relations.append(
            RelationTiming(
                dataset, counts[dataset], len(suite.expectations), gx_seconds, floor_seconds
            )
        )
    return bench
