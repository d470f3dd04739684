"""Reading what the portal shows from the warehouse and the published snapshot.

Every governance table is read only when it exists (an older or newer warehouse may lack
one): ``column_lineage``, ``data_maturity`` and ``catalogue`` are optional, and so is every
column beyond the ones named here. Nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.portal.model import (
    CatalogueEntry,
    CheckResult,
    ColumnEdge,
    Evidence,
    Maturity,
)
from orchestration.publish import GOVERNANCE_SCHEMA
from orchestration.quality.results import ScorecardRow
from orchestration.sql import quote_identifier

SKIPPED_SCHEMAS = ("quarantine", "information_schema", "pg_catalog")
"""Schemas without pages: quarantined rows are the raw text of rejected deliveries."""

RESULT_COLUMNS = (
    "dataset, check_name, dimension, severity, success, element_count, unexpected_count, "
    "unexpected_percent, observed_value, error, run_id, validated_at"
)


@dataclass(frozen=True)
class TableMeta:
    """A warehouse table: its comment, columns ``(name, type, comment)`` and row count."""

    comment: str
    columns: tuple[tuple[str, str, str], ...]
    rows: int | None


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def _has(con: duckdb.DuckDBPyConnection, table: str, needed: set[str]) -> bool:
    """Whether ``governance.<table>`` exists with every column in ``needed``."""
    return needed <= _columns(con, GOVERNANCE_SCHEMA, table)


def warehouse_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], TableMeta]:
    """Every table and view of the warehouse (but quarantine), with columns and row counts."""
    relations = con.execute(
        "select schema_name, table_name, coalesce(comment, '') from duckdb_tables() "
        "where database_name = current_database() and not internal "
        "union all select schema_name, view_name, coalesce(comment, '') from duckdb_views() "
        "where database_name = current_database() and not internal order by all"
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for schema, table, name, kind, comment in con.execute(
        "select schema_name, table_name, column_name, data_type, coalesce(comment, '') "
        "from duckdb_columns() where database_name = current_database() and not internal "
        "order by schema_name, table_name, column_index"
    ).fetchall():
        columns.setdefault((schema, table), []).append((name, kind, comment))
    found = {}
    for schema, table, comment in relations:
        if schema in SKIPPED_SCHEMAS:
            continue
        name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        try:
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
        except duckdb.Error:
            rows = None
        found[(schema, table)] = TableMeta(comment, tuple(columns.get((schema, table), ())), rows)
    return found


def _result(row: tuple) -> CheckResult:
    return CheckResult(*row[:10], run_id=row[10], validated_at=row[11])


def quality_results(
    con: duckdb.DuckDBPyConnection, keep_runs: int
) -> tuple[list[CheckResult], list[CheckResult]]:
    """The latest result of every check, and every result of each dataset's last
    ``keep_runs`` runs (newest first per check); empty without a results table."""
    needed = {c.strip() for c in RESULT_COLUMNS.split(",")}
    if not _has(con, "quality_results", needed):
        return [], []
    latest = con.execute(
        f"select {RESULT_COLUMNS} from {GOVERNANCE_SCHEMA}.quality_results "
        "qualify row_number() over (partition by dataset, check_name "
        "order by validated_at desc, run_id desc) = 1 order by dataset, dimension, check_name"
    ).fetchall()
    history = con.execute(
        f"""
        with runs as (
            select dataset, run_id, min(validated_at) as run_at
            from {GOVERNANCE_SCHEMA}.quality_results group by dataset, run_id
        ),
        kept as (
            select * from runs
            qualify row_number() over (
                partition by dataset order by run_at desc, run_id desc
            ) <= ?
        )
        select {", ".join("r." + c.strip() for c in RESULT_COLUMNS.split(","))}
        from {GOVERNANCE_SCHEMA}.quality_results as r
        inner join kept as k on r.dataset = k.dataset and r.run_id = k.run_id
        order by r.dataset, r.check_name, r.validated_at desc, r.run_id
        """,
        [keep_runs],
    ).fetchall()
    return [_result(r) for r in latest], [_result(r) for r in history]


def scorecard(con: duckdb.DuckDBPyConnection) -> list[ScorecardRow]:
    """The current GDQF scorecard, or nothing when none is built."""
    needed = {"dataset", "dimension", "checks", "checks_passed", "checks_errored"}
    if not _has(con, "quality_scorecard", needed | {"score", "target", "met"}):
        return []
    rows = con.execute(
        "select dataset, dimension, checks, checks_passed, checks_errored, score, target, met "
        f"from {GOVERNANCE_SCHEMA}.quality_scorecard order by dataset, dimension"
    ).fetchall()
    return [ScorecardRow(*r) for r in rows]


def declarations(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[bool, str]]:
    """The quality declaration (blocking checks passed, Markdown) of each dataset."""
    if not _has(con, "quality_declarations", {"dataset", "blocking_checks_passed", "declaration"}):
        return {}
    rows = con.execute(
        "select dataset, blocking_checks_passed, declaration "
        f"from {GOVERNANCE_SCHEMA}.quality_declarations order by dataset"
    ).fetchall()
    return {d: (bool(ok), md) for d, ok, md in rows}


def column_lineage(con: duckdb.DuckDBPyConnection) -> list[ColumnEdge] | None:
    """Column-level lineage of each dataset's latest recording, or None without the table."""
    needed = {"dataset", "column_name", "upstream_dataset", "upstream_column", "kind"}
    if not _has(con, "column_lineage", needed | {"recorded_at"}):
        return None
    rows = con.execute(
        f"""
        with latest as (
            select dataset, max(recorded_at) as at
            from {GOVERNANCE_SCHEMA}.column_lineage group by dataset
        )
        select distinct l.dataset, l.column_name, l.upstream_dataset, l.upstream_column, l.kind
        from {GOVERNANCE_SCHEMA}.column_lineage as l
        inner join latest on l.dataset = latest.dataset and l.recorded_at = latest.at
        order by all
        """
    ).fetchall()
    return [ColumnEdge(*(str(v) if v is not None else "" for v in r)) for r in rows]


