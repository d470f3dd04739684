"""Statistical disclosure control for aggregate outputs meant for publication.

Primary suppression hides every count from 1 to 9 (zeros are published: a zero reveals
no one). Secondary suppression then makes sure no suppressed cell can be recovered by
subtraction: in every line of the table that adds up to a published total (a row with its
row total, a column with its column total) either no cell or at least two cells are
suppressed. Where a line holds exactly one, the smallest non-zero published cell of that
line is suppressed too (its total when no other cell is left), and the check repeats until
every line is safe, since each new suppression may leave another line with a single one.

A table is a list of rows of counts. With ``row_totals`` the last value of each row is the
sum of the others; with ``column_totals`` the last row is the sum of the rows above.

The published Warm Homes mart applies the column-totals case in SQL, with the dbt macro
``suppress_small_counts`` (the dbt project does not import this package);
tests/test_disclosure.py checks that macro against :func:`suppress`.
"""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 10
"""Counts from 1 to ``THRESHOLD - 1`` are suppressed."""


@dataclass
class SuppressedTable:
    """A table after disclosure control.

    Attributes:
        values: The counts, with None where suppressed.
        primary: Cells ``(row, column)`` suppressed because their count is 1 to 9.
        secondary: Cells suppressed so that totals cannot reveal a primary one.
    """

    values: list[list[int | None]]
    primary: set[tuple[int, int]]
    secondary: set[tuple[int, int]]


def _lines(rows: int, cols: int, row_totals: bool, column_totals: bool) -> list[list]:
    lines = []
    if row_totals:
        lines += [[(r, c) for c in range(cols)] for r in range(rows)]
    if column_totals:
        lines += [[(r, c) for r in range(rows)] for c in range(cols)]
    return lines


def suppress(
    table: list[list[int]],
    row_totals: bool = False,
    column_totals: bool = False,
    threshold: int = THRESHOLD,
) -> SuppressedTable:
    """Applies primary and secondary suppression to a table of counts.

    Args:
        table: Rows of non-negative counts (totals included, see the module docstring).
        row_totals: The last value of each row is the row's total.
        column_totals: The last row is the column totals.
        threshold: Counts from 1 to ``threshold - 1`` are suppressed.

    Returns:
        The suppressed table and which cells were suppressed, and why.

    Raises:
        ValueError: If the table is ragged, holds a negative count, or its totals do not
            add up (a table whose totals are wrong cannot be protected by this rule).
    """
    rows = len(table)
    cols = len(table[0]) if rows else 0
    if any(len(row) != cols for row in table):
        raise ValueError("every row of the table must have the same number of cells")
    if any(v is None or v < 0 for row in table for v in row):
        raise ValueError("counts must be non-negative integers")
    if row_totals and any(sum(row[:-1]) != row[-1] for row in table):
        raise ValueError("a row total is not the sum of its row")
    if column_totals and rows > 1:
        for c in range(cols):
            if sum(table[r][c] for r in range(rows - 1)) != table[-1][c]:
                raise ValueError(f"the total of column {c} is not the sum of its column")

    primary = {(r, c) for r in range(rows) for c in range(cols) if 0 < table[r][c] < threshold}
    suppressed = set(primary)
    lines = _lines(rows, cols, row_totals, column_totals)
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [cell for cell in line if cell in suppressed]
            if len(hidden) != 1:
                continue
            total_cell = line[-1]
            candidates = [
                cell for cell in line[:-1] if cell not in suppressed and table[cell[0]][cell[1]] > 0
            ]
            if not candidates:
                # Only zeros (published as zeros, so no protection) or the total remain.
                candidates = [total_cell] if total_cell not in suppressed else []
            if not candidates:
                candidates = [cell for cell in line if cell not in suppressed]
            if not candidates:
                continue
            pick = min(candidates, key=lambda cell: (table[cell[0]][cell[1]], cell))
            suppressed.add(pick)
            changed = True
    values = [
        [None if (r, c) in suppressed else table[r][c] for c in range(cols)] for r in range(rows)
    ]
    return SuppressedTable(values=values, primary=primary, secondary=suppressed - primary)


def recoverable_cells(
    values: list[list[int | None]], row_totals: bool = False, column_totals: bool = False
) -> set[tuple[int, int]]:
    """Suppressed cells that subtraction from a published total would reveal.

    A line with exactly one suppressed cell reveals it (its total minus the others). Used to
    test that :func:`suppress` leaves nothing recoverable.
    """
    rows = len(values)
    cols = len(values[0]) if rows else 0
    revealed = set()
    for line in _lines(rows, cols, row_totals, column_totals):
        hidden = [cell for cell in line if values[cell[0]][cell[1]] is None]
        if len(hidden) == 1:
            revealed.add(hidden[0])
    return revealed
