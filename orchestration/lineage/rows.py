"""Column lineage rows: what ``governance.column_lineage`` holds, how it is written and read,
how a column is traced to its sources, and the same lineage as Dagster metadata."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import duckdb

from orchestration import governance
from orchestration.lineage.queries import KINDS

if TYPE_CHECKING:
    import dagster as dg

TABLE = "column_lineage"
"""The governance table of column lineage."""


@dataclass(frozen=True)
class LineageRow:
    """One column of a dataset and one thing it is made from.

    Attributes:
        asset: Asset key of the dataset, as a string (``staging/stg_dwp__benefit_awards``).
        dataset: The dataset: ``schema.table`` in the warehouse.
        column_name: The column.
        upstream_asset: Asset key it comes from (``landing/<department>/<dataset>`` for a
            delivered file); None for a constant.
        upstream_dataset: Where that is: ``schema.table``, or the landing folder
            ``landing/<department>/<dataset>``; None for a constant.
        upstream_column: The upstream column (a delivered header for a raw table); None for
            a constant, a count of the upstream's rows or a delivery's provenance.
        kind: ``direct``, ``derived``, ``aggregated`` or ``masked``.
    """

    asset: str
    dataset: str
    column_name: str
    upstream_asset: str | None
    upstream_dataset: str | None
    upstream_column: str | None
    kind: str


ROW_FIELDS = tuple(f.name for f in fields(LineageRow))


def row_order(row: LineageRow) -> tuple[str, ...]:
    """Sort key of a row (nulls first)."""
    return tuple("" if v is None else v for v in astuple(row))


class Step(NamedTuple):
    """One column on a path traced upstream.

    Attributes:
        asset: The column's asset (or its dataset, when no asset is known).
        column: The column; None for a whole upstream relation (its rows were counted).
        kind: How this column is made from the next step's: ``direct``, ``derived``,
            ``aggregated`` or ``masked``. None on the last step of a path that reaches a
            source (a delivered header, a relation); a path that ends in a constant ends on
            its column with kind ``derived``.
    """

    asset: str
    column: str | None
    kind: str | None


def record(con: duckdb.DuckDBPyConnection, rows: Iterable[LineageRow], run_id: str) -> int:
    """Replaces ``governance.column_lineage`` with ``rows``, stamped with the run.

    Returns:
        Rows written.
    """
    rows = sorted(set(rows), key=row_order)
    unnests = ", ".join(f"unnest(${i + 1}::varchar[])" for i in range(len(ROW_FIELDS)))
    con.execute("begin transaction")
    try:
        governance.recreate(con, TABLE)
        if rows:
            con.execute(
                f"insert into {governance.SCHEMA}.{TABLE} ({', '.join(ROW_FIELDS)}, run_id, "
                f"recorded_at) select {unnests}, ${len(ROW_FIELDS) + 1}, "
                f"${len(ROW_FIELDS) + 2}",
                [
                    *(list(c) for c in zip(*map(astuple, rows), strict=True)),
                    run_id,
                    datetime.now(UTC).replace(tzinfo=None),
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(rows)


def read_rows(con: duckdb.DuckDBPyConnection) -> list[LineageRow]:
    """Every row of ``governance.column_lineage``."""
    return [
        LineageRow(*row)
        for row in con.execute(
            f"select {', '.join(ROW_FIELDS)} from {governance.SCHEMA}.{TABLE}"
        ).fetchall()
    ]


def _rows(source: duckdb.DuckDBPyConnection | Iterable[LineageRow | tuple]) -> list[LineageRow]:
    if isinstance(source, duckdb.DuckDBPyConnection):
        return read_rows(source)
    return [r if isinstance(r, LineageRow) else LineageRow(*r) for r in source]


def trace(
    source: duckdb.DuckDBPyConnection | Iterable[LineageRow | tuple], asset: str, column: str
) -> list[tuple[Step, ...]]:
    """Every path from a column upstream to its sources.

    Args:
        source: A connection to a warehouse holding ``governance.column_lineage``, or its
            rows (:class:`LineageRow` or tuples in its field order).
        asset: Asset key of the column's dataset, as a string (``conformed/persons``).
        column: The column.

    Returns:
        One tuple of :class:`Step` per path, starting at the column. A column without any
        lineage row gives one path of itself with kind None.
    """
    upstream: dict[tuple[str, str], list[LineageRow]] = defaultdict(list)
    for row in _rows(source):
        upstream[(row.asset, row.column_name)].append(row)
    paths: list[tuple[Step, ...]] = []

    def walk(here: tuple[str, str], path: tuple[Step, ...], seen: frozenset) -> None:
        rows = sorted(upstream.get(here, []), key=row_order)
        linked = [r for r in rows if r.upstream_asset or r.upstream_dataset]
        if not linked:
            kinds = [r.kind for r in rows]
            kind = max(kinds, key=KINDS.index) if kinds else None
            paths.append((*path, Step(here[0], here[1], kind)))
            return
        for row in linked:
            step = Step(here[0], here[1], row.kind)
            there = (row.upstream_asset or row.upstream_dataset or "", row.upstream_column)
            if there[1] is None or there in seen:
                paths.append((*path, step, Step(there[0], there[1], None)))
            else:
                walk(there, (*path, step), seen | {there})

    walk((asset, column), (), frozenset({(asset, column)}))
    return paths


def _asset_key(asset: str) -> dg.AssetKey:
    import dagster as dg  # deferred: dagster is slow to import; only the metadata needs it

    return dg.AssetKey.from_user_string(asset)


def table_column_lineage(rows: Iterable[LineageRow]) -> dict[dg.AssetKey, dg.TableColumnLineage]:
    """The lineage as Dagster's ``dagster/column_lineage`` metadata, per asset.

    Only the rows of each asset's own table are used (an asset's dataset is the one most of
    its rows describe). A column made only of constants maps to no dependencies.
    """
    import dagster as dg  # deferred: dagster is slow to import; only the metadata needs it

    by_asset: dict[str, list[LineageRow]] = defaultdict(list)
    for row in rows:
        by_asset[row.asset].append(row)
    result = {}
    for asset, asset_rows in by_asset.items():
        datasets: dict[str, int] = defaultdict(int)
        for row in asset_rows:
            datasets[row.dataset] += 1
        main = max(sorted(datasets), key=datasets.__getitem__)
        deps: dict[str, set[tuple[str, str]]] = {}
        for row in asset_rows:
            if row.dataset != main:
                continue
            found = deps.setdefault(row.column_name, set())
            if row.upstream_asset and row.upstream_column:
                found.add((row.upstream_asset, row.upstream_column))
        result[_asset_key(asset)] = dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=_asset_key(a), column_name=c)
                    for a, c in sorted(found)
                ]
                for column, found in deps.items()
            }
        )
    return result


def kind_counts(rows: Iterable[LineageRow]) -> Mapping[str, int]:
    """Rows per kind, every kind listed."""
    counts = dict.fromkeys(KINDS, 0)
    for row in rows:
        counts[row.kind] += 1
    return counts
