"""Quality results as governance data: the history, the GDQF scorecard, the declarations.

- ``governance.quality_results``: append-only, one row per check per run.
- ``governance.quality_scorecard``: dataset × GDQF dimension → achieved score (the mean of its
  checks' scores: the percentage of rows meeting a row-level check, 100 or 0 for a whole-table
  check), the target declared in the contract or suite, and whether it is met.
- ``governance.quality_declarations``: a plain-English markdown declaration per published
  dataset, written from the latest results.

Every dataset is named ``<schema>.<table>`` exactly as the table is in the warehouse, so that
results, scores and declarations join to ``information_schema.tables`` (see
:func:`warehouse_datasets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration import governance
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.standards import GDQF_DIMENSIONS


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    """Creates the governance schema and the append-only results table if missing."""
    governance.ensure(con, "quality_results")


def warehouse_datasets(con: duckdb.DuckDBPyConnection, datasets: Iterable[str]) -> dict[str, str]:
    """Each dataset name as the ``<schema>.<table>`` it names in the warehouse.

    Checks name their dataset after their asset key, ``<layer>.<table>``; where a layer's
    tables sit in one schema per mission (layer ``marts``: schemas ``marts_<mission>``), the
    table is found by its name. A name that already is a table's ``<schema>.<table>``, or
    that names no single table, is kept as it is.
    """
    tables = set(
        con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    )
    names = {}
    for dataset in datasets:
        layer, _, table = dataset.partition(".")
        found = [
            f"{schema}.{name}"
            for schema, name in tables
            if name == table and schema.startswith(f"{layer}_")
        ]
        names[dataset] = found[0] if (layer, table) not in tables and len(found) == 1 else dataset
    return names


def rename_recorded_datasets(con: duckdb.DuckDBPyConnection) -> int:
    """Renames results recorded under a dataset's layer name (before datasets were named by
    their schema) to its ``<schema>.<table>``; returns the names changed."""
    ensure_results_table(con)
    found = con.execute("select distinct dataset from governance.quality_results").fetchall()
    recorded = [d for (d,) in found]
    renamed = {old: new for old, new in warehouse_datasets(con, recorded).items() if old != new}
    for old, new in renamed.items():
        con.execute(
            "update governance.quality_results set dataset = ? where dataset = ?", [new, old]
        )
    return len(renamed)


def record_outcomes(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    dataset: str,
    outcomes: Iterable[ExpectationOutcome],
    validated_at: datetime | None = None,
) -> int:
    """Appends one row per outcome to ``governance.quality_results`` under the dataset's
    warehouse name (:func:`warehouse_datasets`); returns the rows added. The table is created
    (and commented) when missing."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'quality_results'"
    ).fetchone()[0]
    if not exists:
        ensure_results_table(con)
    dataset = warehouse_datasets(con, [dataset])[dataset]
    at = (validated_at or datetime.now(UTC)).replace(tzinfo=None)
    rows = [
        [
            run_id,
            at,
            dataset,
            o.check_name,
            o.dimension,
            o.severity,
            o.success,
            o.element_count,
            o.unexpected_count,
            o.unexpected_percent,
            o.observed_value,
            o.error,
        ]
        for o in outcomes
    ]
    if rows:
        con.executemany(
            "insert into governance.quality_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


@dataclass(frozen=True)
class ScorecardRow:
    """One dataset × dimension line of the scorecard."""

    dataset: str
    dimension: str
    checks: int
    checks_passed: int
    checks_errored: int
    score: float | None
    target: float | None
    met: bool


def build_scorecard(
    con: duckdb.DuckDBPyConnection,
    checks: Sequence[tuple[str, str]],
    targets: Mapping[str, Mapping[str, float]],
    run_id: str,
) -> list[ScorecardRow]:
    """Rebuilds ``governance.quality_scorecard`` from each current check's latest result.

    Args:
        con: Warehouse connection.
        checks: ``(dataset, check_name)`` of every check defined now; results of checks since
            removed are ignored. Datasets may be named by layer (:func:`warehouse_datasets`).
        targets: Target percentage by dataset and GDQF dimension. Without a target, a
            dimension is met when every one of its checks passed.
        run_id: The run rebuilding the scorecard.
    """
    ensure_results_table(con)
    names = warehouse_datasets(con, {d for d, _ in checks} | set(targets))
    checks = [(names[d], c) for d, c in checks]
    targets = {names[d]: by_dimension for d, by_dimension in targets.items()}
    governance.recreate(con, "quality_scorecard")
    con.execute(
        "create or replace temp table _current_checks (dataset varchar, check_name varchar)"
    )
    if checks:
        con.executemany("insert into _current_checks values (?, ?)", [list(c) for c in checks])
    con.execute(
        "create or replace temp table _targets (dataset varchar, dimension varchar, target double)"
    )
    target_rows = [
        [dataset, dimension, float(value)]
        for dataset, by_dimension in targets.items()
        for dimension, value in by_dimension.items()
        if dimension in GDQF_DIMENSIONS
    ]
    if target_rows:
        con.executemany("insert into _targets values (?, ?, ?)", target_rows)
    con.execute(
        """
        insert into governance.quality_scorecard
        with latest as (
            select r.*
            from governance.quality_results as r
            inner join _current_checks as c
                on r.dataset = c.dataset and r.check_name = c.check_name
            qualify row_number() over (
                partition by r.dataset, r.check_name order by r.validated_at desc
            ) = 1
        ),

        scored as (
            select
                dataset,
                dimension,
                success,
                error,
                case
                    when error is not null then null
                    when unexpected_percent is not null then greatest(0, 100 - unexpected_percent)
                    when success then 100.0
                    else 0.0
                end as score
            from latest
        ),

        by_dimension as (
            select
                dataset,
                dimension,
                count(*) as checks,
                count(*) filter (where success) as checks_passed,
                count(*) filter (where error is not null) as checks_errored,
                avg(score) as score
            from scored
            group by dataset, dimension
        )

        select
            d.dataset,
            d.dimension,
            d.checks,
            d.checks_passed,
            d.checks_errored,
            round(d.score, 2) as score,
            t.target,
            case
                when d.checks_errored > 0 or d.score is null then false
                when t.target is null then d.checks_passed = d.checks
                else d.score >= t.target
            end as met,
            ? as run_id,
            now()::timestamp as validated_at
        from by_dimension as d
        left join _targets as t
            on d.dataset = t.dataset and d.dimension = t.dimension
        order by d.dataset, d.dimension
        """,
        [run_id],
    )
    rows = con.execute(
        "select dataset, dimension, checks, checks_passed, checks_errored, score, target, met "
        "from governance.quality_scorecard order by dataset, dimension"
    ).fetchall()
    return [ScorecardRow(*r) for r in rows]


def latest_results(con: duckdb.DuckDBPyConnection, datasets: Sequence[str]) -> list[tuple]:
    """The latest result of each check of ``datasets``, as tuples in column order.

    Columns: dataset, check_name, dimension, severity, success, element_count,
    unexpected_count, unexpected_percent, observed_value, error, run_id, validated_at.
    """
    ensure_results_table(con)
    if not datasets:
        return []
    datasets = list(warehouse_datasets(con, datasets).values())
    return con.execute(
        """
        select dataset, check_name, dimension, severity, success, element_count,
            unexpected_count, unexpected_percent, observed_value, error, run_id, validated_at
        from governance.quality_results
        where dataset in (select unnest(?::varchar[]))
        qualify row_number() over (
            partition by dataset, check_name order by validated_at desc
        ) = 1
        order by dataset, dimension, check_name
        """,
        [list(datasets)],
    ).fetchall()


def _fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _finding(row: tuple) -> str:
    (_, check, dimension, severity, success, elements, unexpected, percent, observed, error) = row[
        :10
    ]
    if error:
        return (
            f"- **{check}** ({dimension}, {severity}): could not be evaluated, the platform "
            f"reported an error: {error.splitlines()[0]}"
        )
    verdict = "passed" if success else "FAILED"
    if elements is not None and unexpected is not None:
        detail = f"{unexpected:,} of {elements:,} rows ({(percent or 0):.2f}%) did not meet it"
    elif observed is not None:
        detail = f"observed {observed}"
    else:
        detail = "no detail recorded"
    return f"- **{check}** ({dimension}, {severity}): {verdict}; {detail}."


def declaration_markdown(
    dataset: str,
    description: str,
    scorecard: Sequence[ScorecardRow],
    results: Sequence[tuple],
    upstream: Mapping[str, Sequence[ScorecardRow]] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """A plain-English quality declaration of one published dataset.

    Args:
        dataset: ``<layer>.<table>``.
        description: What the dataset holds.
        scorecard: The dataset's scorecard rows.
        results: The latest result of each of its checks (see :func:`latest_results`).
        upstream: Scorecard rows of the deliveries it is built from, by dataset.
        generated_at: When the declaration was written.
    """
    at = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Quality declaration: {dataset}", ""]
    if description:
        lines += [description.strip(), ""]
    lines += [f"Written {at} from the latest quality results.", ""]
    if not results:
        lines += [
            "No quality checks are defined for this dataset itself; its quality rests on the "
            "checks of the deliveries it is built from (below) and on the structural tests "
            "(keys, relationships) run when it is built.",
            "",
        ]
    else:
        failed_blocking = [r for r in results if r[3] == "ERROR" and not r[4]]
        failed_warn = [r for r in results if r[3] == "WARN" and not r[4]]
        passed = sum(1 for r in results if r[4])
        summary = f"{passed} of {len(results)} checks passed. "
        if failed_blocking:
            summary += (
                f"{len(failed_blocking)} blocking check(s) failed, so this version was not "
                "published."
            )
        else:
            summary += "Every blocking (ERROR) check passed."
        if failed_warn:
            summary += f" {len(failed_warn)} warning(s) are recorded below; read them before use."
        lines += [summary, ""]
        lines += ["| Dimension | Score | Target | Met |", "|---|---|---|---|"]
        for s in scorecard:
            target = "all checks pass" if s.target is None else f"{s.target:.2f}%"
            lines.append(
                f"| {s.dimension} | {_fmt_score(s.score)} | {target} | {'yes' if s.met else 'no'} |"
            )
        lines += ["", "## What the checks found", ""]
        lines += [_finding(r) for r in results]
        lines.append("")
    if upstream:
        lines += ["## The deliveries it is built from", ""]
        for name, rows in upstream.items():
            parts = ", ".join(
                f"{r.dimension} {_fmt_score(r.score)}{'' if r.met else ' (below target)'}"
                for r in rows
            )
            lines.append(f"- {name}: {parts or 'no results yet'}")
        lines.append("")
    return "\n".join(lines)


def write_declarations(
    con: duckdb.DuckDBPyConnection, declarations: Mapping[str, tuple[bool, str]]
) -> None:
    """Replaces ``governance.quality_declarations`` with one row per dataset."""
    governance.recreate(con, "quality_declarations")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [[d, ok, md, now] for d, (ok, md) in sorted(declarations.items())]
    if rows:
        con.executemany("insert into governance.quality_declarations values (?, ?, ?, ?)", rows)


def read_scorecard(con: duckdb.DuckDBPyConnection) -> list[ScorecardRow]:
    """The current scorecard, or an empty list when none has been built."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'quality_scorecard'"
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        "select dataset, dimension, checks, checks_passed, checks_errored, score, target, met "
        "from governance.quality_scorecard order by dataset, dimension"
    ).fetchall()
    return [ScorecardRow(*r) for r in rows]
