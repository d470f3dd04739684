"""Statistical disclosure control on crafted tables, including the tricky cases.

The Python reference (:mod:`orchestration.privacy.disclosure`) is tested on its own, and the
dbt macro ``suppress_small_counts`` that the published Warm Homes mart uses is run in DuckDB
and checked against it, cell for cell.
"""

from __future__ import annotations

import random

import duckdb
import jinja2
import pytest

from orchestration.privacy import recoverable_cells, suppress
from orchestration.project import DBT_PROJECT_DIR


def _with_totals(cells: list[list[int]]) -> list[list[int]]:
    rows = [[*row, sum(row)] for row in cells]
    return [*rows, [sum(column) for column in zip(*rows, strict=True)]]


def test_counts_one_to_nine_are_suppressed_and_zeros_and_tens_are_not():
    result = suppress([[0, 1, 9, 10, 250]])
    assert result.values == [[0, None, None, 10, 250]]
    assert result.primary == {(0, 1), (0, 2)}
    assert result.secondary == set()


def test_a_single_suppressed_cell_in_a_row_gets_a_partner_so_the_total_hides_it():
    table = _with_totals([[5, 40, 60], [30, 30, 30], [25, 45, 70]])
    result = suppress(table, row_totals=True, column_totals=True)
    assert result.values[0][0] is None
    assert result.values[0][1] is None, "the row's smallest other cell is suppressed too"
    assert not recoverable_cells(result.values, row_totals=True, column_totals=True)
    # the column of the suppressed 5 and of its partner each need a second suppression too
    assert sum(v is None for v in [row[0] for row in result.values]) >= 2
    assert sum(v is None for v in [row[1] for row in result.values]) >= 2


def test_zeros_do_not_protect_a_suppressed_cell_so_the_total_is_suppressed():
    table = [[4, 0, 0, 4], [20, 30, 40, 90]]
    result = suppress(table, row_totals=True)
    assert result.values[0] == [None, 0, 0, None], "the row total 4 is itself 1-9"
    table = [[0, 0, 12, 12], [3, 0, 0, 3]]
    result = suppress(table, row_totals=True)
    assert result.values[1][0] is None and result.values[1][3] is None
    assert result.values[0] == [0, 0, 12, 12]


def test_a_suppressed_total_row_cell_is_protected_in_its_column():
    table = [[3, 20], [4, 30], [7, 50]]  # last row is the column total
    result = suppress(table, column_totals=True)
    assert result.values[2][0] is None, "the total 7 is 1-9 too"
    assert not recoverable_cells(result.values, column_totals=True)


def test_column_totals_only_need_a_second_cell_in_the_column():
    table = [[2, 50], [40, 60], [45, 70], [87, 180]]
    result = suppress(table, column_totals=True)
    assert result.values[0][0] is None and result.values[1][0] is None
    assert result.values[1][1] == 60, "other columns are untouched"
    assert result.secondary == {(1, 0)}


def test_no_suppressed_cell_is_ever_recoverable_on_random_tables():
    rng = random.Random(7)
    for _ in range(200):
        rows, cols = rng.randint(1, 6), rng.randint(1, 6)
        cells = [
            [rng.choice([0, 0, 1, 3, 8, 12, 40, 200]) for _ in range(cols)] for _ in range(rows)
        ]
        table = _with_totals(cells)
        result = suppress(table, row_totals=True, column_totals=True)
        assert not recoverable_cells(result.values, row_totals=True, column_totals=True), table
        for r, row in enumerate(result.values):
            for c, value in enumerate(row):
                assert value is None or value == 0 or value >= 10, (table, r, c)


def test_inconsistent_totals_are_refused():
    with pytest.raises(ValueError, match="row total"):
        suppress([[1, 2, 4]], row_totals=True)
    with pytest.raises(ValueError, match="column"):
        suppress([[1, 2], [5, 2]], column_totals=True)


def _suppress_in_sql(table: list[list[int]]) -> list[list[int | None]]:
    """Runs the dbt macro on a table whose last row is the column totals."""
    source = (DBT_PROJECT_DIR / "macros" / "suppress_small_counts.sql").read_text(encoding="utf-8")
    macro = jinja2.Environment().from_string(source).module.suppress_small_counts
    columns = [f"c{c}" for c in range(len(table[0]))]
    rows = ", ".join(
        "(" + ", ".join([str(r), str(r == len(table) - 1).lower(), *map(str, row)]) + ")"
        for r, row in enumerate(table)
    )
    cells = f"(values {rows}) as cells(row_index, is_total, {', '.join(columns)})"
    query = macro(cells, columns, "row_index", "is_total")
    with duckdb.connect() as con:
        result = con.execute(f"select {', '.join(columns)} from ({query}) order by row_index")
        return [list(row) for row in result.fetchall()]


@pytest.mark.parametrize(
    "table",
    [
        [[3, 20], [4, 30], [7, 50]],
        [[2, 50], [40, 60], [45, 70], [87, 180]],
        [[5, 0], [0, 12], [0, 0], [5, 12]],  # the 5 and its total of 5 are both suppressed
        [[12, 3], [12, 40], [30, 12], [54, 55]],  # ties go to the earliest row
        [[0, 0], [0, 0]],
        [[9], [9]],
    ],
)
def test_the_dbt_macro_matches_the_python_reference_on_crafted_tables(table):
    assert _suppress_in_sql(table) == suppress(table, column_totals=True).values


def test_the_dbt_macro_matches_the_python_reference_on_random_tables():
    rng = random.Random(11)
    for _ in range(100):
        rows, cols = rng.randint(1, 12), rng.randint(1, 4)
        cells = [
            [rng.choice([0, 0, 1, 3, 8, 9, 10, 12, 12, 40, 200]) for _ in range(cols)]
            for _ in range(rows)
        ]
        table = [*cells, [sum(column) for column in zip(*cells, strict=True)]]
        expected = suppress(table, column_totals=True).values
        assert _suppress_in_sql(table) == expected, table
        assert not recoverable_cells(expected, column_totals=True), table