def _evidence(text: str | None) -> tuple[tuple[Evidence, ...], tuple[str, ...], str]:
    """The criteria, what the next level needs and the level's name, from the evidence JSON:
    a list of criteria, or an object with ``criteria``, ``next_level_needs``, ``level_name``."""
    try:
        document = json.loads(text or "[]")
    except (TypeError, ValueError):
        return (Evidence("(evidence could not be read)", "", False, str(text)),), (), ""
    items, needs, name = document, [], ""
    if isinstance(document, dict):
        items = document.get("criteria") or []
        needs = document.get("next_level_needs") or []
        name = str(document.get("level_name") or "")
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found.append(
                Evidence(
                    str(item.get("title") or item.get("criterion") or ""),
                    str(item.get("level", "")),
                    bool(item.get("met")),
                    str(item.get("detail", "")),
                    bool(item.get("applicable", True)),
                )
            )
    shown_needs = tuple(str(n) for n in needs) if isinstance(needs, list) else ()
    return tuple(found), shown_needs, name


def maturity(con: duckdb.DuckDBPyConnection) -> dict[str, Maturity] | None:
    """Each department's latest maturity assessment, or None without the table."""
    needed = {"department", "level", "criteria_met", "criteria_total", "evidence"}
    if not _has(con, "data_maturity", needed | {"assessed_at", "run_id"}):
        return None
    rows = con.execute(
        "select department, level, criteria_met, criteria_total, evidence, assessed_at, run_id "
        f"from {GOVERNANCE_SCHEMA}.data_maturity qualify row_number() over ("
        "partition by department order by assessed_at desc, run_id desc) = 1 order by department"
    ).fetchall()
    found = {}
    for department, level, met, total, text, at, run in rows:
        criteria, needs, name = _evidence(text)
        shown = f"{level} ({name})" if name else str(level)
        found[str(department)] = Maturity(
            str(department), shown, met, total, criteria, at, str(run or ""), needs
        )
    return found


def _catalogue_file(catalogue_dir: Path | None, identifier: str, dataset: str) -> str | None:
    """The file under ``catalogue_dir`` written for an entry, found by its name."""
    if catalogue_dir is None or not catalogue_dir.is_dir():
        return None
    wanted = {identifier, dataset, identifier.rsplit("/", 1)[-1], identifier.rsplit(":", 1)[-1]}
    for path in sorted(p for p in catalogue_dir.rglob("*") if p.is_file()):
        if path.stem in wanted or path.name in wanted:
            return path.relative_to(catalogue_dir).as_posix()
    return None


def catalogue(
    con: duckdb.DuckDBPyConnection, catalogue_dir: Path | None
) -> list[CatalogueEntry] | None:
    """The latest catalogue entry of each identifier, or None without the table."""
    needed = {"identifier", "title", "dataset", "entry", "modified", "recorded_at"}
    if not _has(con, "catalogue", needed):
        return None
    rows = con.execute(
        "select identifier, title, dataset, entry, modified "
        f"from {GOVERNANCE_SCHEMA}.catalogue qualify row_number() over ("
        "partition by identifier order by recorded_at desc) = 1 order by identifier"
    ).fetchall()
    entries = []
    for identifier, title, dataset, entry, modified in rows:
        try:
            shown = json.dumps(json.loads(entry), indent=2, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError):
            shown = str(entry or "")
        identifier, dataset = str(identifier or ""), str(dataset or "")
        entries.append(
            CatalogueEntry(
                identifier,
                str(title or ""),
                dataset,
                shown,
                "" if modified is None else str(modified),
                _catalogue_file(catalogue_dir, identifier, dataset),
            )
        )
    return entries


def published_snapshot(path: Path) -> tuple[set[str], tuple[str, object] | None]:
    """The ``schema.table`` names a published snapshot holds, and its run and time."""
    if not path.exists():
        return set(), None
    with duckdb.connect(str(path), read_only=True) as snapshot:
        tables = {
            f"{s}.{t}"
            for s, t in snapshot.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database()"
            ).fetchall()
        }
        publication = None
        if "governance.publication" in tables:
            row = snapshot.execute(
                f"select run_id, published_at from {GOVERNANCE_SCHEMA}.publication limit 1"
            ).fetchone()
            publication = (str(row[0]), row[1]) if row else None
    return tables, publication
